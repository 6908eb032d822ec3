"""Compiled sampled policy-gradient dynamics: groups, advantages, clipping, Clip-Cov, KL-Cov, GVM.

No validation here (the front end, :mod:`mdpkit.pg._sampled`, does it). Each run seeds
Numba's generator with its own seed, so a run is the same on any thread.
"""
# ruff: noqa: NPY002  (Numba compiles only the legacy np.random API; each run seeds its own stream)

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._exact_kernels import cov_prediction, record_metrics, softmax_rows

# estimator codes (order of mdpkit.pg.ESTIMATORS)
REINFORCE, REINFORCE_BASELINE, RLOO, GRPO, DR_GRPO, BNPO, NGRPO = range(7)


@njit(cache=True)
def beta_pdf(x, a, b):
    """Beta(a, b) density at x in (0, 1), in log space."""
    return math.exp((a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x)
                    + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b))


@njit(cache=True)
def group_advantages(code, r, baseline, eps, bnpo_a, bnpo_b, r_max, out):
    """Advantages of one group of rewards r (length n >= 1) into out; see mdpkit.pg.advantages."""
    n = r.size
    mean = 0.0
    for i in range(n):
        mean += r[i]
    mean /= n
    if code == REINFORCE:
        for i in range(n):
            out[i] = r[i]
    elif code == REINFORCE_BASELINE:
        for i in range(n):
            out[i] = r[i] - baseline
    elif code == RLOO:
        for i in range(n):
            out[i] = (r[i] - mean) * n / (n - 1.0)
    elif code == DR_GRPO:
        for i in range(n):
            out[i] = r[i] - mean
    elif code == GRPO or code == NGRPO:
        m = mean
        cnt = n
        if code == NGRPO:  # one virtual sample with the maximal reward joins the statistics
            m = (mean * n + r_max) / (n + 1.0)
            cnt = n + 1
        v = 0.0
        for i in range(n):
            v += (r[i] - m) ** 2
        if code == NGRPO:
            v += (r_max - m) ** 2
        sd = math.sqrt(v / cnt) + eps
        for i in range(n):
            # an all-equal group (sd = 0) has zero numerators: its advantages are 0
            out[i] = (r[i] - m) / sd if sd > 0.0 else 0.0
    else:  # BNPO: (r - mean) / f_Beta(mean; a, b); an all-equal group has zero advantage
        for i in range(n):
            out[i] = 0.0
        if 0.0 < mean < 1.0:
            f = beta_pdf(mean, bnpo_a, bnpo_b)
            for i in range(n):
                out[i] = (r[i] - mean) / f


@njit(cache=True)
def allocate(sigma, budget, n_min, out):
    """Integer n_i >= n_min with sum n_i = budget minimizing sum sigma_i^2 / n_i (GVM).

    Water-filling n_i = max(n_min, lam sigma_i), floored, then the remaining units go one
    each to the largest marginal gains sigma_i^2 / (n_i (n_i + 1)).
    """
    M = sigma.size
    fixed = np.zeros(M, dtype=np.bool_)
    lam = 0.0
    for _ in range(M + 1):
        s = 0.0
        n_fixed = 0
        for i in range(M):
            if fixed[i] or sigma[i] <= 0.0:
                n_fixed += 1
            else:
                s += sigma[i]
        if s <= 0.0:
            lam = 0.0
            break
        lam = (budget - n_min * n_fixed) / s
        changed = False
        for i in range(M):
            if not fixed[i] and sigma[i] > 0.0 and lam * sigma[i] < n_min:
                fixed[i] = True
                changed = True
        if not changed:
            break
    used = 0
    for i in range(M):
        x = lam * sigma[i] if (sigma[i] > 0.0 and not fixed[i]) else 0.0
        out[i] = max(n_min, int(math.floor(x + 1e-9)))
        used += out[i]
    gain = np.empty(M)
    for i in range(M):
        gain[i] = sigma[i] ** 2 / (out[i] * (out[i] + 1.0))
    order = np.argsort(-gain, kind="mergesort")
    k = 0
    while used < budget:
        out[order[k % M]] += 1
        used += 1
        k += 1


