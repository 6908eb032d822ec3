"""Compiled bandit simulators: one kernel per algorithm family, parallel over runs.

Each family has a serial one-run function ``run_<family>`` and a ``prange`` wrapper
``simulate_<family>`` that runs it for every run. A run starts with
``np.random.seed(seed)`` in its own thread, so its result depends only on its seed, never
on the thread count. Numba's ``np.random.random`` and ``np.random.standard_normal``
reproduce NumPy's legacy ``RandomState`` streams, so every run can be replayed in plain
Python (the tests do); the Bernoulli Thompson-sampling fast path below is the exception
(its own xoshiro256** stream, also seeded by the run's seed).

Random-number order within one step, shared by every kernel:

1. the policy's own draws (exploration coin, sampled arm, posterior samples);
2. the environment's draws for the pulled arm (all arms in order 0..K-1 for a
   full-information learner); table environments draw nothing.

Outputs are written at the checkpoints ``ck`` (numbers of pulls, increasing), so memory
is proportional to the number of checkpoints, not to the horizon.

UCB1 and Beta-Thompson sampling on Bernoulli arms have dedicated kernels. UCB1's
(``run_ucb1_bernoulli``) reproduces the general run pull for pull from a run-owned copy
of the same stream (``_rng_kernels``). Thompson sampling's (``run_ts_bernoulli``), whose
cost is its Beta draws, has the general run's law but its own faster stream: xoshiro256**
seeded from the run's seed, ziggurat normals and Marsaglia-Tsang gammas (a run still
depends only on its seed). A run allocates its state and hands it to a loop compiled
with ``_nrt=False``: the per-step helpers then borrow their arrays, with no
reference-count atomics per call (those cost more than a bandit step and contend between
threads that share the environment's arrays).
"""

# ruff: noqa: NPY002  (Numba compiles only the legacy np.random API; its stream is the
#                      documented, reproducible one)
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._config import NO_NRT
from .._sampling_kernels import sample_categorical
from ._rng_kernels import (
    N_DOUBLES,
    mt_refill,
    mt_state,
    standard_normal,
    uniform,
    xo_normal,
    xo_seed,
    xo_uniform,
)

# ---------------------------------------------------------------- algorithm codes
# index family (run_index)
UCB1, UCBV, KLUCB_BERNOULLI, KLUCB_GAUSSIAN, MOSS = 0, 1, 2, 3, 4
SUCCESSIVE_ELIMINATION, EXPLORE_THEN_COMMIT, EPS_GREEDY, EPS_GREEDY_DECAYING = 5, 6, 7, 8
TS_BETA, TS_GAUSSIAN = 9, 10
# exponential-weights family (run_weights)
EXP3, HEDGE, SOFTMAX_PG, REGRET_MATCHING = 0, 1, 2, 3
# linear family (run_linear)
LINUCB, OFUL, LINTS = 0, 1, 2
# action sets of the linear bandit
ACTIONS_FIXED, ACTIONS_SPHERE, ACTIONS_GAUSSIAN = 0, 1, 2
# environment codes (match _envs.ENV_*)
ENV_BERNOULLI, ENV_GAUSSIAN, ENV_BETA, ENV_TABLE = 0, 1, 2, 3


# ---------------------------------------------------------------- random variates
@njit(cache=True, inline="always")
def mt_accepts(x, v, u, d):
    """Marsaglia and Tsang's acceptance of ``v = (1 + c x)^3`` by the uniform ``u``.

    The squeeze ``u < 1 - 0.0331 x^4`` (no logarithm; ~98% of draws for k >= 1), else
    ``log u < x^2 / 2 + d (1 - v + log v)``.
    """
    x2 = x * x
    return u < 1.0 - 0.0331 * x2 * x2 or np.log(u) < 0.5 * x2 + d * (1.0 - v + np.log(v))


# ``rng`` is ``None`` (Numba's ``np.random``) or a run-owned ``(mt, buf, ix)`` state of
# ``_rng_kernels``; both give NumPy's legacy stream.
@njit(cache=True, **NO_NRT)
def _marsaglia_tsang(kk, rng=None):
    """(d, v) with d * v ~ Gamma(kk, 1) for kk >= 1, Marsaglia & Tsang (2000), squeeze first."""
    d = kk - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        x = standard_normal(rng)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        if mt_accepts(x, v, uniform(rng), d):
            return d, v


@njit(cache=True, **NO_NRT)
def log_gamma_variate(k, rng=None):
    """Draw the log of a Gamma(k, 1) variate; k < 1 by the boost G(k) = G(k + 1) U^(1/k), in log space."""
    if k >= 1.0:
        d, v = _marsaglia_tsang(k, rng)
        return np.log(d * v)
    d, v = _marsaglia_tsang(k + 1.0, rng)
    return np.log(d * v) + np.log(uniform(rng)) / k


@njit(cache=True, inline="always")
def cheng_setup(a, b):
    """Constants (a0, b0, alpha, beta, gamma) of Cheng's BB for Beta(a, b), min(a, b) > 1."""
    a0 = min(a, b)
    b0 = max(a, b)
    alpha = a0 + b0
    beta = np.sqrt((alpha - 2.0) / (2.0 * a0 * b0 - alpha))
    return a0, b0, alpha, beta, a0 + 1.0 / beta


@njit(cache=True, inline="always")
def cheng_try(u1, u2, a0, b0, alpha, beta, gamma):
    """One trial of Cheng's BB with uniforms (u1, u2): (accepted, w); Beta = w / (b0 + w)."""
    if u1 <= 0.0 or u1 >= 1.0:
        return False, 0.0
    v = beta * np.log(u1 / (1.0 - u1))
    w = a0 * np.exp(v)
    z = u1 * u1 * u2
    r = gamma * v - 1.3862943611198906  # log 4
    t = a0 + r - w
    if t + 2.6094379124341003 >= 5.0 * z:  # 1 + log 5
        return True, w
    lz = np.log(z)
    if t > lz:
        return True, w
    return r + alpha * np.log(alpha / (b0 + w)) >= lz, w


