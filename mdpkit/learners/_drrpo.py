r"""Policy optimization for doubly regularized robust d-rectangular linear MDPs (DR-RPO).

The objective (Gu, He, Liu, Xu 2025, DR-RPO; He, Liu, Xu, doubly regularized MDPs) adds
a KL penalty toward a reference policy to a d-rectangular robust value:

.. math::

    J(\pi) = \inf_{\mu \in \mathcal U}\ \mathbb E^{\pi, \mu}\Big[\sum_{h} r_h(s_h, a_h)
        - \beta\, \mathrm{KL}(\pi_h(\cdot|s_h)\,\|\,\pi_{ref,h}(\cdot|s_h))\Big],

with :math:`\mathcal U` a product over stages and coordinates of TV / KL / chi-square balls
of radius :math:`\rho` (or penalties :math:`\lambda D`) around the nominal factors
:math:`\mu_{h,i}`. For a fixed policy the adversary decomposes stage by stage and
coordinate by coordinate (d-rectangularity), so the robust value of :math:`\pi` is the
backward recursion

.. math::

    Q^\pi_h = \phi^\top(\theta_h + w^\pi_h), \quad
    w^\pi_{h,i} = \inf_{\mu \in \mathcal U_{h,i}} \langle \mu, V^\pi_{h+1}\rangle, \quad
    V^\pi_h(s) = \langle \pi_h(\cdot|s), Q^\pi_h(s,\cdot)\rangle
        - \beta\,\mathrm{KL}(\pi_h(\cdot|s)\|\pi_{ref,h}(\cdot|s))

(:func:`robust_policy_value`). Its maximizer is the doubly regularized solution of
:func:`mdpkit.solvers.solve_linear_robust` with a KL :class:`mdpkit.PolicyRegularizer`.

Policy mirror descent (KL proximal step of size :math:`\eta`, Lan 2022; Cen et al. 2022)

.. math::

    \pi_{k+1,h}(\cdot|s) \propto \big(\pi_{k,h}(\cdot|s)\, \pi_{ref,h}(\cdot|s)^{\eta\beta}
        e^{\eta Q^{\pi_k}_h(s,\cdot)}\big)^{1/(1+\eta\beta)}

improves monotonically (:math:`T^{\pi_{k+1}} V^{\pi_k} \ge V^{\pi_k}` and the robust
operator is monotone) and converges to the optimum (:func:`robust_policy_mirror_descent`).
:class:`DRRPO` is the online learner: the same mirror step on optimistic robust
least-squares estimates of :math:`Q^{\pi_k}` (TV balls on the factors, the DRPVI dual,
a d-rectangular bonus), acting in the nominal environment.

References
----------
.. [1] J. Gu, Y. He, Z. Liu, P. Xu, "Policy regularized distributionally robust Markov
   decision processes with linear function approximation", arXiv 2510.14246 (DR-RPO).
.. [2] Y. He, Z. Liu, P. Xu, "Doubly regularized MDPs for robust RL".
.. [3] G. Lan, "Policy mirror descent for reinforcement learning: linear convergence, new
   sampling complexity, and generalized problem classes", Math. Program. 2022.
.. [4] S. Cen, C. Cheng, Y. Chen, Y. Wei, Y. Chi, "Fast global convergence of natural policy
   gradient methods with entropy regularization", Oper. Res. 2022.
.. [5] Q. Cai, Z. Yang, C. Jin, Z. Wang, "Provably efficient exploration in policy
   optimization", ICML 2020 (optimistic PPO, the online template).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp

from .._results import grid_frame
from .._typing import FloatArray, IntArray
from .._validation import (
    as_float_array,
    as_generator,
    check_int,
    check_nonnegative,
    check_positive,
)
from ..divergences import FDivergence
from ..divergences import _robust_kernels as DRK
from ..mdp import LinearMDP
from . import _offline_kernels as OK


def _check_lin(lin: object) -> LinearMDP:
    if not isinstance(lin, LinearMDP):
        raise TypeError(f"`lin` must be a LinearMDP (e.g. mk.r2pvi_linear_mdp()); got {type(lin).__name__}.")
    return lin


def _ref_policy(lin: LinearMDP, pi_ref: npt.ArrayLike | None) -> FloatArray:
    H, S, A = lin.horizon, lin.n_states, lin.n_actions
    if pi_ref is None:
        return np.full((H, S, A), 1.0 / A)
    ref = as_float_array("pi_ref", pi_ref)
    if ref.shape == (S, A):
        ref = np.broadcast_to(ref, (H, S, A)).copy()
    if ref.shape != (H, S, A):
        raise ValueError(f"`pi_ref` must have shape (S, A) = {(S, A)} or (H, S, A) = {(H, S, A)}; got {ref.shape}.")
    if np.any(ref <= 0) or np.max(np.abs(ref.sum(-1) - 1.0)) > 1e-10:
        raise ValueError("`pi_ref` must have strictly positive rows summing to 1 (the KL to it must be finite).")
    return ref


def _uncertainty(div: FDivergence, lam: float | None, rho: float | None):
    from ..solvers.robust import _spec

    return _spec(div, lam, rho)


def _soft_value(pi: FloatArray, Q: FloatArray, log_ref: FloatArray, beta: float) -> FloatArray:
    """<pi, Q> - beta KL(pi || pi_ref) per state (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(pi > 0, pi * (np.log(pi) - log_ref), 0.0).sum(-1)
    return (pi * Q).sum(-1) - beta * kl


def _mirror_step(log_pi: FloatArray, Q: FloatArray, log_ref: FloatArray, beta: float, eta: float) -> FloatArray:
    """Return log pi', pi' ∝ (pi pi_ref^{eta beta} e^{eta Q})^{1/(1 + eta beta)}, centred log-sum-exp."""
    z = (log_pi + eta * beta * log_ref + eta * Q) / (1.0 + eta * beta)
    return z - logsumexp(z, axis=-1, keepdims=True)


def robust_policy_value(lin: LinearMDP, pi: npt.ArrayLike, *, div: FDivergence, rho: float | None = None,
                        lam: float | None = None, beta: float = 0.0,
                        pi_ref: npt.ArrayLike | None = None) -> tuple[FloatArray, FloatArray]:
    r"""Exact doubly regularized robust value of a policy on a d-rectangular linear MDP.

    Backward recursion of the module docstring with the exact dual of each
    coordinate (ball of radius ``rho`` or penalty ``lam`` on the factors).

    Parameters
    ----------
    lin : LinearMDP
    pi : array_like, shape (H, S, A)
        The policy (rows on the simplex).
    div : KL, ChiSquare or TotalVariation
    rho, lam : float
        Exactly one: radius of the factor balls or penalty strength.
    beta : float
        Policy-KL strength, ``>= 0``.
    pi_ref : array_like, shape (S, A) or (H, S, A), optional
        Reference policy (default uniform).

    Returns
    -------
    V : ndarray, shape (H + 1, S)
    Q : ndarray, shape (H, S, A)

    Examples
    --------
    >>> import mdpkit as mk
    >>> from mdpkit.divergences import TotalVariation
    >>> lin = mk.r2pvi_linear_mdp()
    >>> pi = np.full((3, 5, 16), 1 / 16)
    >>> V, _ = robust_policy_value(lin, pi, div=TotalVariation(), rho=0.0)
    >>> round(float(V[0, 0]), 10) == round(float(lin.to_tabular().evaluate(pi)[0, 0]), 10)
    True
    """
    lin = _check_lin(lin)
    H, S, A, d = lin.horizon, lin.n_states, lin.n_actions, lin.dim
    p = as_float_array("pi", pi, shape=(H, S, A))
    if np.any(p < 0) or np.max(np.abs(p.sum(-1) - 1.0)) > 1e-10:
        raise ValueError("`pi` must have rows on the simplex (non-negative, summing to 1 within 1e-10).")
    b = check_nonnegative("beta", beta)
    spec = _uncertainty(div, lam, rho)
    log_ref = np.log(_ref_policy(lin, pi_ref))
    phi2 = lin.phi.reshape(S * A, d)
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    for h in range(H - 1, -1, -1):
        w = _factor_duals(spec, V[h + 1], lin.mu[h])
        Q[h] = (phi2 @ (lin.theta[h] + w)).reshape(S, A)
        V[h] = _soft_value(p[h], Q[h], log_ref[h], b)
    return V, Q


def _factor_duals(spec, v_next: FloatArray, mu_h: FloatArray) -> FloatArray:
    """w_i = inf over the ball / penalty around mu_h[i] of <mu, v_next>, for every coordinate."""
    d = mu_h.shape[0]
    vn = np.ascontiguousarray(v_next, dtype=np.float64)
    order = np.ascontiguousarray(np.tile(np.argsort(vn, kind="stable"), (d, 1)))
    jmin = np.full(d, int(np.argmin(vn)))
    w = np.empty(d)
    q = np.empty((d, vn.shape[0]))
    DRK.robust_rows(spec.div.code, spec.is_ball, np.ascontiguousarray(np.tile(vn, (d, 1))),
                    np.ascontiguousarray(mu_h), spec.param, order, jmin, w, q, False)
    return w


@dataclass(frozen=True)
class MirrorDescentResult:
    r"""Iterates of :func:`robust_policy_mirror_descent`.

    Attributes
    ----------
    objective : ndarray, shape (n_iter + 1,)
        :math:`J(\pi_k) = \sum_s \mu_0(s) V^{\pi_k}_0(s)`, exact.
    pi : ndarray, shape (H, S, A)
        The last iterate.
    V : ndarray, shape (H + 1, S)
        Its exact robust regularized value.
    """

    objective: FloatArray
    pi: FloatArray
    V: FloatArray

    def summary(self) -> str:
        """Return one line: iterations and the objective at the first and last iterate."""
        return (f"robust mirror descent: {self.objective.size - 1} iterations, objective "
                f"{self.objective[0]:.6g} -> {self.objective[-1]:.6g}")

    def to_frame(self) -> Any:
        """Return one row per iterate (0 is the initial policy): ``iteration``, ``objective``."""
        return grid_frame({"iteration": np.arange(self.objective.size)}, objective=self.objective)


def robust_policy_mirror_descent(lin: LinearMDP, *, div: FDivergence, rho: float | None = None,
                                 lam: float | None = None, beta: float, pi_ref: npt.ArrayLike | None = None,
                                 eta: float = 1.0, n_iter: int = 100,
                                 pi0: npt.ArrayLike | None = None) -> MirrorDescentResult:
    r"""Policy mirror descent with exact robust evaluation (the planning core of DR-RPO).

    :math:`\pi_{k+1} \propto (\pi_k \pi_{ref}^{\eta\beta} e^{\eta Q^{\pi_k}})^{1/(1+\eta\beta)}`
    with :math:`Q^{\pi_k}` from :func:`robust_policy_value`; starts at ``pi0`` (default
    ``pi_ref``). Every step improves :math:`V^{\pi_k}` at every state; the limit is the
    doubly regularized optimum.

    Parameters
    ----------
    lin : LinearMDP
    div, rho, lam, beta, pi_ref
        As in :func:`robust_policy_value`; ``beta > 0``.
    eta : float
        Step size, ``> 0`` (``eta -> inf`` is soft policy iteration).
    n_iter : int
        Number of steps, ``>= 1``.
    pi0 : array_like, shape (H, S, A), optional
        Initial policy with strictly positive rows.

    Returns
    -------
    MirrorDescentResult

    Examples
    --------
    >>> import mdpkit as mk
    >>> from mdpkit.divergences import TotalVariation
    >>> lin = mk.r2pvi_linear_mdp()
    >>> res = robust_policy_mirror_descent(lin, div=TotalVariation(), rho=0.3, beta=0.1, n_iter=30)
    >>> bool(np.all(np.diff(res.objective) >= -1e-12))
    True
    """
    lin = _check_lin(lin)
    b = check_positive("beta", beta)
    e = check_positive("eta", eta)
    n = check_int("n_iter", n_iter, lo=1)
    ref = _ref_policy(lin, pi_ref)
    log_ref = np.log(ref)
    if pi0 is None:
        log_pi = log_ref.copy()
    else:
        p0 = as_float_array("pi0", pi0, shape=ref.shape)
        if np.any(p0 <= 0) or np.max(np.abs(p0.sum(-1) - 1.0)) > 1e-10:
            raise ValueError("`pi0` must have strictly positive rows summing to 1.")
        log_pi = np.log(p0)
    obj = np.empty(n + 1)
    for k in range(n + 1):
        V, Q = robust_policy_value(lin, np.exp(log_pi), div=div, rho=rho, lam=lam, beta=b, pi_ref=ref)
        obj[k] = float(lin.mu0 @ V[0])
        if k < n:
            log_pi = _mirror_step(log_pi, Q, log_ref, b, e)
    return MirrorDescentResult(objective=obj, pi=np.exp(log_pi), V=V)


@dataclass(frozen=True)
class DRRPORun:
    r"""Output of :meth:`DRRPO.run`.

    Attributes
    ----------
    objective : ndarray, shape (n_episodes,)
        Exact :math:`J(\pi_k)` of the policy played in episode ``k``.
    optimum : float
        :math:`J^* = \max_\pi J(\pi)` (exact doubly regularized solve).
    regret : ndarray, shape (n_episodes,)
        Cumulative :math:`\sum_{j \le k} J^* - J(\pi_j)`.
    pi : ndarray, shape (H, S, A)
        The policy after the last update.
    """

    objective: FloatArray
    optimum: float
    regret: FloatArray
    pi: FloatArray

    def summary(self) -> str:
        """Return one line: episodes, the optimum, the last objective and the cumulative regret."""
        return (f"DR-RPO: {self.objective.size} episodes, J* = {self.optimum:.6g}, final J = "
                f"{self.objective[-1]:.6g}, cumulative regret = {self.regret[-1]:.6g}")

    def to_frame(self) -> Any:
        """Return one row per episode (from 1): ``objective`` of the policy played, cumulative ``regret``."""
        return grid_frame({"episode": np.arange(1, self.objective.size + 1)}, objective=self.objective,
                          regret=self.regret)


class DRRPO:
    r"""Online DR-RPO: optimistic robust policy optimization on a d-rectangular linear MDP.

    In episode :math:`k`, with the transitions of episodes :math:`< k`, for
    :math:`h = H-1, \dots, 0`: ridge regression :math:`\Lambda_h = \sum_\tau \phi_\tau\phi_\tau^\top
    + \text{ridge}\, I`, the TV-ball dual per coordinate (as in DRPVI)
    :math:`\hat\nu_{h,i} = \max_{\alpha \in [m, H]} [\Lambda_h^{-1}\sum_\tau \phi_\tau
    \min(\hat V_{h+1}(s'_\tau), \alpha)]_i - \rho(\alpha - m)`, :math:`m = \min_s \hat V_{h+1}(s)`,
    the optimistic estimate :math:`\hat Q_h = \min\{\phi^\top(\theta_h + \hat\nu_h) + b\sum_i \phi_i
    \sqrt{[\Lambda_h^{-1}]_{ii}},\ H - h\}^+` and :math:`\hat V_h = \langle\pi_{k,h}, \hat Q_h\rangle
    - \beta\,\mathrm{KL}(\pi_{k,h}\|\pi_{ref,h})`; it plays :math:`\pi_k` in the nominal MDP
    and takes the mirror step of :func:`robust_policy_mirror_descent` on :math:`\hat Q`.
    Rewards :math:`\theta` and features are known, as in the paper's setting.

    Parameters
    ----------
    rho : float
        TV radius of the factor balls, ``>= 0`` (``0``: the nominal, non-robust learner).
    beta : float
        Policy-KL strength, ``> 0``.
    pi_ref : array_like, shape (S, A) or (H, S, A), optional
        Reference policy (default uniform).
    eta : float
        Mirror-descent step size, ``> 0``.
    bonus_scale : float
        Optimism multiplier :math:`b \ge 0`.
    ridge : float
        Ridge parameter, ``> 0``.

    Examples
    --------
    >>> import mdpkit as mk
    >>> run = mk.learners.DRRPO(rho=0.3, beta=0.1).run(mk.r2pvi_linear_mdp(), n_episodes=20, rng=0)
    >>> run.regret.shape, bool(run.regret[-1] >= 0)
    ((20,), True)
    """

    def __init__(self, *, rho: float, beta: float, pi_ref: npt.ArrayLike | None = None, eta: float = 1.0,
                 bonus_scale: float = 0.1, ridge: float = 1.0) -> None:
        self.rho = check_nonnegative("rho", rho)
        self.beta = check_positive("beta", beta)
        self.pi_ref = pi_ref
        self.eta = check_positive("eta", eta)
        self.bonus_scale = check_nonnegative("bonus_scale", bonus_scale)
        self.ridge = check_positive("ridge", ridge)

    def __repr__(self) -> str:
        return (f"DRRPO(rho={self.rho}, beta={self.beta}, eta={self.eta}, bonus_scale={self.bonus_scale}, "
                f"ridge={self.ridge})")

    def _estimate_q(self, lin: LinearMDP, data: tuple[FloatArray, IntArray], pi: FloatArray,
                    log_ref: FloatArray) -> FloatArray:
        """Optimistic robust Q of ``pi`` from ``data = (phi_taken (k, H, d), next_states (k, H))``."""
        H, S, A, d = lin.horizon, lin.n_states, lin.n_actions, lin.dim
        phi_t, nxt = data
        phi2 = lin.phi.reshape(S * A, d)
        V = np.zeros(S)
        Q = np.empty((H, S, A))
        rho = np.full(d, self.rho)
        for h in range(H - 1, -1, -1):
            P = phi_t[:, h]
            Lam_inv = np.linalg.inv(P.T @ P + self.ridge * np.eye(d))
            nu = np.zeros(d)
            if h < H - 1 and P.shape[0] > 0:
                C = np.ascontiguousarray(Lam_inv @ P.T)
                y = np.ascontiguousarray(V[nxt[:, h]])
                OK.tv_ball_sup_coords(C, y, np.argsort(y, kind="stable"), rho, float(V.min()), float(H), nu)
            bonus = self.bonus_scale * (phi2 @ np.sqrt(np.diag(Lam_inv)))
            Q[h] = np.clip(phi2 @ (lin.theta[h] + nu) + bonus, 0.0, H - h).reshape(S, A)
            V = _soft_value(pi[h], Q[h], log_ref[h], self.beta)
        return Q

    def run(self, lin: LinearMDP, *, n_episodes: int, rng=None) -> DRRPORun:
        """Play ``n_episodes`` episodes in ``lin`` (nominal factors); regret against the exact optimum.

        The regret is measured on the doubly regularized robust objective with TV balls of
        radius ``rho`` (exact evaluation by :func:`robust_policy_value`).
        """
        from ..divergences import KL, TotalVariation
        from ..solvers._solve import PolicyRegularizer
        from ..solvers.robust import solve_linear_robust

        lin = _check_lin(lin)
        K = check_int("n_episodes", n_episodes, lo=1)
        gen = as_generator(rng)
        H, S, A, d = lin.horizon, lin.n_states, lin.n_actions, lin.dim
        ref = _ref_policy(lin, self.pi_ref)
        log_ref = np.log(ref)
        tv = TotalVariation()
        opt = solve_linear_robust(lin, div=tv, rho=self.rho, policy_reg=PolicyRegularizer(KL(), ref, self.beta))
        j_star = float(lin.mu0 @ opt.V[0])
        P_cum = np.cumsum(lin.to_tabular().P, axis=-1)  # (H, S, A, S)
        phi_t = np.empty((K, H, d))
        nxt = np.empty((K, H), dtype=np.int64)
        log_pi = log_ref.copy()
        obj = np.empty(K)
        for k in range(K):
            pi = np.exp(log_pi)
            obj[k] = float(lin.mu0 @ robust_policy_value(lin, pi, div=tv, rho=self.rho, beta=self.beta,
                                                         pi_ref=ref)[0][0])
            s = int(np.searchsorted(np.cumsum(lin.mu0), gen.random(), side="right"))
            for h in range(H):
                a = min(int(np.searchsorted(np.cumsum(pi[h, s]), gen.random(), side="right")), A - 1)
                s_next = min(int(np.searchsorted(P_cum[h, s, a], gen.random(), side="right")), S - 1)
                phi_t[k, h], nxt[k, h] = lin.phi[s, a], s_next
                s = s_next
            Q = self._estimate_q(lin, (phi_t[:k + 1], nxt[:k + 1]), pi, log_ref)
            log_pi = _mirror_step(log_pi, Q, log_ref, self.beta, self.eta)
        return DRRPORun(objective=obj, optimum=j_star, regret=np.cumsum(j_star - obj), pi=np.exp(log_pi))
