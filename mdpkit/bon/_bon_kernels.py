"""Numba kernels for best-of-N laws, log-space convolution and soft best-of-N.

Kernels take plain float64 arrays, write into preallocated outputs and never
validate. "Units" are the outcomes a selection rule ranks: reward levels (uniform
tie-breaking) or atoms under a fixed total order; they are passed in ascending rank.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_LOG_HALF = -0.6931471805599453
_INV = np.array([1.0 / (k + 1) for k in range(10)])  # 1/(k+1) for the series below


@njit(cache=True, inline="always")
def _log_neg_log1p_neg_exp(lx):
    """log(-log1p(-e^lx)) for lx <= 0, keeping full precision when e^lx underflows."""
    if lx == -np.inf:
        return -np.inf
    if lx < -20.0:
        return lx + 0.5 * np.exp(lx)
    return np.log(-np.log1p(-np.exp(lx)))


@njit(cache=True, inline="always")
def _unit_log_q(log_p, log_S, log_F_fwd, log_n):
    """log[F^N - (F - p)^N] of one unit from its strict upper tail S and forward CDF F.

    Every product with N is formed as exp(log N + log|x|), so N beyond the float range
    and tails far below 1e-308 are exact to rounding (CLAIMS B3 implementation note).
    """
    if log_p == -np.inf:
        return -np.inf
    if log_S < _LOG_HALF:  # log(-log F) from the upper tail
        lnl_F = _log_neg_log1p_neg_exp(log_S)
        log_F = -np.exp(lnl_F)
    else:
        log_F = log_F_fwd
        lnl_F = np.log(-log_F)
    lx = min(log_p - log_F, 0.0)  # log(p / F)
    a = log_n + _log_neg_log1p_neg_exp(lx)  # log(-N log(1 - p/F))
    if a < -20.0:
        tail = a - 0.5 * np.exp(a)
    else:
        tail = np.log(-np.expm1(-np.exp(a)))
    return -np.exp(log_n + lnl_F) + tail


@njit(cache=True)
def max_law_from_probs(p, log_p, n_float, log_n, out):
    """Write log q(u) = N log F(u) + log(-expm1(N log1p(-p(u)/F(u)))) for units in ascending rank.

    F(u) is the inclusive CDF. Its log is taken from the reverse cumulative sum (upper
    tail S, through log1p(-S)) where S < 1/2 and from the forward sum elsewhere, so
    both tails keep full relative precision (Beirami et al.; CLAIMS B3).
    ``n_float`` is N as a float, or inf when N is beyond the float range (then every
    product with N goes through log N).
    """
    m = p.shape[0]
    S = np.empty(m)  # strict upper tail P(U > u)
    acc = 0.0
    for i in range(m - 1, -1, -1):
        S[i] = acc
        acc += p[i]
    fast = np.isfinite(n_float)
    F = 0.0
    for i in range(m):
        F += p[i]
        if not fast or (p[i] < 1e-290 and p[i] > 0.0):
            lS = np.log(S[i]) if S[i] > 0.0 else -np.inf
            lF = np.log(F) if F > 0.0 else -np.inf
            out[i] = _unit_log_q(log_p[i], lS, lF, log_n)
            continue
        if p[i] == 0.0:
            out[i] = -np.inf
            continue
        if S[i] < 0.5:
            log_F = np.log1p(-S[i])
            x = p[i] / (1.0 - S[i])
        else:
            log_F = np.log(F)
            x = p[i] / F
        if n_float * x < 0.01:
            out[i] = _log_q_small_nx(n_float, x, log_F, log_n, log_p[i])
        else:
            out[i] = _log_q_large_nx(n_float, x, log_F)


@njit(cache=True, inline="always")
def _log_q_small_nx(n_float, x, log_F, log_n, log_p):
    """log[F^N - (F - p)^N] when N x < 0.01 (x = p / F), by series: no transcendental.

    log(1 - (1-x)^N) = log(N x) + log1p(sum_k t_k), t_k = t_{k-1} (-(N-k) x/(k+1));
    eight terms reach (Nx)^9 / 10! < 1e-24.
    """
    t = 1.0
    z = 0.0
    for k in range(1, 9):  # multiplications only; stop once terms are below rounding
        t *= -(n_float - k) * x * _INV[k]
        z += t
        if abs(t) < 1e-18:
            break
    # log1p(z) by its series: |z| < 0.005, so z^8/8 < 5e-20 (z^4/4 < 3e-21 if |z| < 1e-5)
    if abs(z) < 1e-5:
        l1p = z * (1.0 - z * (0.5 - z * (1.0 / 3.0)))
    else:
        l1p = z * (1.0 - z * (0.5 - z * (1.0 / 3.0 - z * (0.25 - z * (0.2 - z * (
            1.0 / 6.0 - z * (1.0 / 7.0)))))))
    return (n_float - 1.0) * log_F + log_n + log_p + l1p


@njit(cache=True)
def max_law_tails(p, n_float, G):
    """Tabulate the CDF of units in ascending rank for :func:`max_law_series`.

    ``G`` receives the inclusive CDF ``F`` below ``i0`` (the first unit whose strict upper
    tail ``S`` is below 1/2) and ``-S`` from ``i0`` on, so that ``log F`` is
    ``log(G[:i0])`` and ``log1p(G[i0:])``: both tails keep full relative precision, as in
    :func:`max_law_from_probs`; the logarithms are left to vectorised NumPy. Returns
    ``i0``, the number of units with ``N x >= 0.01`` (``x = p / F``) and the largest
    ``N x`` below 0.01.
    """
    m = p.shape[0]
    acc = 0.0
    for i in range(m - 1, -1, -1):
        G[i] = -acc
        acc += p[i]
    cdf = 0.0
    i0 = m
    n_big = 0
    nx_small = 0.0
    for i in range(m):
        cdf += p[i]
        if G[i] > -0.5:  # S < 1/2
            i0 = min(i0, i)
            F = 1.0 + G[i]
        else:
            G[i] = cdf
            F = cdf
        nx = n_float * (p[i] / F) if p[i] > 0.0 else 0.0
        if nx >= 0.01:
            n_big += 1
        elif nx > nx_small:
            nx_small = nx
    return i0, n_big, nx_small


@njit(cache=True, inline="always")
def _log_q_large_nx(n_float, x, log_F):
    """log[F^N - (F - p)^N] = N log F + log(1 - (1 - x)^N) when N x >= 0.01."""
    nd = n_float * np.log1p(-min(x, 1.0))
    return n_float * log_F + (0.0 if nd < -40.0 else np.log(-np.expm1(nd)))


@njit(cache=True, error_model="numpy")
def max_law_series(p, log_p, G, i0, log_F, coef, n_float, log_n, out):
    """Write the small-``N x`` form of :func:`max_law_from_probs` for every unit, branch-free.

    ``log q = (N - 1) log F + log N + log p + log1p(z)``, ``z = sum_k coef[k-1] x^k`` by
    Horner (``coef`` from :func:`series_coefficients`, eight entries) and ``log1p(z)`` by
    its series (|z| < 0.005: seven terms, error below z^8/8 < 5e-20). No branch and a
    fixed number of terms, so the loop vectorises; :func:`max_law_fix` then rewrites
    the units where this form does not apply.
    """
    for i in range(p.shape[0]):
        F = G[i] if i < i0 else 1.0 + G[i]
        x = p[i] / F
        z = coef[7]
        for k in range(6, -1, -1):
            z = coef[k] + x * z
        z *= x
        l1p = z * (1.0 - z * (0.5 - z * (1.0 / 3.0 - z * (0.25 - z * (0.2 - z * (
            1.0 / 6.0 - z * (1.0 / 7.0)))))))
        out[i] = (n_float - 1.0) * log_F[i] + log_n + log_p[i] + l1p


@njit(cache=True)
def series_coefficients(n_float):
    """Return the series coefficients ``c_k = prod_{m <= k} -(N - m) / (m + 1)``, k = 1..8.

    ``(1 - (1 - x)^N) / (N x) - 1 = sum_k c_k x^k``.
    """
    coef = np.empty(8)
    c = 1.0
    for k in range(1, 9):
        c *= -(n_float - k) * _INV[k]
        coef[k - 1] = c
    return coef


@njit(cache=True)
def max_law_fix(p, log_p, G, i0, log_F, tail, n_float, log_n, out):
    """Rewrite the units where :func:`max_law_series` does not apply.

    Zero mass (``-inf``), masses below 1e-290 (exact log-space route) and ``N x >= 0.01``
    (``N log F + tail``, ``tail = log(1 - (1 - x)^N)`` precomputed if not empty).
    """
    for i in range(p.shape[0]):
        if p[i] == 0.0:
            out[i] = -np.inf
            continue
        F = G[i] if i < i0 else 1.0 + G[i]
        x = p[i] / F
        if p[i] < 1e-290:
            # only the upper tail's log enters where S < 1/2 (0 stands for "not below 1/2")
            lS = 0.0 if i < i0 else (np.log(-G[i]) if G[i] < 0.0 else -np.inf)
            out[i] = _unit_log_q(log_p[i], lS, np.log(F), log_n)
        elif n_float * x >= 0.01:
            if tail.shape[0] == 0:
                out[i] = _log_q_large_nx(n_float, x, log_F[i])
            else:
                out[i] = n_float * log_F[i] + tail[i]


@njit(cache=True)
def max_law_from_log_probs(log_p, log_n, out):
    """Return the same law as :func:`max_law_from_probs` from log-probabilities only.

    Cumulative sums are cumulative log-add-exps, so masses far below 1e-308 (the
    tails of an n-token reward sum) keep their exponent.
    """
    m = log_p.shape[0]
    log_S = np.empty(m)  # log strict upper tail
    acc = -np.inf
    for i in range(m - 1, -1, -1):
        log_S[i] = acc
        acc = np.logaddexp(acc, log_p[i])
    log_F = -np.inf
    for i in range(m):
        log_F = np.logaddexp(log_F, log_p[i])
        out[i] = _unit_log_q(log_p[i], log_S[i], log_F, log_n)


@njit(cache=True)
def segment_logsumexp(x, starts, out):
    """out[j] = log sum exp x[starts[j]:starts[j+1]] (last segment runs to the end)."""
    k = starts.shape[0]
    n = x.shape[0]
    for j in range(k):
        a = starts[j]
        b = starts[j + 1] if j + 1 < k else n
        m = -np.inf
        for i in range(a, b):
            if x[i] > m:
                m = x[i]
        if m == -np.inf:
            out[j] = -np.inf
            continue
        s = 0.0
        for i in range(a, b):
            s += np.exp(x[i] - m)
        out[j] = m + np.log(s)


@njit(cache=True)
def log_convolve_power(log_p, steps, n, out):
    """Log-pmf of a sum of ``n`` i.i.d. lattice variables, one token at a time.

    ``log_p[v]`` is the token's log-probability and ``steps[v]`` its integer lattice
    position (>= 0). ``out`` has length ``n * max(steps) + 1``. Direct convolution in
    log space (no FFT: it would destroy the tails; LLM_BRIDGE.md section 3).
    """
    V = log_p.shape[0]
    kmax = 0
    for v in range(V):
        if steps[v] > kmax:
            kmax = steps[v]
    size = n * kmax + 1
    cur = np.full(size, -np.inf)
    nxt = np.full(size, -np.inf)
    cur[0] = 0.0
    top = 0
    for _ in range(n):
        new_top = top + kmax
        for k in range(new_top + 1):
            m = -np.inf
            for v in range(V):
                j = k - steps[v]
                if 0 <= j <= top:
                    t = cur[j] + log_p[v]
                    if t > m:
                        m = t
            if m == -np.inf:
                nxt[k] = -np.inf
                continue
            s = 0.0
            for v in range(V):
                j = k - steps[v]
                if 0 <= j <= top:
                    s += np.exp(cur[j] + log_p[v] - m)
            nxt[k] = m + np.log(s)
        top = new_top
        for k in range(top + 1):
            cur[k] = nxt[k]
    for k in range(size):
        out[k] = cur[k]


@njit(cache=True)
def soft_bon_log_weights(log_p, log_w, log_n_minus_1, t_nodes, h, out):
    """Write log(n E[1 / (w_y + W_2 + ... + W_n)]) for every unit, by the Laplace route.

    1/x = int_0^inf e^{-s x} ds gives E[1/(w + W_2 + ... + W_n)] =
    int_0^inf e^{-s w} M(s)^{n-1} ds with M(s) = E e^{-s W}; the substitution
    s = e^t and the trapezoid rule on the uniform grid ``t_nodes`` (step ``h``) make
    it spectrally accurate. Output excludes the factor n (added by the caller).

    Log space throughout, for any ``n``: ``n - 1`` enters only as its log, and where
    ``s * max w <= 1/2`` the log-MGF is ``log1p(sum_l p_l expm1(-s w_l))`` (no rounding of
    ``e^{-s w}`` to 1 for the tiny ``s ~ 1/n`` where the integrand lives), so
    ``(n - 1) log M(s) = -exp(log(n - 1) + log(-log M(s)))``.
    """
    L = log_p.shape[0]
    T = t_nodes.shape[0]
    wmax = 0.0
    for l in range(L):
        wmax = max(wmax, np.exp(log_w[l]))
    pw = np.empty(T)  # (n - 1) log M(s_k) <= 0
    for k in range(T):
        s = np.exp(t_nodes[k])
        if s * wmax <= 0.5:
            acc = 0.0
            for l in range(L):
                acc += np.exp(log_p[l]) * np.expm1(-s * np.exp(log_w[l]))
            neg_log_m = -np.log1p(acc)
        else:
            m = -np.inf
            for l in range(L):
                m = max(m, log_p[l] - s * np.exp(log_w[l]))
            acc = 0.0
            for l in range(L):
                acc += np.exp(log_p[l] - s * np.exp(log_w[l]) - m)
            neg_log_m = -(m + np.log(acc))
        pw[k] = -np.exp(log_n_minus_1 + np.log(neg_log_m)) if neg_log_m > 0.0 else 0.0
    for l in range(L):
        w = np.exp(log_w[l])
        m = -np.inf
        for k in range(T):
            m = max(m, t_nodes[k] - np.exp(t_nodes[k]) * w + pw[k])
        acc = 0.0
        for k in range(T):
            acc += np.exp(t_nodes[k] - np.exp(t_nodes[k]) * w + pw[k] - m)
        out[l] = m + np.log(acc * h)


@njit(cache=True)
def kl_from_logs(p, log_p, log_q):
    """sum_y p(y) (log p(y) - log q(y)) over p(y) > 0; inf if q(y) = 0 there."""
    acc = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0:
            if log_q[i] == -np.inf:
                return np.inf
            acc += p[i] * (log_p[i] - log_q[i])
    return acc


@njit(cache=True)
def spread_levels(level_log_q, level_sorted, log_p_sorted, level_log_p, out):
    """out[j] = log q(level of j) + log p_j - log p(level): the level mass split like p.

    Atoms in sorted order (reads and writes sequential); ``-inf`` where p_j = 0.
    """
    for j in range(level_sorted.shape[0]):
        if log_p_sorted[j] == -np.inf:
            out[j] = -np.inf
        else:
            lv = level_sorted[j]
            out[j] = level_log_q[lv] + log_p_sorted[j] - level_log_p[lv]


@njit(cache=True)
def underflowed(log_p, p):
    """Whether a positive mass (finite ``log_p``) became 0 in ``p = exp(log_p)``."""
    for i in range(log_p.shape[0]):
        if p[i] == 0.0 and log_p[i] > -np.inf:
            return True
    return False


@njit(cache=True)
def scatter(values, order, out):
    """out[order[j]] = values[j]."""
    for j in range(order.shape[0]):
        out[order[j]] = values[j]


@njit(cache=True)
def exp_into(log_p, out):
    """Write ``out = exp(log_p)``; return False if a positive mass underflowed to 0."""
    ok = True
    for i in range(log_p.shape[0]):
        v = np.exp(log_p[i])
        out[i] = v
        if v == 0.0 and log_p[i] > -np.inf:
            ok = False
    return ok


@njit(cache=True, inline="always")
def tilt_log_max(log_p, r, lam, c):
    """``max_i log p_i + lam (r_i - c)`` over the support: the shift of the tilt's log-sum-exp."""
    m = -np.inf
    for i in range(log_p.shape[0]):
        if log_p[i] > -np.inf:
            v = log_p[i] + lam * (r[i] - c)
            if v > m:
                m = v
    return m