@njit(cache=True, **NO_NRT)
def beta_cheng(a, b, rng=None):
    """Beta(a, b) for min(a, b) > 1 by Cheng's (1978) algorithm BB: two uniforms per trial.

    R. C. H. Cheng, "Generating beta variates with nonintegral shape parameters",
    Comm. ACM 21 (1978), 317-322.
    """
    a0, b0, alpha, beta, gamma = cheng_setup(a, b)
    while True:
        u1 = uniform(rng)
        u2 = uniform(rng)
        ok, w = cheng_try(u1, u2, a0, b0, alpha, beta, gamma)
        if ok:
            break
    return w / (b0 + w) if a == a0 else b0 / (b0 + w)


@njit(cache=True, **NO_NRT)
def beta_variate(a, b, rng=None):
    """Beta(a, b): Cheng's BB when min(a, b) > 1, else G_a / (G_a + G_b) (log space below 1)."""
    if a > 1.0 and b > 1.0:
        return beta_cheng(a, b, rng)
    if a >= 1.0 and b >= 1.0:
        da, va = _marsaglia_tsang(a, rng)
        db, vb = _marsaglia_tsang(b, rng)
        ga = da * va
        return ga / (ga + db * vb)
    la = log_gamma_variate(a, rng)
    lb = log_gamma_variate(b, rng)
    return 1.0 / (1.0 + np.exp(lb - la))


@njit(cache=True, **NO_NRT)
def env_reward(env_kind, a, t, p1, p2, table):
    """Reward of arm ``a`` at step ``t``: Bernoulli(p1), N(p1, p2^2), Beta(p1, p2) or table."""
    if env_kind == ENV_BERNOULLI:
        return 1.0 if np.random.random() < p1[a] else 0.0
    if env_kind == ENV_GAUSSIAN:
        return p1[a] + p2[a] * np.random.standard_normal()
    if env_kind == ENV_BETA:
        return beta_variate(p1[a], p2[a])
    return table[t, a]


# ---------------------------------------------------------------- KL-UCB index
@njit(cache=True, **NO_NRT)
def klucb_bernoulli_index(p, d, q_low):
    """max{q in [p, 1] : kl(p, q) <= d}, by Newton's method in y = -log(1 - q), to 1e-12 in y.

    g(y) = kl(p, 1 - e^{-y}) is convex and increasing for q >= p and almost linear for
    q near 1, so Newton iterates started right of the root decrease monotonically to it.
    Starts right of the root: Pinsker (kl(p, q) >= 2 (q - p)^2) gives
    q = p + sqrt(d / 2); g(y) >= (1 - p) y - H(p) gives y = (d + H(p)) / (1 - p); and,
    given ``q_low`` in (p, 1) known to lie left of the root (the index at a smaller d),
    one Newton step from it (convexity). Pass ``q_low <= p`` when there is none.
    """
    if d <= 0.0:
        return p
    if p >= 1.0:
        return 1.0
    h = 0.0  # entropy H(p)
    if p > 0.0:
        h -= p * np.log(p)
    h -= (1.0 - p) * np.log1p(-p)
    y = (d + h) / (1.0 - p)
    qp = p + np.sqrt(0.5 * d)
    if qp < 1.0:
        y = min(y, -np.log1p(-qp))
    if p < q_low < 1.0:
        yl = -np.log1p(-q_low)
        gl = (1.0 - p) * yl - h - d
        if p > 0.0:
            gl -= p * np.log(q_low)
        if gl < 0.0:
            y = min(y, yl - gl / ((1.0 - p) - p * np.exp(-yl) / q_low))
    for _ in range(100):
        em = np.exp(-y)
        q = -np.expm1(-y)
        g = (1.0 - p) * y - h - d  # kl(p, q) - d = -H(p) + (1 - p) y - p log q - d
        if p > 0.0:
            g -= p * np.log(q)
        if g <= 0.0:
            break
        dg = (1.0 - p) - p * em / q
        step = g / dg
        y -= step
        if step <= 1e-12:
            break
    return -np.expm1(-y)


# ---------------------------------------------------------------- checkpoints
@njit(cache=True, inline="always", **NO_NRT)
def at_checkpoint(t, j, ck):
    """Return True when ``t + 1`` pulls is the next checkpoint ``ck[j]``."""
    return j < ck.size and t + 1 == ck[j]


@njit(cache=True, inline="always", **NO_NRT)
def record(t, j, ck, table_env, best_ck, cum_gap, cum_rew, regret_out, reward_out):
    """Record regret and reward at checkpoint ``j``; return the next ``j``.

    At checkpoint ``j`` write the regret (``best_ck[j] - cum_rew`` for a table
    environment, else the cumulative gap) and the reward; returns the next ``j``.
    """
    if at_checkpoint(t, j, ck):
        regret_out[j] = best_ck[j] - cum_rew if table_env else cum_gap
        reward_out[j] = cum_rew
        return j + 1
    return j


# ---------------------------------------------------------------- index family
#: Largest table of per-step / per-count constants shared by the runs (8 bytes an entry).
TABLE_MAX = 1 << 20


@njit(cache=True)
def ucb1_tables(c, size):
    """Tabulate ``sqrt(c log t)`` and ``1 / sqrt(n)`` for ``t, n < size``.

    UCB1's transcendental functions, computed once for all runs with the kernel's own
    expressions (so a table entry is bit-identical to the value it replaces).
    """
    ct = np.zeros(size)
    isq = np.zeros(size)
    for t in range(1, size):
        ct[t] = np.sqrt(c * np.log(t))
        isq[t] = 1.0 / np.sqrt(np.float64(t))
    return ct, isq


@njit(cache=True)
def run_ucb1_bernoulli(c, ct_tab, isq_tab, means, gaps, horizon, ck, seed,
                       regret_out, reward_out, pulls_out):
    """UCB1 on Bernoulli arms, pull for pull the ``run_index`` UCB1 run (same stream, same sums).

    Only the pulled arm's statistics change; ``sqrt(c log t)`` and ``1/sqrt(n)`` come from
    the shared tables (:func:`ucb1_tables`) below their size; the uniforms come from the
    run's own Mersenne-Twister block (``_rng_kernels``); no helper that takes an array is
    called per step (its reference counting would cost more than the step).
    """
    mt, buf, _ = mt_state(seed)
    pos = N_DOUBLES
    K = gaps.size
    size = ct_tab.size
    n = np.zeros(K)
    s = np.zeros(K)
    mean = np.zeros(K)
    isq = np.zeros(K)
    cum_gap = 0.0
    cum_rew = 0.0
    j = 0
    next_ck = ck[0]
    for t in range(horizon):
        a = t
        if t >= K:
            ct = ct_tab[t] if t < size else np.sqrt(c * np.log(t))
            # two passes (max, then its first index): the first-index argmax, fewer branch misses
            best = -np.inf
            for k in range(K):
                best = max(best, mean[k] + ct * isq[k])
            for k in range(K):
                if mean[k] + ct * isq[k] == best:
                    a = k
                    break
        if pos == N_DOUBLES:
            mt_refill(mt, buf)
            pos = 0
        x = 1.0 if buf[pos] < means[a] else 0.0
        pos += 1
        na = n[a] + 1.0
        n[a] = na
        s[a] += x
        mean[a] = s[a] / na
        isq[a] = isq_tab[int(na)] if na < size else 1.0 / np.sqrt(na)
        cum_gap += gaps[a]
        cum_rew += x
        if t + 1 == next_ck:
            regret_out[j] = cum_gap
            reward_out[j] = cum_rew
            j += 1
            next_ck = ck[j] if j < ck.size else -1
    for k in range(K):
        pulls_out[k] = n[k]


