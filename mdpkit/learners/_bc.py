r"""Behaviour cloning from expert demonstrations, and the trajectory KL it is judged by.

Demonstration-regularized RL (Tiapkin et al., 2024) starts from :math:`N^E` expert
episodes and fits a policy :math:`\pi^{BC}` by maximum likelihood; the quality of the
fit is measured by the *trajectory* KL divergence

.. math::

    \mathrm{KL}_{traj}(\pi^E \| \pi) = \mathbb E_{\pi^E}\Big[\sum_{h=0}^{H-1}
    \mathrm{KL}\big(\pi^E_h(\cdot|s_h) \,\|\, \pi_h(\cdot|s_h)\big)\Big]
    = \sum_{h,s} d^{E}_h(s)\, \mathrm{KL}\big(\pi^E_h(\cdot|s) \,\|\, \pi_h(\cdot|s)\big),

the KL between the laws of the two policies' trajectories (the transition terms cancel),
computed exactly from the expert's state occupancy :math:`d^E_h`. The paper's BC bounds
are :math:`\tilde O(SAH/N^E)` (tabular, smoothed MLE) and :math:`\tilde O(dH/N^E)`
(log-linear MLE with features of dimension :math:`d`).

References
----------
.. [1] D. Tiapkin, D. Belomestny, D. Calandriello, E. Moulines, R. Munos, A. Naumov,
   P. Perrault, M. Valko, P. Ménard, "Demonstration-Regularized RL", ICLR 2024
   (arXiv 2310.17303), Sec. 3 (behaviour cloning) and Sec. 4 (regularized RL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp, xlogy

from .._results import policy_frame
from .._typing import FloatArray, IntArray
from .._validation import as_float_array, check_int, check_positive
from ..mdp import TabularMDP, Trajectories
from . import _mle_kernels as MK
from ._newton import newton_maximize


def as_demonstrations(
    demos: Any, n_states: int, n_actions: int, horizon: int, *, name: str = "demos"
) -> tuple[IntArray, IntArray]:
    """Validate demonstrations; returns ``(states[n, H], actions[n, H])`` as int64.

    ``demos`` is a :class:`~mdpkit.mdp.Trajectories` (from ``mdp.simulate``) or a pair
    ``(states, actions)`` with ``states`` of shape ``(n, H)`` or ``(n, H + 1)`` (the
    final state is ignored) and ``actions`` of shape ``(n, H)``.
    """
    if isinstance(demos, Trajectories):
        states, actions = demos.states, demos.actions
        if demos.horizon != horizon:
            raise ValueError(
                f"`{name}` must have horizon {horizon} (the `horizon` argument); "
                f"the trajectories have horizon {demos.horizon}."
            )
    elif isinstance(demos, tuple) and len(demos) == 2:
        states, actions = demos
    else:
        raise TypeError(
            f"`{name}` must be a Trajectories object (from `mdp.simulate`) or a pair "
            f"(states, actions); got {type(demos).__name__}."
        )
    s = np.asarray(states)
    a = np.asarray(actions)
    for arr, what in ((s, "states"), (a, "actions")):
        if arr.dtype.kind not in "iu":
            raise TypeError(f"`{name}` {what} must be integer indices; got dtype {arr.dtype}.")
        if arr.ndim != 2:
            raise ValueError(f"`{name}` {what} must be 2-D (episode, step); got shape {arr.shape}.")
    if a.shape[0] == 0:
        raise ValueError(f"`{name}` must contain at least one episode; got 0.")
    if a.shape[1] != horizon:
        raise ValueError(
            f"`{name}` actions must have {horizon} steps per episode (the `horizon` "
            f"argument); got shape {a.shape}."
        )
    if s.shape not in ((a.shape[0], horizon), (a.shape[0], horizon + 1)):
        raise ValueError(
            f"`{name}` states must have shape ({a.shape[0]}, {horizon}) or "
            f"({a.shape[0]}, {horizon + 1}) to match the actions; got {s.shape}."
        )
    s = s[:, :horizon]
    for arr, what, n in ((s, "states", n_states), (a, "actions", n_actions)):
        bad = (arr < 0) | (arr >= n)
        if np.any(bad):
            i, t = (int(v) for v in np.argwhere(bad)[0])
            raise ValueError(
                f"`{name}` {what} must lie in [0, {n - 1}]; episode {i}, step {t} has "
                f"{int(arr[i, t])}."
            )
    return np.ascontiguousarray(s, dtype=np.int64), np.ascontiguousarray(a, dtype=np.int64)


def stage_counts(states: IntArray, actions: IntArray, n_states: int, n_actions: int) -> FloatArray:
    """Visit counts ``n[h, s, a]`` of (stage, state, action) triples."""
    n, H = actions.shape
    idx = (np.arange(H)[None, :] * n_states + states) * n_actions + actions
    return np.bincount(idx.ravel(), minlength=H * n_states * n_actions).reshape(
        H, n_states, n_actions).astype(np.float64)


def behavior_cloning(
    demos: Trajectories | tuple[npt.ArrayLike, npt.ArrayLike],
    n_states: int,
    n_actions: int,
    *,
    horizon: int,
    kappa: float = 1.0,
) -> BCResult:
    r"""Smoothed maximum-likelihood behaviour cloning, stage by stage (tabular).

    .. math::

        \pi^{BC}_h(a|s) = \frac{n_h(s,a) + \kappa}{n_h(s) + \kappa A},

    where :math:`n_h(s,a)` counts the demonstrations in state :math:`s` at stage
    :math:`h` taking action :math:`a` and :math:`n_h(s) = \sum_a n_h(s,a)`. This is the
    MLE over stage-dependent policies with a Dirichlet(:math:`\kappa + 1`) prior
    (add-:math:`\kappa` smoothing): every action keeps probability at least
    :math:`\kappa/(n_h(s) + \kappa A)`, which keeps :math:`\mathrm{KL}_{traj}(\pi^E\|\pi^{BC})`
    finite, and unvisited states get the uniform policy. The tabular BC of [1]_
    (Sec. 3) satisfies :math:`\mathrm{KL}_{traj}(\pi^E\|\pi^{BC}) = \tilde O(SAH/N^E)`
    with high probability.

    Parameters
    ----------
    demos : Trajectories or (states, actions)
        Expert episodes; see :func:`as_demonstrations`.
    n_states, n_actions : int
    horizon : int
        ``H``; the demonstrations must have exactly ``H`` steps.
    kappa : float
        Smoothing pseudo-count :math:`\kappa > 0` (add-one smoothing by default).

    Returns
    -------
    BCResult
        ``.pi`` is :math:`\pi^{BC}_h(a|s)` (shape (H, S, A), strictly positive rows on the
        simplex); ``.counts`` the stage counts :math:`n_h(s,a)`.

    References
    ----------
    .. [1] Tiapkin et al., "Demonstration-Regularized RL", ICLR 2024, Sec. 3.

    Examples
    --------
    >>> import numpy as np
    >>> states = np.array([[0, 1], [0, 0]]); actions = np.array([[1, 0], [1, 1]])
    >>> pi = behavior_cloning((states, actions), n_states=2, n_actions=2, horizon=2).pi
    >>> pi[0, 0]                      # two visits, both action 1: (0+1)/4, (2+1)/4
    array([0.25, 0.75])
    >>> pi[0, 1]                      # never visited at stage 0: uniform
    array([0.5, 0.5])
    """
    S = check_int("n_states", n_states, lo=1)
    A = check_int("n_actions", n_actions, lo=1)
    H = check_int("horizon", horizon, lo=1)
    k = check_positive("kappa", kappa)
    s, a = as_demonstrations(demos, S, A, H)
    n = stage_counts(s, a, S, A)
    return BCResult(pi=(n + k) / (n.sum(axis=-1, keepdims=True) + k * A), counts=n, kappa=k)


@dataclass(frozen=True, slots=True, kw_only=True)
class BCResult:
    r"""Output of :func:`behavior_cloning`.

    Attributes
    ----------
    pi : ndarray, shape (H, S, A)
        The cloned policy :math:`\pi^{BC}`.
    counts : ndarray, shape (H, S, A)
        Demonstration counts :math:`n_h(s,a)`.
    kappa : float
        The smoothing pseudo-count.
    """

    pi: FloatArray
    counts: FloatArray
    kappa: float

    @property
    def n_demonstrations(self) -> int:
        """Number of expert episodes (the visits of stage 0)."""
        return int(self.counts[0].sum())

    def summary(self) -> str:
        """One line: demonstrations, horizon, unvisited (stage, state) pairs, smallest probability."""
        unvisited = int((self.counts.sum(axis=-1) == 0).sum())
        return (f"behavior cloning: {self.n_demonstrations} demonstrations, H={self.pi.shape[0]}, "
                f"{unvisited} unvisited (stage, state) pairs, min pi = {self.pi.min():.3g}, kappa={self.kappa:g}")

    def to_frame(self) -> Any:
        """One row per (stage, state, action): ``pi`` and ``count`` (a pandas DataFrame)."""
        return policy_frame(pi=self.pi, count=self.counts)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLinearPolicy:
    r"""A stage-dependent log-linear policy :math:`\pi_h(a|s) \propto \exp(\theta_h^\top\phi(s,a))`.

    Attributes
    ----------
    theta : ndarray, shape (H, d)
    pi : ndarray, shape (H, S, A)
        The policy tabulated on the feature map it was fitted with.
    converged : bool
        Every stage's Newton iteration met its tolerance.
    n_iter : int
        Newton steps, summed over stages.
    """

    theta: FloatArray
    pi: FloatArray
    converged: bool
    n_iter: int

    def summary(self) -> str:
        """One line: shape, convergence and Newton steps."""
        state = "converged" if self.converged else "NOT converged"
        return (f"log-linear policy: H={self.theta.shape[0]}, d={self.theta.shape[1]}, {state} "
                f"in {self.n_iter} Newton steps")

    def to_frame(self) -> Any:
        """One row per (stage, state, action) with ``pi`` (a pandas DataFrame)."""
        return policy_frame(pi=self.pi)


def log_linear_policy(theta: npt.ArrayLike, phi: npt.ArrayLike) -> FloatArray:
    r"""Tabulate :math:`\pi_h(a|s) = \exp(\theta_h^\top\phi(s,a)) / \sum_b \exp(\theta_h^\top\phi(s,b))`.

    Parameters
    ----------
    theta : array_like, shape (H, d)
    phi : array_like, shape (S, A, d)

    Returns
    -------
    ndarray, shape (H, S, A)

    Examples
    --------
    >>> import numpy as np
    >>> phi = np.array([[[1.0, 0.0], [0.0, 1.0]]])          # one state, two actions
    >>> log_linear_policy([[np.log(3.0), 0.0]], phi)[0, 0]
    array([0.75, 0.25])
    """
    th = as_float_array("theta", theta, ndim=2)
    ph = as_float_array("phi", phi, ndim=3)
    if th.shape[1] != ph.shape[2]:
        raise ValueError(f"`theta` must have shape (H, d) with d = {ph.shape[2]} (from `phi`); "
                         f"got {th.shape}.")
    logits = np.einsum("sad,hd->hsa", ph, th)
    return np.exp(logits - logsumexp(logits, axis=-1, keepdims=True))


def _fit_stage(n_sa: FloatArray, phi: FloatArray, ridge: float, tol: float, max_iter: int
               ) -> tuple[FloatArray, bool, int]:
    """Damped Newton on the ridge-penalized log-linear likelihood of one stage."""
    d = phi.shape[2]
    n_s = n_sa.sum(axis=1)
    states = np.flatnonzero(n_s > 0)
    F = phi[states]                                   # (m, A, d)
    w_sa, w_s = n_sa[states], n_s[states]
    target = np.einsum("sa,sad->d", w_sa, F)          # sum_i phi(s_i, a_i)

    def objective(th: FloatArray) -> float:
        z = F @ th
        return float(target @ th - w_s @ logsumexp(z, axis=1) - 0.5 * ridge * th @ th)

    Fm = np.ascontiguousarray(F.reshape(-1, d))
    hess, outer = np.empty((d, d)), np.empty((d, d))

    def derivatives(th: FloatArray) -> tuple[FloatArray, FloatArray]:
        z = F @ th
        p = np.exp(z - logsumexp(z, axis=1, keepdims=True))
        mean = np.einsum("sa,sad->sd", p, F)
        # minus the Hessian: sum_s n(s) Cov_{pi(.|s)}[phi(s, .)] + ridge I, positive definite
        MK.weighted_gram_into(Fm, (w_s[:, None] * p).ravel(), hess)
        MK.weighted_gram_into(mean, w_s, outer)
        return target - w_s @ mean - ridge * th, hess + ridge * np.eye(d) - outer

    return newton_maximize(objective, derivatives, np.zeros(d), tol=tol, max_iter=max_iter,
                           what="linear_behavior_cloning")


def linear_behavior_cloning(
    demos: Trajectories | tuple[npt.ArrayLike, npt.ArrayLike],
    phi: npt.ArrayLike,
    *,
    horizon: int,
    ridge: float = 1.0,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> LogLinearPolicy:
    r"""Log-linear (softmax over features) behaviour cloning by ridge-penalized MLE.

    For every stage :math:`h` independently,

    .. math::

        \hat\theta_h = \arg\max_\theta \sum_{i=1}^{N^E}\Big[\theta^\top\phi(s^i_h,a^i_h)
        - \log\sum_{b}\exp\big(\theta^\top\phi(s^i_h,b)\big)\Big]
        - \frac{\rho}{2}\|\theta\|_2^2,

    a strictly concave program solved by damped Newton steps, stopped when the Newton
    decrement satisfies :math:`\lambda(\theta)^2/2 \le` ``tol`` (which bounds the
    optimality gap of the objective by ``tol`` for self-concordant-like problems).
    The linear BC of [1]_ (Sec. 3) achieves
    :math:`\mathrm{KL}_{traj}(\pi^E\|\pi^{BC}) = \tilde O(dH/N^E)` for a realizable
    expert.

    Parameters
    ----------
    demos : Trajectories or (states, actions)
    phi : array_like, shape (S, A, d)
        Features :math:`\phi(s,a)`.
    horizon : int
    ridge : float
        :math:`\rho > 0`.
    tol : float
    max_iter : int
        Newton steps per stage.

    Returns
    -------
    LogLinearPolicy

    References
    ----------
    .. [1] Tiapkin et al., "Demonstration-Regularized RL", ICLR 2024, Sec. 3 (linear BC).

    Examples
    --------
    >>> import numpy as np
    >>> phi = np.eye(2)[None]                          # one state, one-hot action features
    >>> demos = (np.zeros((4, 1), dtype=int), np.array([[0], [0], [0], [1]]))
    >>> bc = linear_behavior_cloning(demos, phi, horizon=1, ridge=1e-9)
    >>> np.round(bc.pi[0, 0], 6)                       # the empirical frequencies
    array([0.75, 0.25])
    """
    ph = as_float_array("phi", phi, ndim=3)
    S, A, _ = ph.shape
    H = check_int("horizon", horizon, lo=1)
    rho = check_positive("ridge", ridge)
    tol_f = check_positive("tol", tol)
    max_it = check_int("max_iter", max_iter, lo=1)
    s, a = as_demonstrations(demos, S, A, H)
    n = stage_counts(s, a, S, A)
    thetas, ok, total = [], True, 0
    for h in range(H):
        th, conv, it = _fit_stage(n[h], ph, rho, tol_f, max_it)
        thetas.append(th)
        ok &= conv
        total += it
    theta = np.stack(thetas)
    return LogLinearPolicy(theta=theta, pi=log_linear_policy(theta, ph), converged=bool(ok), n_iter=total)


def _as_tabular(mdp: Any) -> TabularMDP:
    if isinstance(mdp, TabularMDP):
        return mdp
    to_tab = getattr(mdp, "to_tabular", None)
    if to_tab is None:
        raise TypeError(f"`mdp` must be a TabularMDP or a LinearMDP; got {type(mdp).__name__}.")
    return to_tab()


def trajectory_kl(mdp: Any, pi_expert: npt.ArrayLike, pi: npt.ArrayLike) -> float:
    r"""Exact trajectory KL :math:`\mathrm{KL}_{traj}(\pi^E\|\pi) = \sum_{h,s} d^E_h(s)\,\mathrm{KL}(\pi^E_h(\cdot|s)\|\pi_h(\cdot|s))`.

    This equals the KL divergence between the laws of the trajectories
    :math:`(s_0, a_0, \dots, s_{H-1}, a_{H-1})` under the two policies (the initial-state
    and transition factors cancel in the likelihood ratio), computed from the expert's
    exact state occupancy :math:`d^E_h(s) = \Pr^{\pi^E}(s_h = s)` (see
    ``TabularMDP.occupancy``). It is ``inf`` when :math:`\pi` misses an action the
    expert plays in a state it reaches.

    Parameters
    ----------
    mdp : TabularMDP or LinearMDP
        Finite horizon.
    pi_expert, pi : array_like, shape (H, S, A) or (S, A)

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, mdpkit as mk
    >>> mdp = mk.TabularMDP(np.ones((1, 2, 1)), np.zeros((1, 2)), horizon=3)
    >>> kl = trajectory_kl(mdp, [[1.0, 0.0]], [[0.5, 0.5]])
    >>> round(kl, 12), round(3 * float(np.log(2)), 12)       # H * KL(delta || uniform)
    (2.07944154168, 2.07944154168)
    """
    m = _as_tabular(mdp)
    if not m.is_finite_horizon:
        raise ValueError("`mdp` must be finite-horizon (trajectory KL is a sum over stages); "
                         f"got gamma={m.gamma}.")
    pe = m.check_policy(pi_expert, name="pi_expert")
    p = m.check_policy(pi, name="pi")
    d = m.occupancy(pe)                                 # d[h, s, a] = d_h(s) pi_E(a|s)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = xlogy(d, pe) - xlogy(d, p)
    if np.any(np.isinf(terms)):
        return float("inf")
    return float(max(terms.sum(), 0.0))