@njit(cache=True)
def tilt_stats(log_p, r, lam, c, out):
    """Tilt p e^{lam (r - c)} / Z on levels: out = (log Z, KL(phi||p), E_phi r, Var_phi r).

    Two passes (max, then sums); KL = lam (E_phi r - c) - log Z with the centring ``c``
    chosen by the caller (mean for small lam, top reward for large lam).
    """
    m = tilt_log_max(log_p, r, lam, c)
    s = 0.0
    s1 = 0.0
    for i in range(log_p.shape[0]):
        if log_p[i] > -np.inf:
            w = np.exp(log_p[i] + lam * (r[i] - c) - m)
            s += w
            s1 += w * (r[i] - c)
    mean_c = s1 / s
    s2 = 0.0
    for i in range(log_p.shape[0]):
        if log_p[i] > -np.inf:
            d = r[i] - c - mean_c
            s2 += np.exp(log_p[i] + lam * (r[i] - c) - m) * d * d
    log_z = m + np.log(s)
    out[0] = log_z
    out[1] = lam * mean_c - log_z
    out[2] = mean_c + c
    out[3] = s2 / s


# --------------------------------------------------------------------------- atom order
_SIGN = np.uint64(1) << np.uint64(63)


@njit(cache=True)
def packed_reward_keys(r, idx_bits, out):
    """Write sortable uint64 words: a reward-key prefix above the reversed atom index.

    The top ``64 - idx_bits`` bits of an order-preserving key of ``r[i]`` sit above
    ``K - 1 - i``, so one ascending sort ranks by reward, then by descending index,
    wherever the key prefixes differ (``order_from_packed`` does the rest).

    The key of a double with bits ``b`` is ``~b`` for a negative number and ``b | 2^63``
    otherwise; -0.0 is keyed as +0.0.
    """
    bits = r.view(np.uint64)
    K = r.shape[0]
    sh = np.uint64(idx_bits)
    for i in range(K):
        b = bits[i]
        if b == _SIGN:  # -0.0
            b = np.uint64(0)
        key = ~b if b & _SIGN else b | _SIGN
        out[i] = ((key >> sh) << sh) | np.uint64(K - 1 - i)


