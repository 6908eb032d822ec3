"""Numba helpers shared by the compiled samplers (MDP simulation, online learners)."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def inverse_cdf_index(cum, u):
    """Smallest index i with ``cum[i] > u`` (inverse-CDF sampling), clamped to the last."""
    lo, hi = 0, cum.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo
