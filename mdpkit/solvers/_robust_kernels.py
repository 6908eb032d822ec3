"""Numba sweeps of the (s,a)-rectangular robust transition part ``T[V](s, a)``.

``P2`` is the dense transition matrix reshaped to ``(S*A, S)``; ``out`` has ``S*A``
entries. What depends only on ``V`` is computed once per sweep by the caller (the
global minimum, the tilted weights, the argsort), so the KL and TV penalized sweeps
are one dot product per row, like the nominal sweep.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..divergences._robust_kernels import (
    ball_row,
    kl_ball_solve,
    kl_penalized_row,
    penalized_row,
)

_LOG_TINY = -600.0  # below this log z the direct tilted sum could be subnormal


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _kl_row(P2, i, V, lam, vmin, em, e, dummy):
    """One KL penalized row from shared ``em = expm1(-(V - vmin)/lam)``, ``e = exp(...)``."""
    tot = 0.0
    a1 = 0.0
    a2 = 0.0
    for j in range(P2.shape[1]):
        p = P2[i, j]
        tot += p
        a1 += p * em[j]
        a2 += p * e[j]
    x = a1 / tot
    if x >= -0.5:
        return vmin - lam * np.log1p(x)  # accurate for large lam (z near 1)
    z = a2 / tot
    if z > 0.0 and np.log(z) > _LOG_TINY:
        return vmin - lam * np.log(z)
    return kl_penalized_row(V, P2[i], lam, dummy, False)  # row-centred log-space fallback


@njit(cache=True, error_model="numpy")
def _kl_tables(V, lam):
    """``min V`` and the per-state ``expm1``/``exp`` of ``-(V - min V)/lam`` shared by all rows."""
    vmin = V.min()
    em = np.empty(V.shape[0])
    e = np.empty(V.shape[0])
    for j in range(V.shape[0]):
        x = -(V[j] - vmin) / lam
        em[j] = np.expm1(x)
        e[j] = np.exp(x)
    return vmin, em, e


@njit(cache=True, error_model="numpy")
def kl_penalized_sweep(P2, V, lam, out):
    """``out[i] = -lam log sum_j P2[i, j] exp(-V[j]/lam)``, stable for every ``lam > 0``."""
    vmin, em, e = _kl_tables(V, lam)
    dummy = np.empty(0)
    for i in range(P2.shape[0]):
        out[i] = _kl_row(P2, i, V, lam, vmin, em, e, dummy)


@njit(cache=True, parallel=True, error_model="numpy")
def kl_penalized_sweep_par(P2, V, lam, out):
    """Parallel :func:`kl_penalized_sweep` (rows split over threads)."""
    vmin, em, e = _kl_tables(V, lam)
    dummy = np.empty(0)
    for i in prange(P2.shape[0]):
        out[i] = _kl_row(P2, i, V, lam, vmin, em, e, dummy)


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _tv_row(P2, i, u):
    """``E_{P2[i]}[u]`` normalized by the row mass (one pass: mass and dot product)."""
    tot = 0.0
    acc = 0.0
    for j in range(P2.shape[1]):
        tot += P2[i, j]
        acc += P2[i, j] * u[j]
    return acc / tot


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def tv_penalized_sweep(P2, V, lam, out):
    """``out[i] = E_{P2[i]}[min(V, min V + lam)]``: one dot product per row."""
    u = np.minimum(V, V.min() + lam)
    for i in range(P2.shape[0]):
        out[i] = _tv_row(P2, i, u)


@njit(cache=True, parallel=True, error_model="numpy", fastmath={"reassoc", "contract"})
def tv_penalized_sweep_par(P2, V, lam, out):
    """Parallel :func:`tv_penalized_sweep` (same row helper)."""
    u = np.minimum(V, V.min() + lam)
    for i in prange(P2.shape[0]):
        out[i] = _tv_row(P2, i, u)


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _chi2_row(P2, i, V, lam, order, us):
    """Chi-square penalized row shifted by the global minimum ``m = V.min()``.

    ``us = V[order] - m`` (sorted, shared by all rows). The row is summed first (which
    brings it into cache), then scanned in sorted order up to the breakpoint that
    brackets the stationary point (see :func:`~mdpkit.divergences._robust_kernels.chi2_alpha`;
    zero-mass entries only add kinks-free points and need no test), then the clipped
    variance is one more contiguous pass.
    """
    n = P2.shape[1]
    tot = 0.0
    for j in range(n):
        tot += P2[i, j]
    target = 2.0 * lam * tot
    mass = 0.0
    b1 = 0.0
    alpha = np.inf
    for k in range(n):
        u = us[k]
        if mass > 0.0 and mass * u - b1 >= target:
            alpha = (target + b1) / mass
            break
        w = P2[i, order[k]]
        mass += w
        b1 += w * u
    e1 = (b1 + (tot - mass) * alpha) / tot if np.isfinite(alpha) else b1 / tot
    m = V[order[0]]
    var = 0.0
    for j in range(n):
        d = min(V[j] - m, alpha) - e1
        var += P2[i, j] * d * d
    return m + e1 - var / (tot * 4.0 * lam)


@njit(cache=True, error_model="numpy")
def chi2_penalized_sweep(P2, V, lam, order, out):
    """``out[i] = sup_alpha E[V]_alpha - Var([V]_alpha)/(4 lam)`` under ``P2[i]``; shared argsort."""
    us = V[order] - V[order[0]]
    for i in range(P2.shape[0]):
        out[i] = _chi2_row(P2, i, V, lam, order, us)


@njit(cache=True, parallel=True, error_model="numpy")
def chi2_penalized_sweep_par(P2, V, lam, order, out):
    """Parallel :func:`chi2_penalized_sweep`."""
    us = V[order] - V[order[0]]
    for i in prange(P2.shape[0]):
        out[i] = _chi2_row(P2, i, V, lam, order, us)


@njit(cache=True, error_model="numpy")
def generic_sweep(code, ball, P2, V, param, order, jmin, out):
    """Any dual, row by row, with the argsort of ``V`` shared by all rows."""
    dummy = np.empty(0)
    for i in range(P2.shape[0]):
        if ball:
            out[i] = ball_row(code, V, P2[i], param, order, jmin, dummy, False)
        else:
            out[i] = penalized_row(code, V, P2[i], param, order, jmin, dummy, False)


@njit(cache=True, parallel=True, error_model="numpy")
def generic_sweep_par(code, ball, P2, V, param, order, jmin, out):
    """Parallel :func:`generic_sweep`."""
    dummy = np.empty(0)
    for i in prange(P2.shape[0]):
        if ball:
            out[i] = ball_row(code, V, P2[i], param, order, jmin, dummy, False)
        else:
            out[i] = penalized_row(code, V, P2[i], param, order, jmin, dummy, False)


@njit(cache=True, error_model="numpy")
def kl_ball_sweep(P2, V, rho, hint, out):
    """KL ball rows warm-started from ``hint[i]`` (the previous sweep's multiplier), updated in place."""
    dummy = np.empty(0)
    for i in range(P2.shape[0]):
        val, lam = kl_ball_solve(V, P2[i], rho, hint[i], dummy, False)
        out[i] = val
        hint[i] = lam


@njit(cache=True, parallel=True, error_model="numpy")
def kl_ball_sweep_par(P2, V, rho, hint, out):
    """Parallel :func:`kl_ball_sweep`."""
    dummy = np.empty(0)
    for i in prange(P2.shape[0]):
        val, lam = kl_ball_solve(V, P2[i], rho, hint[i], dummy, False)
        out[i] = val
        hint[i] = lam


@njit(cache=True, error_model="numpy")
def worst_case_rows(code, ball, P2, V, param, order, jmin, val_out, q_out):
    """Values and minimizing laws ``q_out[i]`` of every row (the worst-case kernel)."""
    for i in range(P2.shape[0]):
        if ball:
            val_out[i] = ball_row(code, V, P2[i], param, order, jmin, q_out[i], True)
        else:
            val_out[i] = penalized_row(code, V, P2[i], param, order, jmin, q_out[i], True)