@njit(cache=True, parallel=True)
def simulate_ucb1_bernoulli(c, ct_tab, isq_tab, means, gaps, horizon, ck, seeds,
                            regret_out, reward_out, pulls_out):
    """``run_ucb1_bernoulli`` for every run, in parallel."""
    for r in prange(seeds.size):
        run_ucb1_bernoulli(c, ct_tab, isq_tab, means, gaps, horizon, ck, seeds[r],
                           regret_out[r], reward_out[r], pulls_out[r])


@njit(cache=True, inline="always")
def gamma_xo(d, c, st):
    """(Gamma(d + 1/3, 1) variate, next state) for ``d = k - 1/3 >= 2/3``, ``c = 1 / sqrt(9 d)``.

    Marsaglia and Tsang, "A simple method for generating gamma variables", ACM TOMS 26
    (2000): ``d (1 + c x)^3`` for a ziggurat normal ``x``, accepted by :func:`mt_accepts`;
    ``st`` is a xoshiro256** state.
    """
    while True:
        x, st = xo_normal(st)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u, st = xo_uniform(st)
        if mt_accepts(x, v, u, d):
            return d * v, st


@njit(cache=True, inline="always")
def gamma_consts(k):
    """(d, c) of :func:`gamma_xo` for Gamma(k) (for Gamma(k + 1) when k < 1, the boost's)."""
    d = (k if k >= 1.0 else k + 1.0) - 1.0 / 3.0
    return d, 1.0 / np.sqrt(9.0 * d)


@njit(cache=True, inline="always")
def beta_xo(a, b, da, ca, db, cb, st):
    """(Beta(a, b) variate, next state): G_a / (G_a + G_b) from two :func:`gamma_xo` draws.

    ``(da, ca)``, ``(db, cb)``: the :func:`gamma_consts` of ``a`` and ``b``. A shape
    below 1 uses the boost G(k) = G(k + 1) U^(1/k), in log space (no underflow).
    """
    ga, st = gamma_xo(da, ca, st)
    gb, st = gamma_xo(db, cb, st)
    if a >= 1.0 and b >= 1.0:
        return ga / (ga + gb), st
    la, lb = np.log(ga), np.log(gb)
    if a < 1.0:
        u, st = xo_uniform(st)
        la += np.log(u) / a
    if b < 1.0:
        u, st = xo_uniform(st)
        lb += np.log(u) / b
    return 1.0 / (1.0 + np.exp(lb - la)), st


@njit(cache=True)
def beta_sf(a, b, q):
    """P(Beta(a, b) > q) = I_{1-q}(b, a) by its continued fraction, or -1 if it fails.

    The fraction (DLMF 8.17.22, evaluated by the modified Lentz method to relative 1e-15)
    converges quickly for ``1 - q < (b + 1) / (a + b + 2)``, i.e. ``q`` right of about
    the mean; -1 outside that range or after 10^4 terms. The prefactor
    ``(1-q)^b q^a / (b B(a, b))`` is taken in log space with ``lgamma``, so its relative
    error grows like ``1e-16 lgamma(a + b)``: ~1e-11 at a + b = 2e4, ~1e-8 at 1e7.
    """
    x = 1.0 - q
    if not (0.0 < x < (b + 1.0) / (a + b + 2.0)):
        return -1.0
    log_front = (b * np.log(x) + a * np.log(q) - np.log(b)
                 - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)))
    tiny = 1e-300
    c = 1.0
    d = 1.0 / (1.0 - (a + b) * x / (b + 1.0))  # > 2 / (a + b + 2) in this range
    f = d
    for m in range(1, 10_000):
        for even in (True, False):
            if even:
                coef = m * (a - m) * x / ((b + 2.0 * m - 1.0) * (b + 2.0 * m))
            else:
                coef = -(b + m) * (b + a + m) * x / ((b + 2.0 * m) * (b + 2.0 * m + 1.0))
            d = 1.0 + coef * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + coef / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-15:
            return np.exp(log_front) * f
    return -1.0


#: Posterior standard deviations above the mean below which :func:`ts_threshold` never splits.
TS_SPLIT_Z = 2.0


@njit(cache=True)
def ts_threshold(a, b, q_min):
    """Split of Beta(a, b) at ``q = max(mean + 2 sd, q_min)`` for :func:`ts_choose`.

    Returns ``(q, P(X <= q), h'(q), h(q), expm1(h'(q) (1 - q)))`` with
    ``h(x) = (a-1) log x + (b-1) log(1-x)`` the log density up to a constant;
    ``P(X <= q) = -1`` (no split) unless ``a, b >= 1`` (h concave), ``q < 1`` lies right
    of the mode (``h'(q) < 0``) and :func:`beta_sf` converges there. Any ``q`` gives
    the same law; ``q_min`` (a value the leading arm's draw usually exceeds) makes the
    arm skippable more often while keeping the upper side rare.
    """
    n = a + b
    q = max(a / n + TS_SPLIT_Z * np.sqrt(a * b / (n * n * (n + 1.0))), q_min)
    if a < 1.0 or b < 1.0 or q >= 1.0:
        return q, -1.0, 0.0, 0.0, 0.0
    slope = (a - 1.0) / q - (b - 1.0) / (1.0 - q)
    sf = beta_sf(a, b, q) if slope < 0.0 else -1.0
    if sf < 0.0:
        return q, -1.0, 0.0, 0.0, 0.0
    hq = (a - 1.0) * np.log(q) + (b - 1.0) * np.log1p(-q)
    return q, 1.0 - sf, slope, hq, np.expm1(slope * (1.0 - q))


