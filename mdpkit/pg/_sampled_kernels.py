"""Compiled sampled policy-gradient dynamics: groups, advantages, clipping, Clip-Cov, KL-Cov, GVM.

No validation here (the front end, :mod:`mdpkit.pg._sampled`, does it). Each run owns a
xoshiro256+ generator (Blackman and Vigna) seeded from its own seed by splitmix64, passed
explicitly as a ``state`` array, so a run is the same on any thread.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..bandits._rng_kernels import xo_seed
from ._exact_kernels import (
    _EXP_FAST,
    _EXP_MIN,
    _FAST,
    _INV_LN2,
    _MAGIC,
    _MAGIC_BITS,
    _exp_reduced,
    cov_prediction,
    record_metrics,
    softmax_rows,
)

# estimator codes (order of mdpkit.pg.ESTIMATORS)
REINFORCE, REINFORCE_BASELINE, RLOO, GRPO, DR_GRPO, BNPO, NGRPO = range(7)
_U53 = 1.0 / 9007199254740992.0    # 2**-53


@njit(cache=True)
def rng_init(seed, state):
    """Fill the 4-word xoshiro256+ ``state`` from ``seed`` by splitmix64 (the bandits' seeding)."""
    state[0], state[1], state[2], state[3] = xo_seed(seed)


@njit("UniTuple(uint64, 5)(uint64, uint64, uint64, uint64)", cache=True)
def xoshiro_next(s0, s1, s2, s3):
    """One xoshiro256+ step on the state words: (64-bit output, new s0, s1, s2, s3).

    Typed uint64 explicitly, so Python ints from a ``py_func`` caller are taken as such.
    """
    out = s0 + s3
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return out, s0, s1, s2, s3


@njit(cache=True)
def uniform(state):
    """Draw a U[0, 1) variate with 53 random bits (upper bits of xoshiro256+); advances ``state``."""
    out, state[0], state[1], state[2], state[3] = xoshiro_next(state[0], state[1], state[2], state[3])
    return (out >> np.uint64(11)) * _U53


_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def _stirlerr(z):
    """``log Gamma(z) - (z - 1/2) log z + z - log sqrt(2 pi)``: Stirling's remainder, z > 0.

    Direct for ``z <= 15`` (no cancellation there); above, the asymptotic series to 1/z^9,
    whose truncation error is below 1e-17 relative (Loader 2000, "Fast and accurate
    computation of binomial probabilities").
    """
    if z <= 15.0:
        return math.lgamma(z) - (z - 0.5) * math.log(z) + z - _HALF_LOG_2PI
    z2 = 1.0 / (z * z)
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - z2 / 1188) * z2) * z2) * z2) / z


@njit(cache=True)
def _bd0(k, m):
    """Deviance ``k log(k/m) + m - k >= 0`` without cancellation when ``k ~ m`` (Loader 2000)."""
    if abs(k - m) < 0.1 * (k + m):
        v = (k - m) / (k + m)
        s = (k - m) * v
        ej = 2.0 * k * v
        v2 = v * v
        j = 1
        while True:
            ej *= v2
            s1 = s + ej / (2 * j + 1)
            if s1 == s:
                return s1
            s = s1
            j += 1
    return k * math.log(k / m) + m - k


@njit(cache=True)
def beta_pdf(x, a, b):
    """Beta(a, b) density at x in (0, 1), accurate for any a, b > 0 (up to 1e300).

    For ``a + b <= 30`` the direct ``lgamma`` form; above,
    ``log f = -bd0(a, n x) - bd0(b, n (1-x)) + log sqrt(a b / (2 pi n)) - log(x (1-x))
    + stirlerr(n) - stirlerr(a) - stirlerr(b)`` with ``n = a + b``: Stirling's form of the
    log-Gamma terms, whose large parts cancel exactly, so nothing is lost to the
    ``lgamma(a + b) - lgamma(a) - lgamma(b)`` cancellation (1.0 instead of 1e150 at a = b = 1e300).
    """
    n = a + b
    if n <= 30.0:  # lgamma(n) <= 71: the direct form loses < 1e-14 (and is exact for Beta(1, 1))
        return math.exp((a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x)
                        + math.lgamma(n) - math.lgamma(a) - math.lgamma(b))
    log_f = (-_bd0(a, n * x) - _bd0(b, n * (1.0 - x)) + 0.5 * math.log(a / n * b) - _HALF_LOG_2PI
             - math.log(x) - math.log1p(-x) + _stirlerr(n) - _stirlerr(a) - _stirlerr(b))
    return math.exp(log_f)


