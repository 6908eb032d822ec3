r"""Demonstration-regularized RLHF.

A Bradley-Terry reward from trajectory preferences, then KL-regularized planning toward the behaviour-cloning policy.

Preferences over trajectory pairs follow the Bradley-Terry model of the true return,

.. math::

    \Pr(\tau^1 \succ \tau^2) = \sigma\big(R(\tau^1) - R(\tau^2)\big), \qquad
    R(\tau) = \sum_{h=0}^{H-1} r_h(s_h, a_h), \qquad \sigma(x) = 1/(1+e^{-x}).

With a reward linear in features, :math:`r_h(s,a) = \phi(s,a)^\top w_h` (one-hot
:math:`\phi` in the tabular case), :math:`R(\tau) = \langle\psi(\tau), w\rangle` with
:math:`\psi(\tau) = (\phi(s_h,a_h))_{h<H}`, and the maximum-likelihood estimate is a
ridge-penalized logistic regression on :math:`x = \psi(\tau^1) - \psi(\tau^2)`. Only
differences of returns are identified: a constant added to every :math:`r_h` (per stage)
leaves all preference probabilities and every (regularized) optimal policy unchanged,
and the ridge penalty picks the minimum-norm representative.

The policy is then :math:`\hat\pi = \arg\max_\pi \hat V^\pi - \beta\,
\mathrm{KL}_{traj}(\pi\|\pi^{BC})` on the estimated reward (soft backward induction
toward :math:`\pi^{BC}`, :func:`mdpkit.solve_kl_regularized`). The KL term keeps
:math:`\hat\pi` where :math:`\pi^{BC}`, hence the data, are, which is what lets the
method dispense with pessimism (Tiapkin et al. 2024, Sec. 5).

References
----------
.. [1] D. Tiapkin et al., "Demonstration-Regularized RL", ICLR 2024 (arXiv 2310.17303),
   Sec. 5 (demonstration-regularized RLHF, tabular and linear).
.. [2] R. A. Bradley, M. E. Terry, "Rank Analysis of Incomplete Block Designs",
   Biometrika 39, 1952.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit, log_expit

from .._results import SolveResult, as_frame, policy_frame
from .._typing import FloatArray, RNGLike
from .._validation import as_float_array, as_generator, check_int, check_positive
from ..mdp import TabularMDP, Trajectories
from . import _mle_kernels as MK
from ._bc import _as_tabular, as_demonstrations
from ._newton import newton_maximize


@dataclass(frozen=True, slots=True, kw_only=True)
class Preferences:
    r"""Labelled trajectory pairs: ``prefer_first[i]`` is :math:`\mathbb 1\{\tau^1_i \succ \tau^2_i\}`.

    Attributes
    ----------
    first, second : Trajectories
        The two trajectories of each pair (same number of episodes and horizon).
    prefer_first : ndarray of bool, shape (n_pairs,)
    """

    first: Trajectories
    second: Trajectories
    prefer_first: npt.NDArray[np.bool_]

    @property
    def n_pairs(self) -> int:
        return int(self.prefer_first.shape[0])

    def summary(self) -> str:
        """One line: pairs, horizon and how often the first trajectory is preferred."""
        return (f"Preferences: {self.n_pairs} pairs of {self.first.horizon}-step trajectories, "
                f"first preferred in {float(self.prefer_first.mean()):.3g} of them")

    def to_frame(self) -> Any:
        """Return the pairs as a pandas DataFrame, one row per pair.

        Columns: ``pair``, ``return_first``, ``return_second``, ``prefer_first``.
        """
        return as_frame({"pair": np.arange(self.n_pairs), "return_first": self.first.returns,
                         "return_second": self.second.returns, "prefer_first": self.prefer_first})


def preference_pairs(mdp: Any, pi: npt.ArrayLike, n_pairs: int, *, rng: RNGLike = None) -> Preferences:
    r"""Sample trajectory pairs from ``pi`` and label them by Bradley-Terry on the true return.

    Both trajectories of a pair are independent episodes of ``pi``; the label is
    :math:`\mathbb 1\{U < \sigma(R(\tau^1) - R(\tau^2))\}` with :math:`U` uniform.

    Parameters
    ----------
    mdp : TabularMDP or LinearMDP
        Finite horizon.
    pi : array_like, shape (H, S, A) or (S, A)
        The policy generating the pairs (e.g. :math:`\pi^{BC}`).
    n_pairs : int
    rng : int, Generator or None

    Returns
    -------
    Preferences

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=3, n_actions=2, horizon=2, rng=0)
    >>> prefs = preference_pairs(mdp, mk.uniform_policy(mdp), n_pairs=4, rng=0)
    >>> prefs.n_pairs, prefs.first.states.shape
    (4, (4, 3))
    """
    m = _as_tabular(mdp)
    if not m.is_finite_horizon:
        raise ValueError(f"`mdp` must be finite-horizon (`horizon=`); got gamma={m.gamma}.")
    n = check_int("n_pairs", n_pairs, lo=1)
    gen = as_generator(rng)
    first = m.simulate(pi, n, rng=gen)
    second = m.simulate(pi, n, rng=gen)
    p = expit(first.returns - second.returns)
    return Preferences(first=first, second=second, prefer_first=gen.random(n) < p)


@dataclass(frozen=True, slots=True, kw_only=True)
class RewardEstimate:
    r"""A Bradley-Terry maximum-likelihood reward :math:`\hat r_h(s,a) = \phi(s,a)^\top\hat w_h`.

    Attributes
    ----------
    r : ndarray, shape (H, S, A)
        The estimated reward, tabulated.
    w : ndarray, shape (H, d)
        Weights (``d = S*A`` in the tabular case, one weight per pair).
    converged : bool
    n_iter : int
    """

    r: FloatArray
    w: FloatArray
    converged: bool
    n_iter: int

    def summary(self) -> str:
        """One line: shape, convergence and Newton steps."""
        state = "converged" if self.converged else "NOT converged"
        return f"Bradley-Terry reward: H={self.w.shape[0]}, d={self.w.shape[1]}, {state} in {self.n_iter} Newton steps"

    def to_frame(self) -> Any:
        """One row per (stage, state, action) with the estimated reward ``r`` (a pandas DataFrame)."""
        return policy_frame(r=self.r)


@dataclass(frozen=True, slots=True, kw_only=True)
class RLHFResult:
    r"""Output of :func:`demo_regularized_rlhf`.

    Attributes
    ----------
    plan : SolveResult
        The KL-regularized plan toward :math:`\pi^{BC}` on the estimated reward
        (``plan.pi`` is :math:`\hat\pi`).
    reward : RewardEstimate
        The Bradley-Terry reward estimate.
    beta : float
    """

    plan: SolveResult
    reward: RewardEstimate
    beta: float

    @property
    def pi(self) -> FloatArray:
        r"""The learned policy :math:`\hat\pi`, shape (H, S, A)."""
        return self.plan.pi

    def summary(self) -> str:
        """One line: the regularization, the reward fit and the plan."""
        return f"demo-regularized RLHF (beta={self.beta:g}): {self.reward.summary()}; plan {self.plan.summary()}"

    def to_frame(self) -> Any:
        """One row per (stage, state, action): policy, estimated reward and soft Q (a pandas DataFrame)."""
        return policy_frame(pi=self.plan.pi, r=self.reward.r, Q=self.plan.Q)


def _logistic_ridge(X: FloatArray, y: FloatArray, ridge: float, tol: float, max_iter: int
                    ) -> tuple[FloatArray, bool, int]:
    r"""Damped Newton for :math:`\max_w \sum_i \log\sigma(\pm x_i^\top w) - \frac{\rho}{2}\|w\|^2`."""
    sgn = 2.0 * y - 1.0
    Z = np.ascontiguousarray(X * sgn[:, None])                       # log-likelihood is sum_i log sigma(z_i . w)

    def objective(w: FloatArray) -> float:
        return float(log_expit(np.einsum("ij,j->i", Z, w)).sum() - 0.5 * ridge * w @ w)

    d = X.shape[1]
    hess = np.empty((d, d))

    def derivatives(w: FloatArray) -> tuple[FloatArray, FloatArray]:
        m = np.einsum("ij,j->i", Z, w)      # einsum, not BLAS: threaded gemv stalls on busy machines
        p = expit(m)
        MK.weighted_gram_into(Z, p * (1.0 - p), hess)
        return np.einsum("ij,i->j", Z, expit(-m)) - ridge * w, hess + ridge * np.eye(d)

    return newton_maximize(objective, derivatives, np.zeros(d), tol=tol, max_iter=max_iter,
                           what="bradley_terry_reward")


def bradley_terry_reward(
    prefs: Preferences,
    n_states: int,
    n_actions: int,
    *,
    horizon: int,
    phi: npt.ArrayLike | None = None,
    ridge: float = 1.0,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> RewardEstimate:
    r"""Bradley-Terry maximum-likelihood reward from trajectory preferences (tabular or linear).

    .. math::

        \hat w = \arg\max_w \sum_{i} \log\sigma\big(\pm\langle\psi(\tau^1_i) -
        \psi(\tau^2_i), w\rangle\big) - \frac{\rho}{2}\|w\|_2^2,

    with the sign :math:`+` when :math:`\tau^1_i \succ \tau^2_i`, :math:`\psi(\tau) =
    (\phi(s_h,a_h))_{h<H}` (stage-dependent weights :math:`w_h`), and one-hot features
    when ``phi`` is omitted (tabular: :math:`\psi(\tau)` counts the stage-state-action
    triples of :math:`\tau`). Strictly concave; solved by damped Newton steps, stopped
    at Newton decrement :math:`\lambda^2/2 \le` ``tol``.

    Parameters
    ----------
    prefs : Preferences
    n_states, n_actions : int
    horizon : int
    phi : array_like, shape (S, A, d), optional
        Reward features (linear case).
    ridge : float
        :math:`\rho > 0`.
    tol : float
    max_iter : int

    Returns
    -------
    RewardEstimate

    References
    ----------
    .. [1] Tiapkin et al., "Demonstration-Regularized RL", ICLR 2024, Sec. 5.

    Examples
    --------
    >>> import numpy as np
    >>> from mdpkit.mdp import Trajectories
    >>> one = lambda a: Trajectories(np.zeros((3, 2), int), np.full((3, 1), a), np.zeros((3, 1)), 1)
    >>> prefs = Preferences(first=one(1), second=one(0), prefer_first=np.array([True, True, False]))
    >>> est = bradley_terry_reward(prefs, 1, 2, horizon=1, ridge=1e-8)
    >>> round(float(est.r[0, 0, 1] - est.r[0, 0, 0]), 6)     # log(2/1)
    0.693147
    """
    if not isinstance(prefs, Preferences):
        raise TypeError(f"`prefs` must be a Preferences object (from `preference_pairs`); got "
                        f"{type(prefs).__name__}.")
    S = check_int("n_states", n_states, lo=1)
    A = check_int("n_actions", n_actions, lo=1)
    H = check_int("horizon", horizon, lo=1)
    rho = check_positive("ridge", ridge)
    tol_f = check_positive("tol", tol)
    max_it = check_int("max_iter", max_iter, lo=1)
    if phi is None:
        ph = np.eye(S * A).reshape(S, A, S * A)
    else:
        ph = as_float_array("phi", phi, ndim=3)
        if ph.shape[:2] != (S, A):
            raise ValueError(f"`phi` must have shape (S, A, d) with (S, A) = {(S, A)}; got {ph.shape}.")
    s1, a1 = as_demonstrations(prefs.first, S, A, H, name="prefs.first")
    s2, a2 = as_demonstrations(prefs.second, S, A, H, name="prefs.second")
    y = np.asarray(prefs.prefer_first)
    if s1.shape[0] != s2.shape[0] or y.shape != (s1.shape[0],):
        raise ValueError("`prefs` must hold as many second trajectories and labels as first trajectories; "
                         f"got {s1.shape[0]}, {s2.shape[0]} and labels of shape {y.shape}.")
    X = (ph[s1, a1] - ph[s2, a2]).reshape(s1.shape[0], -1)          # (n, H*d)
    w, ok, n_it = _logistic_ridge(X, y.astype(np.float64), rho, tol_f, max_it)
    W = w.reshape(H, ph.shape[2])
    return RewardEstimate(r=np.einsum("sad,hd->hsa", ph, W), w=W, converged=ok, n_iter=n_it)


def demo_regularized_rlhf(
    mdp: Any,
    prefs: Preferences,
    pi_bc: npt.ArrayLike,
    beta: float,
    *,
    phi: npt.ArrayLike | None = None,
    ridge: float = 1.0,
) -> RLHFResult:
    r"""Demonstration-regularized RLHF: BT reward estimate, then soft planning toward :math:`\pi^{BC}`.

    .. math::

        \hat\pi = \arg\max_\pi \ \mathbb E^\pi\Big[\sum_h \hat r_h(s_h,a_h)\Big]
        - \beta\,\mathrm{KL}_{traj}(\pi\|\pi^{BC}),

    computed by soft backward induction on the known transitions of ``mdp`` with the
    reward replaced by :math:`\hat r` from :func:`bradley_terry_reward` ([1]_, Sec. 5;
    the transition-learning counterpart is :class:`DemoRegularizedUCBVI`).

    Parameters
    ----------
    mdp : TabularMDP or LinearMDP
        Finite horizon; only its transitions and ``mu0`` are used.
    prefs : Preferences
    pi_bc : array_like, shape (H, S, A)
        Behaviour-cloning policy (strictly positive).
    beta : float
        :math:`\beta > 0`.
    phi : array_like, shape (S, A, d), optional
        Reward features (linear RLHF); tabular if omitted. For a ``LinearMDP`` pass its
        ``phi``.
    ridge : float

    Returns
    -------
    RLHFResult
        ``.plan``, the regularized plan (``.pi`` is :math:`\hat\pi`), and ``.reward``, the
        reward estimate.

    References
    ----------
    .. [1] Tiapkin et al., "Demonstration-Regularized RL", ICLR 2024, Sec. 5.

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=3, n_actions=2, horizon=2, rng=0)
    >>> pi_bc = mk.uniform_policy(mdp)
    >>> prefs = preference_pairs(mdp, pi_bc, n_pairs=2000, rng=0)
    >>> res = demo_regularized_rlhf(mdp, prefs, pi_bc, beta=0.05)
    >>> v = lambda pi: float(mdp.mu0 @ mdp.evaluate(pi)[0])
    >>> bool(v(res.pi) > v(pi_bc))
    True
    """
    m = _as_tabular(mdp)
    if not m.is_finite_horizon:
        raise ValueError(f"`mdp` must be finite-horizon (`horizon=`); got gamma={m.gamma}.")
    check_positive("beta", beta)
    H, S, A = m.horizon, m.n_states, m.n_actions
    assert H is not None
    ref = m.check_policy(pi_bc, name="pi_bc")
    est = bradley_terry_reward(prefs, S, A, horizon=H, phi=phi, ridge=ridge)
    from ..solvers import solve_kl_regularized

    model = TabularMDP(m.P, est.r, horizon=H, mu0=m.mu0)
    return RLHFResult(plan=solve_kl_regularized(model, ref, beta), reward=est, beta=float(beta))