@njit(cache=True)
def beta_tail_xo(a, b, q, slope, hq, em, st):
    """(Beta(a, b) variate conditioned on ``> q``, next state), for a :func:`ts_threshold` split.

    Rejection from the tangent of the concave log density at ``q``: the proposal is the
    exponential of rate ``-h'(q) > 0`` truncated to (q, 1) (``em = expm1(h'(q) (1 - q))``),
    accepted with probability
    ``exp(h(x) - h(q) - h'(q) (x - q)) <= 1``.
    """
    while True:
        u, st = xo_uniform(st)
        x = q + np.log1p(u * em) / slope
        if x <= q or x >= 1.0:
            continue
        u, st = xo_uniform(st)
        h = (a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x)
        if np.log(u) < h - hq - slope * (x - q):
            return x, st


@njit(cache=True, inline="always")
def ts_draw(pa, pb, cst, k, st):
    """(Beta(pa[k], pb[k]) variate, next state) from arm ``k``'s cached constants."""
    return beta_xo(pa[k], pb[k], cst[k, 0], cst[k, 1], cst[k, 2], cst[k, 3], st)


@njit(cache=True, **NO_NRT)
def ts_choose(pa, pb, cst, lead, st):
    """(Thompson sampling's arm, next state): the argmax of independent Beta(pa[k], pb[k]) draws.

    Exact and lazy. Arm ``lead`` is drawn first; another arm ``k`` with a split
    (``cst[k, 4:8]``, :func:`ts_threshold`) first draws which side of ``q_k`` its
    variate falls on (one uniform against ``P(X <= q_k)``): below ``q_k`` when the
    running maximum already exceeds ``q_k`` it cannot win and is not drawn further;
    otherwise its variate is drawn from the law of that side (rejection from
    :func:`beta_xo` below, :func:`beta_tail_xo` above). Arms without a split are drawn
    in full. Each arm's variate thus has its Beta law and the argmax is Thompson
    sampling's (ties have probability 0). ``cst[k] = (da, ca, db, cb, q, P(X <= q),
    h'(q), h(q), stale)``; a stale split is recomputed when first needed.
    """
    a = lead
    best = -1.0
    for i in range(pa.size):  # the lead first, then the others in order
        k = lead if i == 0 else (i - 1 if i <= lead else i)
        q = 2.0  # draw Beta conditioned on X <= q (no condition: q = 2)
        if i > 0:
            if cst[k, 8] != 0.0:
                n = pa[lead] + pb[lead]
                q_min = (pa[lead] - 3.0 * np.sqrt(pa[lead] * pb[lead] / (n + 1.0))) / n
                cst[k, 4], cst[k, 5], cst[k, 6], cst[k, 7], cst[k, 9] = ts_threshold(pa[k], pb[k], q_min)
                cst[k, 8] = 0.0
            if cst[k, 5] >= 0.0:
                u, st = xo_uniform(st)
                if u < cst[k, 5]:
                    if cst[k, 4] <= best:
                        continue  # X <= q <= the running maximum: arm k loses
                    q = cst[k, 4]
                else:
                    q = -1.0  # the upper side
        if q < 0.0:
            v, st = beta_tail_xo(pa[k], pb[k], cst[k, 4], cst[k, 6], cst[k, 7], cst[k, 9], st)
        else:
            while True:  # one call site of the inlined sampler (compile time)
                v, st = ts_draw(pa, pb, cst, k, st)
                if v <= q:
                    break
        if v > best:
            best = v
            a = k
    return a, st


@njit(cache=True, inline="always")
def ts_set_arm(pa, pb, cst, k, a, b):
    """Set arm ``k``'s posterior shapes to (a, b), their :func:`gamma_consts`, its split stale."""
    pa[k] = a
    pb[k] = b
    cst[k, 0], cst[k, 1] = gamma_consts(a)
    cst[k, 2], cst[k, 3] = gamma_consts(b)
    cst[k, 8] = 1.0


@njit(cache=True, **NO_NRT)
def _ts_bernoulli_loop(a0, b0, means, gaps, horizon, ck, st, succ, fail, pa, pb, cst,
                       regret_out, reward_out):
    """Run the pulls of ``run_ts_bernoulli`` on its allocated state (borrowed arrays, no NRT)."""
    cum_gap = 0.0
    cum_rew = 0.0
    j = 0
    next_ck = ck[0]
    lead = 0  # the most pulled arm, drawn first
    for t in range(horizon):
        a, st = ts_choose(pa, pb, cst, lead, st)
        u, st = xo_uniform(st)
        x = 1.0 if u < means[a] else 0.0
        succ[a] += x
        fail[a] += 1.0 - x
        ts_set_arm(pa, pb, cst, a, a0 + succ[a], b0 + fail[a])
        if succ[a] + fail[a] > succ[lead] + fail[lead]:
            lead = a
        cum_gap += gaps[a]
        cum_rew += x
        if t + 1 == next_ck:
            regret_out[j] = cum_gap
            reward_out[j] = cum_rew
            j += 1
            next_ck = ck[j] if j < ck.size else -1


@njit(cache=True)
def run_ts_bernoulli(a0, b0, means, gaps, horizon, ck, seed, regret_out, reward_out, pulls_out):
    """Beta-Bernoulli Thompson sampling on Bernoulli arms, one run.

    Arm ``k``'s posterior is Beta(a0 + S_k, b0 + F_k). Each step pulls the argmax of
    independent draws of every arm's posterior, evaluated lazily by :func:`ts_choose`
    (the most pulled arm in full by :func:`beta_xo`, Marsaglia-Tsang gammas from ziggurat
    normals; an arm whose split lies below the running maximum by one uniform in most
    steps), then draws the reward from one uniform. The random numbers come from the
    run's own xoshiro256** stream seeded from ``seed`` (``_rng_kernels``): the run depends
    only on its seed, and every pull has Thompson sampling's law, as in ``run_index``
    (whose stream, NumPy's legacy one, differs). "Law" up to rounding: the split
    probabilities are accurate to ~1e-11 relative (``beta_sf``).
    """
    K = gaps.size
    succ = np.zeros(K)
    fail = np.zeros(K)
    pa = np.zeros(K)
    pb = np.zeros(K)
    cst = np.zeros((K, 10))
    for k in range(K):
        ts_set_arm(pa, pb, cst, k, a0, b0)
    _ts_bernoulli_loop(a0, b0, means, gaps, horizon, ck, xo_seed(seed), succ, fail, pa, pb,
                       cst, regret_out, reward_out)
    for k in range(K):
        pulls_out[k] = succ[k] + fail[k]


