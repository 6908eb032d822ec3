r"""Correlated proxies on MDPs: the chi-square occupancy bound and its planner.

Let :math:`\mu_\pi` be the normalized discounted occupancy measure of :math:`\pi`
(:meth:`mdpkit.TabularMDP.occupancy`) and :math:`J(\pi, R) = \langle \mu_\pi, R\rangle`
(:math:`= (1-\gamma)\,\mu_0^\top V^\pi_R`). Under :math:`\mu_{ref} = \mu_{\pi_{ref}}` let
:math:`\sigma_R, \sigma_{\tilde R}` be the standard deviations of the gold reward
:math:`R` and the proxy :math:`\tilde R`, and :math:`r` their correlation. Laidlaw et
al. (2025, Theorem 5.1; CLAIMS C13) show

.. math::

    J(\pi, R) - J(\pi_{ref}, R) \ge \frac{r\,\sigma_R}{\sigma_{\tilde R}}
    \big(J(\pi, \tilde R) - J(\pi_{ref}, \tilde R)\big)
    - \sigma_R \sqrt{1 - r^2}\, \sqrt{\chi^2(\mu_\pi \,\|\, \mu_{ref})}.

*Derivation* (used as the independent route in the tests). Regress :math:`R` on
:math:`\tilde R` under :math:`\mu_{ref}`: :math:`R = a + b\tilde R + \varepsilon` with
:math:`b = r\sigma_R/\sigma_{\tilde R}`, :math:`\mathbb E_{\mu_{ref}}\varepsilon = 0` and
:math:`\mathrm{Var}_{\mu_{ref}}\varepsilon = \sigma_R^2(1-r^2)`. Then
:math:`J(\pi,R) - J(\pi_{ref},R) = b\,\Delta J(\tilde R) + \mathbb E_{\mu_{ref}}[(\mu_\pi/\mu_{ref} - 1)\varepsilon]`
and Cauchy-Schwarz bounds the last term by :math:`\sigma_R\sqrt{1-r^2}\sqrt{\chi^2}`.

*The regularization constant.* For :math:`r > 0` the right side equals
:math:`b\,[\Delta J(\tilde R) - \lambda^\star \sqrt{\chi^2}]` with

.. math:: \lambda^\star = \sigma_{\tilde R}\,\sqrt{1-r^2}\,/\,r,

so the policy maximizing :math:`J(\pi,\tilde R) - \lambda^\star\sqrt{\chi^2(\mu_\pi\|\mu_{ref})}`
maximizes the lower bound; since :math:`\pi_{ref}` scores 0, its gold reward is at least
the reference's, *for every gold reward with these statistics*. Any
:math:`\lambda \ge \lambda^\star` certifies too: its maximizer has
:math:`\Delta J(\tilde R) \ge \lambda\sqrt{\chi^2} \ge \lambda^\star\sqrt{\chi^2}`
(it beats :math:`\pi_{ref}`). The coefficient
:math:`\sigma_{\tilde R}\sqrt{1-r^2}` (without :math:`/r`) quoted by a third-party summary
(CLAIMS, "Corrections after 0.1") is smaller by the factor :math:`r`; its maximizer
only guarantees :math:`\Delta J(\tilde R) \ge \lambda^\star r \sqrt{\chi^2}`, which does not
make the bound non-negative: the tests exhibit an MDP where its lower bound is negative.
The two agree only as :math:`r \to 1`. Answer: :math:`\sigma_{\tilde R}\sqrt{1-r^2}/r`.

References
----------
.. [1] C. Laidlaw, S. Singhal, A. Dragan, "Correlated proxies: a new definition and
   improved mitigation for reward hacking", ICLR 2025, Theorem 5.1 and Sec. 5 (ORPO).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._results import ConvergenceWarning, ScalarFields, policy_frame
from .._typing import FloatArray
from .._validation import as_float_array, check_nonnegative
from ..mdp import TabularMDP

_NULL = 1e-14  # occupancy below this (relative to 1) counts as zero


@dataclass(frozen=True)
class ProxyStatistics(ScalarFields):
    r"""Moments of the gold and proxy rewards under the reference occupancy.

    Attributes
    ----------
    corr : float
        Correlation :math:`r` under :math:`\mu_{ref}`.
    sigma_gold, sigma_proxy : float
        :math:`\sigma_R`, :math:`\sigma_{\tilde R}`.
    """

    corr: float
    sigma_gold: float
    sigma_proxy: float


@dataclass(frozen=True)
class Chi2OccupancyBound(ScalarFields):
    r"""Both sides of the C13 inequality for one policy.

    Attributes
    ----------
    gold_gain : float
        Left side :math:`J(\pi,R) - J(\pi_{ref},R)`.
    lower_bound : float
        Right side.
    proxy_gain, chi2 : float
        :math:`J(\pi,\tilde R) - J(\pi_{ref},\tilde R)` and :math:`\chi^2(\mu_\pi\|\mu_{ref})`.
    stats : ProxyStatistics
    """

    gold_gain: float
    lower_bound: float
    proxy_gain: float
    chi2: float
    stats: ProxyStatistics

    @property
    def slack(self) -> float:
        """``gold_gain - lower_bound`` (>= 0 by the theorem)."""
        return self.gold_gain - self.lower_bound


def _check_discounted(mdp: TabularMDP) -> None:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"`mdp` must be a TabularMDP; got {type(mdp).__name__}.")
    if mdp.horizon is not None:
        raise NotImplementedError("the chi-square occupancy bound is implemented for discounted "
                                  "MDPs (`gamma=`); got a finite-horizon MDP.")


def _rewards(mdp: TabularMDP, R: npt.ArrayLike, name: str) -> FloatArray:
    return as_float_array(name, R, shape=(mdp.n_states, mdp.n_actions))


def _stats(mu_ref: FloatArray, R: FloatArray, Rt: FloatArray) -> ProxyStatistics:
    def std(x: FloatArray) -> float:
        return math.sqrt(max(float(np.sum(mu_ref * (x - np.sum(mu_ref * x)) ** 2)), 0.0))

    sg, sp = std(R), std(Rt)
    for name, s, x in (("R_proxy", sp, Rt), ("R", sg, R)):
        if not s > 1e-12 * max(1.0, float(np.max(np.abs(x)))):
            raise ValueError(f"`{name}` must vary under the reference occupancy (positive "
                             f"variance); its standard deviation is {s:.3g}, so the correlation "
                             "of gold and proxy is undefined.")
    cov = float(np.sum(mu_ref * (R - np.sum(mu_ref * R)) * (Rt - np.sum(mu_ref * Rt))))
    return ProxyStatistics(float(np.clip(cov / (sg * sp), -1.0, 1.0)), sg, sp)


def proxy_statistics(mdp: TabularMDP, pi_ref: npt.ArrayLike, R: npt.ArrayLike,
                     R_proxy: npt.ArrayLike) -> ProxyStatistics:
    r"""Correlation and standard deviations of ``R`` and ``R_proxy`` under :math:`\mu_{ref}`.

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=4, n_actions=2, gamma=0.9, rng=0)
    >>> st = proxy_statistics(mdp, mk.uniform_policy(mdp), mdp.r, 2 * mdp.r + 1)
    >>> round(st.corr, 12), round(st.sigma_proxy / st.sigma_gold, 12)
    (1.0, 2.0)
    """
    _check_discounted(mdp)
    mu_ref = mdp.occupancy(pi_ref)
    return _stats(mu_ref, _rewards(mdp, R, "R"), _rewards(mdp, R_proxy, "R_proxy"))


def _chi2(mu: FloatArray, mu_ref: FloatArray) -> float:
    null = mu_ref <= _NULL
    bad = null & (mu > _NULL)
    if np.any(bad):
        s, a = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`pi` reaches (s, a) = ({s}, {a}) with occupancy {mu[s, a]:.3g} where `pi_ref` has "
            "zero occupancy: chi2(mu_pi || mu_ref) is infinite. The chi-square needs mu_ref > 0 "
            "wherever pi goes; mix `pi_ref` with the uniform policy."
        )
    m = ~null
    return float(np.sum((mu[m] - mu_ref[m]) ** 2 / mu_ref[m]))


def chi2_occupancy_bound(mdp: TabularMDP, pi: npt.ArrayLike, pi_ref: npt.ArrayLike,
                         R: npt.ArrayLike, R_proxy: npt.ArrayLike) -> Chi2OccupancyBound:
    r"""Both sides of the correlated-proxy inequality (Laidlaw et al., 2025, Thm 5.1; C13).

    .. math::

        J(\pi, R) - J(\pi_{ref}, R) \ge \frac{r\sigma_R}{\sigma_{\tilde R}}
        \big(J(\pi,\tilde R) - J(\pi_{ref},\tilde R)\big)
        - \sigma_R\sqrt{1-r^2}\sqrt{\chi^2(\mu_\pi\|\mu_{ref})},

    with normalized occupancies, :math:`J(\pi,R) = \langle\mu_\pi, R\rangle`, and the
    statistics taken under :math:`\mu_{ref}` (see the module docstring for the proof).

    Parameters
    ----------
    mdp : TabularMDP
        Discounted; its own reward is ignored.
    pi, pi_ref : array_like, shape (S, A)
    R, R_proxy : array_like, shape (S, A)
        Gold and proxy rewards, each with positive variance under :math:`\mu_{ref}`.

    Raises
    ------
    ValueError
        If ``pi`` has occupancy where ``pi_ref`` has none (infinite chi-square).

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=5, n_actions=3, gamma=0.9, rng=0)
    >>> pi_ref = mk.uniform_policy(mdp)
    >>> R = mdp.r; Rt = R + mk.random_mdp(n_states=5, n_actions=3, gamma=0.9, rng=1).r
    >>> b = chi2_occupancy_bound(mdp, mk.solve(mk.TabularMDP(mdp.P, Rt, gamma=0.9)).pi, pi_ref, R, Rt)
    >>> b.slack >= 0
    True
    """
    _check_discounted(mdp)
    Rg, Rt = _rewards(mdp, R, "R"), _rewards(mdp, R_proxy, "R_proxy")
    mu_ref = mdp.occupancy(pi_ref)
    mu = mdp.occupancy(pi)
    st = _stats(mu_ref, Rg, Rt)
    chi2 = _chi2(mu, mu_ref)
    gold = float(np.sum((mu - mu_ref) * Rg))
    prox = float(np.sum((mu - mu_ref) * Rt))
    lower = (st.corr * st.sigma_gold / st.sigma_proxy) * prox - st.sigma_gold * math.sqrt(
        max(1.0 - st.corr**2, 0.0)) * math.sqrt(chi2)
    return Chi2OccupancyBound(gold, lower, prox, chi2, st)


def chi2_regularization_coef(mdp: TabularMDP, pi_ref: npt.ArrayLike, R: npt.ArrayLike,
                             R_proxy: npt.ArrayLike) -> float:
    r"""Return the coefficient :math:`\lambda^\star = \sigma_{\tilde R}\sqrt{1-r^2}/r` (module docstring).

    With it, the maximizer of :math:`J(\pi,\tilde R) - \lambda^\star\sqrt{\chi^2(\mu_\pi\|\mu_{ref})}`
    maximizes the C13 lower bound on the gold gain, so its gold reward is at least the
    reference's. ``R`` is only used through its correlation with ``R_proxy`` (in practice
    an assumed value; see :func:`proxy_statistics`). Requires :math:`r > 0`.

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=4, n_actions=2, gamma=0.9, rng=0)
    >>> round(chi2_regularization_coef(mdp, mk.uniform_policy(mdp), mdp.r, 3 * mdp.r), 6)  # r = 1
    0.0
    """
    st = proxy_statistics(mdp, pi_ref, R, R_proxy)
    if st.corr <= 0:
        raise ValueError(f"the proxy must be positively correlated with `R` under mu_ref for the "
                         f"chi-square guarantee; got r = {st.corr:.6g}.")
    return st.sigma_proxy * math.sqrt(max(1.0 - st.corr**2, 0.0)) / st.corr


@dataclass(frozen=True)
class OccupancyPlan(ScalarFields):
    r"""Solution of the chi-square-occupancy-regularized program.

    Attributes
    ----------
    pi : ndarray, shape (S, A)
        Policy read off the occupancy (``pi_ref`` on states it never visits).
    occupancy : ndarray, shape (S, A)
        Exact occupancy of ``pi`` (recomputed from the policy, not the solver's iterate).
    objective : float
        :math:`\langle\mu,\tilde R\rangle - \lambda\sqrt{\chi^2(\mu\|\mu_{ref})}` at ``pi``.
    status : str
        cvxpy status (``"optimal"``, or ``"optimal_inaccurate"`` with a ConvergenceWarning).
    """

    pi: FloatArray
    occupancy: FloatArray
    objective: float
    status: str

    def to_frame(self) -> Any:
        """Return ``pi`` and ``occupancy``, one row per (state, action) (a pandas DataFrame)."""
        return policy_frame(pi=self.pi, occupancy=self.occupancy)


def _reachable(mdp: TabularMDP) -> np.ndarray:
    P = np.asarray(mdp.P)
    adj = P.max(axis=1) > 0
    seen = np.asarray(mdp.mu0) > 0
    frontier = seen.copy()
    while frontier.any():
        new = adj[frontier].any(axis=0) & ~seen
        seen |= new
        frontier = new
    return seen


def chi2_occupancy_planner(mdp: TabularMDP, pi_ref: npt.ArrayLike, R_proxy: npt.ArrayLike,
                           beta: float) -> OccupancyPlan:
    r"""Maximize :math:`\langle\mu,\tilde R\rangle - \lambda\sqrt{\chi^2(\mu\|\mu_{ref})}` over occupancies.

    A second-order cone program (cvxpy) over normalized occupancy measures
    :math:`\mu \ge 0` with the flow constraints
    :math:`\sum_a \mu(s',a) = (1-\gamma)\mu_0(s') + \gamma\sum_{s,a}P(s'|s,a)\mu(s,a)`, and
    :math:`\sqrt{\chi^2} = \|(\mu - \mu_{ref})/\sqrt{\mu_{ref}}\|_2` (ORPO's regularizer,
    Laidlaw et al., 2025, Sec. 5; their :math:`\lambda`, named ``beta`` here as every
    policy-divergence strength in mdpkit). With ``beta`` = :func:`chi2_regularization_coef` the
    optimum's gold reward is at least the reference's.

    Parameters
    ----------
    mdp : TabularMDP
        Discounted.
    pi_ref : array_like, shape (S, A)
        Must give positive occupancy to every (s, a) at states some policy can reach.
    R_proxy : array_like, shape (S, A)
    beta : float
        Strength :math:`\lambda \ge 0` of the square-root chi-square penalty.

    Examples
    --------
    >>> import numpy as np, mdpkit as mk
    >>> mdp = mk.TabularMDP(np.ones((1, 2, 1)), np.zeros((1, 2)), gamma=0.5)   # a bandit
    >>> # objective x - beta * 2|x - 1/2| in the mass x of action 1: a corner at beta < 1/2
    >>> chi2_occupancy_planner(mdp, [[0.5, 0.5]], [[0.0, 1.0]], beta=0.4).pi.round(4).tolist()
    [[0.0, 1.0]]
    >>> chi2_occupancy_planner(mdp, [[0.5, 0.5]], [[0.0, 1.0]], beta=0.6).pi.round(4).tolist()
    [[0.5, 0.5]]
    """
    import cvxpy as cp

    _check_discounted(mdp)
    lam = check_nonnegative("beta", beta)
    Rt = _rewards(mdp, R_proxy, "R_proxy")
    pr = mdp.check_policy(pi_ref, "pi_ref")
    mu_ref = mdp.occupancy(pr)
    reach = _reachable(mdp)
    null = mu_ref <= _NULL
    bad = null & reach[:, None]
    if np.any(bad):
        s, a = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`pi_ref` has zero occupancy at (s, a) = ({s}, {a}), which a policy can reach; the "
            "chi-square occupancy regularizer needs mu_ref > 0 there. Mix `pi_ref` with the "
            "uniform policy."
        )
    S, A = Rt.shape
    P = np.asarray(mdp.P)
    assert mdp.gamma is not None  # _check_discounted above
    g = float(mdp.gamma)
    mu = cp.Variable((S, A), nonneg=True)
    w = np.where(null, 0.0, 1.0 / np.sqrt(np.where(null, 1.0, mu_ref)))
    inflow = sum(g * P[:, a, :].T @ mu[:, a] for a in range(A))
    cons = [cp.sum(mu, axis=1) == (1 - g) * np.asarray(mdp.mu0) + inflow]
    if np.any(null):
        cons.append(mu[null] == 0)
    obj = cp.sum(cp.multiply(Rt, mu)) - lam * cp.norm(cp.multiply(w, mu - mu_ref), "fro")
    prob = cp.Problem(cp.Maximize(obj), cons)
    prob.solve()
    if mu.value is None:
        raise RuntimeError(f"the chi-square occupancy program returned no solution (status "
                           f"{prob.status!r}); try another cvxpy solver.")
    if prob.status != "optimal":
        warnings.warn(f"the chi-square occupancy program ended with status {prob.status!r}.",
                      ConvergenceWarning, stacklevel=2)
    m = np.maximum(np.asarray(mu.value), 0.0)  # solver round-off below the feasibility tolerance
    mS = m.sum(axis=1, keepdims=True)
    pi = np.where(mS > _NULL, m / np.where(mS > _NULL, mS, 1.0), pr)
    occ = mdp.occupancy(pi)
    val = float(np.sum(occ * Rt)) - lam * math.sqrt(_chi2(occ, mu_ref))
    return OccupancyPlan(pi, occ, val, str(prob.status))