@njit(cache=True, error_model="numpy")
def advantage_form(code, n, mean, ss, baseline, eps, bnpo_a, bnpo_b, r_max):
    """(mu, c) with advantages A_i = (r_i - mu) c for a group; see mdpkit.pg.advantages.

    The group enters by its size n, its mean reward and ss = sum_i (r_i - mean)^2, so a
    group given as rewards with integer multiplicities needs no per-sample pass.
    """
    if code == REINFORCE:
        return 0.0, 1.0
    if code == REINFORCE_BASELINE:
        return baseline, 1.0
    if code == RLOO:
        return mean, n / (n - 1.0)
    if code == DR_GRPO:
        return mean, 1.0
    if code == GRPO or code == NGRPO:
        m = mean
        v = ss
        if code == NGRPO:  # one virtual sample with the maximal reward joins the statistics
            m = (mean * n + r_max) / (n + 1.0)
            v = ss + n * (mean - m) ** 2 + (r_max - m) ** 2
            n = n + 1.0
        sd = math.sqrt(v / n) + eps
        # an all-equal group (sd = 0) has zero numerators: its advantages are 0
        return m, (1.0 / sd if sd > 0.0 else 0.0)
    # BNPO: (r - mean) / f_Beta(mean; a, b); an all-equal group has zero advantage
    if 0.0 < mean < 1.0:
        return mean, 1.0 / beta_pdf(mean, bnpo_a, bnpo_b)
    return mean, 0.0


@njit(cache=True)
def group_advantages(code, r, lo, hi, baseline, eps, bnpo_a, bnpo_b, r_max, out):
    """Advantages of the group r[lo:hi] (n >= 1 rewards) into out[lo:hi]; see mdpkit.pg.advantages.

    Index ranges instead of slices: no array views are made in the per-group loop.
    """
    n = hi - lo
    mean = 0.0
    for i in range(lo, hi):
        mean += r[i]
    mean /= n
    ss = 0.0
    for i in range(lo, hi):
        ss += (r[i] - mean) ** 2
    mu, c = advantage_form(code, float(n), mean, ss, baseline, eps, bnpo_a, bnpo_b, r_max)
    for i in range(lo, hi):
        out[i] = (r[i] - mu) * c


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
def make_cells(q_eff, binary):
    """Build the outcome cells (response, reward) of every prompt, flat: prompt m owns off[m]:off[m + 1].

    Binary rewards: a response whose success probability q is strictly between 0 and 1 has
    two cells, success (reward 1, mass factor q) then failure (reward 0, factor 1 - q); a
    sure one (q = 0 or 1) and every graded response have one cell (reward q, factor 1). One
    uniform per sampled response picks its cell by inverse CDF of the masses pi_a * factor:
    the law of (a, r) is that of a ~ pi, then r ~ Bernoulli(q_a). Returns
    (off, act, rew, fac).
    """
    M, K = q_eff.shape
    off = np.zeros(M + 1, dtype=np.int64)
    act = np.empty(2 * M * K, dtype=np.int64)
    rew, fac = np.empty(2 * M * K), np.empty(2 * M * K)
    c = 0
    for m in range(M):
        for a in range(K):
            qa = q_eff[m, a]
            if binary and 0.0 < qa < 1.0:
                act[c], rew[c], fac[c] = a, 1.0, qa
                act[c + 1], rew[c + 1], fac[c + 1] = a, 0.0, 1.0 - qa
                c += 2
            else:
                act[c], rew[c], fac[c] = a, qa, 1.0
                c += 1
        off[m + 1] = c
    return off, act[:c], rew[:c], fac[:c]