@njit(cache=True, parallel=True)
def simulate_ts_bernoulli(a0, b0, means, gaps, horizon, ck, seeds, regret_out, reward_out,
                          pulls_out):
    """``run_ts_bernoulli`` for every run, in parallel."""
    for r in prange(seeds.size):
        run_ts_bernoulli(a0, b0, means, gaps, horizon, ck, seeds[r], regret_out[r],
                         reward_out[r], pulls_out[r])


# rows of the index family's per-arm state ``st`` (one (11, K) array per run)
_N, _S, _S2, _MEAN, _ISQ, _UB, _QC, _DC, _FAILS, _FRESH, _ACTIVE = range(11)
# _ISQ: 1 / sqrt(n_a), refreshed only for the pulled arm; _QC: KL-UCB's cached index of
# each arm, computed at level _DC; _FRESH: 1 while that cache is valid; _FAILS: Beta-TS
# failures; _ACTIVE: 1 while successive elimination keeps the arm.


@njit(cache=True, **NO_NRT)
def _choose_thompson(code, prm, st):
    """Thompson sampling: the arm of the largest posterior draw (Beta or Gaussian)."""
    a = 0
    best = -np.inf
    for k in range(st.shape[1]):
        if code == TS_BETA:
            v = beta_variate(prm[0] + st[_S, k], prm[1] + st[_FAILS, k])
        else:
            v = st[_S, k] / (st[_N, k] + 1.0) + prm[0] / np.sqrt(st[_N, k] + 1.0) * np.random.standard_normal()
        if v > best:
            best = v
            a = k
    return a


@njit(cache=True, **NO_NRT)
def _choose_elimination(st, pos, log_T):
    """Pick the next active arm of successive elimination's phase: (arm, next position).

    At a phase end (every active arm has the same count) the arms whose UCB is below the
    best LCB are dropped first.
    """
    K = st.shape[1]
    while pos < K and st[_ACTIVE, pos] == 0.0:
        pos += 1
    if pos == K:
        best_lcb = -np.inf
        for k in range(K):
            if st[_ACTIVE, k] != 0.0:
                best_lcb = max(best_lcb, st[_MEAN, k] - np.sqrt(2.0 * log_T / st[_N, k]))
        for k in range(K):
            if st[_ACTIVE, k] != 0.0 and st[_MEAN, k] + np.sqrt(2.0 * log_T / st[_N, k]) < best_lcb:
                st[_ACTIVE, k] = 0.0
        pos = 0
        while st[_ACTIVE, pos] == 0.0:
            pos += 1
    return pos, pos + 1


@njit(cache=True, **NO_NRT)
def _choose_optimistic(code, prm, t, horizon, st):
    """Largest closed-form index: UCB1, MOSS, UCB-V or Gaussian KL-UCB (first index on ties)."""
    K = st.shape[1]
    n, mean = st[_N], st[_MEAN]
    lt = np.log(t)
    ct = np.sqrt(prm[0] * lt)
    e = prm[0] * lt
    f = lt + prm[0] * np.log(max(lt, 1.0))
    a = 0
    best = -np.inf
    for k in range(K):
        if code == UCB1:
            v = mean[k] + ct * st[_ISQ, k]
        elif code == MOSS:
            v = mean[k] + np.sqrt(max(np.log(horizon / (K * n[k])), 0.0) / n[k])
        elif code == UCBV:
            # Note: max(., 0) only removes round-off in s2/n - mean^2.
            var = max(st[_S2, k] / n[k] - mean[k] * mean[k], 0.0)
            v = mean[k] + np.sqrt(2.0 * var * e / n[k]) + 3.0 * prm[1] * prm[2] * e / n[k]
        else:  # KLUCB_GAUSSIAN
            v = mean[k] + prm[1] * np.sqrt(2.0 * f / n[k])
        if v > best:
            best = v
            a = k
    return a


@njit(cache=True, **NO_NRT)
def _choose_klucb(prm, t, st):
    """Bernoulli KL-UCB: exact argmax of the KL indices, with pruning.

    For an arm not pulled since its index qc was computed at level dc <= d, the index is
    >= qc (monotone in d) and, kl(p, .) being convex, <= qc + (d - dc) / kl'(qc), the
    tangent bound. Arms whose bound is below the best exact index so far cannot win and
    are skipped.
    """
    K = st.shape[1]
    n, mean, ub, qc, dc = st[_N], st[_MEAN], st[_UB], st[_QC], st[_DC]
    lt = np.log(t)
    f = lt + prm[0] * np.log(max(lt, 1.0))
    for k in range(K):
        d = f / n[k]
        if st[_FRESH, k] == 0.0:
            qc[k] = klucb_bernoulli_index(mean[k], d, -1.0)
            dc[k] = d
            st[_FRESH, k] = 1.0
            ub[k] = qc[k]
        elif qc[k] >= 1.0:
            ub[k] = 1.0
        else:
            slope = (qc[k] - mean[k]) / (qc[k] * (1.0 - qc[k]))
            ub[k] = qc[k] + (d - dc[k]) / slope + 1e-12 if slope > 0.0 else 1.0
    a0 = 0
    for k in range(1, K):
        if ub[k] > ub[a0]:
            a0 = k
    a = 0
    best = -np.inf
    for i in range(K + 1):
        k = a0 if i == 0 else i - 1  # the most promising arm first
        if (i > 0 and k == a0) or ub[k] < best:
            continue
        d = f / n[k]
        if dc[k] != d:
            qc[k] = klucb_bernoulli_index(mean[k], d, qc[k])
            dc[k] = d
        if qc[k] > best or (qc[k] == best and k < a):
            best = qc[k]
            a = k
    return a


