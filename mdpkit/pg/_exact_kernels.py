"""Compiled expected (exact) policy-gradient dynamics of softmax policies; no validation here."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# reassociation/contraction only: no assumption that values are finite (pass@k uses log1p(-1))
_FAST = {"reassoc", "contract", "arcp", "nsz", "afn"}


# exp(x) = 2^k exp(r), x = k ln2 + r (Cody-Waite split of ln 2), |r| <= ln2/2 (+ulps)
_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_MAGIC = 6755399441055744.0            # 1.5 * 2**52: adding it rounds to an integer
_MAGIC_BITS = 0x4338000000000000       # bit pattern of _MAGIC
_EXP_MIN = -700.0                      # exp(-700) ~ 1e-304: below, entries are set to exp(-700)
# no "reassoc" here: (x / ln2 + MAGIC) - MAGIC must not be simplified away
_EXP_FAST = {"contract", "nsz", "arcp"}


@njit(cache=True, fastmath=_EXP_FAST, inline="always")
def _exp_reduced(x, k):
    """exp(x - k ln 2) for |x - k ln 2| <= ln2/2: Cody-Waite reduction, Taylor degree 13."""
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    return p * r + 1.0


_POW2_NEG = 2.0 ** -np.arange(1024.0)   # 2^-j, j = 0..1023 (x >= -700 needs j <= 1010)


@njit(cache=True, fastmath=_EXP_FAST)
def exp_neg_scalar(x):
    """exp(max(x, -700)) for x <= 0 without libm: the polynomial of exp_shifted times a table 2^k.

    Requires x <= 0 (every caller passes z - max z): for x > ln2/2 the table index -k is
    negative and wraps around the table, giving a wrong value without any error.
    """
    xi = max(x, _EXP_MIN)
    k = (xi * _INV_LN2 + _MAGIC) - _MAGIC
    return _exp_reduced(xi, k) * _POW2_NEG[int(-k)]


@njit(cache=True, fastmath=_EXP_FAST)
def exp_nonpositive(x, out, t, bits):
    """Write ``out = exp(x)`` for x <= 0, in loops LLVM vectorizes (no libm call); error <= 2 ulp.

    Arguments below -700 are raised to -700 (exp(-700) = 9.9e-305, beyond any
    probability that matters next to the row maximum exp(0) = 1). See :func:`exp_shifted`.
    """
    exp_shifted(x, 0.0, out, t, bits)


@njit(cache=True, fastmath=_EXP_FAST)
def exp_shifted(z, shift, out, t, bits):
    """Write ``out = exp(z - shift)``, arguments clamped to [-700, 700]; error <= 2 ulp inside.

    Taylor polynomial of degree 13 on |r| <= 0.35 (truncation < 1e-17) times 2^k built
    from the exponent bits, in three loops LLVM vectorizes (no libm call).
    """
    n = z.size
    for i in range(n):
        xi = min(max(z[i] - shift, _EXP_MIN), -_EXP_MIN)
        ti = xi * _INV_LN2 + _MAGIC
        out[i] = _exp_reduced(xi, ti - _MAGIC)
        t[i] = ti
    tb = t.view(np.int64)
    for i in range(n):
        bits[i] = (tb[i] - _MAGIC_BITS + 1023) << 52
    scale = bits.view(np.float64)
    for i in range(n):
        out[i] *= scale[i]


@njit(cache=True, fastmath=_FAST)
def softmax_rows(z, pi, lp, H):
    """Write pi = softmax(z) row-wise with a centred log-sum-exp; lp = log pi; H = entropy per row."""
    S, K = z.shape
    x = np.empty(K)
    t = np.empty(K)
    bits = np.empty(K, dtype=np.int64)
    e = np.empty(K)
    for s in range(S):
        m = z[s, 0]
        for a in range(1, K):
            m = max(m, z[s, a])
        if K <= 16:   # short rows: scalar exp, same floor exp(-700): no subnormal (slow) numbers
            for a in range(K):
                e[a] = exp_neg_scalar(z[s, a] - m)
        else:
            for a in range(K):
                x[a] = z[s, a] - m
            exp_nonpositive(x, e, t, bits)
        acc = 0.0
        for a in range(K):
            acc += e[a]
        lse = m + np.log(acc)
        inv = 1.0 / acc
        h = 0.0
        for a in range(K):
            lp[s, a] = z[s, a] - lse
            pi[s, a] = e[a] * inv
            h -= pi[s, a] * lp[s, a]
        H[s] = h


@njit(cache=True)
def record_metrics(q_true, row, pi, lp, H, log_ref, ks, j, reward, ent, kl, passk, p_prompt, ent_row):
    """Checkpoint j: mean reward, entropy, KL(pi||pi_ref), pass@k over prompts; per-prompt p."""
    M, K = q_true.shape
    S = pi.shape[0]
    r_sum = 0.0
    h_sum = 0.0
    kl_sum = 0.0
    for i in range(ks.size):
        passk[j, i] = 0.0
    for m in range(M):
        s = row[m]
        p = 0.0
        d = 0.0
        for a in range(K):
            p += pi[s, a] * q_true[m, a]
            d += pi[s, a] * (lp[s, a] - log_ref[s, a])
        p_prompt[j, m] = p
        r_sum += p
        h_sum += H[s]
        kl_sum += d
        for i in range(ks.size):
            passk[j, i] += -np.expm1(ks[i] * np.log1p(-min(p, 1.0)))
    reward[j] = r_sum / M
    ent[j] = h_sum / M
    kl[j] = kl_sum / M
    for i in range(ks.size):
        passk[j, i] /= M
    for s in range(S):
        ent_row[j, s] = H[s]


@njit(cache=True, fastmath=_FAST)
def cov_prediction(row, pi, lp, dz):
    """Mean over prompts of -Cov_{pi_s}(log pi_s, dz_s) (Cui et al., Lemma 1)."""
    K = pi.shape[1]
    tot = 0.0
    for m in range(row.size):
        s = row[m]
        e_ld = 0.0
        e_l = 0.0
        e_d = 0.0
        for a in range(K):
            e_ld += pi[s, a] * lp[s, a] * dz[s, a]
            e_l += pi[s, a] * lp[s, a]
            e_d += pi[s, a] * dz[s, a]
        tot -= e_ld - e_l * e_d
    return tot / row.size


# Accepted window for the sum s0 = sum_a exp(z_a - shift) when the shift is a guess (the
# previous step's log-sum-exp): |log s0| < ln(1e6) = 13.8 nats of shift error. Then the
# plain-PG sums are safe: s2 = sum e^2 lies in [s0^2 / K, s0^2] within [1e-12 / K, 1e12] and
# f = eta / s0^2 <= 1e12 eta (a wider window such as 1e+-200 lets s2 and f over/underflow
# once the error passes ~354 nats: 0 * inf = NaN). The error d costs |d| * 2.2e-16 <= 3e-15
# absolute in E[x] (hence in the entropy), comparable with the max shift's own offset
# log K + H; outside the window the row maximum is taken (an O(K) pass, rarely needed).
_S0_LO = 1e-6
_S0_HI = 1e6


@njit(cache=True, fastmath=_FAST)
def row_sums(z, shift, w, c, natural, e, t, bits, sums):
    """Write ``e = exp(z - shift)`` and return the sums of the exp pass; returns False if the shift was too far off.

    The sums use the clamped argument x = clip(z - shift, -700, 700), the same as e.
    """
    K = z.size
    exp_shifted(z, shift, e, t, bits)
    s0 = 0.0
    sx = 0.0
    sh = 0.0
    sxh = 0.0
    s2 = 0.0
    s2x = 0.0
    s2h = 0.0
    s2xh = 0.0
    if natural:
        for a in range(K):
            x = min(max(z[a] - shift, _EXP_MIN), -_EXP_MIN)
            h = w[a] - c * x
            s0 += e[a]
            sx += e[a] * x
            sh += e[a] * h
            sxh += e[a] * x * h
    else:
        for a in range(K):
            x = min(max(z[a] - shift, _EXP_MIN), -_EXP_MIN)
            h = w[a] - c * x
            e2 = e[a] * e[a]
            s0 += e[a]
            sx += e[a] * x
            sh += e[a] * h
            s2 += e2
            s2x += e2 * x
            s2h += e2 * h
            s2xh += e2 * x * h
    sums[0], sums[1], sums[2], sums[3] = s0, sx, sh, sxh
    sums[4], sums[5], sums[6], sums[7] = s2, s2x, s2h, s2xh
    return _S0_LO < s0 < _S0_HI


@njit(cache=True, fastmath=_FAST)
def fused_row_step(z, shift, w, c, eta, natural, update, e, t, bits, sums):
    """One row: entropy, Cov(log pi, dz) and (if update) z += dz, in one exp pass and one update pass.

    With x = z - shift (log pi = x - log sum e^x) the regularized advantage is, up to a
    constant that centring removes, h = w - c x (w = mean reward of the row's prompts
    + beta log pi_ref, c = beta + tau); dz = eta (h - E h) (natural) or eta pi (h - E h).
    Every expectation is a sum over the same exp pass. The shift is the previous step's
    log-sum-exp (close to the new one); the row maximum is taken only when the sum leaves
    the window (_S0_LO, _S0_HI) (see there). Returns (H, Cov_pi(log pi, dz), log-sum-exp of z before the update).
    """
    K = z.size
    if not row_sums(z, shift, w, c, natural, e, t, bits, sums):
        shift = z[0]
        for a in range(1, K):
            shift = max(shift, z[a])
        row_sums(z, shift, w, c, natural, e, t, bits, sums)
    s0, sx, sh, sxh, s2, s2x, s2h, s2xh = sums[0], sums[1], sums[2], sums[3], sums[4], sums[5], sums[6], sums[7]
    inv = 1.0 / s0
    ex = sx * inv
    eh = sh * inv
    ls0 = math.log(s0)
    H = ls0 - ex
    if natural:
        cov = eta * (sxh * inv - ex * eh)
        if update:
            for a in range(K):
                z[a] += eta * (w[a] - c * (z[a] - shift) - eh)
    else:
        f = eta * inv * inv
        cov = f * (s2xh - eh * s2x) - ex * f * (s2h - eh * s2)
        if update:
            g = eta * inv
            for a in range(K):
                z[a] += g * e[a] * (w[a] - c * (z[a] - shift) - eh)
    return H, cov, shift + ls0


@njit(cache=True)
def row_weights(q_eff, row, log_ref, beta, S, w, wt):
    """w[s] = mean of q_eff over the prompts of row s + beta log pi_ref[s]; wt[s] = their share of prompts."""
    M, K = q_eff.shape
    w[:, :] = 0.0
    wt[:] = 0.0
    for m in range(M):
        s = row[m]
        wt[s] += 1.0
        for a in range(K):
            w[s, a] += q_eff[m, a]
    for s in range(S):
        inv = 1.0 / wt[s] if wt[s] > 0 else 0.0
        for a in range(K):
            w[s, a] = w[s, a] * inv + beta * log_ref[s, a]
        wt[s] /= M


@njit(cache=True)
def run_exact(q_true, q_eff, row, z0, log_ref, eta, beta, tau, natural, n_steps, ck, ks,
              reward, ent, kl, passk, p_prompt, ent_row, dh, dh_pred, z_out):
    """One configuration of the expected PG / NPG dynamics; outputs indexed [checkpoint] / [step].

    Per step and row: one exp pass gives the entropy, the covariance prediction and the
    advantage's mean; one pass updates the logits. pi and log pi are formed only at
    checkpoints.
    """
    S, K = z0.shape
    z = z0.copy()
    pi = np.empty((S, K))
    lp = np.empty((S, K))
    H = np.empty(S)
    w = np.empty((S, K))
    wt = np.empty(S)
    e = np.empty(K)
    tt = np.empty(K)
    bits = np.empty(K, dtype=np.int64)
    sums = np.empty(8)
    shift = np.empty(S)
    for s in range(S):
        shift[s] = z[s].max()
    row_weights(q_eff, row, log_ref, beta, S, w, wt)
    c = beta + tau
    j = 0
    h_prev = 0.0
    for t in range(n_steps + 1):
        if j < ck.size and ck[j] == t:
            softmax_rows(z, pi, lp, H)
            record_metrics(q_true, row, pi, lp, H, log_ref, ks, j, reward, ent, kl, passk,
                           p_prompt, ent_row)
            j += 1
        h_now = 0.0
        cov = 0.0
        for s in range(S):
            if wt[s] == 0.0 and t < n_steps:
                continue   # a row without prompts does not move and is not averaged
            hs, cs, shift[s] = fused_row_step(z[s], shift[s], w[s], c, eta, natural, t < n_steps, e,
                                              tt, bits, sums)
            h_now += wt[s] * hs
            cov += wt[s] * cs
        if t > 0:
            dh[t - 1] = h_now - h_prev
        h_prev = h_now
        if t < n_steps:
            dh_pred[t] = -cov
    z_out[:, :] = z


@njit(cache=True, parallel=True)
def run_exact_many(q_true, q_eff, row, z0, log_ref, eta, beta, tau, natural, n_steps, ck, ks,
                   reward, ent, kl, passk, p_prompt, ent_row, dh, dh_pred, z_out):
    """All configurations in parallel (one per thread); each is independent of the others."""
    for c in prange(eta.size):
        run_exact(q_true, q_eff, row, z0, log_ref, eta[c], beta[c], tau[c], natural[c], n_steps,
                  ck, ks, reward[c], ent[c], kl[c], passk[c], p_prompt[c], ent_row[c], dh[c],
                  dh_pred[c], z_out[c])
