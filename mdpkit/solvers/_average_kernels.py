"""Numba kernel of relative value iteration for average-reward MDPs.

One sweep of the aperiodicity-transformed operator
``(T h)(s) = max_a r(s, a) + tau h(s) + (1 - tau) sum_s' P(s'|s, a) h(s')`` over the
feasible actions (``feas[i] == 1``), then ``h <- T h - (T h)(ref)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._gauss_seidel_kernels import ACT_MAX, _row_q


@njit(cache=True)
def relative_value_iteration_kernel(sparse, P2, indptr, indices, data, r2, feas, tau, ref, h, tol, max_iter,
                                    Th, residuals):
    """Iterate until ``span(T h - h) <= tol``; returns ``(n, lo, hi)`` with ``lo <= g* <= hi``.

    ``[min (T h - h), max (T h - h)]`` brackets the optimal gain at every sweep
    (Puterman 2005, Thm. 8.5.5), so the stop certifies the gain within ``tol / 2`` at the
    midpoint. ``n`` is negated when ``max_iter`` was reached first; ``residuals[k]`` is
    the span of sweep ``k``.
    """
    S = h.shape[0]
    A = r2.shape[0] // S
    q_row = np.empty(A)
    lo = -np.inf
    hi = np.inf
    for it in range(max_iter):
        lo = np.inf
        hi = -np.inf
        for s in range(S):
            _row_q(sparse, P2, indptr, indices, data, r2, feas, 1.0 - tau, ACT_MAX, h, s, q_row)
            v = q_row[0]
            for a in range(1, A):
                v = max(v, q_row[a])
            v += tau * h[s]
            Th[s] = v
            d = v - h[s]
            lo = min(lo, d)
            hi = max(hi, d)
        residuals[it] = hi - lo
        if hi - lo <= tol:
            return it + 1, lo, hi
        c = Th[ref]
        for s in range(S):
            h[s] = Th[s] - c
    return -max_iter, lo, hi