@njit(cache=True, **NO_NRT)
def _choose_greedy(code, prm, t, st):
    """Epsilon-greedy (fixed or decaying eps): a uniform arm with probability eps, else the best mean."""
    K = st.shape[1]
    eps = prm[0] if code == EPS_GREEDY else min(1.0, prm[0] * (K * np.log(t) / t) ** (1.0 / 3.0))
    if np.random.random() < eps:
        return int(np.random.random() * K)
    a = 0
    for k in range(1, K):
        if st[_MEAN, k] > st[_MEAN, a]:
            a = k
    return a


@njit(cache=True, **NO_NRT)
def _index_update(code, st, a, x):
    """Statistics of the pulled arm ``a`` after reward ``x`` (Beta-TS: Bernoulli(x) success)."""
    st[_N, a] += 1.0
    st[_S, a] += x
    st[_S2, a] += x * x
    st[_MEAN, a] = st[_S, a] / st[_N, a]
    st[_ISQ, a] = 1.0 / np.sqrt(st[_N, a])
    st[_FRESH, a] = 0.0
    if code == TS_BETA:
        # Agrawal & Goyal (2012): a reward in (0, 1) counts as a Bernoulli(x) success.
        succ = x
        if 0.0 < x < 1.0:
            succ = 1.0 if np.random.random() < x else 0.0
        st[_S, a] += succ - x
        st[_FAILS, a] += 1.0 - succ


@njit(cache=True, **NO_NRT)
def _index_loop(code, prm, env_kind, p1, p2, table, gaps, best_ck, horizon, ck, st,
                regret_out, reward_out):
    """Run the pulls of ``run_index`` on its allocated state ``st`` (borrowed arrays, no NRT)."""
    K = gaps.size
    pos = 0  # successive elimination: next arm of the current phase
    commit = -1  # explore-then-commit: committed arm
    log_T = np.log(horizon)
    cum_gap = 0.0
    cum_rew = 0.0
    j = 0
    for t in range(horizon):
        if code == TS_BETA or code == TS_GAUSSIAN:
            a = _choose_thompson(code, prm, st)
        elif code == EXPLORE_THEN_COMMIT:
            if t >= prm[0] * K and commit < 0:
                commit = 0
                for k in range(1, K):
                    if st[_MEAN, k] > st[_MEAN, commit]:
                        commit = k
            a = t % K if t < prm[0] * K else commit
        elif code == SUCCESSIVE_ELIMINATION:
            a, pos = _choose_elimination(st, pos, log_T)
        elif t < K:  # every remaining index policy starts with one pull of each arm
            a = t
        elif code == KLUCB_BERNOULLI:
            a = _choose_klucb(prm, t, st)
        elif code == EPS_GREEDY or code == EPS_GREEDY_DECAYING:
            a = _choose_greedy(code, prm, t, st)
        else:
            a = _choose_optimistic(code, prm, t, horizon, st)
        x = env_reward(env_kind, a, t, p1, p2, table)
        _index_update(code, st, a, x)
        cum_gap += gaps[a]
        cum_rew += x
        j = record(t, j, ck, env_kind == ENV_TABLE, best_ck, cum_gap, cum_rew, regret_out, reward_out)


@njit(cache=True)
def run_index(code, prm, env_kind, p1, p2, table, gaps, best_ck, horizon, ck, seed,
              regret_out, reward_out, pulls_out):
    """One run of an index/sampling policy (UCB1, UCB-V, KL-UCB, MOSS, SE, ETC, eps-greedy, TS)."""
    np.random.seed(seed)
    K = gaps.size
    st = np.zeros((11, K))
    for k in range(K):
        st[_ACTIVE, k] = 1.0
    _index_loop(code, prm, env_kind, p1, p2, table, gaps, best_ck, horizon, ck, st,
                regret_out, reward_out)
    for k in range(K):
        pulls_out[k] = st[_N, k]


@njit(cache=True, parallel=True)
def simulate_index(code, prm, env_kind, p1, p2, table, gaps, best_ck, horizon, ck, seeds,
                   regret_out, reward_out, pulls_out):
    """``run_index`` for every run (rows of the outputs), in parallel."""
    for r in prange(seeds.size):
        run_index(code, prm, env_kind, p1, p2, table, gaps, best_ck, horizon, ck, seeds[r],
                  regret_out[r], reward_out[r], pulls_out[r])


# ---------------------------------------------------------------- weights family
@njit(cache=True, **NO_NRT)
def softmax_into(z, scale, out):
    """Write ``out = softmax(scale * z)``, stable (max subtracted)."""
    m = -np.inf
    for k in range(z.size):
        if scale * z[k] > m:
            m = scale * z[k]
    tot = 0.0
    for k in range(z.size):
        out[k] = np.exp(scale * z[k] - m)
        tot += out[k]
    for k in range(z.size):
        out[k] /= tot


@njit(cache=True)
def run_weights(code, prm, log_ref, env_kind, p1, p2, table, gaps, best_ck, horizon, ck,
                seed, regret_out, reward_out, pulls_out):
    """One run of EXP3, Hedge, regret matching or the softmax policy-gradient bandit."""
    np.random.seed(seed)
    K = gaps.size
    z = np.zeros(K)  # log-weights / cumulative rewards / logits / cumulative regrets
    p = np.zeros(K)
    xs = np.zeros(K)
    n = np.zeros(K)
    lr = prm[0]
    baseline = 0.0
    cum_gap = 0.0
    cum_rew = 0.0
    j = 0
    full = code == HEDGE or code == REGRET_MATCHING
    for t in range(horizon):
        if code == EXP3:
            softmax_into(z, 1.0, p)
            for k in range(K):
                p[k] = (1.0 - lr) * p[k] + lr / K
        elif code == HEDGE:
            softmax_into(z, lr, p)
        elif code == SOFTMAX_PG:
            softmax_into(z, 1.0, p)
        else:  # regret matching: p proportional to positive cumulative regret
            tot = 0.0
            for k in range(K):
                tot += max(z[k], 0.0)
            for k in range(K):
                p[k] = max(z[k], 0.0) / tot if tot > 0.0 else 1.0 / K
        a = sample_categorical(p, np.random.random())
        if full:
            for k in range(K):
                xs[k] = env_reward(env_kind, k, t, p1, p2, table)
            x = xs[a]
        else:
            x = env_reward(env_kind, a, t, p1, p2, table)
        if code == EXP3:
            # Auer et al. (2002), Exp3: w_a <- w_a exp(gamma * x / (p_a K))
            z[a] += lr * x / (p[a] * K)
        elif code == HEDGE:
            for k in range(K):
                z[k] += xs[k]
        elif code == REGRET_MATCHING:
            ex = 0.0
            for k in range(K):
                ex += p[k] * xs[k]
            for k in range(K):
                z[k] += xs[k] - ex
        else:
            adv = x - baseline if prm[1] > 0.0 else x
            tau = prm[3]
            if prm[2] > 0.0:  # natural PG (Cen et al. 2022 form): z += lr (Q_hat - tau (z - log pi_ref))
                for k in range(K):
                    q = adv / p[k] if k == a else 0.0
                    xs[k] = lr * (q - tau * (z[k] - log_ref[k]))
                for k in range(K):
                    z[k] += xs[k]
            else:  # REINFORCE: (x - b) (e_a - pi) minus tau * grad KL(pi || pi_ref)
                kl = 0.0
                for k in range(K):
                    if p[k] > 0.0:
                        kl += p[k] * (np.log(p[k]) - log_ref[k])
                for k in range(K):
                    g = adv * ((1.0 if k == a else 0.0) - p[k])
                    if p[k] > 0.0:
                        g -= tau * p[k] * (np.log(p[k]) - log_ref[k] - kl)
                    xs[k] = g
                for k in range(K):
                    z[k] += lr * xs[k]
            baseline += (x - baseline) / (t + 1.0)
        n[a] += 1.0
        cum_gap += gaps[a]
        cum_rew += x
        j = record(t, j, ck, env_kind == ENV_TABLE, best_ck, cum_gap, cum_rew, regret_out, reward_out)
    for k in range(K):
        pulls_out[k] = n[k]