@njit(cache=True, fastmath=_EXP_FAST)
def cells_cdf(pi, row, cells, skip, cdf):
    """For every prompt m with skip[m] false: cdf of its cells, cumulative masses pi[row[m], act_c] * fac_c."""
    off, act, _, fac = cells
    for m in range(row.size):
        if skip[m]:
            continue
        s = row[m]
        acc = 0.0
        for c in range(off[m], off[m + 1]):
            acc += pi[s, act[c]] * fac[c]
            cdf[c] = acc


@njit(cache=True)
def draw_group(cdf, cells, m, n, act, rew, start, state):
    """Draw n responses of prompt m with their rewards by inverse CDF over its cells (see make_cells).

    Writes act/rew[start:start + n]; one uniform per response.
    """
    off, c_act, c_rew, _ = cells
    lo, hi = off[m], off[m + 1]
    for i in range(n):
        u = uniform(state) * cdf[hi - 1]
        c = lo
        for k in range(lo, hi - 1):   # branch-free count of cdf[k] <= u (cdf is nondecreasing)
            c += cdf[k] <= u
        act[start + i] = c_act[c]
        rew[start + i] = c_rew[c]


@njit(cache=True)
def draw_counts(cdf, off, G, u, cnt, state):
    """cnt[c] = how many of G draws of each prompt fall in cell c: draw_group's uniforms and cells.

    Prompt by prompt, G uniforms u_i (times the prompt's total mass); a draw lands in cell
    lo + #{k < hi - 1 : cdf[k] <= u}, so #{i : u_i >= cdf[k]} counts the draws beyond
    cell k, threshold by threshold (loops that vectorize). The generator state stays in
    registers for the whole batch.
    """
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for m in range(off.size - 1):
        lo, hi = off[m], off[m + 1]
        total = cdf[hi - 1]
        for i in range(G):
            out, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
            u[i] = ((out >> np.uint64(11)) * _U53) * total   # = uniform(state) * total
        above = G
        for k in range(lo, hi - 1):
            ck = cdf[k]
            n_ge = 0
            for i in range(G):
                n_ge += u[i] >= ck
            cnt[k] = above - n_ge
            above = n_ge
        cnt[hi - 1] = above
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3


@njit(cache=True)
def gradient_samples(pi, q_eff, binary, code, G, baseline, eps, bnpo_a, bnpo_b, r_max, n_samples, seed, out):
    """n_samples i.i.d. group gradient estimates (1/G) sum_i A_i (e_{a_i} - pi) at one prompt."""
    state = np.empty(4, dtype=np.uint64)
    rng_init(seed, state)
    K = pi.size
    cells = make_cells(q_eff.reshape(1, K), binary)
    cdf = np.empty(cells[1].size)
    cells_cdf(pi.reshape(1, K), np.zeros(1, dtype=np.int64), cells, np.zeros(1, dtype=np.bool_), cdf)
    act = np.empty(G, dtype=np.int64)
    rew = np.empty(G)
    adv = np.empty(G)
    for t in range(n_samples):
        draw_group(cdf, cells, 0, G, act, rew, 0, state)
        group_advantages(code, rew, 0, G, baseline, eps, bnpo_a, bnpo_b, r_max, adv)
        csum = 0.0
        for a in range(K):
            out[t, a] = 0.0
        for i in range(G):
            out[t, act[i]] += adv[i] / G
            csum += adv[i] / G
        for a in range(K):
            out[t, a] -= csum * pi[a]


