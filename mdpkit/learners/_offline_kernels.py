"""Numba kernels of the offline learners: exact 1-D sups over the clipping level alpha.

``C[i, k]`` are the ridge-regression weights of coordinate ``i`` on sample ``k``
(rows of ``Lambda^{-1} Phi^T``) and ``y[k]`` the next-state values, sorted by
``order``. Every estimate ``sum_k C[i, k] g(min(y_k, alpha))`` is piecewise polynomial
in ``alpha`` with breakpoints at the sorted ``y``, so the sups are exact: per segment the
endpoints and the stationary point in closed form.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def _chi2_objective(l1, l2, r0, alpha, lam):
    z1 = l1 + alpha * r0
    z2 = l2 + alpha * alpha * r0
    return z1 - (z2 - z1 * z1) / (4.0 * lam)


@njit(cache=True, error_model="numpy")
def chi2_sup_coords(C, y, order, lam, lo, hi, out):
    """``out[i] = sup_{alpha in [lo, hi]} z1_i(alpha) - (z2_i(alpha) - z1_i(alpha)^2) / (4 lam)``.

    ``z1_i = sum_k C[i,k] min(y_k, alpha)``, ``z2_i = sum_k C[i,k] min(y_k, alpha)^2``
    (R2PVI-chi2, Tang, Liu, Xu 2025, with the chi-square dual as a sup). On a segment with prefix
    sums ``L1, L2`` (samples below) and tail weight ``R0`` (samples above) the objective
    is quadratic with stationary point ``alpha = (2 lam + L1) / (1 - R0)``.
    """
    d, K = C.shape
    for i in range(d):
        r0 = 0.0
        for k in range(K):
            r0 += C[i, k]
        l1 = 0.0
        l2 = 0.0
        best = -np.inf
        seg_lo = lo
        k = 0
        while True:
            # samples with y <= seg_lo move to the prefix
            while k < K and y[order[k]] <= seg_lo:
                j = order[k]
                c = C[i, j]
                l1 += c * y[j]
                l2 += c * y[j] * y[j]
                r0 -= c
                k += 1
            best = max(best, _chi2_objective(l1, l2, r0, seg_lo, lam))
            seg_hi = hi
            if k < K and y[order[k]] < hi:
                seg_hi = y[order[k]]
            best = max(best, _chi2_objective(l1, l2, r0, seg_hi, lam))
            den = 1.0 - r0
            if den != 0.0 and r0 != 0.0:
                a = (2.0 * lam + l1) / den
                if seg_lo < a < seg_hi:
                    best = max(best, _chi2_objective(l1, l2, r0, a, lam))
            if seg_hi >= hi:
                break
            seg_lo = seg_hi
        out[i] = best


@njit(cache=True, error_model="numpy")
def tv_ball_sup_coords(C, y, order, rho, m, hi, out):
    """``out[i] = max_{alpha in [m, hi]} sum_k C[i,k] min(y_k, alpha) - rho[i] (alpha - m)``.

    The TV-ball dual of DRPVI (Liu and Xu 2024), piecewise linear in ``alpha``:
    the maximum is at ``m``, ``hi`` or a sample value.
    """
    d, K = C.shape
    for i in range(d):
        r0 = 0.0
        for k in range(K):
            r0 += C[i, k]
        l1 = 0.0
        best = -np.inf
        k = 0
        alpha = m
        while True:
            while k < K and y[order[k]] <= alpha:
                j = order[k]
                l1 += C[i, j] * y[j]
                r0 -= C[i, j]
                k += 1
            best = max(best, l1 + alpha * r0 - rho[i] * (alpha - m))
            if alpha >= hi:
                break
            alpha = hi
            if k < K and y[order[k]] < hi:
                alpha = y[order[k]]
        out[i] = best
