"""Numba kernels for the exact robust (transition-side) duals of KL, chi-square and TV.

For a value vector ``v`` and a nominal law ``p`` (one row ``P(.|s, a)``):

    penalized:  min_{q in simplex} <q, v> + lam * D(q || p)
    ball:       min_{q in simplex, D(q || p) <= rho} <q, v>

Each row kernel returns the value and, if ``write_q``, writes the minimizing ``q``.
``p`` is normalized by its sum inside the kernels (rows are on the simplex to 1e-10).
KL and chi-square are infinite off the support of ``p``; TV may move mass to any
state, so its kernels take ``jmin``, the index of the smallest ``v`` over *all* states.
Kernels that need ``v`` in increasing order take ``order`` (an argsort of ``v``), which
a sweep computes once for all rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels import CHI2, KL, TV

ROBUST_CODES = (KL, CHI2, TV)


@njit(cache=True, error_model="numpy")
def _support_min(v, p):
    m = np.inf
    tot = 0.0
    for j in range(v.shape[0]):
        if p[j] > 0.0:
            tot += p[j]
            if v[j] < m:
                m = v[j]
    return m, tot


@njit(cache=True, error_model="numpy")
def _kl_log_z(v, p, m, tot, lam):
    """``log E_p exp(-(v - m)/lam)`` with ``m`` the support minimum, to full precision.

    ``log1p(E_p expm1(.))`` when ``z >= 1/2`` (no cancellation as ``lam -> inf``),
    ``log(E_p exp(.))`` otherwise (``z >= p(argmin) > 0``: no underflow to 0).
    """
    a1 = 0.0
    a2 = 0.0
    for j in range(v.shape[0]):
        if p[j] > 0.0:
            x = -(v[j] - m) / lam
            if x > -0.5:
                em = np.expm1(x)
                a1 += p[j] * em
                a2 += p[j] * (em + 1.0)
            else:
                e = np.exp(x)
                a1 += p[j] * (e - 1.0)
                a2 += p[j] * e
    if a1 / tot >= -0.5:
        return np.log1p(a1 / tot)
    return np.log(a2 / tot)


@njit(cache=True, error_model="numpy")
def kl_penalized_row(v, p, lam, q, write_q):
    """``-lam log E_p exp(-v/lam)`` (log-space, centred at the support minimum)."""
    m, tot = _support_min(v, p)
    log_z = _kl_log_z(v, p, m, tot, lam)
    if write_q:
        for j in range(v.shape[0]):
            q[j] = p[j] / tot * np.exp(-(v[j] - m) / lam - log_z) if p[j] > 0.0 else 0.0
    return m - lam * log_z


@njit(cache=True, error_model="numpy")
def tv_penalized_row(v, p, lam, jmin, q, write_q):
    """``E_p[min(v, min v + lam)]``: mass above ``min v + lam`` moves to ``argmin v``."""
    n = v.shape[0]
    tot = 0.0
    for j in range(n):
        tot += p[j]
    cap = v[jmin] + lam
    val = 0.0
    moved = 0.0
    for j in range(n):
        w = p[j] / tot
        if v[j] > cap:
            val += w * cap
            moved += w
            if write_q:
                q[j] = 0.0
        else:
            val += w * v[j]
            if write_q:
                q[j] = w
    if write_q:
        q[jmin] += moved
    return val


@njit(cache=True, error_model="numpy")
def chi2_alpha(v, p, lam, order, m, tot):
    """Maximizer ``alpha`` of ``E_p[v]_alpha - Var_p([v]_alpha)/(4 lam)`` (shifted by ``m``).

    The derivative is ``P(v > alpha) (1 - (alpha - E[v]_alpha)/(2 lam))`` and
    ``alpha - E[v]_alpha`` is nondecreasing and piecewise linear with breakpoints at the
    sorted support values, so the first breakpoint where it reaches ``2 lam`` brackets
    the stationary point, found in closed form. Returns ``inf`` when there is none
    (``alpha = max v``: no clipping), plus the prefix mass and first moment below it.
    """
    mass = 0.0
    b1 = 0.0
    target = 2.0 * lam * tot
    for k in range(order.shape[0]):
        j = order[k]
        if p[j] <= 0.0:
            continue
        u = v[j] - m
        if mass > 0.0 and mass * u - b1 >= target:
            return (target + b1) / mass, mass, b1
        mass += p[j]
        b1 += p[j] * u
    return np.inf, mass, b1


@njit(cache=True, error_model="numpy")
def chi2_penalized_row(v, p, lam, order, q, write_q):
    """``sup_alpha E_p[v]_alpha - Var_p([v]_alpha)/(4 lam)`` by the exact breakpoint search."""
    n = v.shape[0]
    m, tot = _support_min(v, p)
    alpha, mass, b1 = chi2_alpha(v, p, lam, order, m, tot)
    if np.isfinite(alpha):
        e1 = (b1 + (tot - mass) * alpha) / tot
    else:
        e1 = b1 / tot
    var = 0.0
    for j in range(n):
        if p[j] > 0.0:
            d = min(v[j] - m, alpha) - e1
            var += p[j] * d * d
    var /= tot
    if write_q:
        for j in range(n):
            u = v[j] - m
            if p[j] > 0.0 and u < alpha:
                q[j] = p[j] / tot * (1.0 + (e1 - u) / (2.0 * lam))
            else:
                q[j] = 0.0
    return m + e1 - var / (4.0 * lam)


@njit(cache=True, error_model="numpy")
def _kl_tilt(v, p, m, tot, lam):
    """``(log z, E_q[u], Var_q[u])`` for ``q ~ p exp(-u/lam)``, ``u = v - m``, in one pass."""
    a1 = 0.0
    a2 = 0.0
    s1 = 0.0
    s2 = 0.0
    for j in range(v.shape[0]):
        if p[j] > 0.0:
            u = v[j] - m
            x = -u / lam
            # one transcendental per entry: expm1 where e^x - 1 would cancel, exp elsewhere
            if x > -0.5:
                em = np.expm1(x)
                e = em + 1.0
            else:
                e = np.exp(x)
                em = e - 1.0
            w = p[j] * e
            a1 += p[j] * em
            a2 += w
            s1 += w * u
            s2 += w * u * u
    log_z = np.log1p(a1 / tot) if a1 / tot >= -0.5 else np.log(a2 / tot)
    e1 = s1 / a2
    return log_z, e1, max(s2 / a2 - e1 * e1, 0.0)


@njit(cache=True, error_model="numpy")
def kl_ball_solve(v, p, rho, lam_hint, q, write_q):
    """``sup_{lam >= 0} -lam log E_p e^{-v/lam} - lam rho``: root of ``KL(q_lam || p) = rho``.

    ``KL(q_lam || p) = -E_q[u]/lam - log z`` decreases from ``-log p(argmin)`` to 0 in
    ``lam`` with derivative ``-Var_q(u)/lam^2`` in ``t = log lam``; safeguarded Newton
    in ``t`` inside an expanding bisection bracket, to machine precision. The start is
    ``lam_hint`` when finite (warm start from the previous sweep), else the small-radius
    asymptote ``sqrt(Var_p(u) / (2 rho))``. The dual is stationary at the root, so the
    value error is second order. Returns ``(value, lam*)`` (``lam* = nan`` when the
    value is ``E_p v`` or ``min v`` in closed form).
    """
    n = v.shape[0]
    m, tot = _support_min(v, p)
    span = 0.0
    mass_min = 0.0
    mean = 0.0
    sq = 0.0
    for j in range(n):
        if p[j] > 0.0:
            u = v[j] - m
            w = p[j] / tot
            span = max(span, u)
            mean += w * u
            sq += w * u * u
            if u == 0.0:
                mass_min += w
    if rho == 0.0 or span == 0.0:
        if write_q:
            for j in range(n):
                q[j] = p[j] / tot
        return m + mean, np.nan
    if rho >= -np.log(mass_min):
        if write_q:
            for j in range(n):
                q[j] = p[j] / tot / mass_min if (p[j] > 0.0 and v[j] == m) else 0.0
        return m, np.nan
    if np.isfinite(lam_hint) and lam_hint > 0.0:
        t = np.log(lam_hint)
    else:
        var0 = max(sq - mean * mean, 1e-300)
        t = 0.5 * np.log(var0 / (2.0 * rho))
    t = min(max(t, np.log(span) - 60.0), np.log(span) + 60.0)
    t_lo = -np.inf  # KL(t_lo) > rho
    t_hi = np.inf   # KL(t_hi) <= rho
    step = 0.25
    lam = np.exp(t)
    log_z = 0.0
    for _ in range(400):
        lam = np.exp(t)
        log_z, e1, var = _kl_tilt(v, p, m, tot, lam)
        g = -e1 / lam - log_z - rho
        if g > 0.0:
            t_lo = t
        else:
            t_hi = t
        # stop at the rounding level of KL itself (the dual is flat at the root)
        if abs(g) <= 4e-16 * (abs(e1 / lam) + abs(log_z) + rho) or (t_hi - t_lo) <= 4e-16 * max(1.0, abs(t)):
            break
        dg = -var / (lam * lam)
        if dg < 0.0 and np.isfinite(dg):
            t_new = t - g / dg
        else:
            t_new = np.nan
        if np.isfinite(t_lo) and np.isfinite(t_hi):
            if not (t_lo < t_new < t_hi):
                t_new = 0.5 * (t_lo + t_hi)
        elif not np.isfinite(t_new) or (g > 0.0 and t_new <= t) or (g <= 0.0 and t_new >= t):
            t_new = t + step if g > 0.0 else t - step  # expand the bracket
            step *= 2.0
        else:  # Newton step that has not bracketed yet: bound it by the expansion step
            t_new = min(max(t_new, t - step), t + step)
            step *= 2.0
        if t_new == t:
            break
        t = t_new
    if write_q:
        for j in range(n):
            q[j] = p[j] / tot * np.exp(-(v[j] - m) / lam - log_z) if p[j] > 0.0 else 0.0
    return m - lam * log_z - lam * rho, lam


@njit(cache=True, error_model="numpy")
def kl_ball_row(v, p, rho, q, write_q):
    """KL ball dual of one row (no warm start); see :func:`kl_ball_solve`."""
    return kl_ball_solve(v, p, rho, np.nan, q, write_q)[0]


@njit(cache=True, error_model="numpy")
def tv_ball_row(v, p, rho, order, jmin, q, write_q):
    """Greedy mass shift: up to ``rho`` of mass leaves the largest ``v`` for ``argmin v``."""
    n = v.shape[0]
    tot = 0.0
    for j in range(n):
        tot += p[j]
    vmin = v[jmin]
    val = 0.0
    for j in range(n):
        val += p[j] / tot * v[j]
        if write_q:
            q[j] = p[j] / tot
    budget = rho
    for k in range(n - 1, -1, -1):
        j = order[k]
        if budget <= 0.0 or v[j] <= vmin:
            break
        w = p[j] / tot
        if w <= 0.0:
            continue
        take = min(w, budget)
        val -= take * (v[j] - vmin)
        budget -= take
        if write_q:
            q[j] -= take
            q[jmin] += take
    return val


_SKIP, _ALL_ON_MIN, _CANDIDATE = 0, 1, 2


@njit(cache=True, inline="always")
def _next_mass(p, order, k):
    """First position ``>= k`` in ``order`` with positive mass (``len(order)`` if none)."""
    n = order.shape[0]
    while k < n and not p[order[k]] > 0.0:
        k += 1
    return k


@njit(cache=True, inline="always")
def _add_tie_group(v, p, order, k, m, u, tot, mass, s1, s2):
    """Add the tie group of value ``u`` (from position ``k``) to the prefix's sums.

    The sums are the mass and the first and second moments of ``v - m``; returns the
    position after the group and the updated sums.
    """
    n = order.shape[0]
    while k < n:
        j = order[k]
        if v[j] - m != u:
            break
        if p[j] > 0.0:
            w = p[j] / tot
            mass += w
            s1 += w * u
            s2 += w * u * u
        k += 1
    return k, mass, s1, s2


@njit(cache=True, inline="always", error_model="numpy")
def _chi2_prefix(mass, s1, s2, rest, u, u_next, rho):
    """Return the ball's KKT candidate on one prefix: ``(status, c, eta, viol, ma, va)``.

    ``_ALL_ON_MIN``: no variance and all mass on the prefix's values fits in the ball;
    ``_SKIP``: the prefix cannot be feasible; ``_CANDIDATE``: ``c``, ``eta`` and the KKT
    violation ``viol`` (``q >= 0`` on the prefix, ``(1 + c(eta - u))_+ = 0`` beyond it).
    """
    ma = s1 / mass
    va = max(s2 / mass - ma * ma, 0.0)
    need = rest / mass
    if va == 0.0:
        return (_ALL_ON_MIN if rho >= need else _SKIP), 0.0, 0.0, 0.0, ma, va
    if rho <= need:
        return _SKIP, 0.0, 0.0, 0.0, ma, va
    c = np.sqrt((rho - need) / (mass * va))
    if rest > 0.0 and c == 0.0:  # rho - need underflows: this prefix cannot be feasible
        return _SKIP, 0.0, 0.0, 0.0, ma, va
    eta = ma + (rest / (c * mass) if rest > 0.0 else 0.0)
    viol = max(-(1.0 + c * (eta - u)), 0.0)
    if np.isfinite(u_next):
        viol = max(viol, 1.0 + c * (eta - u_next))
    return _CANDIDATE, c, eta, viol, ma, va


@njit(cache=True, inline="always")
def _chi2_write_q(v, p, tot, m, c, eta, u_top, q):
    """``q_j = p_j (1 + c (eta - (v_j - m)))_+`` on the active prefix ``v_j - m <= u_top``, else 0."""
    for j in range(v.shape[0]):
        uj = v[j] - m
        if p[j] > 0.0 and uj <= u_top:
            q[j] = max(p[j] / tot * (1.0 + c * (eta - uj)), 0.0)
        else:
            q[j] = 0.0


@njit(cache=True, error_model="numpy")
def chi2_ball_row(v, p, rho, order, q, write_q):
    """Exact active-set solution of ``min <q, v>`` s.t. ``chi2(q || p) <= rho``.

    The minimizer is ``q_j = p_j (1 + c (eta - v_j))_+``; its active set is a prefix of
    the support sorted by ``v``. For a prefix with mass ``Pa``, mean ``ma`` and variance
    ``va`` (under ``p`` restricted and renormalized), ``Pi = 1 - Pa``:
    ``c^2 = (rho - Pi/Pa)/(Pa va)``, ``eta = ma + Pi/(c Pa)`` and the value is
    ``ma - sqrt(va (Pa rho - Pi))``. The unique prefix satisfying the KKT sign
    conditions (:func:`_chi2_prefix`) is found by one pass over the sorted support.
    """
    n = v.shape[0]
    m, tot = _support_min(v, p)
    if rho == 0.0:
        val = 0.0
        for j in range(n):
            val += p[j] / tot * v[j]
            if write_q:
                q[j] = p[j] / tot
        return val
    mass, s1, s2 = 0.0, 0.0, 0.0
    best_viol, best_c, best_eta, best_u, best_val = np.inf, 0.0, 0.0, 0.0, 0.0
    k = _next_mass(p, order, 0)
    while k < n:
        u = v[order[k]] - m
        k, mass, s1, s2 = _add_tie_group(v, p, order, k, m, u, tot, mass, s1, s2)
        kk = _next_mass(p, order, k)  # the next support value strictly above u
        u_next = v[order[kk]] - m if kk < n else np.inf
        rest = max(1.0 - mass, 0.0) if kk < n else 0.0
        status, c, eta, viol, ma, va = _chi2_prefix(mass, s1, s2, rest, u, u_next, rho)
        if status == _ALL_ON_MIN:  # all mass on the minimizers fits in the ball
            if write_q:
                for j in range(n):
                    q[j] = p[j] / tot / mass if (p[j] > 0.0 and v[j] - m <= u) else 0.0
            return m + ma
        if status == _CANDIDATE:
            if viol < best_viol:
                best_viol, best_c, best_eta, best_u = viol, c, eta, u
                best_val = ma - np.sqrt(va * (mass * rho - rest))
            if viol <= 1e-12:
                break
        k = kk
    if write_q:
        _chi2_write_q(v, p, tot, m, best_c, best_eta, best_u, q)
    return m + best_val


@njit(cache=True, error_model="numpy")
def penalized_row(code, v, p, lam, order, jmin, q, write_q):
    """Dispatch ``min_q <q, v> + lam D(q || p)`` on the divergence code."""
    if code == KL:
        return kl_penalized_row(v, p, lam, q, write_q)
    if code == TV:
        return tv_penalized_row(v, p, lam, jmin, q, write_q)
    return chi2_penalized_row(v, p, lam, order, q, write_q)


@njit(cache=True, error_model="numpy")
def ball_row(code, v, p, rho, order, jmin, q, write_q):
    """Dispatch ``min_{D(q || p) <= rho} <q, v>`` on the divergence code."""
    if code == KL:
        return kl_ball_row(v, p, rho, q, write_q)
    if code == TV:
        return tv_ball_row(v, p, rho, order, jmin, q, write_q)
    return chi2_ball_row(v, p, rho, order, q, write_q)


@njit(cache=True, error_model="numpy")
def robust_rows(code, ball, V, P, param, order, jmin, val_out, q_out, write_q):
    """Row ``i``: the dual of ``V[i]`` against ``P[i]`` (``order[i]``, ``jmin[i]`` precomputed)."""
    for i in range(P.shape[0]):
        if ball:
            val_out[i] = ball_row(code, V[i], P[i], param, order[i], jmin[i], q_out[i], write_q)
        else:
            val_out[i] = penalized_row(code, V[i], P[i], param, order[i], jmin[i], q_out[i], write_q)
