"""Numba kernels for f-divergences and the regularized max over the simplex.

Every divergence has an integer code; the kernels branch on it so that one compiled
function serves the whole family (fewer compilations, one code path).

Regularized max (policy side), for a row ``q`` and reference ``p > 0``:

    M(q) = max_{pi in simplex} <pi, q> - beta * sum_a p_a f(pi_a / p_a).

KKT: ``pi_a = p_a * g((q_a - lam) / beta)`` with ``g`` the inverse of ``f'`` extended by
0 below ``f'(0+)``; the normalizer ``lam`` solves ``sum_a p_a g((q_a - lam)/beta) = 1``,
a decreasing function of ``lam`` bracketed by ``[min q - beta f'(1), max q - beta f'(1)]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

KL, FORWARD_KL, CHI2, TV, HELLINGER, ALPHA, JS = 0, 1, 2, 3, 4, 5, 6
LOG2 = np.log(2.0)


@njit(cache=True)
def f_value(code, alpha, t):
    """Generator ``f(t)`` for ``t >= 0`` (``+inf`` where undefined)."""
    if code == KL:
        return t * np.log(t) if t > 0 else 0.0
    if code == FORWARD_KL:
        return -np.log(t) if t > 0 else np.inf
    if code == CHI2:
        return (t - 1.0) ** 2
    if code == TV:
        return 0.5 * abs(t - 1.0)
    if code == HELLINGER:
        return (np.sqrt(t) - 1.0) ** 2
    if code == ALPHA:
        if t == 0.0 and alpha <= 0.0:
            return np.inf
        return (t**alpha - alpha * t - (1.0 - alpha)) / (alpha * (alpha - 1.0))
    # JS: f(t) = 1/2 [t log t - (1 + t) log((1 + t)/2)]
    a = t * np.log(t) if t > 0 else 0.0
    return 0.5 * (a - (1.0 + t) * np.log(0.5 * (1.0 + t)))


@njit(cache=True)
def f_prime(code, alpha, t):
    """Derivative ``f'(t)`` for ``t > 0`` (subgradient ``0`` at the TV kink)."""
    if code == KL:
        return np.log(t) + 1.0
    if code == FORWARD_KL:
        return -1.0 / t
    if code == CHI2:
        return 2.0 * (t - 1.0)
    if code == TV:
        return 0.5 if t > 1.0 else (-0.5 if t < 1.0 else 0.0)
    if code == HELLINGER:
        return 1.0 - 1.0 / np.sqrt(t)
    if code == ALPHA:
        return (t ** (alpha - 1.0) - 1.0) / (alpha - 1.0)
    return 0.5 * np.log(2.0 * t / (1.0 + t))


@njit(cache=True)
def f_recession(code, alpha):
    """``lim_{t->inf} f(t)/t - f'(1)``: cost per unit of mass put where ``p = 0`` (normalized ``f``)."""
    if code == FORWARD_KL:
        return 1.0
    if code == TV:
        return 0.5
    if code == HELLINGER:
        return 1.0
    if code == JS:
        return 0.5 * LOG2
    if code == ALPHA and alpha < 1.0:
        return 1.0 / (1.0 - alpha)
    return np.inf


@njit(cache=True)
def g_inverse(code, alpha, u):
    """``(f')^{-1}(u)`` extended by ``0`` below ``f'(0+)`` (and ``inf`` above ``f'(inf)``)."""
    if code == KL:
        return np.exp(u - 1.0)
    if code == FORWARD_KL:
        return -1.0 / u if u < 0.0 else np.inf
    if code == CHI2:
        return max(0.0, 1.0 + 0.5 * u)
    if code == HELLINGER:
        return 1.0 / (1.0 - u) ** 2 if u < 1.0 else np.inf
    if code == ALPHA:
        # f'(t) = (t^(alpha-1) - 1)/(alpha-1); domain of f' is (f'(0+), f'(inf)).
        z = 1.0 + (alpha - 1.0) * u
        if alpha > 1.0:
            return z ** (1.0 / (alpha - 1.0)) if z > 0.0 else 0.0
        return z ** (1.0 / (alpha - 1.0)) if z > 0.0 else np.inf
    # JS: 2t/(1+t) = e^{2u}  ->  t = e^{2u} / (2 - e^{2u}) for u < log(2)/2
    if u >= 0.5 * LOG2:
        return np.inf
    e = np.exp(2.0 * u)
    return e / (2.0 - e)


@njit(cache=True)
def f_normalized(code, alpha, t):
    """``f(t) - f'(1) (t - 1)``: the same divergence on laws, each term ``>= 0``.

    Removing the linear part avoids the cancellation of ``sum_i (q_i - p_i) = 0``
    that costs ``beta * eps`` when a divergence is multiplied by a large ``beta``.
    """
    if code == KL or code == FORWARD_KL:
        if t <= 0.0:
            return 1.0 if code == KL else np.inf
        # log1p(t - 1) is exact near t = 1; log t is exact away from it (t - 1 would round
        # to -1 for tiny t and give log1p(-1) = -inf).
        lt = np.log1p(t - 1.0) if 0.5 < t < 2.0 else np.log(t)
        return t * lt - (t - 1.0) if code == KL else (t - 1.0) - lt
    return f_value(code, alpha, t)