@njit(cache=True, parallel=True)
def simulate_weights(code, prm, log_ref, env_kind, p1, p2, table, gaps, best_ck, horizon,
                     ck, seeds, regret_out, reward_out, pulls_out):
    """``run_weights`` for every run, in parallel."""
    for r in prange(seeds.size):
        run_weights(code, prm, log_ref, env_kind, p1, p2, table, gaps, best_ck, horizon, ck,
                    seeds[r], regret_out[r], reward_out[r], pulls_out[r])


# ---------------------------------------------------------------- linear family
@njit(cache=True, **NO_NRT)
def _draw_actions(X, action_kind):
    """Draw a fresh action set in place: normal rows, on the unit sphere or scaled by 1/sqrt(d)."""
    K, d = X.shape
    for k in range(K):
        nrm = 0.0
        for i in range(d):
            X[k, i] = np.random.standard_normal()
            nrm += X[k, i] * X[k, i]
        scale = 1.0 / np.sqrt(nrm) if action_kind == ACTIONS_SPHERE else 1.0 / np.sqrt(d)
        for i in range(d):
            X[k, i] *= scale


@njit(cache=True, **NO_NRT)
def _lints_parameter(Vinv, L, th, v, zz, tt):
    """Linear Thompson sampling's draw ``tt = th + v L z``, ``L L^T = V^-1``, ``z ~ N(0, I)``.

    ``L`` is filled by the outer-product (right-looking) Cholesky of the lower triangle,
    LAPACK's order of operations for small matrices.
    """
    d = th.size
    for i in range(d):
        for m in range(d):
            L[i, m] = Vinv[i, m] if m <= i else 0.0
    for k in range(d):
        L[k, k] = np.sqrt(L[k, k])
        for i in range(k + 1, d):
            L[i, k] /= L[k, k]
        for m in range(k + 1, d):
            for i in range(m, d):
                L[i, m] -= L[i, k] * L[m, k]
    for i in range(d):
        zz[i] = np.random.standard_normal()
    for i in range(d):
        acc = th[i]
        for m in range(i + 1):
            acc += v * L[i, m] * zz[m]
        tt[i] = acc


@njit(cache=True, **NO_NRT)
def _linear_choose(code, theta, X, th, tt, Vinv, width):
    """Pick an action: (its index, the best mean reward of the set).

    The argmax of x^T tt (LinTS) or of the optimistic index x^T th + width ||x||_{V^-1}
    (LinUCB, OFUL).
    """
    K, d = X.shape
    a = 0
    best = -np.inf
    opt = -np.inf
    for k in range(K):
        mu = 0.0
        for i in range(d):
            mu += theta[i] * X[k, i]
        opt = max(opt, mu)
        v = 0.0
        if code == LINTS:
            for i in range(d):
                v += tt[i] * X[k, i]
        else:
            q = 0.0
            for i in range(d):
                v += th[i] * X[k, i]
                acc = 0.0
                for m in range(d):
                    acc += Vinv[i, m] * X[k, m]
                q += X[k, i] * acc
            v += width * np.sqrt(max(q, 0.0))
        if v > best:
            best = v
            a = k
    return a, opt


@njit(cache=True, **NO_NRT)
def _ridge_update(Vinv, bvec, th, u, X, a, x):
    """Add the pulled action ``X[a]`` with reward ``x`` to the ridge regression.

    Sherman-Morrison on ``V^-1``, then ``th = V^-1 b``. Returns ``log(1 + x^T V^-1 x)``,
    the increment of ``log det V``.
    """
    d = th.size
    den = 1.0
    for i in range(d):
        acc = 0.0
        for m in range(d):
            acc += Vinv[i, m] * X[a, m]
        u[i] = acc
        den += X[a, i] * acc
    for i in range(d):
        for m in range(d):
            Vinv[i, m] -= u[i] * u[m] / den
    for i in range(d):
        bvec[i] += x * X[a, i]
    for i in range(d):
        acc = 0.0
        for m in range(d):
            acc += Vinv[i, m] * bvec[m]
        th[i] = acc
    return np.log(den)


