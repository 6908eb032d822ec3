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

from .._config import NO_NRT
from .._elementary_kernels import exp_nonpos, log_pos_inplace

KL, FORWARD_KL, CHI2, TV, HELLINGER, ALPHA, JS = 0, 1, 2, 3, 4, 5, 6
LOG2 = np.log(2.0)


@njit(cache=True)
def f_value(code, alpha, t):
    """Return the generator ``f(t)`` for ``t >= 0`` (``+inf`` where undefined)."""
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
    """Return the derivative ``f'(t)`` for ``t > 0`` (subgradient ``0`` at the TV kink)."""
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
    return 0.5 * (LOG2 - np.log1p(1.0 / t))  # log(2t/(1+t)), finite up to t = inf


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
def _series_coef(code, alpha, k):
    """Taylor coefficient of ``f(1 + d) - f'(1) d`` at ``d^k`` (``k >= 2``)."""
    sign = 1.0 if k % 2 == 0 else -1.0
    if code == KL:
        return sign / (k * (k - 1.0))
    if code == FORWARD_KL:
        return sign / k
    if code == CHI2:
        return 1.0 if k == 2 else 0.0
    if code == JS:
        return sign * (1.0 - 2.0 ** (1.0 - k)) / (2.0 * k * (k - 1.0))
    # ALPHA: binom(alpha, k) / (alpha (alpha - 1)); c_2 = 1/2, c_{k+1} = c_k (alpha - k)/(k + 1)
    c = 0.5
    for j in range(2, k):
        c *= (alpha - j) / (j + 1.0)
    return c


@njit(cache=True)
def f_normalized_d(code, alpha, t, d):
    """``f(t) - f'(1) (t - 1)`` given both ``t`` and ``d = t - 1`` (each accurate).

    Each term of the divergence is ``>= 0`` and is ``O(d^2)`` near ``t = 1``: for
    ``|d| < 0.1`` it is summed from its Taylor series (no cancellation, full relative
    accuracy however small ``d`` is), elsewhere from the closed form, where the
    cancellation costs at most a factor ``1/d^2 <= 100`` of one rounding.
    """
    if t == np.inf:
        return np.inf
    if code == HELLINGER:
        e = d / (np.sqrt(t) + 1.0)  # sqrt(t) - 1 without cancellation
        return e * e
    if code == CHI2:
        return d * d
    if code == TV:
        return 0.5 * abs(d)
    if abs(d) < 0.1:
        total = 0.0
        dk = d * d
        c = 0.5 if code == ALPHA else 0.0
        for k in range(2, 60):
            if code == ALPHA:
                term = c * dk
                c *= (alpha - k) / (k + 1.0)
            else:
                term = _series_coef(code, alpha, k) * dk
            total += term
            if abs(term) <= 1e-17 * abs(total):
                break
            dk *= d
        return total
    if code == KL:
        return t * np.log(t) - d if t > 0.0 else 1.0
    if code == FORWARD_KL:
        return d - np.log(t) if t > 0.0 else np.inf
    if code == ALPHA:
        if t == 0.0:
            return np.inf if alpha <= 0.0 else 1.0 / alpha
        return (t**alpha - 1.0 - alpha * d) / (alpha * (alpha - 1.0))
    return f_value(code, alpha, t)


@njit(cache=True)
def f_normalized(code, alpha, t):
    """``f(t) - f'(1) (t - 1)``: the same divergence on laws, each term ``>= 0``.

    Removing the linear part avoids the cancellation of ``sum_i (q_i - p_i) = 0``
    that costs ``beta * eps`` when a divergence is multiplied by a large ``beta``.
    """
    if t <= 0.0:
        return f_normalized_d(code, alpha, 0.0, -1.0)
    return f_normalized_d(code, alpha, t, t - 1.0)