@njit(cache=True)
def select_cov_tokens(n_tok, adv, lpold, keep_tok, cc_ratio, cc_lb, cc_ub, kc_ratio, mask, klsel,
                      state):
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
            k = j + min(int(uniform(state) * (nc - j)), nc - j - 1)
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
def sample_batch(pi, lp, cells, row, off, act, rew, lpold, cdf, no_skip, state):
    """Draw every prompt's group from its current policy; store log pi_old of each token."""
    cells_cdf(pi, row, cells, no_skip, cdf)
    for m in range(row.size):
        s = row[m]
        draw_group(cdf, cells, m, off[m + 1] - off[m], act, rew, off[m], state)
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
        if code == REINFORCE_BASELINE:
            for a in range(K):
                base += pi[row[m], a] * q_eff[m, a]
        group_advantages(code, rew, off[m], off[m + 1], base, eps, bnpo_a, bnpo_b, r_max, adv)
        equal = True
        for i in range(off[m] + 1, off[m + 1]):
            if rew[i] != rew[off[m]]:
                equal = False
        n_zero += equal
        keep[m] = not (filt and equal)
        for i in range(off[m], off[m + 1]):
            keep_tok[i] = keep[m]
    return n_zero


@njit(cache=True, fastmath=_FAST)
def accumulate_groups(row, act, coef, off, keep, grad, csum):
    """grad[s, a_i] += coef_i / n_m, csum[s] += coef_i / n_m over the kept groups m (row s); zeroed first."""
    grad[:, :] = 0.0
    csum[:] = 0.0
    for m in range(row.size):
        if not keep[m]:
            continue
        s = row[m]
        inv = 1.0 / (off[m + 1] - off[m])
        for i in range(off[m], off[m + 1]):
            grad[s, act[i]] += coef[i] * inv
            csum[s] += coef[i] * inv


@njit(cache=True, fastmath=_FAST)
def ascend_rows(z, pi, lp, cnt, scale, grad, csum):
    """z_s += scale / cnt_s * (grad_s - csum_s pi_s) for rows with prompts; returns sum_s cnt_s Cov_pi_s(log pi_s, dz_s)."""
    S, K = z.shape
    tot = 0.0
    for s in range(S):
        if cnt[s] == 0.0:
            continue
        f = scale / cnt[s]
        e_ld = 0.0
        e_l = 0.0
        e_d = 0.0
        for a in range(K):
            d = f * (grad[s, a] - csum[s] * pi[s, a])
            e_ld += pi[s, a] * lp[s, a] * d
            e_l += pi[s, a] * lp[s, a]
            e_d += pi[s, a] * d
            z[s, a] += d
        tot += cnt[s] * (e_ld - e_l * e_d)
    return tot


@njit(cache=True)
def inner_update(z, pi, lp, row, act, adv, lpold, mask, klsel, off, keep, cnt, scale, clip_lo,
                 clip_hi, kc_coef, grad, csum, coef):
    """One PPO epoch: clipped-surrogate gradient (plus KL-Cov penalty), ascent step on z.

    coef (scratch, one per token) receives each token's surrogate coefficient.
    """
    for m in range(row.size):
        s = row[m]
        for i in range(off[m], off[m + 1]):
            coef[i] = 0.0
            if mask[i] == 0.0 or not keep[m]:
                continue
            a = act[i]
            d0 = lp[s, a] - lpold[i]
            ratio = 1.0 if d0 == 0.0 else math.exp(d0)
            A = adv[i]
            c = 0.0 if (A > 0 and ratio > 1.0 + clip_hi) or (A < 0 and ratio < 1.0 - clip_lo) else A * ratio
            if klsel[i]:
                c -= kc_coef * (1.0 if d0 > 0 else (-1.0 if d0 < 0 else 0.0))
            coef[i] = c
    accumulate_groups(row, act, coef, off, keep, grad, csum)
    ascend_rows(z, pi, lp, cnt, scale, grad, csum)


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


@njit(cache=True, fastmath=_FAST)
def one_epoch_update(z, pi, lp, row, act, adv, off, keep, cnt, scale, grad, csum):
    """On-policy step (one epoch: every ratio is 1, so clipping never acts), in place.

    z_s += scale / cnt_s * (g_s - csum_s pi_s) with g_s = sum over kept groups of row s of
    sum_i A_i e_{a_i} / n_m. Returns the mean over prompts of Cov_pi(log pi, dz).
    """
    accumulate_groups(row, act, adv, off, keep, grad, csum)
    return ascend_rows(z, pi, lp, cnt, scale, grad, csum) / row.size


