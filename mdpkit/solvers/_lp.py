r"""Linear programming for discounted MDPs, with a duality-gap certificate.

Primal over values and dual over (unnormalized) occupancy measures, for a positive
weight vector :math:`w` (uniform, :math:`w_s = 1/S`):

.. math::

    \text{(P)}\quad \min_V \; w^\top V \quad\text{s.t.}\quad
        V(s) \ge r(s, a) + \gamma \sum_{s'} P(s'|s, a) V(s') \ \ \forall (s, a)\ \text{feasible},

    \text{(D)}\quad \max_{x \ge 0} \; \sum_{s,a} r(s, a)\, x(s, a) \quad\text{s.t.}\quad
        \sum_a x(s', a) - \gamma \sum_{s,a} P(s'|s, a)\, x(s, a) = w_{s'} \ \ \forall s'.

(P) has the unique solution :math:`V^*` and (D) is maximized by the discounted
state-action visitation of an optimal policy started from :math:`w`; a basic optimal
:math:`x` has one positive action per state, the optimal deterministic policy
(Puterman 2005, Sec. 6.9). Both programs are solved by HiGHS through
:func:`scipy.optimize.linprog`; the certificate is the duality gap
:math:`w^\top V - \langle r, x\rangle` together with the primal infeasibility
:math:`\max(0, \max_{s,a} r + \gamma P V - V)` and the dual residual
:math:`\|\sum_a x(\cdot, a) - \gamma P^\top x - w\|_\infty` (all zero at an exact optimum).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .._typing import FloatArray

# HiGHS feasibility tolerances (its smallest accepted values are 1e-10).
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def lp_matrices(P_csr: sp.csr_matrix, r_fin: FloatArray, mask: FloatArray | None,
                gamma: float) -> tuple[sp.csr_matrix, FloatArray, np.ndarray]:
    """``(M, b, rows)`` with ``M = E - gamma P`` over the feasible pairs ``rows`` and ``b = r``.

    ``E[(s, a), s] = 1`` selects the state of a pair, so (P) reads ``M V >= b`` and
    (D) reads ``M^T x = w``.
    """
    S = P_csr.shape[1]
    A = r_fin.shape[1]
    rows = np.arange(S * A) if mask is None else np.flatnonzero(mask.ravel())
    E = sp.csr_matrix((np.ones(rows.size), (np.arange(rows.size), rows // A)), shape=(rows.size, S))
    M = (E - gamma * P_csr[rows]).tocsr()
    return M, np.ascontiguousarray(r_fin.ravel()[rows]), rows


def solve_lp(P_csr: sp.csr_matrix, r_fin: FloatArray, mask: FloatArray | None,
             gamma: float) -> tuple[FloatArray, FloatArray, dict[str, object], bool, str]:
    """Solve (P) and (D); returns ``(V, x[s, a], certificate, ok, message)``."""
    S, A = r_fin.shape
    M, b, rows = lp_matrices(P_csr, r_fin, mask, gamma)
    w = np.full(S, 1.0 / S)
    primal = linprog(w, A_ub=-M, b_ub=-b, bounds=(None, None), method="highs", options=_HIGHS)
    dual = linprog(-b, A_eq=M.T.tocsr(), b_eq=w, bounds=(0, None), method="highs", options=_HIGHS)
    ok = bool(primal.status == 0 and dual.status == 0)
    if not ok:
        return (np.full(S, np.nan), np.zeros((S, A)), {},
                False, f"HiGHS failed: primal {primal.message!r}; dual {dual.message!r}")
    V = np.asarray(primal.x, dtype=np.float64)
    x = np.zeros(S * A)
    x[rows] = dual.x
    cert: dict[str, object] = {
        "duality_gap": float(w @ V - b @ dual.x),
        "primal_infeasibility": float(max(0.0, np.max(b - M @ V))),
        "dual_infeasibility": float(np.max(np.abs(M.T @ dual.x - w))),
        "occupancy": x.reshape(S, A),
    }
    return V, x.reshape(S, A), cert, True, "optimal (HiGHS)"


def policy_from_occupancy(x: FloatArray, mask: FloatArray | None) -> FloatArray:
    """Deterministic policy ``pi[s, argmax_a x(s, a)] = 1`` (first maximizer; feasible actions only)."""
    S, A = x.shape
    xs = x if mask is None else np.where(mask, x, -1.0)
    pi = np.zeros((S, A))
    pi[np.arange(S), np.argmax(xs, axis=1)] = 1.0
    return pi
