"""mdpkit.pg sampled dynamics: advantage estimators, seeding, kernels vs py_func, bad input."""

import math

import numpy as np
import pytest
from numba import njit

import mdpkit as mk
from mdpkit.pg import _sampled
from mdpkit.pg import _sampled_kernels as kr

pg = mk.pg


@njit
def _numba_seed(s):
    np.random.seed(s)  # noqa: NPY002  (Numba's own stream)


def test_advantages_hand_values():
    r = np.array([1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(pg.advantages(r, "rloo"), [1.0, -1 / 3, -1 / 3, -1 / 3])
    np.testing.assert_allclose(pg.advantages(r, "dr_grpo"), [0.75, -0.25, -0.25, -0.25])
    sd = math.sqrt(0.25 * 0.75)
    np.testing.assert_allclose(pg.advantages(r, "grpo", eps=0.0), (r - 0.25) / sd)
    np.testing.assert_allclose(pg.advantages(r, "reinforce_baseline", baseline=0.4), r - 0.4)
    # BNPO with Beta(2, 2): density 6 p (1 - p) at the group mean 0.25 is 1.125
    np.testing.assert_allclose(pg.advantages(r, "bnpo", bnpo_params=(2.0, 2.0)), (r - 0.25) / 1.125)
    # NGRPO on an all-wrong group of G: virtual 1 gives mean 1/(G+1), sd sqrt(G)/(G+1)
    np.testing.assert_allclose(pg.advantages(np.zeros(9), "ngrpo", eps=0.0), -np.ones(9) / 3)
    assert np.all(pg.advantages(np.ones(5), "grpo", eps=0.0) == 0.0)
    assert np.all(pg.advantages(np.ones(5), "bnpo") == 0.0)


def test_gvm_allocation_continuous_limit():
    s = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(pg.gvm_allocation(s, 100), [10, 20, 30, 40])
    np.testing.assert_array_equal(pg.gvm_allocation([0.0, 1.0], 10, n_min=2), [2, 8])


def test_seeding_prefix_and_threads(monkeypatch):
    prob = pg.beta_prompts(20, 4, 1.0, 1.0, rng=0)
    kw = dict(eta=0.3, n_steps=15, G=4, rng=7, estimator="rloo")
    a = pg.sample_dynamics(prob, n_runs=4, **kw)
    b = pg.sample_dynamics(prob, n_runs=2, **kw)
    np.testing.assert_array_equal(a.z[:2], b.z)
    monkeypatch.setattr(_sampled, "PARALLEL_MIN_SAMPLES", 0)
    c = pg.sample_dynamics(prob, n_runs=4, n_threads=1, **kw)
    d = pg.sample_dynamics(prob, n_runs=4, n_threads=2, **kw)
    np.testing.assert_array_equal(a.z, c.z)
    np.testing.assert_array_equal(c.z, d.z)
    np.testing.assert_array_equal(a.reward, d.reward)


def test_reinforce_mean_update_matches_exact_pg():
    """E[sampled REINFORCE step] = exact PG step (both with the same eta)."""
    prob = pg.k_armed([0.9, 0.2, 0.5], z0=[0.0, 0.3, -0.2])
    run = pg.sample_dynamics(prob, eta=0.1, n_steps=1, G=4, estimator="reinforce", n_runs=4000, rng=1)
    ex = pg.exact_dynamics(prob, eta=0.1, n_steps=1)
    dz = run.z[:, 0] - prob.z0[0]
    se = dz.std(axis=0, ddof=1) / math.sqrt(dz.shape[0])
    assert np.all(np.abs(dz.mean(axis=0) - (ex.z[0, 0] - prob.z0[0])) < 4 * se)


def test_sampled_kernel_matches_py_func():
    prob = pg.beta_prompts(3, 3, 1.0, 1.0, rng=0)
    prm_i, prm_f = _sampled._kernel_params(prob, "grpo", 4, 0.5, 2, True, "gvm", (0.2, 0.3),
                                           pg.ClipCov(0.3, 0.0, 5.0), pg.KLCov(0.3), 1e-6, None)
    args = (prob.reward, prob.observed_reward.copy(), prob.row, prob.z0, np.log(prob.policy()),
            prm_i, prm_f, 6, np.array([0, 6]), np.array([1, 2]), 11)

    def outs():
        return (np.zeros(2), np.zeros(2), np.zeros(2), np.zeros((2, 2)), np.zeros(6), np.zeros(6),
                np.zeros((3, 3)), np.zeros((2, 3)), np.zeros((2, 3)))

    o1, o2 = outs(), outs()
    kr.run_sampled(*args, *o1)
    _numba_seed(11)   # the random draws happen in compiled sub-kernels (Numba's own state)
    kr.run_sampled.py_func(*args, *o2)
    for x, y in zip(o1, o2, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)


def test_small_kernels_match_py_func():
    for code in range(7):
        r = np.array([1.0, 0.0, 1.0, 1.0])
        o1, o2 = np.empty(4), np.empty(4)
        kr.group_advantages(code, r, 0, r.size, 0.3, 1e-6, 1.5, 2.0, 1.0, o1)
        kr.group_advantages.py_func(code, r, 0, r.size, 0.3, 1e-6, 1.5, 2.0, 1.0, o2)
        np.testing.assert_allclose(o1, o2, rtol=1e-14)
    s = np.array([0.3, 0.0, 1.2, 0.5])
    n1, n2 = np.empty(4, dtype=np.int64), np.empty(4, dtype=np.int64)
    kr.allocate(s, 23, 2, n1)
    kr.allocate.py_func(s, 23, 2, n2)
    np.testing.assert_array_equal(n1, n2)
    assert n1.sum() == 23 and n1.min() >= 2


def test_filtering_and_zero_fraction_recorded():
    prob = pg.k_armed([1.0, 1.0])     # every group all-correct
    run = pg.sample_dynamics(prob, eta=0.5, n_steps=3, G=4, filter_groups=True, rng=0)
    np.testing.assert_array_equal(run.zero_fraction, 1.0)
    np.testing.assert_array_equal(run.z, 0.0)      # nothing kept, nothing moved


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pg.sample_dynamics(pg.k_armed([0.1, 0.5]), eta=0.1, n_steps=2, G=1), "`G` must be >= 2"),
        (lambda: pg.sample_dynamics(pg.k_armed([0.1, 0.5]), eta=0.0, n_steps=2), "`eta`"),
        (lambda: pg.sample_dynamics(pg.k_armed([0.1, 0.5]), eta=0.1, n_steps=2, estimator="ppo"),
         "`estimator`"),
        (lambda: pg.sample_dynamics(pg.k_armed([0.1, 3.0], reward_type="graded"), eta=0.1, n_steps=2,
                                    estimator="bnpo"), "binary"),
        (lambda: pg.sample_dynamics(pg.k_armed([0.1, 0.5]), eta=0.1, n_steps=2, clip=(0.1, 0.2, 0.3)),
         "`clip`"),
        (lambda: pg.sample_dynamics(pg.k_armed([0.1, 0.5]), eta=0.1, n_steps=2, clip_cov=0.1),
         "ClipCov"),
        (lambda: pg.sample_dynamics(pg.k_armed([0.1, 0.5]), eta=0.1, n_steps=2, rng=-1), "`rng`"),
        (lambda: pg.advantages([1.0], "grpo"), "`G` must be >= 2"),
        (lambda: pg.advantages([1.0, 2.0], "bnpo"), r"\[0, 1\]"),
        (lambda: pg.advantages([1.0, 0.0], "bnpo", bnpo_params=1.5), "`bnpo_params`"),
        (lambda: pg.advantages([1.0, 0.0], "bnpo", bnpo_params=(1.5, 1.5, 1.5)), "`bnpo_params`"),
        (lambda: pg.sample_dynamics(pg.k_armed([0.1, 0.5]), eta=0.1, n_steps=2, estimator="bnpo",
                                    bnpo_params=1.5), "`bnpo_params`"),
        (lambda: pg.sample_dynamics(pg.k_armed([0.1, 0.5]), eta=0.1, n_steps=2, estimator="bnpo",
                                    bnpo_params=(1.5, 1.5, 1.5)), "`bnpo_params`"),
        # gradient_samples validates eps and bnpo_params before the kernel (was ZeroDivisionError)
        (lambda: pg.gradient_samples(pg.k_armed([0.1, 0.5]), estimator="bnpo", G=4, n_samples=10,
                                     bnpo_params=(-1.0, 2.0)), r"`bnpo_params\[0\]`"),
        (lambda: pg.gradient_samples(pg.k_armed([0.1, 0.5]), estimator="bnpo", G=4, n_samples=10,
                                     bnpo_params=1.5), "`bnpo_params`"),
        (lambda: pg.gradient_samples(pg.k_armed([0.1, 0.5]), estimator="grpo", G=4, n_samples=10,
                                     eps=-1.0),
         "`eps`"),
        (lambda: pg.gradient_samples(pg.k_armed([0.1, 3.0], reward_type="graded"),
                                     estimator="bnpo", G=4, n_samples=10), "binary"),
        (lambda: pg.ClipCov(0.1, lb=2.0, ub=1.0), "lb < ub"),
        (lambda: pg.gvm_allocation([1.0, 2.0], 1), "`budget`"),
        (lambda: pg.estimator_moments(pg.k_armed([0.1, 0.5]), estimator="rloo", G=30), "outcomes"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_bnpo_fit_rule_hand_values():
    # group rates with mean 0.4 and unbiased variance 0.03: c = 0.24/0.03 - 1 = 7, a = 2.8, b = 4.2
    g = np.array([0.2, 0.4, 0.6, 0.4, 0.4, 0.2, 0.6, 0.6, 0.2])
    assert abs(g.mean() - 0.4) < 1e-12 and abs(g.var(ddof=1) - 0.03) < 1e-12
    c = 0.24 / 0.03 - 1.0
    expect = (1 + 0.4 * c / 3, 1 + 0.6 * c / 3)
    for f in (kr.bnpo_fit, kr.bnpo_fit.py_func):
        np.testing.assert_allclose(f(g, g.size), expect)
        # over-dispersed rates (a, b <= 0) hit the floor 1; one group or equal rates: (1, 1)
        assert f(np.array([0.0, 1.0, 0.0, 1.0]), 4) == (1.0, 1.0)
        assert f(np.array([0.3]), 1) == (1.0, 1.0)
        assert f(np.array([0.5, 0.5]), 2) == (1.0, 1.0)


@pytest.mark.parametrize("a, b", [(2.0, 3.0), (0.7, 4.0)])
def test_bnpo_rule_minimizes_variance_proxy(a, b):
    """1 + a/3, 1 + b/3 minimizes E_{p ~ Beta(a,b)}[p(1-p) / f(p; alpha, beta)^2] (numerical quadrature)."""
    from scipy import integrate, optimize, stats

    def proxy(x):
        al, be = x
        if al >= (a + 3) / 2 or be >= (b + 3) / 2 or al <= 0 or be <= 0:
            return np.inf   # the integral diverges there
        f = lambda p: (p * (1 - p) * stats.beta.pdf(p, a, b)  # noqa: E731
                       / stats.beta.pdf(p, al, be) ** 2)
        return integrate.quad(f, 0, 1, limit=200)[0]

    res = optimize.minimize(proxy, x0=[1.1, 1.1], method="Nelder-Mead",
                            options={"xatol": 1e-6, "fatol": 1e-12})
    np.testing.assert_allclose(res.x, [1 + a / 3, 1 + b / 3], atol=1e-3)


def _batch_state(M=7, K=5, G=6, seed=3):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(M, K)) * 2
    q = np.where(rng.random((M, K)) < 0.5, rng.random((M, K)), np.round(rng.random((M, K))))
    state = np.empty(4, dtype=np.uint64)
    kr.rng_init(seed, state)
    return z, q, state, M, K, G


@pytest.mark.parametrize("code", range(7))
def test_fused_step_equals_general_path(code):
    """Fused steps (cached softmax, counted draws) = softmax, sampling, advantages, one-epoch update.

    Same uniforms, so the same draws: the paths agree to rounding, step after step (the
    cache of rows that did not move is exercised from the second step on).
    """
    from mdpkit.pg._exact_kernels import softmax_rows

    z, q, st, M, K, G = _batch_state()
    row, off, N = np.arange(M), np.arange(0, M * G + 1, G), M * G
    cells = kr.make_cells(q, True)
    cache = kr.fused_cache(M, K, cells[1].size, G)
    z1, z2, st1, st2 = z.copy(), z.copy(), st.copy(), st.copy()
    pi, lp, cdf = np.empty((M, K)), np.empty((M, K)), np.empty(cells[1].size)
    act, rew, adv = np.empty(N, dtype=np.int64), np.empty(N), np.empty(N)
    lpold, keep, keep_tok = np.empty(N), np.ones(M, dtype=np.bool_), np.ones(N, dtype=np.bool_)
    for _ in range(4):
        n1, c1 = kr.fused_prompt_steps(z1, q, row, code, G, 1e-6, 1.5, 2.0, 1.0, 0.3, cells, cache,
                                       st1)
        softmax_rows(z2, pi, lp, np.empty(M))
        kr.sample_batch(pi, lp, cells, row, off, act, rew, lpold, cdf, np.zeros(M, dtype=np.bool_),
                        st2)
        n2 = kr.batch_advantages(code, rew, off, q, row, pi, 1e-6, 1.5, 2.0, 1.0, False, adv, keep,
                                 keep_tok)
        c2 = kr.one_epoch_update(z2, pi, lp, row, act, adv, off, keep, np.ones(M), 0.3,
                                 np.empty((M, K)), np.empty(M))
        assert n1 == n2 and np.array_equal(st1, st2)
        np.testing.assert_allclose(z1, z2, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(c1, c2, rtol=1e-11, atol=1e-15)


def test_fused_kernels_match_py_func():
    z, q, st, M, K, G = _batch_state()
    q[0] = 1.0                     # an all-correct prompt: GRPO groups there never move
    row = np.arange(M)
    outs = []
    for f in (kr.fused_prompt_steps, kr.fused_prompt_steps.py_func):
        cells = (kr.make_cells if f is kr.fused_prompt_steps else kr.make_cells.py_func)(q, True)
        cache, zz, s = kr.fused_cache(M, K, cells[1].size, G), z.copy(), st.copy()
        res = [f(zz, q, row, 3, G, 1e-6, 1.5, 2.0, 1.0, 0.3, cells, cache, s) for _ in range(3)]
        outs.append((cells, res, zz, s, cache))
    (c1, r1, z1, s1, k1), (c2, r2, z2, s2, k2) = outs
    for a, b in zip(c1, c2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.array_equal(s1, s2) and [r[0] for r in r1] == [r[0] for r in r2]
    np.testing.assert_allclose([r[1] for r in r1], [r[1] for r in r2], rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(z1, z2, rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(z1[0], z[0])          # prompt 0 never moved ...
    assert k1[3][0] and k2[3][0]                         # ... so its softmax stayed cached
    # the four passes separately, compiled vs py_func
    pis, cnts = [], []
    for sm, cd, dc, cu in ((kr.softmax_stale, kr.cells_cdf, kr.draw_counts, kr.count_updates),
                           (kr.softmax_stale.py_func, kr.cells_cdf.py_func, kr.draw_counts.py_func,
                            kr.count_updates.py_func)):
        pi, x, cdf, fresh, u, cnt, g, t, bits = kr.fused_cache(M, K, c1[1].size, G)
        sm(z, fresh, pi, x, t, bits)
        cd(pi, row, c1, fresh, cdf)
        s = st.copy()
        dc(cdf, c1[0], G, u, cnt, s)
        zz = z.copy()
        res = cu(zz, q, 4, G, 1e-6, 1.5, 2.0, 1.0, 0.05, c1, pi, x, cnt, g, fresh)
        pis.append((pi, x, cdf, zz, np.array(res), s))
        cnts.append(cnt)
    for a, b in zip(*pis, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(cnts[0], cnts[1])


def test_softmax_stale_equals_softmax_rows():
    from mdpkit.pg._exact_kernels import softmax_rows

    rng = np.random.default_rng(2)
    z = rng.normal(scale=30.0, size=(6, 7))
    z[0, 3] = -1e4                  # below the exp(-700) floor
    pi, lp, H = np.empty_like(z), np.empty_like(z), np.empty(6)
    softmax_rows(z, pi, lp, H)
    pi2, x = np.empty_like(z), np.empty_like(z)
    fresh = np.array([False] * 5 + [True])
    kr.softmax_stale(z, fresh, pi2, x, np.empty(7), np.empty(7, dtype=np.int64))
    np.testing.assert_array_equal(pi2[:5], pi[:5])       # the same exponentials
    np.testing.assert_allclose(x[:5] - lp[:5], np.log(np.exp(z[:5] - z[:5].max(1, keepdims=True))
                                                          .sum(1, keepdims=True)).repeat(7, 1),
                               rtol=0, atol=1e-12)       # x = log pi + a constant per row


def test_cells_draw_the_joint_law_of_response_and_reward():
    """Counts over cells: E[count of (a, r)] = G pi_a P(r | a), within 5 standard errors."""
    G, n = 16, 20000
    q = np.array([[0.3, 1.0, 0.0, 0.75]])
    pi = np.array([[0.1, 0.2, 0.3, 0.4]])
    cells = kr.make_cells(q, True)
    np.testing.assert_array_equal(cells[0], [0, 6])
    np.testing.assert_array_equal(cells[1], [0, 0, 1, 2, 3, 3])
    np.testing.assert_array_equal(cells[2], [1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    p_cell = np.array([0.1 * 0.3, 0.1 * 0.7, 0.2, 0.3, 0.4 * 0.75, 0.4 * 0.25])
    cdf = np.empty(6)
    kr.cells_cdf(pi, np.zeros(1, dtype=np.int64), cells, np.zeros(1, dtype=np.bool_), cdf)
    state = np.empty(4, dtype=np.uint64)
    kr.rng_init(5, state)
    state2 = state.copy()
    cnt, tot = np.empty(6), np.zeros(6)
    sq = np.zeros(6)
    for _ in range(n):
        kr.draw_counts(cdf, cells[0], G, np.empty(G), cnt, state)
        tot += cnt
        sq += cnt**2
    se = np.sqrt((sq / n - (tot / n) ** 2) / n)
    assert np.all(np.abs(tot / n - G * p_cell) < 5 * se)
    # the counted draws are draw_group's draws, one uniform each
    act, rew = np.empty(G, dtype=np.int64), np.empty(G)
    kr.draw_group(cdf, cells, 0, G, act, rew, 0, state2)
    kr.rng_init(5, state)
    kr.draw_counts(cdf, cells[0], G, np.empty(G), cnt, state)
    cell_of = {(a, r): c for c, (a, r) in enumerate(zip(cells[1], cells[2], strict=True))}
    np.testing.assert_array_equal(cnt, np.bincount([cell_of[(a, r)] for a, r in zip(act, rew, strict=True)],
                                                    minlength=6))
    assert np.array_equal(state, state2)


def test_one_epoch_update_equals_ppo_epoch_with_ratio_one():
    z, q, st, M, K, G = _batch_state(M=4, K=3, G=5)
    row, off, N = np.array([0, 1, 0, 2]), np.arange(0, 4 * 5 + 1, 5), 20
    rng = np.random.default_rng(0)
    act, adv = rng.integers(0, K, N), rng.normal(size=N)
    from mdpkit.pg._exact_kernels import softmax_rows

    pi, lp = np.empty((M, K)), np.empty((M, K))
    softmax_rows(z, pi, lp, np.empty(M))
    lpold = lp[row.repeat(5), act]
    keep, cnt = np.array([True, True, False, True]), np.array([2.0, 1.0, 1.0, 0.0])
    z1, z2 = z.copy(), z.copy()
    c1 = kr.one_epoch_update(z1, pi, lp, row, act, adv, off, keep, cnt, 0.4, np.empty((M, K)),
                             np.empty(M))
    c2 = kr.ppo_epochs(z2, pi.copy(), lp.copy(), np.empty(M), row, act, adv, lpold, np.ones(N),
                       np.zeros(N, dtype=np.bool_), off, keep, cnt, 0.4, 1, 0.2, 0.2, 1.0,
                       np.empty((M, K)), np.empty(M), np.empty((M, K)), np.empty((M, K)),
                       np.empty((M, K)))
    np.testing.assert_allclose(z1, z2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(c1, c2, rtol=1e-9, atol=1e-15)


def test_uniform_generator_compiled_equals_python_and_is_uniform():
    s1, s2 = np.empty(4, dtype=np.uint64), np.empty(4, dtype=np.uint64)
    kr.rng_init(123, s1)
    with np.errstate(over="ignore"):
        kr.rng_init.py_func(123, s2)
        u2 = [kr.uniform.py_func(s2) for _ in range(50)]
    u1 = [kr.uniform(s1) for _ in range(50)]
    assert u1 == u2 and np.array_equal(s1, s2)
    out = np.empty(200_000)
    st = np.empty(4, dtype=np.uint64)
    kr.rng_init(7, st)
    for i in range(out.size):
        out[i] = kr.uniform(st)
    # mean 1/2 and variance 1/12 within 5 standard errors; no value outside [0, 1)
    assert abs(out.mean() - 0.5) < 5 * math.sqrt(1 / 12 / out.size)
    assert abs(out.var() - 1 / 12) < 5 * math.sqrt(1 / 180 / out.size)
    assert out.min() >= 0.0 and out.max() < 1.0


def _xoshiro256plus_reference(seed, n):
    """Pure-Python splitmix64 seeding + xoshiro256+ (Blackman & Vigna), 64-bit outputs."""
    mask = (1 << 64) - 1
    x, state = seed, []
    for _ in range(4):
        x = (x + 0x9E3779B97F4A7C15) & mask
        y = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        y = ((y ^ (y >> 27)) * 0x94D049BB133111EB) & mask
        state.append(y ^ (y >> 31))
    s0, s1, s2, s3 = state
    out = []
    for _ in range(n):
        out.append((s0 + s3) & mask)
        t = (s1 << 17) & mask
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & mask
    return state, out


def test_xoshiro256plus_known_answers():
    state = np.empty(4, dtype=np.uint64)
    kr.rng_init(0, state)
    known = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F, 0xF88BB8A8724C81EC]
    assert [int(v) for v in state] == known
    ref_state, ref_out = _xoshiro256plus_reference(0, 1000)
    assert ref_state == known
    got = [kr.uniform(state) for _ in range(1000)]
    assert got == [(v >> 11) * 2.0**-53 for v in ref_out]   # exact: 53 bits fit a double


def test_shared_update_helpers_match_py_func():
    rng = np.random.default_rng(7)
    M, K, G = 4, 3, 5
    row, off, N = np.array([0, 1, 0, 2]), np.arange(0, M * G + 1, G), M * G
    act, adv = rng.integers(0, K, N), rng.normal(size=N)
    keep, cnt = np.array([True, True, False, True]), np.array([2.0, 1.0, 1.0])
    z = rng.normal(size=(3, K))
    pi = np.exp(z - z.max(1, keepdims=True))
    pi /= pi.sum(1, keepdims=True)
    lp = np.log(pi)
    outs = []
    for acc, asc in ((kr.accumulate_groups, kr.ascend_rows),
                     (kr.accumulate_groups.py_func, kr.ascend_rows.py_func)):
        g, c, zz = np.empty((3, K)), np.empty(3), z.copy()
        acc(row, act, adv, off, keep, g, c)
        outs.append((g, c, asc(zz, pi, lp, cnt, 0.3, g, c), zz))
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    # the accumulation written directly: mean over each kept group of A_i e_{a_i}
    g_ref = np.zeros((3, K))
    for m in np.flatnonzero(keep):
        np.add.at(g_ref[row[m]], act[off[m]:off[m + 1]], adv[off[m]:off[m + 1]] / G)
    np.testing.assert_allclose(outs[0][0], g_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(outs[0][1], g_ref.sum(1), rtol=1e-13, atol=1e-15)
    # one clipped PPO epoch with masked and KL-Cov-selected tokens, compiled vs py_func
    lpold = lp[row.repeat(G), act] + rng.normal(scale=0.3, size=N)
    mask, klsel = (rng.random(N) > 0.2).astype(float), rng.random(N) < 0.3
    zs = []
    for f in (kr.inner_update, kr.inner_update.py_func):
        zz = z.copy()
        f(zz, pi, lp, row, act, adv, lpold, mask, klsel, off, keep, cnt, 0.3, 0.2, 0.25, 0.5,
          np.empty((3, K)), np.empty(3), np.empty(N))
        zs.append(zz)
    np.testing.assert_allclose(zs[0], zs[1], rtol=1e-13, atol=1e-15)
    assert not np.array_equal(zs[0], z)


@pytest.mark.parametrize("bnpo_params", [(1e6, 1.0), (1.0, 1e6)])
def test_bnpo_normalizer_overflow_raises_not_nan(bnpo_params):
    """A Beta density that underflows to 0 makes BNPO's normalizer 1/f infinite: the run must
    raise FloatingPointError naming bnpo_params, never return NaN logits (Beta(1e6, 1) at a
    group mean of 1/2 has density 1e6 * 2^-(1e6-1), far below the float64 range)."""
    prob = mk.pg.k_armed([1.0, 0.0, 0.0, 1.0])
    with pytest.raises(FloatingPointError, match="bnpo_params"):
        mk.pg.sample_dynamics(prob, eta=0.5, n_steps=20, G=8, estimator="bnpo", bnpo_params=bnpo_params, rng=0)
    with pytest.raises(FloatingPointError, match="bnpo_params"):
        mk.pg.advantages(np.array([1.0, 0.0, 0.0, 1.0]), "bnpo", bnpo_params=bnpo_params)
    with pytest.raises(FloatingPointError, match="bnpo_params"):
        mk.pg.gradient_samples(prob, estimator="bnpo", G=4, n_samples=50, bnpo_params=bnpo_params, rng=0)
    ok = mk.pg.sample_dynamics(prob, eta=0.5, n_steps=20, G=8, estimator="bnpo", bnpo_params=(2.0, 2.0), rng=0)
    assert np.isfinite(ok.z).all()
    # huge but representable: Beta(a, a) at 1/2 has density 2 sqrt(a / pi) (1 + O(1/a)) = 1.128e150
    adv = mk.pg.advantages(np.array([1.0, 0.0, 0.0, 1.0]), "bnpo", bnpo_params=(1e300, 1e300))
    np.testing.assert_allclose(adv, np.array([0.5, -0.5, -0.5, 0.5]) / (2.0 * math.sqrt(1e300 / math.pi)), rtol=1e-12)


@pytest.mark.parametrize("a", [0.3, 1.0, 2.0, 14.9, 15.1, 1e3, 1e6, 1e12, 1e300])
@pytest.mark.parametrize("b", [0.5, 3.0, 16.0, 1e9, 1e300])
def test_beta_pdf_matches_scipy_for_any_parameters(a, b):
    """BNPO's Beta density (Stirling/deviance form) against SciPy's (Boost's ibeta_derivative):
    the naive lgamma(a + b) - lgamma(a) - lgamma(b) form gives 1.0 instead of 1.13e150 at
    a = b = 1e300 and loses ~1e-3 relative at 1e12. rtol 1e-9: Boost's own error at the
    1e12 / 1e9 tail is 6e-11 (checked against 420-digit mpmath)."""
    from scipy import stats

    for x in (1e-6, 0.05, 0.3, 0.5, 0.77, 0.999, a / (a + b)):
        if not 0.0 < x < 1.0:
            continue
        try:
            want = stats.beta.pdf(x, a, b)
        except OverflowError:  # Boost refuses densities beyond float64
            continue
        if not 1e-300 < want < 1e300:
            continue
        got = kr.beta_pdf(x, a, b)
        assert got == pytest.approx(want, rel=1e-9, abs=0.0), (x, a, b)
        assert kr.beta_pdf.py_func(x, a, b) == pytest.approx(got, rel=1e-13, abs=0.0)  # libm lgamma vs CPython