@njit(cache=True)
def draw_group(cdf, q_eff_m, binary, n, act, rew, start):
    """n responses by inverse CDF and their rewards (Bernoulli(q_eff) if binary) at act/rew[start:].

    One uniform per sample: its position inside the chosen response's CDF cell is again
    uniform and independent of the choice, and decides the Bernoulli reward.
    """
    K = cdf.size
    for i in range(n):
        u = np.random.random() * cdf[K - 1]
        a = 0
        while a < K - 1 and cdf[a] <= u:
            a += 1
        act[start + i] = a
        if binary:
            lo = cdf[a - 1] if a > 0 else 0.0
            width = cdf[a] - lo
            v = (u - lo) / width if width > 0.0 else 0.5
            rew[start + i] = 1.0 if v < q_eff_m[a] else 0.0
        else:
            rew[start + i] = q_eff_m[a]


@njit(cache=True)
def gradient_samples(pi, q_eff, binary, code, G, baseline, eps, bnpo_a, bnpo_b, r_max, n_samples, seed, out):
    """n_samples i.i.d. group gradient estimates (1/G) sum_i A_i (e_{a_i} - pi) at one prompt."""
    np.random.seed(seed)
    K = pi.size
    cdf = np.cumsum(pi)
    act = np.empty(G, dtype=np.int64)
    rew = np.empty(G)
    adv = np.empty(G)
    for t in range(n_samples):
        draw_group(cdf, q_eff, binary, G, act, rew, 0)
        group_advantages(code, rew, baseline, eps, bnpo_a, bnpo_b, r_max, adv)
        csum = 0.0
        for a in range(K):
            out[t, a] = 0.0
        for i in range(G):
            out[t, act[i]] += adv[i] / G
            csum += adv[i] / G
        for a in range(K):
            out[t, a] -= csum * pi[a]


@njit(cache=True)
def select_cov_tokens(n_tok, adv, lpold, keep_tok, cc_ratio, cc_lb, cc_ub, kc_ratio, mask, klsel):
    """Clip-Cov (random tokens with lb < cov < ub lose their gradient) and KL-Cov (top covariance).

    Token covariance (A - mean A)(log pi_old - mean log pi_old) over the kept tokens (Cui et al.).
    """
    cov = np.zeros(n_tok)
    n_keep = 0
    ma = 0.0
    ml = 0.0
    for i in range(n_tok):
        mask[i] = 1.0
        klsel[i] = False
        if keep_tok[i]:
            n_keep += 1
            ma += adv[i]
            ml += lpold[i]
    if n_keep == 0:
        return
    ma /= n_keep
    ml /= n_keep
    for i in range(n_tok):
        cov[i] = (adv[i] - ma) * (lpold[i] - ml) if keep_tok[i] else -np.inf
    if cc_ratio > 0.0:
        cand = np.empty(n_tok, dtype=np.int64)
        nc = 0
        for i in range(n_tok):
            if keep_tok[i] and cc_lb < cov[i] < cc_ub:
                cand[nc] = i
                nc += 1
        n_sel = min(nc, int(math.ceil(cc_ratio * n_keep)))
        for j in range(n_sel):  # partial Fisher-Yates
            k = j + np.random.randint(nc - j)
            cand[j], cand[k] = cand[k], cand[j]
            mask[cand[j]] = 0.0
    if kc_ratio > 0.0:
        n_sel = int(math.ceil(kc_ratio * n_keep))
        order = np.argsort(-cov, kind="mergesort")
        for j in range(min(n_sel, n_keep)):
            klsel[order[j]] = True


@njit(cache=True)
def bnpo_fit(gmean, M):
    """BNPO normalizer parameters max(1, 1 + a/3), max(1, 1 + b/3) from a Beta(a, b) moment fit.

    a, b: method of moments on the batch's group success rates with the unbiased sample
    variance (n - 1). Fewer than two groups, zero variance or a mean at 0 or 1 leave the
    rule undefined (a, b infinite or 0/0): the floor (1, 1) is used there.
    """
    if M < 2:
        return 1.0, 1.0
    mu = 0.0
    for m in range(M):
        mu += gmean[m]
    mu /= M
    v = 0.0
    for m in range(M):
        v += (gmean[m] - mu) ** 2
    v /= M - 1.0
    if v <= 0.0 or mu <= 0.0 or mu >= 1.0:
        return 1.0, 1.0
    c = mu * (1.0 - mu) / v - 1.0
    return max(1.0, 1.0 + mu * c / 3.0), max(1.0, 1.0 + (1.0 - mu) * c / 3.0)


