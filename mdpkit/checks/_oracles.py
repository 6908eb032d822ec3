"""Independent oracles for the checks and tests: convex programs and brute force.

These never call the solvers under test. cvxpy is imported lazily (extra ``[checks]``).
"""

from __future__ import annotations

import numpy as np

from .._typing import FloatArray


def _P_mu0_r(mdp):
    return np.asarray(mdp.P), np.asarray(mdp.r), np.asarray(mdp.mu0)


def lp_optimal_values(mdp) -> FloatArray:
    r"""Primal LP of a discounted MDP: :math:`\min \sum_s V(s)` s.t. :math:`V \ge r + \gamma P V`.

    Its unique solution is :math:`V^*` (Puterman 2005, Sec. 6.9).
    """
    import cvxpy as cp

    P, r, _ = _P_mu0_r(mdp)
    S, A = r.shape
    V = cp.Variable(S)
    cons = [V >= r[:, a] + mdp.gamma * (P[:, a, :] @ V) for a in range(A)]
    cp.Problem(cp.Minimize(cp.sum(V)), cons).solve()
    return np.asarray(V.value, dtype=np.float64)


def occupancy_lp(mdp) -> tuple[float, FloatArray]:
    r"""Dual LP over normalized occupancy measures.

    :math:`\max_{d \ge 0} \langle d, r\rangle` s.t.
    :math:`\sum_a d(s',a) = (1-\gamma)\mu_0(s') + \gamma \sum_{s,a} P(s'|s,a) d(s,a)`.
    Returns ``(optimal value / (1 - gamma), d)``; the first equals :math:`\mu_0^\top V^*`.
    """
    import cvxpy as cp

    P, r, mu0 = _P_mu0_r(mdp)
    S, A = r.shape
    g = mdp.gamma
    d = cp.Variable((S, A), nonneg=True)
    flow = [cp.sum(d[s2, :]) == (1 - g) * mu0[s2] + g * cp.sum(cp.multiply(P[:, :, s2], d)) for s2 in range(S)]
    prob = cp.Problem(cp.Maximize(cp.sum(cp.multiply(r, d))), flow)
    prob.solve()
    return float(prob.value) / (1 - g), np.asarray(d.value)


def kl_regularized_program(mdp, pi_ref: FloatArray, beta: float) -> float:
    r"""KL-regularized program over occupancy measures (exponential cone).

    .. math::

        \max_{d} \langle d, r\rangle - \beta \sum_{s,a} d(s,a)
        \log\frac{d(s,a)}{d_S(s)\,\pi_{ref}(a|s)}

    under the flow constraints, where :math:`d_S(s) = \sum_a d(s,a)`; the second term
    is :math:`\beta \sum_s d_S(s) \mathrm{KL}(\pi(\cdot|s)\|\pi_{ref}(\cdot|s))`, jointly
    convex (relative entropy). Returns the optimum divided by :math:`1-\gamma`, which
    equals :math:`\mu_0^\top V^*_\beta` of the soft MDP.
    """
    import cvxpy as cp

    P, r, mu0 = _P_mu0_r(mdp)
    S, A = r.shape
    g = mdp.gamma
    d = cp.Variable((S, A), nonneg=True)
    dS = cp.sum(d, axis=1)
    flow = [dS[s2] == (1 - g) * mu0[s2] + g * cp.sum(cp.multiply(P[:, :, s2], d)) for s2 in range(S)]
    ent = sum(cp.sum(cp.rel_entr(d[s, :], dS[s] * pi_ref[s, :])) for s in range(S))
    prob = cp.Problem(cp.Maximize(cp.sum(cp.multiply(r, d)) - beta * ent), flow)
    prob.solve()
    return float(prob.value) / (1 - g)


def direct_policy_value(mdp, pi: FloatArray) -> FloatArray:
    r""":math:`V^\pi = (I - \gamma P_\pi)^{-1} r_\pi` with a dense NumPy solve."""
    P, r, _ = _P_mu0_r(mdp)
    Ppi = np.einsum("sa,sat->st", pi, P)
    return np.linalg.solve(np.eye(r.shape[0]) - mdp.gamma * Ppi, (pi * r).sum(1))


def cvx_divergence(name: str, x, p: FloatArray):
    """Return the cvxpy expression of ``D(x || p)`` for divergence ``name`` (``None`` if not DCP here)."""
    import cvxpy as cp

    forms = {
        "kl": lambda: cp.sum(cp.kl_div(x, p)),
        "forward_kl": lambda: cp.sum(-cp.multiply(p, cp.log(x)) + cp.multiply(p, np.log(p))),
        "chi2": lambda: cp.sum(cp.multiply(1 / p, cp.square(x - p))),
        "hellinger": lambda: cp.sum(x + p - 2 * cp.multiply(np.sqrt(p), cp.sqrt(x))),
        "tv": lambda: 0.5 * cp.norm1(x - p),
    }
    return forms[name]() if name in forms else None


def regularized_max_program(name: str, q: FloatArray, p: FloatArray, beta: float) -> float | None:
    r"""Optimum of :math:`\max_{x \in \Delta} \langle x, q\rangle - \beta D(x\|p)` by cvxpy."""
    import cvxpy as cp

    x = cp.Variable(q.shape[0], nonneg=True)
    D = cvx_divergence(name, x, p)
    if D is None:
        return None
    prob = cp.Problem(cp.Maximize(q @ x - beta * D), [cp.sum(x) == 1])
    prob.solve()
    return float(prob.value)
