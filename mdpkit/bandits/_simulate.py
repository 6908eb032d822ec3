r"""The many-run simulator: validation, seeding, dispatch to the compiled kernels.

Seeding. ``rng`` is turned into a root :class:`numpy.random.SeedSequence` (an int seed is
used as its entropy); run ``r`` is seeded with the first 32-bit word of the ``r``-th child
of ``root.spawn(n_runs)``. A run depends on its seed only, so results are identical for
any thread count and any ``n_runs`` prefix, and run ``r`` can be replayed alone (the seeds
are stored in :attr:`BanditRun.seeds`).
"""

from __future__ import annotations

import numbers
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from .._results import RegretTraces, as_frame
from .._typing import FloatArray, IntArray, RNGLike
from .._validation import as_generator, check_int
from . import _bandit_kernels as kr
from ._algorithms import (
    UCB1,
    Hedge,
    RegretMatching,
    SoftmaxPolicyGradient,
    ThompsonSampling,
    _Algorithm,
    kernel_code,
)
from ._custom import IndexPolicy, StepPolicy
from ._envs import (
    ENV_TABLE,
    AdversarialBandit,
    BernoulliBandit,
    BetaBandit,
    GaussianBandit,
    LinearBandit,
    MatrixGame,
)

_STOCHASTIC = (BernoulliBandit, GaussianBandit, BetaBandit)
#: Simulations with fewer pulls in total (horizon * n_runs) run serially.
SERIAL_MAX_PULLS = 200_000
_ACTION_CODES = {"fixed": kr.ACTIONS_FIXED, "sphere": kr.ACTIONS_SPHERE,
                 "gaussian": kr.ACTIONS_GAUSSIAN}


@dataclass(frozen=True, slots=True, kw_only=True)
class BanditRun(RegretTraces):
    r"""Output of :func:`simulate`: regret and rewards at checkpoints, for every run.

    Attributes
    ----------
    regret : ndarray, shape (n_runs, n_checkpoints)
        ``regret[run, j]`` after ``checkpoints[j]`` pulls: the pseudo-regret
        :math:`\sum_{s\le t}\Delta_{a_s}` (stochastic and linear bandits) or the regret to
        the best fixed arm in hindsight (adversarial and full-information sequences).
    reward : ndarray, shape (n_runs, n_checkpoints)
        Cumulative realized reward at the checkpoints.
    checkpoints : ndarray of int64, shape (n_checkpoints,)
        Increasing pull counts in ``[1, horizon]``.
    pulls : ndarray of int64, shape (n_runs, K)
        Pulls of each arm (of each action slot for random linear action sets).
    algorithm : str
    horizon, n_runs : int
    seeds : ndarray of int64, shape (n_runs,)
        The seed of every run (replay run ``r`` with ``np.random.seed(seeds[r])``).
    seconds : float
        Wall time of the compiled simulation.
    env : object
    """

    regret: FloatArray
    reward: FloatArray
    checkpoints: IntArray
    pulls: IntArray
    algorithm: str
    horizon: int
    n_runs: int
    seeds: IntArray
    seconds: float
    env: Any = field(repr=False, default=None)


    @property
    def pulls_per_second(self) -> float:
        """Arm pulls simulated per second of wall time."""
        return self.horizon * self.n_runs / max(self.seconds, 1e-12)

    def summary(self) -> str:
        """One line: algorithm, runs x horizon, mean final regret (with its SE) and speed."""
        se = f" +- {float(self.regret_se[-1]):.3g}" if self.n_runs > 1 else ""
        return (f"{self.algorithm}: {self.n_runs} run(s) x {self.horizon} pulls, mean final regret "
                f"{float(self.mean_regret[-1]):.4g}{se}, {self.pulls_per_second:.3g} pulls/s")

    def to_frame(self) -> Any:
        """One row per (run, checkpoint): ``regret`` and ``reward`` (a pandas DataFrame)."""
        R, C = self.regret.shape
        return as_frame({"run": np.repeat(np.arange(R), C), "t": np.tile(self.checkpoints, R),
                         "regret": self.regret.ravel(), "reward": self.reward.ravel()})

    def __repr__(self) -> str:
        return (f"BanditRun(algorithm={self.algorithm!r}, horizon={self.horizon}, "
                f"n_runs={self.n_runs}, checkpoints={self.checkpoints.size}, "
                f"mean final regret={self.mean_regret[-1]:.4g})")


