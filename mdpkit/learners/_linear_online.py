r"""Optimistic online learners for linear MDPs: LSVI-UCB and its KL-regularized variant.

For a d-rectangular linear MDP (:class:`~mdpkit.mdp.LinearMDP`,
:math:`P_h(s'|s,a) = \phi(s,a)^\top\mu_h(s')`, :math:`r_h = \phi^\top\theta_h`),
LSVI-UCB (Jin et al. 2020, Alg. 1) fits, before each episode and for
:math:`h = H-1, \dots, 0`,

.. math::

    \Lambda_h = \lambda_r I + \sum_{\tau<k}\phi_\tau\phi_\tau^\top, \qquad
    w_h = \Lambda_h^{-1}\sum_{\tau<k}\phi_\tau\big(r_\tau + \bar V_{h+1}(s^\tau_{h+1})\big),

    \bar Q_h(s,a) = \min\big(H-h,\ \phi(s,a)^\top w_h + \alpha\|\phi(s,a)\|_{\Lambda_h^{-1}}\big),
    \qquad \alpha = c\, dH\sqrt{\log(2dHK/\delta)},

with ``bonus_scale`` the absolute constant :math:`c` of Jin et al. (Thm. 3.1), and
:math:`\bar V_h = \max_a \bar Q_h` or, for the KL-regularized variant,
:math:`\beta\log\sum_a\pi_{ref,h}(a|s)e^{\bar Q_h(s,a)/\beta}` (demonstration-regularized
RL in linear MDPs uses :math:`\pi_{ref}` = the log-linear BC policy, Tiapkin et al. 2024,
Sec. 4). The state space is enumerated for planning (the features of every pair are
known), which makes :math:`\sum_\tau \phi_\tau \bar V(s^\tau_{h+1}) = M_h \bar V` with
:math:`M_h = \sum_\tau\phi_\tau e_{s^\tau_{h+1}}^\top`: each episode costs
:math:`O(H(d^2 SA + dS))`, independent of the number of past episodes.
:math:`\Lambda_h^{-1}` is updated by Sherman-Morrison.

References
----------
.. [1] C. Jin, Z. Yang, Z. Wang, M. I. Jordan, "Provably Efficient Reinforcement Learning
   with Linear Function Approximation", COLT 2020, Alg. 1 and Thm. 3.1.
.. [2] D. Tiapkin et al., "Demonstration-Regularized RL", ICLR 2024, Sec. 4 (linear case).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._typing import FloatArray
from .._validation import check_positive, check_scalar, check_support
from ..mdp import LinearMDP
from . import _online_kernels as OK
from ._bc import LogLinearPolicy
from ._online import OnlineRun


def _check_linear(mdp: Any) -> LinearMDP:
    if not isinstance(mdp, LinearMDP):
        raise TypeError(f"`mdp` must be a LinearMDP for a linear learner; got {type(mdp).__name__}.")
    r = mdp.r
    if r.min() < 0.0 or r.max() > 1.0:
        raise ValueError("`mdp` rewards must lie in [0, 1] (the bonus assumes it); got range "
                         f"[{r.min():.6g}, {r.max():.6g}].")
    return mdp


def _run_linear(mdp: LinearMDP, K: int, seed: int, *, name: str, delta: float, bonus_scale: float,
                ridge: float, beta: float, pi_ref: FloatArray | None) -> OnlineRun:
    from ..solvers import solve, solve_kl_regularized

    tab = mdp.to_tabular()
    S, A, H, d = mdp.n_states, mdp.n_actions, mdp.horizon, mdp.dim
    P4 = np.ascontiguousarray(tab.P)
    r3 = np.ascontiguousarray(tab.r)
    mu0 = np.ascontiguousarray(tab.mu0)
    v_star = float(mu0 @ solve(tab).V[0])
    if pi_ref is None:
        log_ref = np.zeros((H, S, A))
        target = v_star
    else:
        log_ref = np.ascontiguousarray(np.log(pi_ref))
        target = float(mu0 @ solve_kl_regularized(tab, pi_ref, beta).V[0])
    width = bonus_scale * d * H * float(np.sqrt(np.log(2 * d * H * K / delta)))
    Lam_inv = np.ascontiguousarray(np.broadcast_to(np.eye(d) / ridge, (H, d, d)))
    M, b = np.zeros((H, d, S)), np.zeros((H, d))
    counts = np.zeros((H, S, A))
    V_up, V_lo, V_rec, V_work = (np.zeros((H + 1, S)) for _ in range(4))
    pi, pi_lo, pi_rec = (np.empty((H, S, A)) for _ in range(3))
    out = [np.empty(K) for _ in range(5)]
    OK.run_lsvi_episodes(seed, np.cumsum(mu0), np.ascontiguousarray(np.cumsum(P4, axis=-1)), P4, r3, mu0,
                         v_star, np.ascontiguousarray(mdp.phi), width, beta, log_ref, Lam_inv, M, b, counts,
                         V_up, V_lo, V_rec, pi, pi_lo, pi_rec, V_work, *out)
    subopt, rec_subopt, returns, upper, lower = out
    return OnlineRun(suboptimality=subopt, regret=np.cumsum(subopt), recommended_suboptimality=rec_subopt,
                     returns=returns, upper_value=upper, lower_value=lower, target_value=target,
                     optimal_value=v_star, policy=pi, recommended_policy=pi_rec, counts=counts, agent=name,
                     info={"bonus_width": width, "beta": beta, "ridge": ridge})


def _check_common(delta: float, bonus_scale: float, ridge: float) -> None:
    check_scalar("delta", delta, lo=0.0, hi=1.0, lo_inclusive=False, hi_inclusive=False)
    check_positive("bonus_scale", bonus_scale)
    check_positive("ridge", ridge)


@dataclass(frozen=True)
class LSVIUCB:
    r"""LSVI-UCB (Jin et al. 2020): optimistic least-squares value iteration on a linear MDP.

    See :mod:`mdpkit.learners._linear_online` for the recursion. Regret
    :math:`\tilde O(\sqrt{d^3H^4K})` with :math:`\alpha = c\,dH\sqrt{\iota}` (Jin et al.
    2020, Thm. 3.1; ``bonus_scale`` is :math:`c`).

    Parameters
    ----------
    bonus_scale : float
        :math:`c > 0`.
    ridge : float
        :math:`\lambda_r > 0` (Jin et al. use 1).
    delta : float
        Confidence level in (0, 1).

    Examples
    --------
    >>> import mdpkit as mk
    >>> lin = mk.random_linear_mdp(6, 3, 2, 3, rng=0)
    >>> run = mk.learners.run_online(mk.learners.LSVIUCB(bonus_scale=0.1), lin, n_episodes=400, rng=0)
    >>> bool(run.suboptimality[-100:].mean() < run.suboptimality[:100].mean())
    True
    """

    bonus_scale: float = 1.0
    ridge: float = 1.0
    delta: float = 0.05

    def __post_init__(self) -> None:
        _check_common(self.delta, self.bonus_scale, self.ridge)

    def _run(self, mdp: Any, K: int, seed: int) -> OnlineRun:
        m = _check_linear(mdp)
        return _run_linear(m, K, seed, name="LSVIUCB", delta=self.delta, bonus_scale=self.bonus_scale,
                           ridge=self.ridge, beta=0.0, pi_ref=None)


@dataclass(frozen=True)
class KLRegularizedLSVIUCB:
    r"""LSVI-UCB with optimistic soft backups toward ``pi_ref`` (linear demonstration-regularized RL).

    :math:`\bar V_h(s) = \beta\log\sum_a\pi_{ref,h}(a|s)e^{\bar Q_h(s,a)/\beta}`, playing
    :math:`\pi_h \propto \pi_{ref,h}e^{\bar Q_h/\beta}`; with ``pi_ref`` the log-linear BC
    policy (:func:`linear_behavior_cloning`) and
    :math:`\beta = \varepsilon/(2\,\mathrm{KL}_{traj}(\pi^E\|\pi^{BC}))`
    (:func:`demo_regularization_beta`) this is the linear demonstration-regularized learner of
    Tiapkin et al. (2024), Sec. 4.

    Parameters
    ----------
    beta : float
        :math:`\beta > 0`.
    pi_ref : array_like of shape (H, S, A), LogLinearPolicy, or None
        Strictly positive reference policy (uniform if omitted).
    bonus_scale, ridge, delta
        As in :class:`LSVIUCB`.

    Examples
    --------
    >>> import mdpkit as mk
    >>> lin = mk.random_linear_mdp(6, 3, 2, 3, rng=0)
    >>> expert = mk.solve(lin.to_tabular()).pi
    >>> bc = mk.learners.linear_behavior_cloning(lin.simulate(expert, 200, rng=0), lin.phi, horizon=3)
    >>> agent = mk.learners.KLRegularizedLSVIUCB(beta=0.05, pi_ref=bc, bonus_scale=0.1)
    >>> run = mk.learners.run_online(agent, lin, n_episodes=50, rng=0)
    >>> run.policy.shape
    (3, 6, 3)
    """

    beta: float
    pi_ref: npt.ArrayLike | LogLinearPolicy | None = None
    bonus_scale: float = 1.0
    ridge: float = 1.0
    delta: float = 0.05

    def __post_init__(self) -> None:
        check_positive("beta", self.beta)
        _check_common(self.delta, self.bonus_scale, self.ridge)

    def _run(self, mdp: Any, K: int, seed: int) -> OnlineRun:
        m = _check_linear(mdp)
        tab = m.to_tabular()
        if self.pi_ref is None:
            ref = np.full((m.horizon, m.n_states, m.n_actions), 1.0 / m.n_actions)
        else:
            raw = self.pi_ref.pi if isinstance(self.pi_ref, LogLinearPolicy) else self.pi_ref
            ref = tab.check_policy(raw, name="pi_ref")
            check_support("kl", ref, "pi_ref")
        return _run_linear(m, K, seed, name=f"KLRegularizedLSVIUCB(beta={self.beta:g})", delta=self.delta,
                           bonus_scale=self.bonus_scale, ridge=self.ridge, beta=float(self.beta), pi_ref=ref)