@njit(cache=True, fastmath=_EXP_FAST, error_model="numpy")
def softmax_stale(z, fresh, pi, x, t, bits):
    """For rows m with fresh[m] false: pi[m] = softmax(z[m]), x[m] = z[m] - max z[m] (no log).

    The exponentials are those of exp_neg_scalar (same polynomial, same floor exp(-700)),
    with 2^k assembled from exponent bits instead of a table (t, bits: K scratch).
    """
    M, K = z.shape
    tb = t.view(np.int64)
    scale = bits.view(np.float64)
    for m in range(M):
        if fresh[m]:
            continue
        mx = z[m, 0]
        for a in range(1, K):
            mx = max(mx, z[m, a])
        for a in range(K):
            xa = z[m, a] - mx
            x[m, a] = xa
            xc = max(xa, _EXP_MIN)
            ta = xc * _INV_LN2 + _MAGIC
            pi[m, a] = _exp_reduced(xc, ta - _MAGIC)
            t[a] = ta
        for a in range(K):
            bits[a] = (tb[a] - _MAGIC_BITS + 1023) << 52
        acc = 0.0
        for a in range(K):
            pi[m, a] *= scale[a]
            acc += pi[m, a]
        inv = 1.0 / acc
        for a in range(K):
            pi[m, a] *= inv


@njit(cache=True, fastmath=_EXP_FAST, error_model="numpy")
def count_updates(z, q_eff, code, G, eps, bnpo_a, bnpo_b, r_max, f, cells, pi, x, cnt, g, fresh):
    """Per prompt: advantages of its counted group, z_m += f (g - csum pi_m), g_a = sum_i A_i [a_i = a].

    The estimator of group_advantages from the group's size, mean and squared deviations;
    a group whose drawn advantages are all 0 leaves its row bit-for-bit unchanged (and its
    softmax fresh[m] valid). Cov uses x = z - max z for log pi (a constant apart per row).
    One loop body, no calls with array arguments (their reference counting would cost more
    than the group). Returns (number of all-equal groups, sum over prompts of Cov_pi(log pi, dz)).
    """
    M, K = z.shape
    off, c_act, c_rew, _ = cells
    n_zero = 0
    tot = 0.0
    for m in range(M):
        lo, hi = off[m], off[m + 1]
        s1 = 0.0
        r_lo = np.inf
        r_hi = -np.inf
        for c in range(lo, hi):
            s1 += cnt[c] * c_rew[c]
            if cnt[c] > 0:
                r_lo = min(r_lo, c_rew[c])
                r_hi = max(r_hi, c_rew[c])
        mean = s1 / G
        n_zero += r_lo == r_hi
        base = 0.0
        if code == REINFORCE_BASELINE:
            for a in range(K):
                base += pi[m, a] * q_eff[m, a]
        ss = 0.0
        if r_lo != r_hi or mean != r_lo:   # else every deviation is exactly 0
            for c in range(lo, hi):
                dev = c_rew[c] - mean
                ss += cnt[c] * (dev * dev)
        mu, k = advantage_form(code, float(G), mean, ss, base, eps, bnpo_a, bnpo_b, r_max)
        for a in range(K):
            g[a] = 0.0
        cs = 0.0
        moved = False
        for c in range(lo, hi):
            w = cnt[c] * ((c_rew[c] - mu) * k)
            g[c_act[c]] += w
            cs += w
            moved |= w != 0.0
        if not moved:   # dz = f (0 - 0 pi) = 0 exactly: skip it
            continue
        fresh[m] = False
        e_xd = 0.0
        e_x = 0.0
        e_d = 0.0
        for a in range(K):
            d = f * (g[a] - cs * pi[m, a])
            e_xd += pi[m, a] * x[m, a] * d
            e_x += pi[m, a] * x[m, a]
            e_d += pi[m, a] * d
            z[m, a] += d
        tot += e_xd - e_x * e_d
    return n_zero, tot