#: Pull counts stay exact in float64 up to 2**53; one SeedSequence per run is spawned.
MAX_HORIZON = 2**53
MAX_RUNS = 10**7


def run_seeds(rng: RNGLike, n_runs: int) -> IntArray:
    """Per-run 32-bit seeds from ``SeedSequence(root).spawn(n_runs)`` (see module docstring).

    >>> run_seeds(0, 3).tolist() == run_seeds(0, 5)[:3].tolist()
    True
    """
    n_runs = check_int("n_runs", n_runs, lo=1, hi=MAX_RUNS)
    return np.array([c.generate_state(1, np.uint32)[0] for c in _root(rng).spawn(n_runs)],
                    dtype=np.int64)


def _root(rng: RNGLike) -> np.random.SeedSequence:
    if isinstance(rng, np.random.SeedSequence):
        return rng
    gen = as_generator(rng)  # validates
    if isinstance(rng, numbers.Integral):
        return np.random.SeedSequence(int(rng))
    return np.random.SeedSequence(int(gen.integers(2**63)))


def make_checkpoints(horizon: int, checkpoints: str | int | npt.ArrayLike = "log") -> IntArray:
    """Checkpoint grid: ``"log"`` (100 log-spaced), ``"all"``, an int ``n`` (log-spaced) or explicit.

    Log-spaced grids always contain 1 and ``horizon``.

    >>> make_checkpoints(1000, 4).tolist()
    [1, 10, 100, 1000]
    """
    horizon = check_int("horizon", horizon, lo=1)
    if isinstance(checkpoints, str):
        if checkpoints == "all":
            return np.arange(1, horizon + 1, dtype=np.int64)
        if checkpoints != "log":
            raise ValueError(f"`checkpoints` must be 'log', 'all', an int or an array; got {checkpoints!r}.")
        checkpoints = 100
    if isinstance(checkpoints, (numbers.Integral, np.integer)) and not isinstance(checkpoints, bool):
        n = check_int("checkpoints", checkpoints, lo=2)
        grid = np.round(np.logspace(0.0, np.log10(horizon), n)).astype(np.int64)
        return np.unique(np.concatenate([grid, [1, horizon]]))
    ck = np.asarray(checkpoints)
    if ck.ndim != 1 or ck.size == 0 or ck.dtype.kind not in "iu":
        raise ValueError(f"`checkpoints` as an array must be a non-empty 1-d integer array; got {ck!r}.")
    if ck[0] < 1 or ck[-1] > horizon or np.any(np.diff(ck) <= 0):
        raise ValueError(f"`checkpoints` must be strictly increasing within [1, horizon={horizon}]; "
                         f"got range [{ck.min()}, {ck.max()}].")
    return ck.astype(np.int64)


