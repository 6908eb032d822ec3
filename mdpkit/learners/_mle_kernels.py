"""Numba kernels of the maximum-likelihood fits (log-linear BC, Bradley-Terry reward).

Compiled loops instead of BLAS for the small dense products of the Newton step: on
shared 2-core machines a threaded BLAS ``Z.T @ Z`` of shape (3000, 72) was measured
100x slower under contention than single-threaded.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, fastmath=True)
def weighted_gram_into(Z, wts, out):
    """``out = sum_i wts[i] * outer(Z[i], Z[i])`` (the logistic Fisher information)."""
    n, d = Z.shape
    for j in range(d):
        for k in range(d):
            out[j, k] = 0.0
    for i in range(n):
        w = wts[i]
        if w == 0.0:
            continue
        for j in range(d):
            zj = w * Z[i, j]
            if zj == 0.0:
                continue
            for k in range(j, d):
                out[j, k] += zj * Z[i, k]
    for j in range(d):
        for k in range(j):
            out[j, k] = out[k, j]