@njit(cache=True)
def ratio_of_shift(code, alpha, y):
    """``t = (f')^{-1}(f'(1) + y)`` and ``d = t - 1``, each without cancellation.

    Extended by ``t = 0`` below ``f'(0+)`` and ``t = inf`` above ``f'(inf)``; ``d`` is
    computed from ``y`` directly (``d ~ y / f''(1)`` for small ``y``), never as ``t - 1``.
    """
    if code == KL:
        return np.exp(y), np.expm1(y)
    if code == FORWARD_KL:  # f'(t) = -1/t
        if y >= 1.0:
            return np.inf, np.inf
        return 1.0 / (1.0 - y), y / (1.0 - y)
    if code == CHI2:  # f'(t) = 2 (t - 1)
        if y <= -2.0:
            return 0.0, -1.0
        return 1.0 + 0.5 * y, 0.5 * y
    if code == HELLINGER:  # f'(t) = 1 - t^(-1/2)
        if y >= 1.0:
            return np.inf, np.inf
        w2 = (1.0 - y) ** 2
        if w2 == 0.0:  # 1 - y below 1e-162: t overflows
            return np.inf, np.inf
        t = 1.0 / w2
        return t, (y * (2.0 - y) / w2 if y > -1.0 else t - 1.0)  # t <= 1/4: no cancellation
    if code == ALPHA:  # f'(t) = (t^(alpha-1) - 1)/(alpha - 1)
        z = (alpha - 1.0) * y
        if z <= -1.0:
            return (0.0, -1.0) if alpha > 1.0 else (np.inf, np.inf)
        lz = np.log1p(z) / (alpha - 1.0)
        return np.exp(lz), np.expm1(lz)
    # JS: f'(t) = log(2t/(1+t))/2, so 2t/(1+t) = e^{2y}
    e = np.expm1(2.0 * y)
    if e >= 1.0:
        return np.inf, np.inf
    return (1.0 + e) / (1.0 - e), 2.0 * e / (1.0 - e)


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


@njit(cache=True, inline="always")
def _mass(p, log_p, a):
    """Return the reference mass ``p_a``: the caller's precomputed ``p[a]``, or ``exp(log_p[a])``."""
    return np.exp(log_p[a]) if p is None else p[a]


@njit(cache=True, inline="always")
def _live(p, log_p, a):
    """Whether action ``a`` carries reference mass (read from ``p`` when given: one array less)."""
    return log_p[a] > -np.inf if p is None else p[a] > 0.0


@njit(cache=True, inline="always")
def _log_mass(p, log_p, a):
    """``log p_a`` (from ``p`` when given: a row that never reads ``log_p`` compiles faster code)."""
    return log_p[a] if p is None else np.log(p[a])


@njit(cache=True, inline="always")
def _tilted_mass(p, log_p, a, x):
    """``p_a e^x`` with one exponential (``x <= 0``: no overflow)."""
    return np.exp(x + log_p[a]) if p is None else p[a] * np.exp(x)


@njit(cache=True, inline="always")
def _normalize(pi_out, tot):
    """Divide the unnormalized policy ``pi_out`` by its total ``tot``."""
    r = 1.0 / tot
    for a in range(pi_out.shape[0]):
        pi_out[a] *= r


@njit(cache=True)  # compiled apart: keeps the log-sum-exp path of kl_max_row tight
def kl_row_near(q, log_p, beta, pi_out, write_pi, p, qmax):
    """KL row when ``max q - min q <= beta / 16``: ``M + beta * log1p(sum_a p_a expm1((q_a - M)/beta))``.

    The exponents lie in ``[-1/16, 0]``, and ``log1p`` keeps the small difference to
    ``M = qmax`` exact however large ``beta`` (no cancellation, the limit is ``E_p q``).
    """
    inv = 1.0 / beta
    acc = 0.0
    tot = 0.0
    for a in range(q.shape[0]):
        if _live(p, log_p, a):
            pa = _mass(p, log_p, a)
            t = np.expm1((q[a] - qmax) * inv)
            acc += pa * t
            if write_pi:
                e = pa + pa * t  # p_a e^x with 1 + t >= e^(-1/16): no cancellation
                pi_out[a] = e
                tot += e
        elif write_pi:
            pi_out[a] = 0.0
    if write_pi:
        _normalize(pi_out, tot)
    return qmax + beta * np.log1p(acc)


@njit(cache=True)  # compiled apart: never taken for a usable reference
def kl_row_rescaled(q, log_p, beta, pi_out, write_pi, p, qmax):
    """KL log-sum-exp rescaled by ``m = max_a log p_a + (q_a - M)/beta`` (the top mass is below ``1e-290``)."""
    inv = 1.0 / beta
    m = -np.inf
    for a in range(q.shape[0]):
        m = max(m, (q[a] - qmax) * inv + _log_mass(p, log_p, a))
    tot = 0.0
    for a in range(q.shape[0]):
        e = np.exp((q[a] - qmax) * inv + _log_mass(p, log_p, a) - m)
        tot += e
        if write_pi:
            pi_out[a] = e
    if write_pi:
        _normalize(pi_out, tot)
    return qmax + beta * (m + np.log(tot))


