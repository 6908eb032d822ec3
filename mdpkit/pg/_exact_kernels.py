"""Compiled expected (exact) policy-gradient dynamics of softmax policies; no validation here."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# reassociation/contraction only: no assumption that values are finite (pass@k uses log1p(-1))
_FAST = {"reassoc", "contract", "arcp", "nsz", "afn"}


@njit(cache=True, fastmath=_FAST)
def softmax_rows(z, pi, lp, H):
    """pi = softmax(z) row-wise with a centred log-sum-exp; lp = log pi; H = entropy per row."""
    S, K = z.shape
    for s in range(S):
        m = z[s, 0]
        for a in range(1, K):
            if z[s, a] > m:
                m = z[s, a]
        acc = 0.0
        for a in range(K):
            pi[s, a] = np.exp(z[s, a] - m)
            acc += pi[s, a]
        lse = m + np.log(acc)
        inv = 1.0 / acc
        h = 0.0
        for a in range(K):
            lp[s, a] = z[s, a] - lse
            pi[s, a] *= inv
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
    for m in range(M):
        s = row[m]
        cnt[s] += 1.0
        v = 0.0
        for a in range(K):
            v += pi[s, a] * (q_eff[m, a] - beta * (lp[s, a] - log_ref[s, a]) - tau * lp[s, a])
        for a in range(K):
            adv = q_eff[m, a] - beta * (lp[s, a] - log_ref[s, a]) - tau * lp[s, a] - v
            grad[s, a] += adv if natural else pi[s, a] * adv
    for s in range(grad.shape[0]):
        if cnt[s] > 0:
            for a in range(K):
                grad[s, a] /= cnt[s]


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