@njit(cache=True)
def _sort_run(order, r, lo, hi):
    """Stable sort of ``order[lo:hi]`` by ``r`` (insertion for short runs, merge sort else)."""
    done = True
    for i in range(lo + 1, hi):
        if r[order[i]] < r[order[i - 1]]:
            done = False
            break
    if done:  # one tied reward (the common case)
        return
    if hi - lo > 32:
        seg = order[lo:hi].copy()
        vals = np.empty(hi - lo)
        for i in range(hi - lo):
            vals[i] = r[seg[i]]
        perm = np.argsort(vals, kind="mergesort")
        for i in range(hi - lo):
            order[lo + i] = seg[perm[i]]
        return
    for i in range(lo + 1, hi):
        o = order[i]
        v = r[o]
        j = i - 1
        while j >= lo and r[order[j]] > v:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = o


@njit(cache=True)
def order_from_packed(packed, r, r_sorted, idx_bits, order, new_level):
    """Atom order (ascending reward, then descending index) from the sorted packed words.

    Atoms whose key prefixes differ are already ordered. A run of equal prefixes holds
    one tied reward (already in descending index order) or rewards equal in their
    leading bits, which are re-sorted by their full value (stable). ``r_sorted`` is
    ``np.sort(r)``: runs and levels are read from it sequentially (random reads of ``r``
    cost more than the sort). ``new_level[j]`` marks the first atom of each reward.
    """
    K = packed.shape[0]
    sh = np.uint64(idx_bits)
    mask = (np.uint64(1) << sh) - np.uint64(1)
    new_level[0] = True
    for j in range(K):
        order[j] = K - 1 - np.int64(packed[j] & mask)
        if j > 0:
            new_level[j] = r_sorted[j] != r_sorted[j - 1]
    j = 0
    while j < K:
        e = j + 1
        pj = packed[j] >> sh
        while e < K and (packed[e] >> sh) == pj:
            e += 1
        if e - j > 1 and r_sorted[j] != r_sorted[e - 1]:
            _sort_run(order, r, j, e)
        j = e


@njit(cache=True)
def level_structure(new_level, r_sorted, level_sorted, starts, level_r):
    """Level of every sorted atom, first position and reward of every level; returns their number."""
    L = -1
    for j in range(new_level.shape[0]):
        if new_level[j]:
            L += 1
            starts[L] = j
            level_r[L] = r_sorted[j]
        level_sorted[j] = L
    return L + 1