@njit(cache=True)
def sample_batch(pi, lp, q_eff, row, binary, off, act, rew, lpold, cdf):
    """Draw every prompt's group from its current policy; store log pi_old of each token."""
    S, K = pi.shape
    for s in range(S):
        acc = 0.0
        for a in range(K):
            acc += pi[s, a]
            cdf[s, a] = acc
    for m in range(row.size):
        s = row[m]
        draw_group(cdf[s], q_eff[m], binary, off[m + 1] - off[m], act, rew, off[m])
        for i in range(off[m], off[m + 1]):
            lpold[i] = lp[s, act[i]]


@njit(cache=True)
def batch_advantages(code, rew, off, q_eff, row, pi, eps, bnpo_a, bnpo_b, r_max, filt, adv, keep,
                     keep_tok):
    """Advantages of every group; difficulty filtering drops all-equal groups. Returns their number."""
    M = row.size
    K = pi.shape[1]
    if code == BNPO and bnpo_a < 0.0:
        gmean = np.empty(M)
        for m in range(M):
            acc = 0.0
            for i in range(off[m], off[m + 1]):
                acc += rew[i]
            gmean[m] = acc / (off[m + 1] - off[m])
        bnpo_a, bnpo_b = bnpo_fit(gmean, M)
    n_zero = 0
    for m in range(M):
        base = 0.0
        for a in range(K):
            base += pi[row[m], a] * q_eff[m, a]
        group_advantages(code, rew[off[m]:off[m + 1]], base, eps, bnpo_a, bnpo_b, r_max,
                         adv[off[m]:off[m + 1]])
        equal = True
        for i in range(off[m] + 1, off[m + 1]):
            if rew[i] != rew[off[m]]:
                equal = False
        n_zero += equal
        keep[m] = not (filt and equal)
        for i in range(off[m], off[m + 1]):
            keep_tok[i] = keep[m]
    return n_zero


@njit(cache=True)
def inner_update(z, pi, lp, row, act, adv, lpold, mask, klsel, off, keep, cnt, scale, clip_lo,
                 clip_hi, kc_coef, grad, csum):
    """One PPO epoch: clipped-surrogate gradient (plus KL-Cov penalty), ascent step on z."""
    S, K = z.shape
    grad[:, :] = 0.0
    csum[:] = 0.0
    for m in range(row.size):
        if not keep[m]:
            continue
        s = row[m]
        n = off[m + 1] - off[m]
        for i in range(off[m], off[m + 1]):
            if mask[i] == 0.0:
                continue
            a = act[i]
            d0 = lp[s, a] - lpold[i]
            ratio = 1.0 if d0 == 0.0 else math.exp(d0)
            A = adv[i]
            c = 0.0 if (A > 0 and ratio > 1.0 + clip_hi) or (A < 0 and ratio < 1.0 - clip_lo) else A * ratio
            if klsel[i]:
                d = lp[s, a] - lpold[i]
                c -= kc_coef * (1.0 if d > 0 else (-1.0 if d < 0 else 0.0))
            grad[s, a] += c / n
            csum[s] += c / n
    for s in range(S):
        if cnt[s] > 0:
            f = scale / cnt[s]
            for a in range(K):
                z[s, a] += f * (grad[s, a] - csum[s] * pi[s, a])


@njit(cache=True)
def group_sizes(pi, q_eff, row, G, gvm, nm, off, sigma):
    """Uniform G per prompt, or GVM: n_m ∝ sigma_m = sqrt(p_m (1 - p_m)), n_m >= 2, same budget."""
    M, K = q_eff.shape
    if gvm:
        for m in range(M):
            p = 0.0
            for a in range(K):
                p += pi[row[m], a] * q_eff[m, a]
            sigma[m] = math.sqrt(max(p * (1.0 - p), 0.0))
        allocate(sigma, G * M, 2, nm)
    else:
        nm[:] = G
    off[0] = 0
    for m in range(M):
        off[m + 1] = off[m] + nm[m]


