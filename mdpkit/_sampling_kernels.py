"""Numba helpers shared by the compiled samplers (MDP simulation, online learners, bandits)."""

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


@njit(cache=True)
def sample_categorical(p, u):
    """Inverse-CDF draw from probabilities ``p`` with the uniform ``u``; last positive entry on round-off.

    The one categorical sampler of the compiled loops (bandit policies, self-play, the
    online learners' actions); random numbers come from the caller, so a kernel and its
    ``.py_func`` draw the same stream.
    """
    acc = 0.0
    last = 0
    for k in range(p.size):
        if p[k] > 0.0:
            last = k
            acc += p[k]
            if u < acc:
                return k
    return last