@njit(cache=True)
def fused_cache(M, K, n_cells, G):
    """Per-prompt softmax cache (pi, x, cdf, fresh; every row stale) and scratch of fused_prompt_steps."""
    return (np.empty((M, K)), np.empty((M, K)), np.empty(n_cells), np.zeros(M, dtype=np.bool_),
            np.empty(G), np.empty(n_cells), np.empty(K), np.empty(K), np.empty(K, dtype=np.int64))


@njit(cache=True)
def fused_prompt_steps(z, q_eff, row, code, G, eps, bnpo_a, bnpo_b, r_max, scale, cells, cache,
                       state):
    """One on-policy step when every prompt owns its row (row[m] = m), in four passes.

    Softmax and cell CDF of the rows that moved (softmax_stale, cells_cdf), G draws per
    prompt counted per cell (draw_counts: the draws of sample_batch), then each group's
    advantages and z_m += scale / G (g - csum pi_m) (count_updates): the update of
    batch_advantages and one_epoch_update (valid without filtering, with a fixed group
    size and fixed estimator parameters), up to rounding. cache: from fused_cache, kept
    across steps. Returns (number of all-equal groups, mean over prompts of
    Cov_pi(log pi, dz)).
    """
    pi, x, cdf, fresh, u, cnt, g, t, bits = cache
    softmax_stale(z, fresh, pi, x, t, bits)
    cells_cdf(pi, row, cells, fresh, cdf)
    fresh[:] = True
    draw_counts(cdf, cells[0], G, u, cnt, state)
    n_zero, tot = count_updates(z, q_eff, code, G, eps, bnpo_a, bnpo_b, r_max, scale / G, cells,
                                pi, x, cnt, g, fresh)
    return n_zero, tot / z.shape[0]


@njit(cache=True)
def ppo_epochs(z, pi, lp, H, row, act, adv, lpold, mask, klsel, off, keep, cnt, scale, n_inner,
               clip_lo, clip_hi, kc_coef, grad, csum, zprev, pi0, lp0):
    """n_inner clipped-surrogate epochs on one batch; returns the mean Cov_pi0(log pi0, z - z_prev)."""
    S, K = z.shape
    zprev[:, :] = z
    pi0[:, :] = pi
    lp0[:, :] = lp
    coef = np.empty(act.size)
    for e in range(n_inner):
        if e > 0:
            softmax_rows(z, pi, lp, H)
        inner_update(z, pi, lp, row, act, adv, lpold, mask, klsel, off, keep, cnt, scale,
                     clip_lo, clip_hi, kc_coef, grad, csum, coef)
    for s in range(S):
        for a in range(K):
            grad[s, a] = z[s, a] - zprev[s, a]
    return -cov_prediction(row, pi0, lp0, grad)