@njit(cache=True, inline="always")  # inlined into every action part: no call per state
def kl_max_row(q, log_p, beta, pi_out, write_pi, p=None):
    """KL row ``beta * log sum_a p_a exp(q_a / beta)`` and its softmax; returns the value.

    Centred at the top score ``M = max q`` (over actions with mass), one exponential per
    action for the value and the policy together, stable from ``beta = 1e-12`` to ``1e12``
    for any finite scores:

    * all scores with mass equal: the value is ``M`` and the policy ``p`` (exact);
    * ``max q - min q <= beta / 16``: the ``expm1``/``log1p`` form of :func:`kl_row_near`
      (exact however large ``beta``; compiled apart, so that this row stays small);
    * otherwise the log-sum-exp ``M + beta * log sum_a p_a e^{(q_a - M)/beta}``: exponents
      ``<= 0`` (nothing overflows, however small ``beta``), the sum is at least the top
      action's mass, and its rounding error, ``beta`` ulps, is below 16 ulps of the score
      range; only if the top mass is below ``1e-290`` is the sum rescaled
      (:func:`kl_row_rescaled`).

    Actions with ``log_p = -inf`` (masked) carry no mass. ``p``, optional, is ``exp(log_p)``
    precomputed by a caller that applies many rows with one reference (the online learners,
    once per run; then ``p_a = 0`` marks a masked action and ``log_p`` is never read); without
    it the masses are exponentiated here.
    """
    A = q.shape[0]
    qmax = -np.inf
    qmin = np.inf
    for a in range(A):
        live = _live(p, log_p, a)
        qmax = max(qmax, q[a] if live else -np.inf)
        qmin = min(qmin, q[a] if live else np.inf)
    if qmax == qmin:  # one score: e^0 = 1 for every action with mass
        if write_pi:
            tot = 0.0
            for a in range(A):
                e = _mass(p, log_p, a)
                pi_out[a] = e
                tot += e
            _normalize(pi_out, tot)
        return qmax
    if qmax - qmin <= 0.0625 * beta:
        return kl_row_near(q, log_p, beta, pi_out, write_pi, p, qmax)
    inv = 1.0 / beta
    tot = 0.0
    for a in range(A):
        e = _tilted_mass(p, log_p, a, min((q[a] - qmax) * inv, 0.0))  # masked: 0, not 0 * inf
        tot += e
        if write_pi:
            pi_out[a] = e
    if tot < 1e-290:  # the top action's mass is tiny: rescale (never for a usable reference)
        return kl_row_rescaled(q, log_p, beta, pi_out, write_pi, p, qmax)
    if write_pi:
        _normalize(pi_out, tot)
    return qmax + beta * np.log(tot)


@njit(cache=True, fastmath={"contract"}, **NO_NRT)
def _kl_centre(q, ref, beta, x, m, mn, A):
    """Pass 1 of :func:`kl_max_rows`: row maxima ``m`` and minima ``mn`` over the actions with mass.

    Also writes the centred scores ``x = min((q - m) / beta, 0)``.
    """
    inv = 1.0 / beta
    for j in range(m.shape[0]):
        o = j * A
        qmax = -np.inf
        qmin = np.inf
        for a in range(A):
            v = q[o + a]  # loaded unconditionally: the selects below stay branch-free
            live = ref[j, a] > 0.0
            qmax = max(qmax, v if live else -np.inf)
            qmin = min(qmin, v if live else np.inf)
        m[j] = qmax
        mn[j] = qmin
        for a in range(A):
            x[o + a] = min((q[o + a] - qmax) * inv, 0.0)  # masked: any finite value times p_a = 0


@njit(cache=True, fastmath={"contract"}, **NO_NRT)
def _tilt(e, p):
    """Pass 2 of :func:`kl_max_rows`: ``e = p e^x`` in one SIMD loop (``x <= 0`` in ``e``)."""
    for i in range(e.shape[0]):
        e[i] = p[i] * exp_nonpos(e[i])