@njit(cache=True, **NO_NRT)
def _linear_loop(code, prm, theta, X, action_kind, sigma, horizon, ck, Vinv, L, work,
                 regret_out, reward_out, pulls_out):
    """Run the steps of ``run_linear`` on its allocated state (borrowed arrays, no NRT).

    ``work`` rows: b, theta_hat, Sherman-Morrison vector, LinTS parameter and noise.
    """
    d = theta.size
    bvec, th, u, tt, zz = work[0], work[1], work[2], work[3], work[4]
    logdet = 0.0
    cum_gap = 0.0
    cum_rew = 0.0
    j = 0
    for t in range(horizon):
        if action_kind != ACTIONS_FIXED:
            _draw_actions(X, action_kind)
        if code == LINTS:
            _lints_parameter(Vinv, L, th, prm[1], zz, tt)
        width = prm[1]
        if code == OFUL:
            width = sigma * np.sqrt(logdet + 2.0 * prm[2]) + np.sqrt(prm[0]) * prm[3]
        a, opt = _linear_choose(code, theta, X, th, tt, Vinv, width)
        mu_a = 0.0
        for i in range(d):
            mu_a += theta[i] * X[a, i]
        x = mu_a + sigma * np.random.standard_normal()
        logdet += _ridge_update(Vinv, bvec, th, u, X, a, x)
        pulls_out[a] += 1.0
        cum_gap += opt - mu_a
        cum_rew += x
        j = record(t, j, ck, False, ck, cum_gap, cum_rew, regret_out, reward_out)


@njit(cache=True)
def run_linear(code, prm, theta, actions, action_kind, sigma, horizon, ck, seed,
               regret_out, reward_out, pulls_out):
    """One run of LinUCB, OFUL or linear Thompson sampling (Sherman-Morrison updates).

    ``prm = (ridge, alpha_or_v, log(1/delta), S)``; OFUL's radius is Theorem 2 of
    Abbasi-Yadkori et al. (2011): sigma sqrt(log det(V_t)/det(ridge I) + 2 log(1/delta)) + sqrt(ridge) S.
    """
    np.random.seed(seed)
    d = theta.size
    _linear_loop(code, prm, theta, actions.copy(), action_kind, sigma, horizon, ck,
                 np.eye(d) / prm[0], np.zeros((d, d)), np.zeros((5, d)),
                 regret_out, reward_out, pulls_out)


@njit(cache=True, parallel=True)
def simulate_linear(code, prm, theta, actions, action_kind, sigma, horizon, ck, seeds,
                    regret_out, reward_out, pulls_out):
    """``run_linear`` for every run, in parallel."""
    for r in prange(seeds.size):
        run_linear(code, prm, theta, actions, action_kind, sigma, horizon, ck, seeds[r],
                   regret_out[r], reward_out[r], pulls_out[r])


# ---------------------------------------------------------------- self-play in games
@njit(cache=True)
def _game_strategy(code, eta, U, V, sign, out):
    """Hedge (softmax of sign * eta * U) or regret matching (positive part of sign * (U - V))."""
    if code == HEDGE:
        softmax_into(U, sign * eta, out)
    else:
        tot = 0.0
        for k in range(U.size):
            tot += max(sign * (U[k] - V), 0.0)
        for k in range(U.size):
            out[k] = max(sign * (U[k] - V), 0.0) / tot if tot > 0.0 else 1.0 / U.size


@njit(cache=True)
def run_game(A, row_code, col_code, row_eta, col_eta, sampled, horizon, ck, seed,
             regret_row_out, regret_col_out, gap_out, xbar_out, ybar_out):
    """One run of no-regret self-play in the zero-sum game ``A`` (row maximizes x^T A y)."""
    np.random.seed(seed)
    m, n = A.shape
    x = np.zeros(m)
    y = np.zeros(n)
    Ur = np.zeros(m)  # sum_t A y_t
    Uc = np.zeros(n)  # sum_t x_t^T A
    V = 0.0  # sum_t payoff_t
    xsum = np.zeros(m)
    ysum = np.zeros(n)
    j = 0
    for t in range(horizon):
        _game_strategy(row_code, row_eta, Ur, V, 1.0, x)
        _game_strategy(col_code, col_eta, Uc, V, -1.0, y)
        if sampled:
            i = sample_categorical(x, np.random.random())
            c = sample_categorical(y, np.random.random())
            for k in range(m):
                Ur[k] += A[k, c]
            for k in range(n):
                Uc[k] += A[i, k]
            V += A[i, c]
            xsum[i] += 1.0
            ysum[c] += 1.0
        else:
            for k in range(m):
                acc = 0.0
                for l in range(n):
                    acc += A[k, l] * y[l]
                Ur[k] += acc
                V += x[k] * acc
            for l in range(n):
                acc = 0.0
                for k in range(m):
                    acc += x[k] * A[k, l]
                Uc[l] += acc
            for k in range(m):
                xsum[k] += x[k]
            for l in range(n):
                ysum[l] += y[l]
        if at_checkpoint(t, j, ck):
            regret_row_out[j] = Ur.max() - V
            regret_col_out[j] = V - Uc.min()
            gap_out[j] = (Ur.max() - Uc.min()) / (t + 1.0)
            j += 1
    for k in range(m):
        xbar_out[k] = xsum[k] / horizon
    for l in range(n):
        ybar_out[l] = ysum[l] / horizon


@njit(cache=True, parallel=True)
def simulate_game(A, row_code, col_code, row_eta, col_eta, sampled, horizon, ck, seeds,
                  regret_row_out, regret_col_out, gap_out, xbar_out, ybar_out):
    """``run_game`` for every run, in parallel."""
    for r in prange(seeds.size):
        run_game(A, row_code, col_code, row_eta, col_eta, sampled, horizon, ck, seeds[r],
                 regret_row_out[r], regret_col_out[r], gap_out[r], xbar_out[r], ybar_out[r])


# ---------------------------------------------------------------- user-defined policies
@njit(parallel=True)
def simulate_user(select, update, state0, prm, env_kind, p1, p2, table, gaps, best_ck,
                  horizon, ck, seeds, regret_out, reward_out, pulls_out):
    """Run a user policy ``select(t, state, params) -> arm`` / ``update(t, state, params, arm, x)``.

    Not cached: each pair of user functions is a new type and compiles once per process.
    """
    for r in prange(seeds.size):
        np.random.seed(seeds[r])
        state = state0.copy()
        K = gaps.size
        cum_gap = 0.0
        cum_rew = 0.0
        j = 0
        for t in range(horizon):
            a = select(t, state, prm)
            if a < 0 or a >= K:  # an invalid arm ends the run; the front end reports it
                pulls_out[r, 0] = -1.0
                break
            x = env_reward(env_kind, a, t, p1, p2, table)
            update(t, state, prm, a, x)
            pulls_out[r, a] += 1.0
            cum_gap += gaps[a]
            cum_rew += x
            j = record(t, j, ck, env_kind == ENV_TABLE, best_ck, cum_gap, cum_rew, regret_out[r], reward_out[r])