@njit(cache=True)
def run_sampled(q_true, q_eff, row, z0, log_ref, prm_i, prm_f, n_steps, ck, ks, seed, reward, ent,
                kl, passk, zero_frac, cov, z_out, p_scr, h_scr):
    """One seeded run of sampled PG with group advantages; see mdpkit.pg.sample_dynamics."""
    state = np.empty(4, dtype=np.uint64)
    rng_init(seed, state)
    code, G, binary, n_inner, filt, gvm = prm_i[0], prm_i[1], prm_i[2] != 0, prm_i[3], prm_i[4] != 0, prm_i[5] != 0
    eta, eps, bnpo_a, bnpo_b, r_max = prm_f[0], prm_f[1], prm_f[2], prm_f[3], prm_f[4]
    clip_lo, clip_hi, cc_ratio, cc_lb, cc_ub, kc_ratio, kc_coef = prm_f[5], prm_f[6], prm_f[7], prm_f[8], prm_f[9], prm_f[10], prm_f[11]
    token_sel = cc_ratio > 0.0 or kc_ratio > 0.0
    own_rows = z0.shape[0] == row.size
    for m in range(row.size):
        own_rows = own_rows and row[m] == m
    fused = (own_rows and n_inner == 1 and not token_sel and not filt and not gvm
             and not (code == BNPO and bnpo_a < 0.0))
    S, K = z0.shape
    M = row.size
    N, Sg = (0, 0) if fused else (G * M, S)   # token and PPO scratch: general path only
    act = np.empty(N, dtype=np.int64)
    rew, adv, lpold, mask = np.empty(N), np.empty(N), np.empty(N), np.ones(N)
    klsel, keep_tok = np.zeros(N, dtype=np.bool_), np.ones(N, dtype=np.bool_)
    keep, no_skip = np.ones(M, dtype=np.bool_), np.zeros(M, dtype=np.bool_)
    nm, off = np.empty(M, dtype=np.int64), np.empty(M + 1, dtype=np.int64)
    sigma, cnt = np.empty(M), np.zeros(S)
    for m in range(M):
        cnt[row[m]] += 1.0
    z, zprev = z0.copy(), np.empty((Sg, K))
    pi, lp, H = np.empty((S, K)), np.empty((S, K)), np.empty(S)
    cells = make_cells(q_eff, binary)
    cdf, cache = np.empty(cells[1].size), fused_cache(M if fused else 0, K, cells[1].size, G)
    pi0, lp0, grad, csum = np.empty((Sg, K)), np.empty((Sg, K)), np.empty((Sg, K)), np.empty(Sg)
    j = 0
    for t in range(n_steps + 1):
        record = j < ck.size and ck[j] == t
        if record or not fused:   # the fused step keeps its own softmax
            softmax_rows(z, pi, lp, H)
        if record:
            record_metrics(q_true, row, pi, lp, H, log_ref, ks, j, reward, ent, kl, passk, p_scr, h_scr)
            j += 1
        if t == n_steps:
            break
        if fused:
            n_zero, cov[t] = fused_prompt_steps(z, q_eff, row, code, G, eps, bnpo_a, bnpo_b, r_max,
                                                eta, cells, cache, state)
            zero_frac[t] = n_zero / M
            continue
        group_sizes(pi, q_eff, row, G, gvm, nm, off, sigma)
        sample_batch(pi, lp, cells, row, off, act, rew, lpold, cdf, no_skip, state)
        n_zero = batch_advantages(code, rew, off, q_eff, row, pi, eps, bnpo_a, bnpo_b, r_max, filt,
                                  adv, keep, keep_tok)
        zero_frac[t] = n_zero / M
        if token_sel:
            select_cov_tokens(N, adv, lpold, keep_tok, cc_ratio, cc_lb, cc_ub, kc_ratio, mask, klsel,
                              state)
        n_kept = 0
        for m in range(M):
            n_kept += keep[m]
        if n_kept == 0:
            cov[t] = 0.0
        elif n_inner == 1 and not token_sel:
            cov[t] = one_epoch_update(z, pi, lp, row, act, adv, off, keep, cnt, eta * M / n_kept,
                                      grad, csum)
        else:
            cov[t] = ppo_epochs(z, pi, lp, H, row, act, adv, lpold, mask, klsel, off, keep, cnt,
                                eta * M / n_kept, n_inner, clip_lo, clip_hi, kc_coef, grad, csum,
                                zprev, pi0, lp0)
    z_out[:, :] = z


@njit(cache=True, parallel=True)
def run_sampled_many(q_true, q_eff, row, z0, log_ref, prm_i, prm_f, n_steps, ck, ks, seeds, reward,
                     ent, kl, passk, zero_frac, cov, z_out, p_scr, h_scr):
    """Every run in parallel; run r depends only on seeds[r]."""
    for r in prange(seeds.size):
        run_sampled(q_true, q_eff, row, z0, log_ref, prm_i, prm_f, n_steps, ck, ks, seeds[r],
                    reward[r], ent[r], kl[r], passk[r], zero_frac[r], cov[r], z_out[r], p_scr[r],
                    h_scr[r])