@njit(cache=True, fastmath={"contract"}, error_model="numpy", **NO_NRT)
def _kl_totals(q, ref, log_ref, beta, e, m, mn, t, pi, write_pi, A):
    """Pass 3 of :func:`kl_max_rows`: totals ``t = sum_a e_a`` (``e_a = p_a e^{x_a}``) and the policy.

    A row whose scores with mass span at most ``beta / 16`` (equal scores included), or
    whose total is below ``1e-290`` (or not a number), is computed by :func:`kl_max_row`
    (its exact special cases); its value goes to ``m`` and ``t`` becomes ``1`` (``log 1 = 0``).
    """
    thr = 0.0625 * beta
    for j in range(m.shape[0]):
        o = j * A
        tot = 0.0
        for a in range(A):
            tot += e[o + a]
        if m[j] - mn[j] > thr and tot >= 1e-290:  # the log-sum-exp branch of kl_max_row
            t[j] = tot
            if write_pi:
                r = 1.0 / tot
                for a in range(A):
                    pi[o + a] = e[o + a] * r
        else:
            m[j] = kl_max_row(q[o:o + A], log_ref[j], beta, pi[o:o + A], write_pi, ref[j])
            t[j] = 1.0


@njit(cache=True, fastmath={"contract"}, **NO_NRT)
def kl_max_rows(q, ref, log_ref, beta, out, pi, write_pi, work):
    """:func:`kl_max_row` of ``n`` rows at once, with SIMD exponentials and logarithms.

    ``q`` holds the rows one after the other (``q[j A + a]``, ``n = out.shape[0]``),
    ``ref`` / ``log_ref`` their reference masses and logarithms, shape ``(n, A)``;
    ``out[j]`` receives the value and, with ``write_pi``, ``pi[j A + a]`` the softmax
    (``pi`` flat; ignored otherwise). ``work`` has at least ``n (A + 2)`` elements.

    Same branches and arithmetic as :func:`kl_max_row`, by passes over the chunk:
    centring (row maxima), all exponentials in one vectorised loop
    (:func:`~mdpkit._elementary_kernels.exp_nonpos`, within 1 ulp of ``np.exp``), the
    totals (rows that need a special case of :func:`kl_max_row` go to it), and all
    logarithms in one vectorised loop (:func:`~mdpkit._elementary_kernels.log_pos`,
    within 2 ulps). Against :func:`kl_max_row` the value moves by at most a few
    ``beta * eps (A + |log tot|)``, the policy by a few ulps.
    """
    n = out.shape[0]
    A = ref.shape[1]
    e = work[:n * A]
    m = work[n * A:n * A + n]
    t = work[n * A + n:n * A + 2 * n]  # first the row minima, then the totals, then their logarithms
    _kl_centre(q, ref, beta, e, m, t, A)
    _tilt(e, ref.reshape(-1))
    _kl_totals(q, ref, log_ref, beta, e, m, t, t, pi, write_pi, A)
    log_pos_inplace(t)
    for j in range(n):
        out[j] = m[j] + beta * t[j]


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
def pole_of(code, alpha):
    """``f'(inf) - f'(1)``: the shift at which ``t`` blows up (``inf`` if it never does).

    The recession constant of the normalized ``f`` for the smooth divergences; TV's
    ``f'`` jumps instead, so its inverse never blows up.
    """
    return np.inf if code == TV else f_recession(code, alpha)


@njit(cache=True)
def ratio_below_pole(code, alpha, z):
    """``t`` and ``d = t - 1`` at distance ``z > 0`` below the pole (exact for large ``t``)."""
    if code == FORWARD_KL:  # t = 1/z
        return 1.0 / z, (1.0 - z) / z
    if code == HELLINGER:  # t = 1/z^2
        return 1.0 / (z * z), (1.0 - z) * (1.0 + z) / (z * z)
    if code == ALPHA:  # t = ((1 - alpha) z)^(1/(alpha - 1))
        lz = np.log((1.0 - alpha) * z) / (alpha - 1.0)
        return np.exp(lz), np.expm1(lz)
    e = np.expm1(2.0 * z)  # JS: t = 1/expm1(2z)
    return 1.0 / e, (1.0 - e) / e


@njit(cache=True)
def pole_gap(code, alpha, t):
    """Inverse of :func:`ratio_below_pole`: the distance ``z`` at which the ratio is ``t``."""
    if code == FORWARD_KL:
        return 1.0 / t
    if code == HELLINGER:
        return 1.0 / np.sqrt(t)
    if code == ALPHA:
        return t ** (alpha - 1.0) / (1.0 - alpha)
    return 0.5 * np.log1p(1.0 / t)


