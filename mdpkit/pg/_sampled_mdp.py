r"""Sampled policy-gradient dynamics of tabular softmax MDPs and token trees (trajectories).

Each step draws ``G`` trajectories :math:`\tau_1..\tau_G` of the current policy
:math:`\pi_z(a|s) = \mathrm{softmax}(z_s)_a` (finite horizon: logits ``z[h, s, a]`` per
stage) from :math:`\mu_0`, turns their returns :math:`R_i` into advantages :math:`A_i`
with the group estimators of :func:`mdpkit.pg.advantages`, and ascends the score
function summed along each trajectory,

.. math:: \Delta z_{s} = \frac{\eta}{G}\sum_{i=1}^G A_i \sum_{(s_t, a_t) \in \tau_i,\; s_t = s}
          (e_{a_t} - \pi_z(\cdot|s)).

With :math:`A_i = R_i` (REINFORCE) this is an unbiased estimate of :math:`\eta\nabla_z J`,
the exact update of :func:`mdpkit.pg.exact_dynamics_mdp` (``natural=False``); a constant
baseline and RLOO keep it unbiased, Dr. GRPO scales its mean by :math:`(G-1)/G`.
Finite horizon: :math:`R = \sum_h \gamma^h r_h + \gamma^H V_H(s_H)`. Discounted: each
episode stops after every step with probability :math:`1-\gamma` and :math:`R` is the
undiscounted sum of its rewards, whose mean is :math:`V^\pi(\mu_0)`; the episodic
REINFORCE gradient of this stopped process is :math:`\nabla_z V^\pi(\mu_0)`, so no
truncation bias enters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numba
import numpy as np
import numpy.typing as npt

from .._typing import FloatArray, IntArray, RNGLike
from .._validation import check_choice, check_int, check_scalar
from ..bandits._simulate import _threads, run_seeds
from . import _mdp_kernels as kr
from ._exact import mdp_logits, step_grid
from ._frames import CheckpointTraces, mean_entropy
from ._models import softmax
from ._sampled import _CODES, ESTIMATORS, _bnpo_pair, _check_G

#: Runs x steps x trajectories below which runs execute serially.
PARALLEL_MIN_TRAJECTORIES = 200_000


@dataclass(frozen=True, slots=True, kw_only=True)
class SampledMDPRun(CheckpointTraces):
    r"""Output of :func:`sample_dynamics_mdp`; run axis first.

    Attributes
    ----------
    steps : ndarray of int64, shape (n_checkpoints,)
    value : ndarray, shape (n_runs, n_checkpoints)
        Exact :math:`\mu_0^\top V^{\pi_t}` (stage 0 for finite horizon) at the checkpoints.
    entropy : ndarray, shape (n_runs, n_checkpoints, S) or (n_runs, n_checkpoints, H, S)
        Per-state entropy of the policy at the checkpoints.
    mean_return : ndarray, shape (n_runs, n_steps)
        Mean return of the step's G sampled trajectories.
    z_checkpoints : ndarray, shape (n_runs, n_checkpoints) + z0.shape
    z : ndarray, shape (n_runs,) + z0.shape
        Final logits.
    seeds : ndarray of int64
    estimator : str
    seconds : float
    """

    steps: IntArray
    value: FloatArray
    entropy: FloatArray
    mean_return: FloatArray
    z_checkpoints: FloatArray
    z: FloatArray
    seeds: IntArray
    estimator: str
    seconds: float
    mdp: Any = field(repr=False, default=None)
    frame_axis: ClassVar[str] = "run"

    def traces(self) -> dict[str, FloatArray]:
        """Return ``value`` and the per-state entropy averaged over states (``mean_entropy``)."""
        return {"value": self.value, "mean_entropy": mean_entropy(self.entropy, 2)}

    def __repr__(self) -> str:
        return (f"SampledMDPRun(estimator={self.estimator!r}, n_runs={self.seeds.size}, "
                f"steps={int(self.steps[-1])}, mean final value={self.value[:, -1].mean():.4g})")


def _model_arrays(mdp: Any) -> tuple[tuple[np.ndarray, ...], float]:
    """Flat dense P, cumulative P, rewards, mu0 (and its cdf), terminal value, dims, gamma."""
    S, A = mdp.n_states, mdp.n_actions
    P = np.asarray(mdp.P, dtype=np.float64)
    Hp = P.shape[0] if P.ndim == 4 else 1
    P = np.array(P.reshape(Hp * S * A, S))   # writable copies: one compiled specialization
    r = np.asarray(mdp.r, dtype=np.float64)
    Hr = r.shape[0] if r.ndim == 3 else 1
    finite = mdp.is_finite_horizon
    H = int(mdp.horizon) if finite else 0
    gamma = 1.0 if mdp.gamma is None else float(mdp.gamma)
    dims = np.array([S, A, H, H if finite else 1, Hp, Hr], dtype=np.int64)
    term = np.array(mdp.terminal_value if finite else np.zeros(S), dtype=np.float64)
    mu0 = np.array(mdp.mu0, dtype=np.float64)
    arrays = (P, np.cumsum(P, axis=1), np.array(r.ravel()), mu0,
              np.cumsum(mu0)[None, :], term, dims)
    return arrays, gamma


def _check_mdp(mdp: Any, est: str) -> float:
    """Validate the model for trajectory sampling; returns the largest possible return (NGRPO)."""
    from ..mdp import TabularMDP

    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"`mdp` must be a TabularMDP; got {type(mdp).__name__}.")
    if mdp.has_infeasible_actions:
        raise ValueError("sample_dynamics_mdp needs every action feasible (a softmax policy puts "
                         "mass on all of them); this MDP has infeasible actions.")
    if not mdp.is_finite_horizon and mdp.gamma == 0.0:
        raise ValueError("a discounted MDP needs gamma > 0 for trajectory sampling; got gamma=0.")
    if est not in ("bnpo", "ngrpo"):
        return 1.0
    if not mdp.is_finite_horizon:
        raise ValueError(f"estimator {est!r} needs bounded returns: use a finite-horizon MDP "
                         "(discounted episodes have unbounded length).")
    g = 1.0 if mdp.gamma is None else float(mdp.gamma)
    H = mdp.horizon
    assert H is not None
    rr = np.asarray(mdp.r)
    r_h = rr if rr.ndim == 3 else np.broadcast_to(rr, (H, *rr.shape))
    lo = sum(g**h * r_h[h].min() for h in range(H)) + g**H * mdp.terminal_value.min()
    hi = sum(g**h * r_h[h].max() for h in range(H)) + g**H * mdp.terminal_value.max()
    if est == "bnpo" and (lo < 0.0 or hi > 1.0):
        raise ValueError("estimator 'bnpo' needs returns in [0, 1] (a Beta-normalized success "
                         f"rate); this MDP's returns can range over [{lo:g}, {hi:g}].")
    return float(hi)


def _check_args(mdp: Any, estimator: str, G: int, eta: float, n_steps: int, eps: float,
                bnpo_params: tuple[float, float] | None,
                n_threads: int | None) -> tuple[str, float, int, float, int, float, float, float]:
    """Validate :func:`sample_dynamics_mdp`'s arguments before any kernel runs."""
    if n_threads is not None:   # validated even where the work is small (then one thread runs)
        check_int("n_threads", n_threads, lo=1,
                  hi=numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    est = check_choice("estimator", estimator, ESTIMATORS)
    r_max = _check_mdp(mdp, est)
    G = _check_G(G, est)
    eta = check_scalar("eta", eta, lo=0.0, lo_inclusive=False)
    n_steps = check_int("n_steps", n_steps, lo=1)
    eps = check_scalar("eps", eps, lo=0.0)
    a_n, b_n = _bnpo_pair(bnpo_params, allow_none=True)
    if a_n < 0.0:   # adaptive rule with one group per step: undefined fit, floor (1, 1)
        a_n, b_n = 1.0, 1.0
    return est, r_max, G, eta, n_steps, eps, a_n, b_n


def sample_dynamics_mdp(mdp: Any, z0: npt.ArrayLike, *, eta: float, n_steps: int, G: int = 8,
                        estimator: str = "grpo", n_runs: int = 1, rng: RNGLike = None,
                        eps: float = 1e-6, bnpo_params: tuple[float, float] | None = None,
                        checkpoints: int | npt.ArrayLike = 11,
                        n_threads: int | None = None) -> SampledMDPRun:
    r"""Run sampled policy gradient on a tabular softmax MDP or token tree, G trajectories per step.

    See the module docstring for the update and why its expectation is the exact PG step
    of :func:`mdpkit.pg.exact_dynamics_mdp` for REINFORCE, baselines and RLOO. The
    estimators are those of :data:`mdpkit.pg.ESTIMATORS` applied to the group of returns;
    ``"reinforce_baseline"`` uses the exact :math:`V^\pi(\mu_0)`, ``"bnpo"`` and
    ``"ngrpo"`` need a finite horizon (bounded returns; ``"bnpo"``
    returns in [0, 1]). Seeding as :func:`mdpkit.pg.sample_dynamics`: run ``r`` uses the
    ``r``-th seed of ``SeedSequence(rng).spawn(n_runs)``, on any thread count.

    Parameters
    ----------
    mdp : TabularMDP
        Every action feasible; discounted with ``gamma > 0`` or finite horizon.
    z0 : array_like, shape (S, A) or (H, S, A)
        Initial logits (finite horizon: ``(S, A)`` is used at every stage).
    eta : float
        Step size ``> 0``.
    n_steps, G, n_runs : int
    estimator : str
    rng : int, SeedSequence, Generator or None
    eps : float
        GRPO's standard-deviation guard.
    bnpo_params : (float, float) or None
        Fixed BNPO normalizer :math:`(\alpha, \beta)`. None (default) is the adaptive rule
        of :func:`mdpkit.pg.sample_dynamics`, a Beta fit to the batch's group success
        rates; a step here has one group (one start distribution), for which the fit is
        undefined and the rule gives :math:`\alpha = \beta = 1` (Dr. GRPO), exactly as
        :func:`mdpkit.pg.sample_dynamics` does with one prompt.
    checkpoints : int or array_like of int
    n_threads : int, optional

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.token_tree_mdp(2, 2, [0.0, 0.0, 0.0, 1.0])
    >>> run = mk.pg.sample_dynamics_mdp(mdp, np.zeros((7, 2)), eta=2.0, n_steps=60, G=8,
    ...                                 estimator="rloo", n_runs=4, rng=0)
    >>> round(float(run.value[0, 0]), 4), bool(run.value[:, -1].mean() > 0.9)
    (0.25, True)
    """
    est, r_max, G, eta, n_steps, eps, a_n, b_n = _check_args(mdp, estimator, G, eta, n_steps, eps,
                                                            bnpo_params, n_threads)
    z = mdp_logits(mdp, z0)
    seeds = run_seeds(rng, n_runs)
    ck = step_grid(n_steps, checkpoints)
    arrays, gamma = _model_arrays(mdp)
    prm_i = np.array([_CODES[est], G], dtype=np.int64)
    prm_f = np.array([eta, eps, a_n, b_n, r_max])
    z2 = np.ascontiguousarray(z.reshape(-1, mdp.n_actions))
    z_ck = np.zeros((seeds.size, ck.size) + z2.shape)
    mean_return = np.zeros((seeds.size, n_steps))
    z_out = np.zeros((seeds.size,) + z2.shape)
    value = np.zeros((seeds.size, ck.size))
    args = (*arrays, gamma, z2, prm_i, prm_f, n_steps, ck)
    small = seeds.size * n_steps * G < PARALLEL_MIN_TRAJECTORIES
    with _threads(1 if small else n_threads):   # small work: one thread, one compiled call
        t0 = time.perf_counter()
        kr.run_sampled_mdp_many(*args, seeds, z_ck, value, mean_return, z_out)  # type: ignore[call-arg]
        dt = time.perf_counter() - t0
    z_ck = z_ck.reshape((seeds.size, ck.size) + z.shape)
    pis = softmax(z_ck)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(pis > 0, pis * np.log(pis), 0.0).sum(-1)
    return SampledMDPRun(steps=ck, value=value, entropy=entropy, mean_return=mean_return,
                         z_checkpoints=z_ck, z=z_out.reshape((seeds.size,) + z.shape),
                         seeds=seeds, estimator=est, seconds=dt, mdp=mdp)