@njit(cache=True)
def divergence_value(code, alpha, q, p):
    """``D_f(q || p) = sum_i p_i f(q_i / p_i)``, with ``f'(inf) q_i`` where ``p_i = 0``."""
    total = 0.0
    for i in range(q.shape[0]):
        if p[i] > 0.0:
            total += p[i] * f_normalized(code, alpha, q[i] / p[i])
        elif q[i] > 0.0:
            total += q[i] * f_recession(code, alpha)
    return total


@njit(cache=True, inline="always")  # inlined into every action part: no call per state
def kl_max_row(q, log_p, beta, pi_out, write_pi):
    """KL row ``beta * log sum_a p_a exp(q_a / beta)`` and its softmax; returns the value.

    Stable from ``beta = 1e-8`` to ``1e8``: centred at the reference mean
    ``c = E_p q`` so that for large ``beta`` the value is
    ``c + beta * log1p(sum_a p_a expm1((q_a - c)/beta))`` (no cancellation), and for
    small ``beta`` a max-shifted log-sum-exp.
    """
    A = q.shape[0]
    c = 0.0
    for a in range(A):
        p = np.exp(log_p[a])
        if write_pi:
            pi_out[a] = p  # p_a kept for the policy pass below (saves one exp per action)
        c += p * q[a]
    xmax = -np.inf
    m = -np.inf
    for a in range(A):
        x = (q[a] - c) / beta
        xmax = max(xmax, x)
        m = max(m, x + log_p[a])
    # the policy pi_a = p_a e^{x_a} / sum_b p_b e^{x_b} reuses the terms of the value
    tot = 0.0
    if xmax <= 1.0:
        acc = 0.0
        for a in range(A):
            p = pi_out[a] if write_pi else np.exp(log_p[a])
            t = p * np.expm1((q[a] - c) / beta)
            acc += t
            if write_pi:
                pi_out[a] = p + t
                tot += p + t
        v = c + beta * np.log1p(acc)
    else:
        acc = 0.0
        for a in range(A):
            e = np.exp((q[a] - c) / beta + log_p[a] - m)
            acc += e
            if write_pi:
                pi_out[a] = e
        tot = acc
        v = c + beta * (m + np.log(acc))
    if write_pi:
        for a in range(A):
            pi_out[a] /= tot
    return v


@njit(cache=True)
def _tv_max_row(q, p, beta, pi_out):
    """TV row (an LP): move the mass of actions with ``q_a < max q - beta`` to argmax."""
    A = q.shape[0]
    best = 0
    for a in range(A):
        if q[a] > q[best]:
            best = a
    thr = q[best] - beta
    v = 0.0
    for a in range(A):
        if q[a] < thr:
            pi_out[a] = 0.0
            v += p[a] * thr
        else:
            pi_out[a] = p[a]
            v += p[a] * q[a]
    moved = 0.0
    for a in range(A):
        if q[a] < thr:
            moved += p[a]
    pi_out[best] += moved
    return v


@njit(cache=True)
def _mass(code, alpha, q, p, beta, lam):
    s = 0.0
    for a in range(q.shape[0]):
        s += p[a] * g_inverse(code, alpha, (q[a] - lam) / beta)
    return s


@njit(cache=True)
def _fdiv_max_row(code, alpha, q, p, beta, pi_out):
    """Generic row by an exact 1-D normalizer search (bisection to machine precision)."""
    A = q.shape[0]
    fp1 = f_prime(code, alpha, 1.0)
    qmin = q[0]
    qmax = q[0]
    for a in range(A):
        qmin = min(qmin, q[a])
        qmax = max(qmax, q[a])
    lo = qmin - beta * fp1  # mass(lo) >= 1
    hi = qmax - beta * fp1  # mass(hi) <= 1
    if hi - lo > 0.0:
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            if _mass(code, alpha, q, p, beta, mid) >= 1.0:
                lo = mid
            else:
                hi = mid
    lam = hi
    tot = 0.0
    for a in range(A):
        pi_out[a] = p[a] * g_inverse(code, alpha, (q[a] - lam) / beta)
        tot += pi_out[a]
    if not np.isfinite(tot) or tot <= 0.0:
        lam = lo
        tot = 0.0
        for a in range(A):
            pi_out[a] = p[a] * g_inverse(code, alpha, (q[a] - lam) / beta)
            tot += pi_out[a]
    v = 0.0
    for a in range(A):
        pi_out[a] /= tot
        v += pi_out[a] * q[a]
    return v - beta * divergence_value(code, alpha, pi_out, p)


@njit(cache=True)
def regularized_max_into(code, alpha, Q, P_ref, log_P_ref, beta, V_out, pi_out):
    """Row-wise ``max_pi <pi, Q[s]> - beta D(pi || P_ref[s])`` into ``V_out``, ``pi_out``."""
    S = Q.shape[0]
    for s in range(S):
        if code == KL:
            V_out[s] = kl_max_row(Q[s], log_P_ref[s], beta, pi_out[s], True)
        elif code == TV:
            V_out[s] = _tv_max_row(Q[s], P_ref[s], beta, pi_out[s])
        else:
            V_out[s] = _fdiv_max_row(code, alpha, Q[s], P_ref[s], beta, pi_out[s])