@njit(cache=True)
def _ratio_at(code, alpha, ua, x, near_pole, Y):
    """``(t, d)`` of an action with scaled score ``ua`` at normalizer ``x``.

    ``x`` is the shift ``nu`` (``y = ua - nu``), or near the pole the top action's
    distance to it (``z = x - ua``), which keeps ``t`` up to ``1e300`` resolved.
    """
    if not near_pole:
        return ratio_of_shift(code, alpha, ua - x)
    z = x - ua
    if z < 0.5 * Y:
        return ratio_below_pole(code, alpha, z)
    return ratio_of_shift(code, alpha, Y - z)


@njit(cache=True)
def _mass_defect(code, alpha, u, p, x, near_pole, Y):
    """``sum_a p_a d_a`` at normalizer ``x``: zero at the optimum, decreasing in ``x``."""
    s = 0.0
    for a in range(u.shape[0]):
        if p[a] > 0.0:  # p = 0: a masked action, no mass
            s += p[a] * _ratio_at(code, alpha, u[a], x, near_pole, Y)[1]
    return s


@njit(cache=True)
def _bisect(code, alpha, u, p, lo, hi, near_pole, Y):
    """Root of the mass defect in ``[lo, hi]`` to the last bit (``hi`` side: defect <= 0)."""
    for _ in range(2200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _mass_defect(code, alpha, u, p, mid, near_pole, Y) >= 0.0:
            lo = mid
        else:
            hi = mid
    return hi


@njit(cache=True)
def _fdiv_max_row(code, alpha, q, p, beta, pi_out):
    """Solve a generic row by an exact 1-D normalizer search, without cancellation at any ``beta``.

    Centred at the top score ``c = max_a q_a`` and scaled, ``u_a = (q_a - c)/beta <= 0``
    (the top action's ratio is then resolved to the last bit however small ``beta`` is);
    the optimum is ``pi_a = p_a t_a`` with ``t_a = (f')^{-1}(f'(1) + u_a - nu)`` and ``nu``
    the root of ``sum_a p_a (t_a - 1) = 0`` (bisection to the last bit; the root lies in
    ``[u_top - (f'(1/p_top) - f'(1)), u_top]`` because the top action has
    ``1 <= t <= 1/p_top``). Where ``t`` has a pole (forward KL, Hellinger, alpha < 1, JS)
    and the top action sits near it, the search is redone in the distance to the pole, so
    that ratios up to ``1/p_top`` stay resolved. The value is assembled from small pieces,
    ``c + sum_a pi_a (q_a - c) - beta sum_a p_a [f(t_a) - f'(1)(t_a - 1)]`` (each penalty
    term ``>= 0`` and summed without cancellation, see :func:`f_normalized_d`), for
    ``beta`` from ``1e-12`` to ``1e12``: the error is a few roundings of ``max |q|``
    (checked against a 60-digit reference in the tests). NaN if the ratios exceed float64.
    """
    A = q.shape[0]
    top = -1
    for a in range(A):  # the top score among the actions the reference supports
        if p[a] > 0.0 and (top < 0 or q[a] > q[top]):
            top = a
    c = q[top]
    u = np.empty(A)
    for a in range(A):
        # beyond 1e300 the weights are 0 or 1 to all digits; the clamp avoids inf - inf
        u[a] = min(max((q[a] - c) / beta, -1e300), 1e300) if p[a] > 0.0 else -1e300
    Y = pole_of(code, alpha)
    lo = max(u.min(), -(f_prime(code, alpha, 1.0 / p[top]) - f_prime(code, alpha, 1.0)))
    x = _bisect(code, alpha, u, p, lo, 0.0, False, Y)
    near_pole = Y + x < 0.5 * Y  # the top action's distance to the pole, Y - y_top = Y + nu
    if near_pole:
        x = _bisect(code, alpha, u, p, pole_gap(code, alpha, 1.0 / p[top]), Y, True, Y)
    tot_m1 = _mass_defect(code, alpha, u, p, x, near_pole, Y)  # last-bit defect, removed below
    if not 1.0 + tot_m1 > 1e-6:
        for a in range(A):
            pi_out[a] = np.nan
        return np.nan
    scale = 1.0 / (1.0 + tot_m1)
    v = 0.0
    pen = 0.0
    for a in range(A):
        if p[a] == 0.0:
            pi_out[a] = 0.0
            continue
        t, d = _ratio_at(code, alpha, u[a], x, near_pole, Y)
        da = (d - tot_m1) * scale
        ta = 1.0 + da if da > -0.5 else t * scale
        pi_out[a] = p[a] * ta
        v += pi_out[a] * (q[a] - c)
        pen += p[a] * f_normalized_d(code, alpha, ta, da)
    return c + v - beta * pen


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