@contextmanager
def _threads(n_threads: int | None):
    if n_threads is None:
        yield
        return
    n = check_int("n_threads", n_threads, lo=1,
                  hi=numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _table_env(env: AdversarialBandit, horizon: int, ck: IntArray,
               root: np.random.SeedSequence) -> tuple[FloatArray, FloatArray]:
    table = np.ascontiguousarray(env.table(horizon, rng=np.random.default_rng(root)))
    best_ck = np.cumsum(table, axis=0)[ck - 1].max(axis=1)
    return table, best_ck


def _env_arrays(env: Any, horizon: int, ck: IntArray, root: np.random.SeedSequence):
    """(env_kind, p1, p2, table, gaps, best_ck) for the index/weights/user kernels."""
    if isinstance(env, _STOCHASTIC):
        kind, p1, p2 = env._kernel_spec()
        return (kind, p1, p2, np.zeros((1, 1)), np.array(env.gaps), np.zeros(ck.size))
    if isinstance(env, AdversarialBandit):
        table, best_ck = _table_env(env, horizon, ck, root)
        z = np.zeros(env.n_arms)
        return (ENV_TABLE, z, z, table, z.copy(), best_ck)
    raise TypeError(
        "`env` must be a BernoulliBandit, GaussianBandit, BetaBandit, AdversarialBandit, "
        f"FullInformation or LinearBandit for this algorithm; got {type(env).__name__}.")


def _check_pair(env: Any, algorithm: Any) -> None:
    if isinstance(env, MatrixGame):
        raise TypeError("`env` is a MatrixGame; use `mdpkit.bandits.self_play` for games.")
    if not isinstance(env, (*_STOCHASTIC, AdversarialBandit, LinearBandit)):
        raise TypeError("`env` must be a BernoulliBandit, GaussianBandit, BetaBandit, "
                        "AdversarialBandit, FullInformation or LinearBandit; got "
                        f"{type(env).__name__}.")
    if not isinstance(algorithm, (_Algorithm, IndexPolicy, StepPolicy)):
        raise TypeError(f"`algorithm` must be a bandit algorithm object such as UCB1(); got "
                        f"{type(algorithm).__name__}.")


def _run_kernels(kernel: Any, run_one: Any, args: tuple, *, user_name: str | None = None) -> float:
    """Run the compiled kernels, over runs in parallel or run by run; return the wall time.

    Run ``kernel(*args)`` (``prange`` over runs), or ``run_one`` run by run when given
    (small problems: a parallel region costs milliseconds on a busy machine, DESIGN.md
    section 4; the per-run seeds give the same result). A user policy (``user_name``) goes
    through :func:`_run_user_kernel`, which turns a Numba typing error into a clear one.
    Returns the wall time.
    """
    t0 = time.perf_counter()
    if run_one is not None:
        common, seeds, outs = args[:-4], args[-4], args[-3:]
        for r in range(seeds.size):
            run_one(*common, seeds[r], outs[0][r], outs[1][r], outs[2][r])
    elif user_name is not None:
        _run_user_kernel(kernel, args, user_name)
    else:
        kernel(*args)
    return time.perf_counter() - t0


def _kernel_args(env: Any, algorithm: Any, horizon: int, ck: IntArray,
                 root: np.random.SeedSequence) -> tuple[tuple, Any, Any]:
    """Return the family's compiled kernels and their leading arguments (before ``horizon, ck, seeds``).

    Returns ``(head, kernel, run_one)``: ``kernel`` runs every run (``prange``), ``run_one``
    one run (``None`` for user policies, which always go through ``kernel``).
    """
    family = algorithm.family
    K = env.n_arms
    if isinstance(env, LinearBandit) and family != "linear":
        raise TypeError(f"`algorithm` {algorithm.name} is not a linear-bandit algorithm; "
                        "use LinUCB, OFUL or LinearThompsonSampling with a LinearBandit.")
    if isinstance(algorithm, (IndexPolicy, StepPolicy)):
        select, update, s0 = algorithm._functions(K)
        return (select, update, s0, algorithm.params, *_env_arrays(env, horizon, ck, root)), kr.simulate_user, None
    if family == "linear":
        if not isinstance(env, LinearBandit):
            raise TypeError(f"`env` must be a LinearBandit for {algorithm.name}; got {type(env).__name__}.")
        X = env.actions if env.actions is not None else np.zeros((K, env.dim))
        head = (kernel_code(algorithm), algorithm._kernel_params(env, horizon), np.array(env.theta),
                np.array(X), _ACTION_CODES[env.action_set], env.sigma)
        return head, kr.simulate_linear, kr.run_linear
    prm = algorithm._kernel_params(env, horizon)
    if isinstance(algorithm, (Hedge, RegretMatching)) and isinstance(env, AdversarialBandit) \
            and env.feedback != "full":
        raise ValueError(f"`env` must give full information for {algorithm.name}; wrap the "
                         "sequence as FullInformation(losses) (or use EXP3 for bandit feedback).")
    fast = _bernoulli_fast_path(env, algorithm, prm, horizon)
    if fast is not None:
        return fast
    env_args = _env_arrays(env, horizon, ck, root)
    if family == "weights":
        log_ref = algorithm._log_ref(K) if isinstance(algorithm, SoftmaxPolicyGradient) else np.zeros(K)
        return (kernel_code(algorithm), prm, log_ref, *env_args), kr.simulate_weights, kr.run_weights
    return (kernel_code(algorithm), prm, *env_args), kr.simulate_index, kr.run_index


def _bernoulli_fast_path(env: Any, algorithm: Any, prm: FloatArray, horizon: int):
    """Dedicated kernels of UCB1 and Beta-Thompson sampling on Bernoulli arms, or None.

    UCB1's reproduces the general index kernel pull for pull; Thompson sampling's has its
    law from a faster stream of its own (tests/unit/test_bandit_reference.py).
    """
    if not isinstance(env, BernoulliBandit):
        return None
    means, gaps = np.array(env._kernel_spec()[1]), np.array(env.gaps)
    if type(algorithm) is UCB1:
        ct, isq = kr.ucb1_tables(float(prm[0]), min(horizon, kr.TABLE_MAX))
        return ((float(prm[0]), ct, isq, means, gaps), kr.simulate_ucb1_bernoulli,
                kr.run_ucb1_bernoulli)
    if type(algorithm) is ThompsonSampling:
        return ((float(prm[0]), float(prm[1]), means, gaps), kr.simulate_ts_bernoulli,
                kr.run_ts_bernoulli)
    return None


def simulate(
    env: Any,
    algorithm: Any,
    *,
    horizon: int,
    n_runs: int = 1,
    rng: RNGLike = None,
    checkpoints: str | int | npt.ArrayLike = "log",
    n_threads: int | None = None,
) -> BanditRun:
    r"""Simulate ``n_runs`` independent runs of ``algorithm`` on ``env`` for ``horizon`` pulls.

    Runs execute in parallel threads (Numba ``prange``) in one compiled kernel per
    algorithm family (UCB1 and Beta-Thompson sampling on Bernoulli arms in dedicated
    kernels: UCB1's gives the same pulls, Thompson sampling's the same law from its own
    faster stream); each run is seeded from
    ``SeedSequence(root).spawn(n_runs)``, so
    the result is the same for any thread count. Memory is :math:`O(n_\mathrm{runs}
    (n_\mathrm{checkpoints} + K))`, independent of the horizon (oblivious reward tables,
    which are inputs, excepted).

    The regret after :math:`t` pulls is the pseudo-regret
    :math:`\sum_{s \le t} \Delta_{a_s}` for stochastic and linear bandits and the regret
    :math:`\max_k \sum_{s\le t} x_{s,k} - \sum_{s\le t} x_{s,a_s}` to the best fixed arm
    in hindsight for adversarial and full-information sequences (Slivkins 2019, Ch. 1, 5, 6).

    Parameters
    ----------
    env : bandit environment
        :class:`BernoulliBandit`, :class:`GaussianBandit`, :class:`BetaBandit`,
        :class:`AdversarialBandit`, :class:`FullInformation` or :class:`LinearBandit`.
    algorithm : algorithm object
        E.g. :class:`UCB1`, :class:`ThompsonSampling`, :class:`EXP3`, :class:`LinUCB`, or a
        user policy (:class:`IndexPolicy`, :class:`StepPolicy`).
    horizon : int
        Pulls per run, ``>= 1``.
    n_runs : int
        Independent runs, ``>= 1``.
    rng : int, SeedSequence, Generator or None
        Root of the per-run seeds.
    checkpoints : {"log", "all"}, int or array_like of int
        Where regret is stored: 100 log-spaced points (default), every step, ``n``
        log-spaced points, or explicit increasing pull counts in ``[1, horizon]``.
    n_threads : int, optional
        Threads for this call (default: the current Numba setting).

    Returns
    -------
    BanditRun

    Examples
    --------
    >>> import mdpkit as mk
    >>> env = mk.bandits.BernoulliBandit([0.9, 0.5])
    >>> runs = mk.bandits.simulate(env, mk.bandits.UCB1(), horizon=1000, n_runs=4, rng=0)
    >>> runs.regret.shape[0], int(runs.checkpoints[-1]), int(runs.pulls.sum())
    (4, 1000, 4000)
    >>> bool(runs.mean_regret[-1] < mk.theory.ucb1_regret_bound(env.gaps, 1000))
    True
    """
    horizon = check_int("horizon", horizon, lo=1, hi=MAX_HORIZON)
    n_runs = check_int("n_runs", n_runs, lo=1, hi=MAX_RUNS)
    root = _root(rng)
    seeds = run_seeds(root, n_runs)
    ck = make_checkpoints(horizon, checkpoints)
    _check_pair(env, algorithm)
    K = env.n_arms
    regret = np.zeros((n_runs, ck.size))
    reward = np.zeros((n_runs, ck.size))
    pulls = np.zeros((n_runs, K))
    family = algorithm.family
    head, kernel, run_one = _kernel_args(env, algorithm, horizon, ck, root)
    args = (*head, horizon, ck, seeds, regret, reward, pulls)
    with _threads(n_threads):
        dt = _run_kernels(kernel, run_one if horizon * n_runs < SERIAL_MAX_PULLS or n_runs == 1 else None, args,
                          user_name=algorithm.name if family == "user" else None)
    if family == "user" and np.any(pulls[:, 0] < 0):
        raise ValueError(f"`algorithm` {algorithm.name}: `select` returned an arm outside [0, {K - 1}].")
    return BanditRun(regret=regret, reward=reward, checkpoints=ck, pulls=pulls.astype(np.int64),
                     algorithm=algorithm.name, horizon=horizon, n_runs=n_runs, seeds=seeds,
                     seconds=dt, env=env)


# ------------------------------------------------------------------------- games
@dataclass(frozen=True, slots=True, kw_only=True)
class SelfPlayRun:
    r"""Output of :func:`self_play`.

    Attributes
    ----------
    regret_row, regret_col : ndarray, shape (n_runs, n_checkpoints)
        :math:`R_1(t) = \max_i \sum_{s\le t} (A y_s)_i - \sum_{s\le t} v_s` and
        :math:`R_2(t) = \sum_{s\le t} v_s - \min_j \sum_{s\le t} (x_s^\top A)_j`, where
        :math:`v_s` is the payoff of round ``s`` (expected or realized).
    nash_gap : ndarray, shape (n_runs, n_checkpoints)
        Exploitability :math:`\max_i (A\bar y_t)_i - \min_j (\bar x_t^\top A)_j` of the
        average play.
    x_bar, y_bar : ndarray, shape (n_runs, m) and (n_runs, n)
        Average strategies over the whole horizon.
    checkpoints : ndarray of int64
    horizon, n_runs : int
    seeds : ndarray of int64
    feedback : str
    """

    regret_row: FloatArray
    regret_col: FloatArray
    nash_gap: FloatArray
    x_bar: FloatArray
    y_bar: FloatArray
    checkpoints: IntArray
    horizon: int
    n_runs: int
    seeds: IntArray
    feedback: str

    def summary(self) -> str:
        """One line: runs x horizon, feedback and the mean final Nash gap."""
        return (f"self-play ({self.feedback} feedback): {self.n_runs} run(s) x {self.horizon} rounds, "
                f"mean final Nash gap {self.nash_gap[:, -1].mean():.4g}")

    def to_frame(self) -> Any:
        """One row per (run, checkpoint): both regrets and the Nash gap (a pandas DataFrame)."""
        R, C = self.nash_gap.shape
        return as_frame({"run": np.repeat(np.arange(R), C), "t": np.tile(self.checkpoints, R),
                         "regret_row": self.regret_row.ravel(), "regret_col": self.regret_col.ravel(),
                         "nash_gap": self.nash_gap.ravel()})

    def __repr__(self) -> str:
        return (f"SelfPlayRun(horizon={self.horizon}, n_runs={self.n_runs}, feedback={self.feedback!r}, "
                f"final nash_gap={self.nash_gap[:, -1].mean():.4g})")


_GAME_PLAYERS = {Hedge: kr.HEDGE, RegretMatching: kr.REGRET_MATCHING}
_FEEDBACK = ("expected", "sampled")


def self_play(
    game: MatrixGame,
    row: Any = None,
    col: Any = None,
    *,
    horizon: int,
    n_runs: int = 1,
    rng: RNGLike = None,
    feedback: str = "expected",
    checkpoints: str | int | npt.ArrayLike = "log",
) -> SelfPlayRun:
    r"""No-regret self-play in a zero-sum matrix game (Hedge vs Hedge, regret matching, or mixed).

    Each round both players form mixed strategies :math:`x_t, y_t` from their past
    payoff vectors. With ``feedback="expected"`` they receive :math:`A y_t` and
    :math:`x_t^\top A` (deterministic play); with ``"sampled"`` they play
    :math:`i_t \sim x_t`, :math:`j_t \sim y_t` and receive :math:`A_{\cdot j_t}` and
    :math:`A_{i_t \cdot}`, and the average play counts the sampled actions. Either way the
    average play is an :math:`(R_1 + R_2)/T`-approximate Nash equilibrium (Slivkins 2019,
    Ch. 9; Freund and Schapire 1999): its Nash gap equals
    :math:`(R_1(T) + R_2(T))/T` exactly, and tends to 0 at the players' regret rate.

    Parameters
    ----------
    game : MatrixGame
    row, col : Hedge or RegretMatching
        The players (default: Hedge with the tuned rate, divided by the payoff range).
    horizon, n_runs : int
    rng : int, SeedSequence, Generator or None
    feedback : {"expected", "sampled"}
    checkpoints : see :func:`simulate`

    Returns
    -------
    SelfPlayRun

    Examples
    --------
    >>> import mdpkit as mk
    >>> rps = mk.bandits.MatrixGame([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])
    >>> out = mk.bandits.self_play(rps, horizon=2000)
    >>> bool(out.nash_gap[0, -1] < 0.2)
    True
    """
    if not isinstance(game, MatrixGame):
        raise TypeError(f"`game` must be a MatrixGame; got {type(game).__name__}.")
    row = Hedge() if row is None else row
    col = Hedge() if col is None else col
    for name, p in (("row", row), ("col", col)):
        if type(p) not in _GAME_PLAYERS:
            raise TypeError(f"`{name}` must be Hedge() or RegretMatching(); got {type(p).__name__}.")
    if feedback not in _FEEDBACK:
        raise ValueError(f"`feedback` must be one of {list(_FEEDBACK)}; got {feedback!r}.")
    horizon = check_int("horizon", horizon, lo=1, hi=MAX_HORIZON)
    n_runs = check_int("n_runs", n_runs, lo=1, hi=MAX_RUNS)
    seeds = run_seeds(rng, n_runs)
    ck = make_checkpoints(horizon, checkpoints)
    m, n = game.shape
    rng_ = game.payoff_range

    def eta(p: Any, k: int) -> float:
        if isinstance(p, Hedge):
            return (Hedge.tuned_eta(k, horizon) if p.eta is None else p.eta) / rng_
        return 0.0

    out = [np.zeros((n_runs, ck.size)) for _ in range(3)]
    xb, yb = np.zeros((n_runs, m)), np.zeros((n_runs, n))
    args = (np.array(game.payoff), _GAME_PLAYERS[type(row)], _GAME_PLAYERS[type(col)],
            eta(row, m), eta(col, n), feedback == "sampled", horizon, ck)
    if n_runs == 1 or horizon * n_runs < SERIAL_MAX_PULLS:
        for r in range(n_runs):
            kr.run_game(*args, seeds[r], out[0][r], out[1][r], out[2][r], xb[r], yb[r])
    else:
        kr.simulate_game(*args, seeds, out[0], out[1], out[2], xb, yb)
    return SelfPlayRun(regret_row=out[0], regret_col=out[1], nash_gap=out[2], x_bar=xb, y_bar=yb,
                       checkpoints=ck, horizon=horizon, n_runs=n_runs, seeds=seeds,
                       feedback=feedback)


def _run_user_kernel(kernel: Any, args: tuple, name: str) -> None:
    """Run the user-policy kernel; a ``select``/``update`` Numba cannot type is a TypeError."""
    from numba.core.errors import TypingError

    try:
        kernel(*args)
    except TypingError as e:
        first = next((ln for ln in str(e).splitlines() if ln.strip()), "")
        raise TypeError(
            f"`algorithm` {name}: Numba could not compile the policy's functions with the required "
            "signatures `select(t, state, params) -> int` and `update(t, state, params, arm, reward)` "
            f"(t, arm: int; state, params: float64 arrays; reward: float). Numba said: {first}"
        ) from None
