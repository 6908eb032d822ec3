"""Compiled expected (exact) policy-gradient dynamics of softmax policies; no validation here."""

from __future__ import annotations

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


@njit(cache=True, fastmath=_EXP_FAST)
def exp_nonpositive(x, out, t, bits):
    """Write ``out = exp(x)`` for x <= 0, in loops LLVM vectorizes (no libm call); error <= 2 ulp.

    Taylor polynomial of degree 13 on |r| <= 0.35 (truncation < 1e-17). Arguments below
    -700 are raised to -700 (exp(-700) = 9.9e-305, beyond any probability that matters
    next to the row maximum exp(0) = 1).
    """
    n = x.size
    for i in range(n):
        xi = max(x[i], _EXP_MIN)
        ti = xi * _INV_LN2 + _MAGIC
        k = ti - _MAGIC
        r = (xi - k * _LN2_HI) - k * _LN2_LO
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
        out[i] = p * r + 1.0
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
def expected_direction(q_eff, row, pi, lp, log_ref, beta, tau, natural, grad, cnt):
    """grad[s] = mean over prompts of row s of pi*A (PG) or A (NPG), A the regularized advantage."""
    M, K = q_eff.shape
    grad[:, :] = 0.0
    cnt[:] = 0.0
    g = np.empty(K)
    for m in range(M):
        s = row[m]
        cnt[s] += 1.0
        v = 0.0
        for a in range(K):
            g[a] = q_eff[m, a] - beta * (lp[s, a] - log_ref[s, a]) - tau * lp[s, a]
            v += pi[s, a] * g[a]
        if natural:
            for a in range(K):
                grad[s, a] += g[a] - v
        else:
            for a in range(K):
                grad[s, a] += pi[s, a] * (g[a] - v)
    for s in range(grad.shape[0]):
        if cnt[s] > 1.0:
            inv = 1.0 / cnt[s]
            for a in range(K):
                grad[s, a] *= inv


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


@njit(cache=True)
def run_exact(q_true, q_eff, row, z0, log_ref, eta, beta, tau, natural, n_steps, ck, ks,
              reward, ent, kl, passk, p_prompt, ent_row, dh, dh_pred, z_out):
    """One configuration of the expected PG / NPG dynamics; outputs indexed [checkpoint] / [step]."""
    S, K = z0.shape
    z = z0.copy()
    pi = np.empty((S, K))
    lp = np.empty((S, K))
    H = np.empty(S)
    grad = np.empty((S, K))
    cnt = np.empty(S)
    M = row.size
    j = 0
    h_prev = 0.0
    for t in range(n_steps + 1):
        softmax_rows(z, pi, lp, H)
        h_now = 0.0
        for m in range(M):
            h_now += H[row[m]]
        h_now /= M
        if t > 0:
            dh[t - 1] = h_now - h_prev
        h_prev = h_now
        if j < ck.size and ck[j] == t:
            record_metrics(q_true, row, pi, lp, H, log_ref, ks, j, reward, ent, kl, passk,
                           p_prompt, ent_row)
            j += 1
        if t == n_steps:
            break
        expected_direction(q_eff, row, pi, lp, log_ref, beta, tau, natural, grad, cnt)
        for s in range(S):
            for a in range(K):
                grad[s, a] *= eta
        dh_pred[t] = cov_prediction(row, pi, lp, grad)
        for s in range(S):
            for a in range(K):
                z[s, a] += grad[s, a]
    z_out[:, :] = z


@njit(cache=True, parallel=True)
def run_exact_many(q_true, q_eff, row, z0, log_ref, eta, beta, tau, natural, n_steps, ck, ks,
                   reward, ent, kl, passk, p_prompt, ent_row, dh, dh_pred, z_out):
    """All configurations in parallel (one per thread); each is independent of the others."""
    for c in prange(eta.size):
        run_exact(q_true, q_eff, row, z0, log_ref, eta[c], beta[c], tau[c], natural[c], n_steps,
                  ck, ks, reward[c], ent[c], kl[c], passk[c], p_prompt[c], ent_row[c], dh[c],
                  dh_pred[c], z_out[c])
