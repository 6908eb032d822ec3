r"""Bandit environments: stochastic, oblivious adversarial, full information, linear.

Every environment is a small frozen object that validates on construction and stores
read-only float64 arrays. The simulator turns it into plain arrays for the compiled
kernels (:meth:`_kernel_spec`); environments never draw random numbers themselves.

Reward conventions
------------------
* stochastic arms (:class:`BernoulliBandit`, :class:`GaussianBandit`,
  :class:`BetaBandit`): arm ``a`` pays i.i.d. rewards with mean ``means[a]``; the gap
  is :math:`\Delta_a = \mu^* - \mu_a` and the pseudo-regret after :math:`t` pulls is
  :math:`\sum_{s \le t} \Delta_{a_s}`.
* oblivious sequences (:class:`AdversarialBandit`, :class:`FullInformation`): a reward
  table ``rewards[t, a]`` in :math:`[0, 1]` fixed before play; the regret after
  :math:`t` rounds is against the best fixed arm in hindsight,
  :math:`\max_k \sum_{s \le t} x_{s,k} - \sum_{s \le t} x_{s,a_s}`.
* :class:`LinearBandit`: reward :math:`\langle \theta, x_{a}\rangle + \sigma\varepsilon`
  with a fixed or a freshly drawn action set; regret is the per-round gap to the best
  action of that round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .._typing import FloatArray
from .._validation import (
    as_float_array,
    as_generator,
    check_int,
    check_magnitude,
    check_positive,
)

# Environment codes understood by the kernels (see _bandit_kernels.env_reward).
ENV_BERNOULLI, ENV_GAUSSIAN, ENV_BETA, ENV_TABLE = 0, 1, 2, 3


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


ARM_BOUND = 1e100  # means, scales and shapes: regrets n * gap stay finite for any n_rounds


def _check_arms(name: str, x: npt.ArrayLike) -> FloatArray:
    a = as_float_array(name, x, ndim=1)
    if a.size < 2:
        raise ValueError(f"`{name}` must describe K >= 2 arms; got K = {a.size}.")
    check_magnitude(name, a, ARM_BOUND, "regrets and sample sums must stay finite in float64")
    return a


def _check_range(name: str, a: FloatArray, lo: float, hi: float, what: str) -> None:
    bad = (a < lo) | (a > hi)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`{name}` must lie in [{lo:g}, {hi:g}] ({what}); "
            f"`{name}{list(idx)}` = {a[idx]!r}."
        )


@dataclass(frozen=True, eq=False)
class _Stochastic:
    """Common part of the i.i.d. stochastic bandits."""

    family: ClassVar[str] = ""
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    @property
    def means(self) -> FloatArray:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def n_arms(self) -> int:
        """Number of arms ``K``."""
        return int(self.means.size)

    @property
    def best_arm(self) -> int:
        """Index of an optimal arm (the first one on ties)."""
        return int(np.argmax(self.means))

    @property
    def gaps(self) -> FloatArray:
        r"""Sub-optimality gaps :math:`\Delta_a = \max_b \mu_b - \mu_a`."""
        return _readonly(self.means.max() - self.means)


@dataclass(frozen=True, eq=False)
class BernoulliBandit(_Stochastic):
    r"""K-armed bandit with Bernoulli rewards, :math:`X_a \sim \mathrm{Bern}(\mu_a)`.

    Parameters
    ----------
    means : array_like, shape (K,)
        Success probabilities in :math:`[0, 1]`, ``K >= 2``.

    Examples
    --------
    >>> env = BernoulliBandit([0.5, 0.45, 0.4])
    >>> env.gaps.round(2).tolist(), env.best_arm
    ([0.0, 0.05, 0.1], 0)
    """

    family: ClassVar[str] = "bernoulli"
    _means: FloatArray = field(repr=False)

    def __init__(self, means: npt.ArrayLike):
        a = _check_arms("means", means)
        _check_range("means", a, 0.0, 1.0, "Bernoulli success probabilities")
        object.__setattr__(self, "_means", _readonly(a))

    @property
    def means(self) -> FloatArray:
        """Arm means, shape ``(K,)``."""
        return self._means

    def __repr__(self) -> str:
        return f"BernoulliBandit(means={np.round(self._means, 4).tolist()})"

    def _kernel_spec(self) -> tuple[int, FloatArray, FloatArray]:
        return ENV_BERNOULLI, np.array(self._means), np.zeros(self.n_arms)


@dataclass(frozen=True, eq=False)
class GaussianBandit(_Stochastic):
    r"""K-armed bandit with Gaussian rewards, :math:`X_a \sim \mathcal N(\mu_a, \sigma_a^2)`.

    Parameters
    ----------
    means : array_like, shape (K,)
        Finite arm means, ``K >= 2``.
    sigma : float or array_like, shape (K,)
        Noise standard deviations, ``> 0`` (default 1).

    Examples
    --------
    >>> GaussianBandit([1.0, 0.0], sigma=0.5).sigma.tolist()
    [0.5, 0.5]
    """

    family: ClassVar[str] = "gaussian"
    reward_range: ClassVar[tuple[float, float]] = (-np.inf, np.inf)
    _means: FloatArray = field(repr=False)
    sigma: FloatArray = field(repr=False)

    def __init__(self, means: npt.ArrayLike, sigma: float | npt.ArrayLike = 1.0):
        a = _check_arms("means", means)
        s = as_float_array("sigma", sigma, ndim=(0, 1))
        if np.ndim(sigma) == 0:
            s = np.full(a.shape, s.ravel()[0])
        if s.shape != a.shape:
            raise ValueError(f"`sigma` must be a scalar or have shape {a.shape}; got {s.shape}.")
        s = np.broadcast_to(s, a.shape).copy()
        if np.any(s <= 0):
            i = int(np.argmax(s <= 0))
            raise ValueError(f"`sigma` must be > 0; `sigma[{i}]` = {s[i]!r}.")
        check_magnitude("sigma", s, ARM_BOUND, "sample sums must stay finite in float64")
        object.__setattr__(self, "_means", _readonly(a))
        object.__setattr__(self, "sigma", _readonly(s))

    @property
    def means(self) -> FloatArray:
        """Arm means, shape ``(K,)``."""
        return self._means

    def __repr__(self) -> str:
        return (f"GaussianBandit(means={np.round(self._means, 4).tolist()}, "
                f"sigma={np.round(self.sigma, 4).tolist()})")

    def _kernel_spec(self) -> tuple[int, FloatArray, FloatArray]:
        return ENV_GAUSSIAN, np.array(self._means), np.array(self.sigma)


@dataclass(frozen=True, eq=False)
class BetaBandit(_Stochastic):
    r"""Bounded stochastic bandit with :math:`X_a \sim \mathrm{Beta}(\alpha_a, \beta_a)` on [0, 1].

    The mean of arm ``a`` is :math:`\alpha_a / (\alpha_a + \beta_a)`. Beta variates are
    drawn by Cheng's algorithm BB when both shapes exceed 1, otherwise as
    :math:`G_\alpha / (G_\alpha + G_\beta)` from Marsaglia--Tsang gamma variates; both use
    only ``np.random.random``/``standard_normal``, so the stream is reproducible in Python.

    Parameters
    ----------
    alpha, beta : array_like, shape (K,)
        Positive shape parameters.

    Examples
    --------
    >>> BetaBandit([2.0, 1.0], [2.0, 3.0]).means.tolist()
    [0.5, 0.25]
    """

    family: ClassVar[str] = "beta"
    alpha: FloatArray = field(repr=False)
    beta: FloatArray = field(repr=False)

    def __init__(self, alpha: npt.ArrayLike, beta: npt.ArrayLike):
        a = _check_arms("alpha", alpha)
        b = as_float_array("beta", beta, shape=a.shape)
        for name, v in (("alpha", a), ("beta", b)):
            if np.any(v <= 0):
                i = int(np.argmax(v <= 0))
                raise ValueError(f"`{name}` must be > 0; `{name}[{i}]` = {v[i]!r}.")
            # the gamma-variate sampler needs 1/sqrt(9 shape) > eps; beyond 1e12 an arm is its mean
            check_magnitude(name, v, 1e12, "Beta shapes beyond 1e12 are deterministic in float64")
        object.__setattr__(self, "alpha", _readonly(a))
        object.__setattr__(self, "beta", _readonly(b))

    @property
    def means(self) -> FloatArray:
        r"""Arm means :math:`\alpha/(\alpha+\beta)`, shape ``(K,)``."""
        return _readonly(self.alpha / (self.alpha + self.beta))

    def __repr__(self) -> str:
        return f"BetaBandit(alpha={self.alpha.tolist()}, beta={self.beta.tolist()})"

    def _kernel_spec(self) -> tuple[int, FloatArray, FloatArray]:
        return ENV_BETA, np.array(self.alpha), np.array(self.beta)


SequenceLike = npt.ArrayLike | Callable[[int, np.random.Generator], npt.ArrayLike]


def _check_table(name: str, x: Any) -> FloatArray:
    a = as_float_array(name, x, ndim=2)
    if a.shape[0] < 1:
        raise ValueError(f"`{name}` must have at least one round; got shape {a.shape}.")
    if a.shape[1] < 2:
        raise ValueError(f"`{name}` must have K >= 2 columns (arms); got shape {a.shape}.")
    _check_range(name, a, 0.0, 1.0, "rewards and losses are in [0, 1]")
    return a


@dataclass(frozen=True, eq=False)
class AdversarialBandit:
    r"""Oblivious adversarial bandit: a reward table ``rewards[t, a]`` in [0, 1].

    The table is fixed before play (an *oblivious* adversary) and the learner sees only
    the reward of the arm it pulls. Regret after :math:`t` rounds is measured against the
    best fixed arm in hindsight, :math:`\max_k \sum_{s\le t} x_{s,k} - \sum_{s\le t} x_{s,a_s}`
    (Slivkins 2019, Ch. 6).

    Parameters
    ----------
    rewards : array_like, shape (T, K), or callable
        The sequence, or a generator ``rewards(horizon, rng) -> array (horizon, K)``
        called once per :func:`simulate` (the same sequence is then shared by every run).
    n_arms : int, optional
        Required with a callable (the number of columns it returns).

    Examples
    --------
    >>> env = AdversarialBandit([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    >>> env.n_arms, env.length
    (2, 3)
    """

    feedback: ClassVar[str] = "bandit"
    family: ClassVar[str] = "table"
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    rewards: FloatArray | None = field(repr=False, default=None)
    generator: Callable[[int, np.random.Generator], npt.ArrayLike] | None = field(
        repr=False, default=None)
    n_arms: int = 0

    def __init__(self, rewards: SequenceLike, n_arms: int | None = None):
        if callable(rewards):
            k = check_int("n_arms", n_arms, lo=2) if n_arms is not None else None
            if k is None:
                raise ValueError("`n_arms` must be given when `rewards` is a callable.")
            object.__setattr__(self, "rewards", None)
            object.__setattr__(self, "generator", rewards)
            object.__setattr__(self, "n_arms", k)
        else:
            a = _check_table("rewards", rewards)
            if n_arms is not None and check_int("n_arms", n_arms) != a.shape[1]:
                raise ValueError(f"`n_arms` must equal rewards.shape[1] = {a.shape[1]}; got {n_arms}.")
            object.__setattr__(self, "rewards", _readonly(a))
            object.__setattr__(self, "generator", None)
            object.__setattr__(self, "n_arms", int(a.shape[1]))

    @property
    def length(self) -> int | None:
        """Number of rounds in the stored table (``None`` for a generator)."""
        return None if self.rewards is None else int(self.rewards.shape[0])

    def table(self, horizon: int, *, rng: Any = None) -> FloatArray:
        """Return the first ``horizon`` rows of the reward table, drawn from the generator if any."""
        if self.rewards is not None:
            if horizon > self.rewards.shape[0]:
                raise ValueError(
                    f"`horizon` must be <= the sequence length {self.rewards.shape[0]}; got {horizon}.")
            return self.rewards[:horizon]
        a = _check_table("rewards", self.generator(horizon, as_generator(rng)))  # type: ignore[misc]
        if a.shape != (horizon, self.n_arms):
            raise ValueError(
                f"`rewards(horizon, rng)` must return shape {(horizon, self.n_arms)}; got {a.shape}.")
        return a

    def __repr__(self) -> str:
        src = "generator" if self.rewards is None else f"table{self.rewards.shape}"
        return f"{type(self).__name__}(n_arms={self.n_arms}, {src})"


class FullInformation(AdversarialBandit):
    r"""Experts problem: a loss table ``losses[t, k]`` in [0, 1], all revealed each round.

    Stored internally as rewards ``1 - losses``, so regret (best expert in hindsight minus
    the learner) is the same number in either convention. Hedge observes every expert's
    loss; a bandit algorithm run on it sees only the loss of its choice.

    Parameters
    ----------
    losses : array_like, shape (T, K), or callable
        The loss sequence, or a generator ``losses(horizon, rng) -> (horizon, K)``.
    n_arms : int, optional
        Required with a callable.

    Examples
    --------
    >>> FullInformation([[0.0, 1.0], [0.5, 0.5]]).rewards.tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """

    feedback: ClassVar[str] = "full"

    def __init__(self, losses: SequenceLike, n_arms: int | None = None):
        if callable(losses):
            def gen(horizon: int, rng: np.random.Generator, _f=losses) -> FloatArray:
                return 1.0 - _check_table("losses", _f(horizon, rng))

            super().__init__(gen, n_arms=n_arms)
        else:
            super().__init__(1.0 - _check_table("losses", losses), n_arms=n_arms)


_ACTION_SETS = ("fixed", "sphere", "gaussian")


@dataclass(frozen=True, eq=False)
class LinearBandit:
    r"""Stochastic linear (contextual) bandit, :math:`r_t = \langle\theta, x_{a_t}\rangle + \sigma\varepsilon_t`.

    With ``action_set="fixed"`` the learner chooses among the rows of ``actions`` each
    round. With ``"sphere"`` (or ``"gaussian"``), ``n_actions`` fresh actions are drawn
    each round, uniformly on the unit sphere (or with i.i.d. :math:`\mathcal N(0, 1/d)`
    coordinates): a contextual bandit with i.i.d. contexts. Regret sums the per-round gap
    :math:`\max_a\langle\theta, x_{t,a}\rangle - \langle\theta, x_{t,a_t}\rangle`
    (Abbasi-Yadkori et al. 2011).

    Parameters
    ----------
    theta : array_like, shape (d,)
        Unknown parameter.
    actions : array_like, shape (K, d), optional
        Fixed action set (required for ``action_set="fixed"``).
    action_set : {"fixed", "sphere", "gaussian"}
    n_actions : int
        Actions per round for the random action sets (``>= 2``).
    sigma : float
        Standard deviation of the Gaussian reward noise (``> 0``).

    Examples
    --------
    >>> env = LinearBandit([1.0, 0.0], actions=[[1.0, 0.0], [0.0, 1.0]])
    >>> env.gaps.tolist(), env.dim
    ([0.0, 1.0], 2)
    """

    family: ClassVar[str] = "linear"
    theta: FloatArray = field(repr=False)
    actions: FloatArray | None = field(repr=False)
    action_set: str
    n_actions: int
    sigma: float

    def __init__(self, theta: npt.ArrayLike, actions: npt.ArrayLike | None = None, *,
                 action_set: str = "fixed", n_actions: int | None = None, sigma: float = 1.0):
        th = as_float_array("theta", theta, ndim=1)
        if th.size < 1:
            raise ValueError("`theta` must have dimension d >= 1; got an empty array.")
        if action_set not in _ACTION_SETS:
            raise ValueError(f"`action_set` must be one of {list(_ACTION_SETS)}; got {action_set!r}.")
        sig = check_positive("sigma", sigma)
        if action_set == "fixed":
            if actions is None:
                raise ValueError('`actions` must be given when action_set="fixed".')
            X = as_float_array("actions", actions, ndim=2)
            if X.shape[1] != th.size:
                raise ValueError(f"`actions` must have shape (K, {th.size}) to match `theta`; got {X.shape}.")
            if X.shape[0] < 2:
                raise ValueError(f"`actions` must contain K >= 2 actions; got K = {X.shape[0]}.")
            if n_actions is not None and check_int("n_actions", n_actions) != X.shape[0]:
                raise ValueError(f"`n_actions` must equal actions.shape[0] = {X.shape[0]}; got {n_actions}.")
            k = int(X.shape[0])
            X = _readonly(X)
        else:
            if actions is not None:
                raise ValueError(f'`actions` must be None when action_set={action_set!r}.')
            if n_actions is None:
                raise ValueError(f"`n_actions` must be given when action_set={action_set!r}.")
            k = check_int("n_actions", n_actions, lo=2)
            X = None
        object.__setattr__(self, "theta", _readonly(th))
        object.__setattr__(self, "actions", X)
        object.__setattr__(self, "action_set", action_set)
        object.__setattr__(self, "n_actions", k)
        object.__setattr__(self, "sigma", sig)

    @property
    def dim(self) -> int:
        """Feature dimension ``d``."""
        return int(self.theta.size)

    @property
    def n_arms(self) -> int:
        """Actions per round ``K``."""
        return self.n_actions

    @property
    def gaps(self) -> FloatArray:
        """Gaps of the fixed action set (``ValueError`` for random action sets)."""
        if self.actions is None:
            raise ValueError("`gaps` is defined only for a fixed action set.")
        m = self.actions @ self.theta
        return _readonly(m.max() - m)

    def __repr__(self) -> str:
        return (f"LinearBandit(d={self.dim}, action_set={self.action_set!r}, "
                f"n_actions={self.n_actions}, sigma={self.sigma:g})")


@dataclass(frozen=True, eq=False)
class MatrixGame:
    r"""Two-player zero-sum matrix game; ``payoff[i, j]`` is paid by the column player to the row player.

    The row player maximizes :math:`x^\top A y`, the column player minimizes it. The
    Nash gap (exploitability) of a pair of mixed strategies is
    :math:`\max_i (A y)_i - \min_j (x^\top A)_j \ge 0`, zero exactly at a Nash equilibrium
    (Slivkins 2019, Ch. 9).

    Parameters
    ----------
    payoff : array_like, shape (m, n)
        Finite payoffs, ``m, n >= 2``.

    Examples
    --------
    >>> rps = MatrixGame([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])
    >>> float(rps.nash_gap([1/3] * 3, [1/3] * 3))
    0.0
    """

    payoff: FloatArray = field(repr=False)

    def __init__(self, payoff: npt.ArrayLike):
        A = as_float_array("payoff", payoff, ndim=2)
        if A.shape[0] < 2 or A.shape[1] < 2:
            raise ValueError(f"`payoff` must have at least 2 rows and 2 columns; got shape {A.shape}.")
        object.__setattr__(self, "payoff", _readonly(A))

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``: actions of the row and of the column player."""
        return (int(self.payoff.shape[0]), int(self.payoff.shape[1]))

    @property
    def payoff_range(self) -> float:
        """``max A - min A`` (the scale of the regret bounds; 1 for a constant game)."""
        r = float(self.payoff.max() - self.payoff.min())
        return r if r > 0 else 1.0

    def nash_gap(self, x: npt.ArrayLike, y: npt.ArrayLike) -> float:
        r"""Exploitability :math:`\max_i (A y)_i - \min_j (x^\top A)_j` of the pair ``(x, y)``."""
        xa = as_float_array("x", x, shape=(self.shape[0],))
        ya = as_float_array("y", y, shape=(self.shape[1],))
        return float((self.payoff @ ya).max() - (xa @ self.payoff).min())

    def __repr__(self) -> str:
        return f"MatrixGame(shape={self.shape})"