@njit(cache=True)
def run_sampled(q_true, q_eff, row, z0, log_ref, prm_i, prm_f, n_steps, ck, ks, seed, reward, ent,
                kl, passk, zero_frac, cov, z_out, p_scr, h_scr):
    """One seeded run of sampled PG with group advantages; see mdpkit.pg.sample_dynamics."""
    np.random.seed(seed)
    code, G, binary, n_inner, filt, gvm = prm_i[0], prm_i[1], prm_i[2] != 0, prm_i[3], prm_i[4] != 0, prm_i[5] != 0
    eta, eps, bnpo_a, bnpo_b, r_max = prm_f[0], prm_f[1], prm_f[2], prm_f[3], prm_f[4]
    clip_lo, clip_hi, cc_ratio, cc_lb, cc_ub, kc_ratio, kc_coef = prm_f[5], prm_f[6], prm_f[7], prm_f[8], prm_f[9], prm_f[10], prm_f[11]
    S, K = z0.shape
    M = row.size
    N = G * M
    act = np.empty(N, dtype=np.int64)
    rew, adv, lpold, mask = np.empty(N), np.empty(N), np.empty(N), np.ones(N)
    klsel, keep_tok = np.zeros(N, dtype=np.bool_), np.ones(N, dtype=np.bool_)
    keep = np.ones(M, dtype=np.bool_)
    nm, off = np.empty(M, dtype=np.int64), np.empty(M + 1, dtype=np.int64)
    sigma, cnt = np.empty(M), np.zeros(S)
    for m in range(M):
        cnt[row[m]] += 1.0
    z, zprev = z0.copy(), np.empty((S, K))
    pi, lp, H, cdf = np.empty((S, K)), np.empty((S, K)), np.empty(S), np.empty((S, K))
    pi0, lp0, grad, csum = np.empty((S, K)), np.empty((S, K)), np.empty((S, K)), np.empty(S)
    j = 0
    for t in range(n_steps + 1):
        softmax_rows(z, pi, lp, H)
        if j < ck.size and ck[j] == t:
            record_metrics(q_true, row, pi, lp, H, log_ref, ks, j, reward, ent, kl, passk, p_scr, h_scr)
            j += 1
        if t == n_steps:
            break
        group_sizes(pi, q_eff, row, G, gvm, nm, off, sigma)
        sample_batch(pi, lp, q_eff, row, binary, off, act, rew, lpold, cdf)
        n_zero = batch_advantages(code, rew, off, q_eff, row, pi, eps, bnpo_a, bnpo_b, r_max, filt,
                                  adv, keep, keep_tok)
        zero_frac[t] = n_zero / M
        if cc_ratio > 0.0 or kc_ratio > 0.0:
            select_cov_tokens(N, adv, lpold, keep_tok, cc_ratio, cc_lb, cc_ub, kc_ratio, mask, klsel)
        n_kept = 0
        for m in range(M):
            n_kept += keep[m]
        if n_kept == 0:
            cov[t] = 0.0
            continue
        scale = eta * M / n_kept
        zprev[:, :] = z
        pi0[:, :] = pi
        lp0[:, :] = lp
        for e in range(n_inner):
            if e > 0:
                softmax_rows(z, pi, lp, H)
            inner_update(z, pi, lp, row, act, adv, lpold, mask, klsel, off, keep, cnt, scale,
                         clip_lo, clip_hi, kc_coef, grad, csum)
        for s in range(S):
            for a in range(K):
                grad[s, a] = z[s, a] - zprev[s, a]
        cov[t] = -cov_prediction(row, pi0, lp0, grad)
    z_out[:, :] = z


@njit(cache=True, parallel=True)
def run_sampled_many(q_true, q_eff, row, z0, log_ref, prm_i, prm_f, n_steps, ck, ks, seeds, reward,
                     ent, kl, passk, zero_frac, cov, z_out, p_scr, h_scr):
    """Every run in parallel; run r depends only on seeds[r]."""
    for r in prange(seeds.size):
        run_sampled(q_true, q_eff, row, z0, log_ref, prm_i, prm_f, n_steps, ck, ks, seeds[r],
                    reward[r], ent[r], kl[r], passk[r], zero_frac[r], cov[r], z_out[r], p_scr[r],
                    h_scr[r])
