"""Numba kernels of the online preference learners (online DPO, XPO) on a bandit.

Plain float64 arrays in, preallocated outputs, no validation (the front end in
``_online.py`` validates). Randomness comes pre-drawn: ``u[run, t, 0:3]`` are the
uniforms of the first response, the second response and the label of round ``t``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._sampling_kernels import inverse_cdf_index, sample_categorical


@njit(cache=True)
def _draw(cdf, u):
    """Inverse CDF on an increasing cumulative array (last entry = total), by the shared bisection."""
    return inverse_cdf_index(cdf, u * cdf[-1])


@njit(cache=True)
def _softmax_into(theta, pi, cdf):
    m = theta.max()
    s = 0.0
    for y in range(theta.size):
        pi[y] = np.exp(theta[y] - m)
        s += pi[y]
    c = 0.0
    for y in range(theta.size):
        pi[y] /= s
        c += pi[y]
        cdf[y] = c


@njit(cache=True)
def _gap(theta, log_ref, r, beta, j_star):
    """J_beta(pi*) - J_beta(pi) with J = E r - beta KL, from the logits (log space)."""
    m = theta.max()
    s = 0.0
    for y in range(theta.size):
        s += np.exp(theta[y] - m)
    lz = m + np.log(s)
    j = 0.0
    for y in range(theta.size):
        lp = theta[y] - lz
        j += np.exp(lp) * (r[y] - beta * (lp - log_ref[y]))
    return j_star - j


@njit(cache=True)
def _label(r, y1, y2, u):
    """(winner, loser) under Bradley-Terry preferences of r."""
    if u < 1.0 / (1.0 + np.exp(r[y2] - r[y1])):
        return y1, y2
    return y2, y1


@njit(cache=True)
def _fenwick_build(theta, c, w, tree):
    """Weights w = exp(theta - c) and their Fenwick (binary indexed) tree; returns the total."""
    n = w.size
    tree[:] = 0.0
    total = 0.0
    for i in range(1, n + 1):
        w[i - 1] = np.exp(theta[i - 1] - c)
        total += w[i - 1]
        tree[i] += w[i - 1]
        j = i + (i & -i)
        if j <= n:
            tree[j] += tree[i]
    return total


@njit(cache=True)
def _fenwick_add(tree, y, delta):
    i = y + 1
    n = tree.size - 1
    while i <= n:
        tree[i] += delta
        i += i & -i


@njit(cache=True)
def _fenwick_draw(tree, x):
    """Smallest index whose prefix sum exceeds ``x`` (O(log n))."""
    n = tree.size - 1
    pos = 0
    bit = 1
    while bit * 2 <= n:
        bit *= 2
    while bit > 0:
        nxt = pos + bit
        if nxt <= n and tree[nxt] <= x:
            pos = nxt
            x -= tree[nxt]
        bit //= 2
    return min(pos, n - 1)


@njit(cache=True)
def _reweight(theta, c, w, tree, y, total):
    nw = np.exp(theta[y] - c)
    _fenwick_add(tree, y, nw - w[y])
    total += nw - w[y]
    w[y] = nw
    return total


# XPO's dense round: weights w = exp(theta - c) in blocks of _BLOCK, with their block sums and
# the block sums' running totals (sampling: bisection over blocks, then a scan inside one)
_BLOCK = 32  # 4 rows of 8 (see _block_totals)
# exp(x) for 0 <= x <= eta alpha by a Taylor polynomial of degree 3 (x <= 1e-4) or 4 (x <= 1e-3):
# the relative remainder x^(d+1)/(d+1)! e^x is at most 4.2e-18 (d = 3, x = 1e-4) or 8.4e-18
# (d = 4, x = 1e-3), under a tenth of half an ulp of 1 (1.1e-16)
_TAYLOR3_MAX, _TAYLOR4_MAX = 1e-4, 1e-3
_SCALE_HI = 2.0**64  # rescale the weights by a power of 2 (exact) when their total leaves
_SCALE_LO = 2.0**-64  # [_SCALE_LO, _SCALE_HI]
# A round multiplies a weight by at most e^(eta (alpha + beta)); with the total at most 2^64 = e^44.4
# that stays finite (below e^709) while eta (alpha + beta) <= 600. Larger steps: the run is done on
# the logits (_xpo_logit_run), which never overflow
_WEIGHT_STEP_MAX = 600.0


@njit(cache=True)
def _block_totals(w, bsum, bcum, lanes):
    """Block sums of ``w`` and their running totals; returns the total.

    A full block is 4 rows of 8: ``lanes[j]`` adds column j of the 4 rows (one 8-wide
    vector add, no reassociation needed), then the 8 lanes by a fixed tree; the summation
    order is fixed, so the result does not depend on the machine's vector width.
    """
    Y, nb = w.size, bsum.size
    nfull = Y // _BLOCK
    acc = 0.0
    for b in range(nb):
        if b < nfull:
            i = b * _BLOCK
            for j in range(8):
                lanes[j] = (w[i + j] + w[i + 8 + j]) + (w[i + 16 + j] + w[i + 24 + j])
            s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
        else:
            s = 0.0
            for i in range(nfull * _BLOCK, Y):
                s += w[i]
        bsum[b] = s
        acc += s
        bcum[b] = acc
    return acc


@njit(cache=True)
def _block_draw(w, bsum, bcum, x):
    """Inverse CDF of ``w`` at ``x`` in [0, total): the block by bisection, then a scan inside it.

    On round-off (``x`` at or past the total) the draw is the last entry of positive weight,
    never a zero-weight one (whose log-ratio in the DPO step would be 0/0).
    """
    b = inverse_cdf_index(bcum, x)
    while b > 0 and bsum[b] == 0.0:  # only a clamped (round-off) index can have a zero block
        b -= 1
    x -= bcum[b] - bsum[b]
    lo, hi = b * _BLOCK, min((b + 1) * _BLOCK, w.size)
    return lo + sample_categorical(w[lo:hi], x)


@njit(cache=True)
def _exp_step(x, deg):
    """exp(x) by its Taylor polynomial of degree ``deg`` (3 or 4), or ``np.exp`` when ``deg == 0``."""
    if deg == 3:
        return 1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0)))
    if deg == 4:
        return 1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0))))
    return np.exp(x)


@njit(cache=True, fastmath={"contract"})
def _tilt_all(w, a, deg):
    """w_y <- w_y exp(a w_y) for every y, exp as in :func:`_exp_step` (the Taylor loops vectorize).

    Contraction into fused multiply-adds is allowed here (no reassociation): a CPU without
    FMA would round the last bit differently; the thread count never changes a result.
    """
    if deg == 3:
        for y in range(w.size):
            x = a * w[y]
            w[y] += (w[y] * x) * (1.0 + x * (0.5 + x * (1.0 / 6.0)))
    elif deg == 4:
        for y in range(w.size):
            x = a * w[y]
            w[y] += (w[y] * x) * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0))))
    else:
        for y in range(w.size):
            w[y] *= np.exp(a * w[y])


@njit(cache=True)
def _gap_weights(w, total, log_ref, r, beta, j_star):
    """J_beta(pi*) - J_beta(pi) for pi = w / total (entries with w = 0 contribute 0; a NaN propagates)."""
    lt = np.log(total)
    j = 0.0
    for y in range(w.size):
        if w[y] != 0.0:
            lp = np.log(w[y]) - lt
            j += (w[y] / total) * (r[y] - beta * (lp - log_ref[y]))
    return j_star - j


@njit(cache=True)
def _record(g, t, T, eps, rounds, ck, k, gap_row):
    """Store the gap ``g`` of round ``t`` at its checkpoints and as the first round to eps."""
    if eps > 0.0 and rounds > T and g <= eps:
        rounds = t
    while k < ck.size and ck[k] == t:
        gap_row[k] = g
        k += 1
    return rounds, k


@njit(cache=True)
def _xpo_logit_run(log_ref, r, beta, alpha, eta, u, cref, ck, eps, j_star, gap_row, pi_row):
    """One XPO run of :func:`online_sgd` on the logits: O(Y) exponentials a round, no overflow.

    The same SGD step as :func:`_xpo_sgd_run`, theta += eta alpha (pi - e_y') - eta grad of
    the DPO loss, for steps too large for the weights (eta (alpha + beta) > 600).
    """
    T, Y = u.shape[0], log_ref.size
    theta = log_ref.copy()
    pi, cdf = np.empty(Y), np.empty(Y)
    k, rounds = 0, T + 1
    for t in range(T + 1):
        if (eps > 0.0 and rounds > T) or (k < ck.size and ck[k] == t):
            rounds, k = _record(_gap(theta, log_ref, r, beta, j_star), t, T, eps, rounds, ck, k, gap_row)
        if t == T:
            break
        _softmax_into(theta, pi, cdf)
        y1 = _draw(cdf, u[t, 0])
        y2 = _draw(cref, u[t, 1])
        w_, l_ = _label(r, y1, y2, u[t, 2])
        hw = 0.0
        if w_ != l_:  # evaluated at theta_t, before the optimism term moves the logits
            hw = -beta / (1.0 + np.exp(beta * ((theta[w_] - log_ref[w_]) - (theta[l_] - log_ref[l_]))))
        for y in range(Y):
            theta[y] += eta * alpha * pi[y]
        theta[y2] -= eta * alpha
        theta[w_] -= eta * hw
        theta[l_] += eta * hw
    _softmax_into(theta, pi, cdf)
    pi_row[:] = pi
    return rounds


@njit(cache=True)
def _xpo_sgd_run(log_ref, r, beta, alpha, eta, u, cref, ck, eps, j_star, gap_row, pi_row):
    """One XPO run of :func:`online_sgd` on the weights w = exp(theta - c) (returns rounds to eps).

    XPO's term theta += eta alpha (pi - e_y') is the multiplicative update
    w_y *= exp(eta alpha w_y / S), S = sum w: one vectorized pass per round (a Taylor
    polynomial when eta alpha <= 1e-3, since a w_y = eta alpha w_y / S <= eta alpha), then the two responses of the
    pair are set from their pre-round weights and the block sums are rebuilt for the next
    draw. Nothing else is done per round: no maximum (S bounds every weight; the weights are
    rescaled by a power of 2, exactly, when S leaves [2^-64, 2^64]), no gap except at the
    checkpoints (and every round while ``eps`` is unmet).
    """
    T, Y = u.shape[0], log_ref.size
    nb = (Y + _BLOCK - 1) // _BLOCK
    w = np.exp(log_ref - log_ref.max())
    bsum, bcum, lanes = np.empty(nb), np.empty(nb), np.empty(8)
    S = _block_totals(w, bsum, bcum, lanes)
    ea = eta * alpha
    deg = 3 if ea <= _TAYLOR3_MAX else (4 if ea <= _TAYLOR4_MAX else 0)
    pen = np.exp(-eta * alpha)
    k, rounds = 0, T + 1
    for t in range(T + 1):
        if (eps > 0.0 and rounds > T) or (k < ck.size and ck[k] == t):
            rounds, k = _record(_gap_weights(w, S, log_ref, r, beta, j_star), t, T, eps, rounds, ck, k, gap_row)
        if t == T:
            break
        a = eta * alpha / S
        y1 = _block_draw(w, bsum, bcum, u[t, 0] * S)
        y2 = _draw(cref, u[t, 1])
        w_, l_ = _label(r, y1, y2, u[t, 2])
        # every factor below is evaluated at theta_t (one SGD step); y2 is w_ or l_
        dw, dl = 1.0, 1.0
        if w_ != l_:
            h = beta * (np.log(w[w_] / w[l_]) - (log_ref[w_] - log_ref[l_]))
            hw = -beta / (1.0 + np.exp(h))
            dw = np.exp(-eta * hw)
            dl = 1.0 / dw
        new_w = w[w_] * _exp_step(a * w[w_], deg) * dw * (pen if y2 == w_ else 1.0)
        new_l = w[l_] * _exp_step(a * w[l_], deg) * dl * (pen if y2 == l_ else 1.0)
        _tilt_all(w, a, deg)
        w[w_], w[l_] = new_w, new_l
        S = _block_totals(w, bsum, bcum, lanes)
        if S > _SCALE_HI or S < _SCALE_LO:
            f = 2.0 ** -np.round(np.log2(S))
            for y in range(Y):
                w[y] *= f
            S = _block_totals(w, bsum, bcum, lanes)
    for y in range(Y):
        pi_row[y] = w[y] / S
    return rounds


@njit(cache=True)
def _dpo_sgd_run(log_ref, r, beta, eta, from_ref, u, cref, ck, eps, j_star, gap_row, pi_row):
    """One run of :func:`online_sgd` without XPO's term (returns rounds to eps).

    A round changes two logits, so pi_t is sampled from a Fenwick tree of exp(theta - c) in
    O(log Y), rebuilt exactly every Y rounds (or when a logit runs 30 above c).
    """
    T, Y = u.shape[0], log_ref.size
    theta = log_ref.copy()
    pi, cdf, w, tree = np.empty(Y), np.empty(Y), np.empty(Y), np.empty(Y + 1)
    c, total, k, rebuild = 0.0, 0.0, 0, True
    rounds = T + 1
    for t in range(T):
        if rebuild or t % Y == 0:
            c = theta.max()
            total = _fenwick_build(theta, c, w, tree)
            rebuild = False
        if eps > 0.0 and rounds > T and _gap(theta, log_ref, r, beta, j_star) <= eps:
            rounds = t
        while k < ck.size and ck[k] == t:
            gap_row[k] = _gap(theta, log_ref, r, beta, j_star)
            k += 1
        y1 = _fenwick_draw(tree, u[t, 0] * total)
        if from_ref:
            y2 = _draw(cref, u[t, 1])
        else:
            y2 = _fenwick_draw(tree, u[t, 1] * total)
        w_, l_ = _label(r, y1, y2, u[t, 2])
        if w_ != l_:
            h = beta * ((theta[w_] - log_ref[w_]) - (theta[l_] - log_ref[l_]))
            hw = -beta / (1.0 + np.exp(h))  # d/dg_w of -log sigma(h); the softmax shift cancels
            theta[w_] -= eta * hw
            theta[l_] += eta * hw
            total = _reweight(theta, c, w, tree, w_, total)
            total = _reweight(theta, c, w, tree, l_, total)
            rebuild = theta[w_] - c > 30.0
    while k < ck.size:
        gap_row[k] = _gap(theta, log_ref, r, beta, j_star)
        k += 1
    if eps > 0.0 and rounds > T and _gap(theta, log_ref, r, beta, j_star) <= eps:
        rounds = T
    _softmax_into(theta, pi, cdf)
    pi_row[:] = pi
    return rounds


@njit(cache=True)
def _sgd_run(log_ref, r, beta, alpha, eta, from_ref, u, cref, ck, eps, j_star, gap_row, pi_row):
    if from_ref and alpha > 0.0 and eta * (alpha + beta) > _WEIGHT_STEP_MAX:
        return _xpo_logit_run(log_ref, r, beta, alpha, eta, u, cref, ck, eps, j_star, gap_row, pi_row)
    if from_ref and alpha > 0.0:
        return _xpo_sgd_run(log_ref, r, beta, alpha, eta, u, cref, ck, eps, j_star, gap_row, pi_row)
    return _dpo_sgd_run(log_ref, r, beta, eta, from_ref, u, cref, ck, eps, j_star, gap_row, pi_row)


@njit(cache=True)
def online_sgd(log_ref, r, beta, alpha, eta, from_ref, u, ck, eps, j_star, gap_out, rounds_out, pi_out):
    """Streaming online DPO / XPO: one SGD step on the logits per round (TRL's online trainers).

    Round t: y ~ pi_t, y' ~ pi_t (or pi_ref when ``from_ref``), BT label, then
    theta -= eta * grad[-log sigma(beta (g_w - g_l)) + alpha log pi(y')] (the alpha term only
    with ``from_ref``, y' being XPO's reference sample). Without the alpha term a round
    changes two logits (:func:`_dpo_sgd_run`, O(log Y) a round); XPO's term moves every
    logit (:func:`_xpo_sgd_run`, one vectorized O(Y) pass; :func:`_xpo_logit_run` when
    eta (alpha + beta) > 600, where the weights could overflow). Runs one after another; run
    ``i`` depends only on ``u[i]``.
    """
    cref = np.cumsum(np.exp(log_ref))
    for run in range(u.shape[0]):
        rounds_out[run] = _sgd_run(log_ref, r, beta, alpha, eta, from_ref, u[run], cref, ck, eps, j_star,
                                   gap_out[run], pi_out[run])


@njit(cache=True, parallel=True)
def online_sgd_par(log_ref, r, beta, alpha, eta, from_ref, u, ck, eps, j_star, gap_out, rounds_out, pi_out):
    """:func:`online_sgd` with the runs spread over threads (same numbers for any thread count)."""
    cref = np.cumsum(np.exp(log_ref))
    for run in prange(u.shape[0]):
        rounds_out[run] = _sgd_run(log_ref, r, beta, alpha, eta, from_ref, u[run], cref, ck, eps, j_star,
                                   gap_out[run], pi_out[run])


@njit(cache=True)
def _objective(f, W, n_ref, t, log_ref, beta, alpha, ridge):
    """Accumulated objective of Xie et al. Alg. 1 in the implied reward f = beta log(pi/pi_ref) + c."""
    Y = f.size
    val = 0.0
    for w in range(Y):
        val += 0.5 * ridge * f[w] * f[w]
        for l in range(Y):
            if W[w, l] > 0.0 and w != l:
                d = f[w] - f[l]
                val += W[w, l] * (np.log1p(np.exp(-d)) if d > 0 else -d + np.log1p(np.exp(d)))
    if alpha > 0.0:
        m = (log_ref + f / beta).max()
        s = 0.0
        for y in range(Y):
            s += np.exp(log_ref[y] + f[y] / beta - m)
        lz = m + np.log(s)
        for y in range(Y):
            val += alpha * n_ref[y] * (f[y] / beta - lz)
    return val


@njit(cache=True)
def _objective_grad(f, W, n_ref, t, log_ref, beta, alpha, ridge, pi, g):
    Y = f.size
    for y in range(Y):
        g[y] = ridge * f[y]
    for w in range(Y):
        for l in range(Y):
            if W[w, l] > 0.0 and w != l:
                a = W[w, l] / (1.0 + np.exp(f[w] - f[l]))
                g[w] -= a
                g[l] += a
    if alpha > 0.0:
        for y in range(Y):
            g[y] += alpha * (n_ref[y] - t * pi[y]) / beta


@njit(cache=True)
def online_argmin(log_ref, r, beta, alpha, ridge, bound, n_inner, from_ref, u, ck, eps, j_star,
                  gap_out, rounds_out, pi_out):
    """Online DPO / XPO with all past data (Xie et al. 2024, Alg. 1) on implied rewards f in [0, bound].

    Round t adds the pair (y ~ pi_t, y' ~ pi_t or pi_ref) to the counts W and y' to the
    reference counts (XPO), then takes ``n_inner`` projected gradient steps (step 1/L_t) on
    sum W softplus(f_l - f_w) + ridge |f|^2/2 + alpha sum_i log pi_f(y'_i); with alpha > 0 each
    coordinate is first moved to ``bound`` when that lowers the objective (its global
    minimizer along the coordinate when the bonus dominates).
    """
    n_runs, T = u.shape[0], u.shape[1]
    Y = log_ref.size
    cref = np.cumsum(np.exp(log_ref))
    for run in range(n_runs):
        f = np.zeros(Y)
        W = np.zeros((Y, Y))
        n_ref = np.zeros(Y)
        pi = np.empty(Y)
        cdf = np.empty(Y)
        g = np.empty(Y)
        k = 0
        rounds_out[run] = T + 1
        for t in range(T):
            theta = log_ref + f / beta
            _softmax_into(theta, pi, cdf)
            if eps > 0.0 and rounds_out[run] > T and _gap(theta, log_ref, r, beta, j_star) <= eps:
                rounds_out[run] = t
            while k < ck.size and ck[k] == t:
                gap_out[run, k] = _gap(theta, log_ref, r, beta, j_star)
                k += 1
            y1 = _draw(cdf, u[run, t, 0])
            y2 = _draw(cref if from_ref else cdf, u[run, t, 1])
            w, l = _label(r, y1, y2, u[run, t, 2])
            W[w, l] += 1.0
            if from_ref:
                n_ref[y2] += 1.0
            n = t + 1.0
            if alpha > 0.0:
                for y in range(Y):
                    old = f[y]
                    base = _objective(f, W, n_ref, n, log_ref, beta, alpha, ridge)
                    f[y] = bound
                    if _objective(f, W, n_ref, n, log_ref, beta, alpha, ridge) >= base:
                        f[y] = old
            step = 1.0 / (ridge + n * (0.5 + alpha / (beta * beta)))
            for _ in range(n_inner):
                _softmax_into(log_ref + f / beta, pi, cdf)
                _objective_grad(f, W, n_ref, n, log_ref, beta, alpha, ridge, pi, g)
                for y in range(Y):
                    f[y] = min(max(f[y] - step * g[y], 0.0), bound)
        theta = log_ref + f / beta
        while k < ck.size:
            gap_out[run, k] = _gap(theta, log_ref, r, beta, j_star)
            k += 1
        if eps > 0.0 and rounds_out[run] > T and _gap(theta, log_ref, r, beta, j_star) <= eps:
            rounds_out[run] = T
        _softmax_into(theta, pi, cdf)
        pi_out[run] = pi
