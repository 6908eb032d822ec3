"""Every compiled bandit algorithm reproduces a slow pure-Python reference pull for pull.

The references (``bandit_reference.py``) are written from the textbook descriptions and
consume ``np.random.RandomState(seed)`` in the documented order; Numba's ``np.random``
reproduces that stream, so the pull sequences must be identical. The kernels are also
checked against their own ``.py_func``.
"""
# ruff: noqa: NPY002  (jitted code uses NumPy's legacy stream, as Numba does)

import math

import numpy as np
import pytest
from bandit_reference import (
    Env,
    run_index_reference,
    run_linear_reference,
    run_weights_reference,
)
from numba import njit

import mdpkit.bandits as B
from mdpkit.bandits import _bandit_kernels as kr

MEANS = [0.7, 0.5, 0.35, 0.2]  # distinct gaps: the pulled arm is read off the regret
H = 250


def arms_from_regret(run, gaps):
    inc = np.diff(np.concatenate([np.zeros((run.n_runs, 1)), run.regret], axis=1), axis=1)
    return np.abs(inc[..., None] - np.asarray(gaps)[None, None, :]).argmin(axis=2)


def rewards_of(run):
    return np.diff(np.concatenate([np.zeros((run.n_runs, 1)), run.reward], axis=1), axis=1)


INDEX_CASES = [
    ("ucb1", B.UCB1(), [2.0], "bernoulli"),
    ("ucb1", B.UCB1(c=0.5), [0.5], "bernoulli"),
    ("ucb1", B.UCB1(), [2.0], "gaussian"),  # the general path (Bernoulli has a fast path)
    ("ucbv", B.UCBV(), [1.2, 1.0, 1.0], "beta"),
    ("klucb", B.KLUCB(), [0.0], "bernoulli"),
    ("klucb", B.KLUCB(c=3.0), [3.0], "beta"),
    ("klucb_gauss", B.KLUCB(kind="gaussian", sigma=0.5), [0.0, 0.5], "gaussian"),
    ("moss", B.MOSS(), [], "bernoulli"),
    ("se", B.SuccessiveElimination(), [], "bernoulli"),
    ("etc", B.ExploreThenCommit(m=7), [7], "bernoulli"),
    ("eps", B.EpsilonGreedy(0.2), [0.2], "bernoulli"),
    ("eps_decay", B.DecayingEpsilonGreedy(c=0.7), [0.7], "gaussian"),
    ("ts_beta", B.ThompsonSampling(), [1.0, 1.0], "bernoulli"),
    ("ts_beta", B.ThompsonSampling(prior=(0.5, 0.5)), [0.5, 0.5], "beta"),
    ("ts_gauss", B.GaussianThompsonSampling(sigma=0.5), [0.5], "gaussian"),
]


def make_env(kind):
    if kind == "bernoulli":
        return B.BernoulliBandit(MEANS), Env("bernoulli", MEANS)
    if kind == "gaussian":
        sig = [0.3, 0.5, 0.2, 0.4]
        return B.GaussianBandit(MEANS, sigma=sig), Env("gaussian", MEANS, sig)
    a = np.array([3.5, 2.0, 0.7, 1.0])
    b = a * (1 - np.array(MEANS)) / np.array(MEANS)
    return B.BetaBandit(a, b), Env("beta", a, b)


@pytest.mark.parametrize("name,algo,prm,env_kind", INDEX_CASES,
                         ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(INDEX_CASES)])
def test_index_policy_matches_reference(name, algo, prm, env_kind, monkeypatch):
    from mdpkit.bandits import _simulate

    # the general kernels; the Bernoulli fast paths are tested below (UCB1's gives the
    # same pulls, Thompson sampling's the same law from another stream)
    monkeypatch.setattr(_simulate, "_bernoulli_fast_path", lambda *args: None)
    env, ref_env = make_env(env_kind)
    run = B.simulate(env, algo, horizon=H, n_runs=2, rng=11, checkpoints="all")
    arms = arms_from_regret(run, env.gaps)
    for r in range(run.n_runs):
        ref_arms, ref_rewards = run_index_reference(name, prm, ref_env, len(MEANS), H,
                                                    int(run.seeds[r]))
        assert arms[r].tolist() == ref_arms
        np.testing.assert_allclose(rewards_of(run)[r], ref_rewards, rtol=0, atol=1e-9)


def test_successive_elimination_eliminates():
    env = B.BernoulliBandit([0.9, 0.1])
    run = B.simulate(env, B.SuccessiveElimination(), horizon=2000, n_runs=2, rng=0)
    assert np.all(run.pulls[:, 1] < 200)


TABLE = np.random.default_rng(5).random((H, 4))


@pytest.mark.parametrize("name,algo,prm", [
    ("exp3", B.EXP3(gamma=0.3), [0.3]),
    ("exp3", B.EXP3(), None),
])
def test_exp3_matches_reference_on_a_table(name, algo, prm):
    env = B.AdversarialBandit(TABLE)
    run = B.simulate(env, algo, horizon=H, n_runs=2, rng=3, checkpoints="all")
    prm = prm or [B.EXP3.tuned_gamma(4, H)]
    for r in range(run.n_runs):
        ref_arms, ref_rewards = run_weights_reference(name, prm, Env("table", TABLE), 4, H,
                                                      int(run.seeds[r]))
        np.testing.assert_allclose(rewards_of(run)[r], ref_rewards, rtol=0, atol=1e-12)
        assert np.bincount(ref_arms, minlength=4).tolist() == run.pulls[r].tolist()


@pytest.mark.parametrize("name,algo,prm,log_ref", [
    ("hedge", B.Hedge(eta=0.3), [0.3], None),
    ("rm", B.RegretMatching(), [0.0], None),
    ("pg", B.SoftmaxPolicyGradient(eta=0.5, baseline=False), [0.5, 0, 0, 0.0], np.log([0.25] * 4)),
    ("pg", B.SoftmaxPolicyGradient(eta=0.5, beta=0.2, pi_ref=[0.1, 0.2, 0.3, 0.4]),
     [0.5, 1, 0, 0.2], np.log([0.1, 0.2, 0.3, 0.4])),
    ("pg", B.SoftmaxPolicyGradient(eta=0.05, natural=True, beta=0.1), [0.05, 1, 1, 0.1],
     np.log([0.25] * 4)),
])
def test_weights_family_matches_reference(name, algo, prm, log_ref):
    env, ref_env = make_env("bernoulli")
    run = B.simulate(env, algo, horizon=H, n_runs=2, rng=5, checkpoints="all")
    arms = arms_from_regret(run, env.gaps)
    for r in range(run.n_runs):
        ref_arms, ref_rewards = run_weights_reference(name, prm, ref_env, 4, H, int(run.seeds[r]),
                                                      log_ref=log_ref)
        assert arms[r].tolist() == ref_arms
        np.testing.assert_allclose(rewards_of(run)[r], ref_rewards, atol=1e-12)


@pytest.mark.parametrize("name,algo,prm", [
    ("linucb", B.LinUCB(alpha=0.8, ridge=2.0), [2.0, 0.8, 0, 0]),
    ("oful", B.OFUL(delta=0.1, ridge=1.0, S=1.5), [1.0, 0, math.log(10), 1.5]),
    ("lints", B.LinearThompsonSampling(v=0.5), [1.0, 0.5, 0, 0]),
])
@pytest.mark.parametrize("action_set", ["fixed", "sphere", "gaussian"])
def test_linear_family_matches_reference(name, algo, prm, action_set):
    if action_set == "sphere" and name != "lints":
        # On the sphere every action has the same optimistic index at t = 0 (theta_hat = 0,
        # ||x|| = 1): an exact tie that rounding breaks differently in the two codes.
        pytest.skip("exact ties at t = 0 for optimistic indices on the unit sphere")
    theta = np.array([0.6, -0.3, 0.2])
    X = np.random.default_rng(2).normal(size=(5, 3))
    if action_set == "fixed":
        env = B.LinearBandit(theta, X, sigma=0.3)
    else:
        env = B.LinearBandit(theta, action_set=action_set, n_actions=5, sigma=0.3)
    h = 120
    run = B.simulate(env, algo, horizon=h, n_runs=2, rng=9, checkpoints="all")
    gaps_run = np.diff(np.concatenate([np.zeros((2, 1)), run.regret], axis=1), axis=1)
    for r in range(run.n_runs):
        ref_arms, ref_gaps = run_linear_reference(name, prm, theta, X, action_set, 0.3, h,
                                                  int(run.seeds[r]))
        assert np.bincount(ref_arms, minlength=5).tolist() == run.pulls[r].tolist()
        np.testing.assert_allclose(gaps_run[r], ref_gaps, atol=1e-9)


# ----------------------------------------------------------------- kernels vs .py_func
@pytest.fixture
def pure_python(monkeypatch):
    """Replace every Numba dispatcher of the kernel module by its Python function.

    Tests compile what they compare against *before* the first call of ``patch()``.
    """
    from mdpkit.bandits import _rng_kernels

    def patch():
        for mod in (kr, _rng_kernels):
            for k, v in list(vars(mod).items()):
                if hasattr(v, "py_func"):
                    monkeypatch.setattr(mod, k, v.py_func)
        return kr

    with np.errstate(over="ignore"):  # xoshiro256** and splitmix64 wrap modulo 2^64
        yield patch


def _index_args(code, prm, env, h, ck):
    kind, p1, p2 = env._kernel_spec()
    return (code, np.asarray(prm, float), kind, p1, p2, np.zeros((1, 1)), np.array(env.gaps),
            np.zeros(ck.size), h, ck)


@pytest.mark.parametrize("code,prm", [(kr.UCB1, [2.0]), (kr.KLUCB_BERNOULLI, [0.0]),
                                      (kr.UCBV, [1.2, 1.0, 1.0]), (kr.MOSS, [0.0]),
                                      (kr.TS_BETA, [1.0, 1.0]), (kr.SUCCESSIVE_ELIMINATION, [0.0])])
@pytest.mark.parametrize("bernoulli", [False, True])
def test_run_index_equals_py_func(code, prm, bernoulli, pure_python):
    env = B.BernoulliBandit([0.6, 0.5, 0.55]) if bernoulli else B.BetaBandit([2.0, 1.0, 3.0], [1.0, 1.0, 2.0])
    ck = np.array([1, 5, 50, 80], dtype=np.int64)
    outs = []
    for fn in (RUN_INDEX, "py"):
        fn = pure_python().run_index if fn == "py" else fn
        reg, rew, pulls = np.zeros(ck.size), np.zeros(ck.size), np.zeros(3)
        fn(*_index_args(code, prm, env, 80, ck), 1234, reg, rew, pulls)
        outs.append((reg, rew, pulls))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_klucb_index_equals_py_func_and_solves_the_kl_equation():
    from mdpkit.theory import bernoulli_kl

    for p, d, hint in [(0.0, 0.3, -1.0), (0.4, 0.05, -1.0), (0.4, 0.05, 0.5), (0.97, 2.0, 0.99),
                       (0.5, 1e-9, -1.0), (0.999, 40.0, -1.0)]:
        q = kr.klucb_bernoulli_index(p, d, hint)
        assert q == pytest.approx(kr.klucb_bernoulli_index.py_func(p, d, hint), abs=1e-15)
        if q < 1.0:
            assert float(bernoulli_kl(p, q)) == pytest.approx(d, rel=1e-9, abs=1e-12)


RUN_INDEX = kr.run_index
RUN_WEIGHTS = kr.run_weights
RUN_LINEAR = kr.run_linear
RUN_GAME = kr.run_game


@pytest.mark.parametrize("code,prm", [(kr.EXP3, [0.2, 0, 0, 0]), (kr.HEDGE, [0.3, 0, 0, 0]),
                                      (kr.SOFTMAX_PG, [0.3, 1, 1, 0.1])])
def test_run_weights_equals_py_func(code, prm, pure_python):
    env = B.BernoulliBandit([0.6, 0.4, 0.5])
    ck = np.array([3, 40], dtype=np.int64)
    outs = []
    for fn in (RUN_WEIGHTS, "py"):
        fn = pure_python().run_weights if fn == "py" else fn
        reg, rew, pulls = np.zeros(2), np.zeros(2), np.zeros(3)
        kind, p1, p2 = env._kernel_spec()
        fn(code, np.asarray(prm, float), np.log(np.full(3, 1 / 3)), kind, p1, p2, np.zeros((1, 1)),
           np.array(env.gaps), np.zeros(2), 40, ck, 77, reg, rew, pulls)
        outs.append((reg, rew, pulls))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_run_linear_and_game_equal_py_func(pure_python):
    ck = np.array([2, 30], dtype=np.int64)
    theta = np.array([0.5, 0.1])
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.6]])
    bufs_c = [np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2)]
    A = np.array([[0.0, 1.0], [1.0, 0.3]])
    RUN_GAME(A, kr.HEDGE, kr.REGRET_MATCHING, 0.3, 0.0, True, 30, ck, 8, *bufs_c)
    outs = []
    for fn in (RUN_LINEAR, "py"):
        fn = pure_python().run_linear if fn == "py" else fn
        reg, rew, pulls = np.zeros(2), np.zeros(2), np.zeros(3)
        fn(kr.LINTS, np.array([1.0, 0.5, 0.0, 0.0]), theta, X, kr.ACTIONS_FIXED, 0.2, 30, ck, 5,
           reg, rew, pulls)
        outs.append((reg, rew, pulls))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    bufs = [np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2)]
    kr.run_game(A, kr.HEDGE, kr.REGRET_MATCHING, 0.3, 0.0, True, 30, ck, 8, *bufs)
    for a, b in zip(bufs_c, bufs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@njit(cache=True)
def _beta_seeded(seed, a, b):
    np.random.seed(seed)
    return kr.beta_variate(a, b)


def test_beta_variate_equals_py_func(pure_python):
    cases = [(2.0, 3.0), (0.3, 5.0), (1.0, 0.2), (1.0, 3.0), (7.0, 2.5)]
    compiled = [_beta_seeded(4, a, b) for a, b in cases]
    py = pure_python()
    for (a, b), c in zip(cases, compiled):
        np.random.seed(4)
        assert py.beta_variate(a, b) == pytest.approx(c, rel=1e-12)  # on NumPy's RandomState


def test_beta_variate_distribution():
    """Kolmogorov-Smirnov against scipy's Beta law, including shapes below 1."""
    from scipy import stats

    for a, b in [(2.0, 3.0), (0.3, 5.0), (50.0, 0.7), (1.0, 4.0), (1.5, 1.2), (400.0, 30.0),
                 (3.0, 1.0)]:
        draws = _beta_many(7, a, b, 4000)
        assert stats.kstest(draws, stats.beta(a, b).cdf).pvalue > 1e-3



@njit(cache=True)
def _beta_many(seed, a, b, n):
    np.random.seed(seed)
    out = np.empty(n)
    for i in range(n):
        out[i] = kr.beta_variate(a, b)
    return out


# ----------------------------------------------------------------- run-owned stream, fast paths
from mdpkit.bandits import _rng_kernels as rk  # noqa: E402


@njit(cache=True)
def _mt_draws(seed, n):
    rng = rk.mt_state(seed)
    out = np.empty(n)
    for i in range(n):
        out[i] = rk.standard_normal(rng) if i % 3 == 0 else rk.uniform(rng)
    return out


def test_run_owned_stream_is_numpys_legacy_stream():
    """Doubles and polar normals (with the cached pair) of ``_rng_kernels`` are RandomState's,
    across several 312-double blocks; the Python function gives the same."""
    for seed in (0, 1234, 2**32 - 1):
        rs = np.random.RandomState(seed)
        expect = [rs.standard_normal() if i % 3 == 0 else rs.random_sample() for i in range(2000)]
        assert _mt_draws(seed, 2000).tolist() == expect
    assert _mt_draws.py_func(7, 400).tolist() == _mt_draws(7, 400).tolist()


def _fast_and_general(run_fast, head, code, prm, means, h, ck, seed):
    env = B.BernoulliBandit(means)
    out = []
    for fn, args in ((run_fast, head), (RUN_INDEX, _index_args(code, prm, env, h, ck)[:-2])):
        reg, rew, pulls = np.zeros(ck.size), np.zeros(ck.size), np.zeros(len(means))
        fn(*args, h, ck, seed, reg, rew, pulls)
        out.append((reg, rew, pulls))
    return out


@pytest.mark.parametrize("table_size", [1, 60, 2000])
def test_ucb1_fast_path_is_the_general_run(table_size):
    """Bit for bit the general index kernel (tables smaller than the horizon included)."""
    means = np.array([0.6, 0.5, 0.55, 0.3])
    ck = np.array([1, 7, 311, 312, 313, 900, 1500], dtype=np.int64)
    ct, isq = kr.ucb1_tables(2.0, table_size)
    head = (2.0, ct, isq, means, np.max(means) - means)
    fast, general = _fast_and_general(kr.run_ucb1_bernoulli, head, kr.UCB1, [2.0], means, 1500, ck, 99)
    for a, b in zip(fast, general):
        assert a.tolist() == b.tolist()


@pytest.mark.parametrize("prior", [(1.0, 1.0), (0.5, 0.5), (2.5, 1.5)])
def test_thompson_fast_path_has_the_general_runs_law(prior):
    """Same law as the general TS_BETA run (NumPy's stream, Cheng's BB): mean pulls of every
    arm and final regret within 4.5 standard errors (two-sided level 7e-6 per statistic)."""
    means = np.array([0.6, 0.5, 0.1, 0.3])
    gaps = np.max(means) - means
    h, n = 600, 800  # long enough for the lazy draw's splits to act
    ck = np.array([h], dtype=np.int64)
    stats = []
    for kernel, head in ((kr.simulate_ts_bernoulli, (prior[0], prior[1], means, gaps)),
                         (kr.simulate_index, _index_args(kr.TS_BETA, list(prior),
                                                         B.BernoulliBandit(means), h, ck)[:-2])):
        reg, rew, pulls = np.zeros((n, 1)), np.zeros((n, 1)), np.zeros((n, means.size))
        kernel(*head, h, ck, np.arange(n, dtype=np.int64) + 10**6, reg, rew, pulls)
        stats.append(np.column_stack([pulls, reg]))
    fast, general = stats
    assert np.all(fast[:, :4].sum(axis=1) == h)
    se = np.sqrt(fast.var(axis=0, ddof=1) / n + general.var(axis=0, ddof=1) / n)
    z = (fast.mean(axis=0) - general.mean(axis=0)) / se
    assert np.all(np.abs(z) < 4.5), z


@njit(cache=True)
def _ts_choice_counts(pa, pb, lead, seed, n):
    cst = np.zeros((pa.size, 10))
    for k in range(pa.size):
        kr.ts_set_arm(pa, pb, cst, k, pa[k], pb[k])
    st = kr.xo_seed(seed)
    counts = np.zeros(pa.size)
    for _ in range(n):
        a, st = kr.ts_choose(pa, pb, cst, lead, st)
        counts[a] += 1.0
    return counts


@pytest.mark.parametrize("shapes,lead", [
    ([(3.0, 5.0), (4.0, 4.0), (1.0, 1.0), (0.5, 0.7), (30.0, 20.0)], 0),
    ([(900.0, 100.0), (85.0, 15.0), (60.0, 15.0), (2.0, 1.0), (1.0, 3.0)], 0),
    ([(900.0, 100.0), (85.0, 15.0), (60.0, 15.0), (2.0, 1.0), (1.0, 3.0)], 2),
    ([(40.0, 8.0), (30.0, 9.0), (20.0, 12.0), (5.0, 9.0)], 0),
])
def test_thompson_choice_has_the_exact_law(shapes, lead):
    """One step's arm frequencies against P(argmax = k) = int f_k prod_{j != k} F_j
    (scipy quadrature): chi-square test at level 1e-4. The lazy draw (splits, skipped
    arms, upper-side draws) must not change the law, whichever arm is drawn first."""
    from scipy import integrate
    from scipy import stats as st

    pa, pb = (np.array(v) for v in zip(*shapes))
    laws = [st.beta(a, b) for a, b in shapes]

    def p_best(k):
        def f(x):
            return laws[k].pdf(x) * np.prod([laws[j].cdf(x) for j in range(len(laws)) if j != k])
        return integrate.quad(f, 0.0, 1.0, limit=400, epsabs=1e-12, points=[0.8, 0.9])[0]

    p = np.array([p_best(k) for k in range(len(shapes))])
    assert p.sum() == pytest.approx(1.0, abs=1e-7)
    n = 200_000
    counts = _ts_choice_counts(pa, pb, lead, 3, n)
    keep = p * n > 5
    chi2 = np.sum((counts[keep] - n * p[keep]) ** 2 / (n * p[keep]))
    assert st.chi2.sf(chi2, keep.sum() - 1) > 1e-4
    assert counts[~keep].sum() <= max(5 * n * p[~keep].sum(), 10)


@njit(cache=True)
def _xo_variates(kind, a, b, seed, n):
    st = rk.xo_seed(seed)
    out = np.empty(n)
    da, ca = kr.gamma_consts(a)
    db, cb = kr.gamma_consts(b)
    for i in range(n):
        if kind == 0:
            out[i], st = rk.xo_normal(st)
        elif kind == 1:
            out[i], st = kr.gamma_xo(da, ca, st)
        else:
            out[i], st = kr.beta_xo(a, b, da, ca, db, cb, st)
    return out


def test_ziggurat_normal_distribution():
    """KS against N(0, 1), and on the tails |x| > 3 (the tail sampler beyond R = 3.654)
    against the truncated normal; level 1e-3."""
    from scipy import stats

    x = _xo_variates(0, 1.0, 1.0, 5, 1_000_000)
    assert stats.kstest(x, stats.norm.cdf).pvalue > 1e-3
    tail = np.abs(x[np.abs(x) > 3.0])
    assert stats.kstest(tail, stats.truncnorm(3.0, np.inf).cdf).pvalue > 1e-3
    assert stats.binomtest(int(np.sum(x > 0)), x.size).pvalue > 1e-3  # the sign bit


def test_ziggurat_tables():
    """Equal-area layers closing at f = 1; R agrees with Marsaglia and Tsang's (2000) value."""
    x, f = rk.ZIG_X, rk.ZIG_F
    assert x[1] == pytest.approx(3.6541528853610088, rel=1e-14)
    v = x[0] * f[1]
    tail = np.sqrt(np.pi / 2) * math.erfc(x[1] / np.sqrt(2))
    assert v == pytest.approx(x[1] * f[1] + tail, rel=1e-14)
    areas = x[1:-1] * np.diff(f[1:])
    np.testing.assert_allclose(areas, v, rtol=1e-12)
    assert x[-1] == 0.0 and f[-1] == 1.0 and np.all(np.diff(x[1:]) < 0)


@pytest.mark.parametrize("a,b", [(1.0, 1.0), (2.0, 3.0), (0.3, 5.0), (50.0, 0.7), (1.0, 4.0),
                                 (1.5, 1.2), (400.0, 30.0), (0.2, 0.4), (18000.0, 2000.0)])
def test_xo_beta_and_gamma_distribution(a, b):
    """KS of the fast path's Beta and Gamma samplers against scipy, level 1e-3."""
    from scipy import stats

    assert stats.kstest(_xo_variates(2, a, b, 7, 40_000), stats.beta(a, b).cdf).pvalue > 1e-3
    k = max(a, 1.0)  # gamma_xo draws Gamma(k) for k >= 1 (the boost covers k < 1 in beta_xo)
    assert stats.kstest(_xo_variates(1, k, k, 8, 40_000), stats.gamma(k).cdf).pvalue > 1e-3


def test_beta_sf_is_scipys():
    """The continued fraction against scipy.special.betainc (relative 1e-9; the lgamma
    prefactor loses ~1e-11 at a + b = 2e4), and -1 outside its range."""
    from scipy import special

    for a, b, z in [(2.0, 3.0, 1.0), (18000.0, 2000.0, 3.0), (5.0, 200.0, 2.0), (1.0, 40.0, 2.0),
                    (85.0, 15.0, 2.0), (1.0, 1.0, 0.5), (3.0, 1.0, 0.1), (400.0, 30.0, 8.0)]:
        n = a + b
        q = min(a / n + z * math.sqrt(a * b / (n * n * (n + 1))), 0.999)
        got = kr.beta_sf(a, b, q)
        assert got == pytest.approx(special.betainc(b, a, 1.0 - q), rel=1e-9)
        assert got == pytest.approx(kr.beta_sf.py_func(a, b, q), rel=1e-13)
    assert kr.beta_sf(5.0, 5.0, 0.3) == -1.0  # left of the mean: the fraction is not used


@njit(cache=True)
def _tail_draws(a, b, q_min, seed, n):
    q, plo, slope, hq, em = kr.ts_threshold(a, b, q_min)
    st = rk.xo_seed(seed)
    out = np.empty(n)
    for i in range(n):
        out[i], st = kr.beta_tail_xo(a, b, q, slope, hq, em, st)
    return q, plo, out


@pytest.mark.parametrize("a,b,q_min", [(85.0, 15.0, 0.0), (1.0, 3.0, 0.0), (1.0, 5.0, 0.6),
                                       (18000.0, 2000.0, 0.0), (7.0, 7.0, 0.9), (2.0, 30.0, 0.0)])
def test_ts_split_and_upper_side(a, b, q_min):
    """The split's P(X <= q) is scipy's; the upper-side sampler's draws follow the Beta
    law conditioned on X > q (KS against (F(x) - F(q)) / (1 - F(q)), level 1e-3)."""
    from scipy import stats

    q, plo, draws = _tail_draws(a, b, q_min, 4, 20_000)
    law = stats.beta(a, b)
    assert plo == pytest.approx(law.cdf(q), rel=1e-12, abs=1e-12)
    assert np.all(draws > q)
    assert stats.kstest(draws, lambda x: (law.cdf(x) - law.cdf(q)) / law.sf(q)).pvalue > 1e-3
    assert kr.ts_threshold(0.5, 3.0, 0.0)[1] == -1.0  # h not concave: no split
    assert kr.ts_threshold(3.0, 3.0, 1.0)[1] == -1.0  # q >= 1: no split
    assert kr.ts_threshold(3.0, 1.0, 0.0)[1] == -1.0  # mode at 1, left of q: no split


def test_xoshiro_is_the_reference_generator(pure_python):
    """splitmix64 seeding (its published first output for seed 0) and xoshiro256** outputs,
    against a plain-integer implementation of the authors' definition."""
    mask = (1 << 64) - 1

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & mask

    def reference(seed, n):
        z, s = seed, []
        for _ in range(4):
            z = (z + 0x9E3779B97F4A7C15) & mask
            y = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
            y = ((y ^ (y >> 27)) * 0x94D049BB133111EB) & mask
            s.append(y ^ (y >> 31))
        out = []
        for _ in range(n):
            out.append((rotl((s[1] * 5) & mask, 7) * 9) & mask)
            t = (s[1] << 17) & mask
            s[2] ^= s[0]
            s[3] ^= s[1]
            s[1] ^= s[2]
            s[0] ^= s[3]
            s[2] ^= t
            s[3] = rotl(s[3], 45)
        return out

    assert int(rk.xo_seed(0)[0]) == 0xE220A8397B1DCDAF
    for seed in (0, 12345, 2**32 - 1):
        assert _xo_words(seed, 50).tolist() == reference(seed, 50)
    compiled = [_xo_variates(kind, 2.5, 0.5, 9, 300) for kind in range(3)]
    tail = _tail_draws(85.0, 15.0, 0.0, 9, 50)
    pure_python()
    assert [int(w) for w in _xo_words.py_func(9, 20)] == reference(9, 20)
    for kind in range(3):  # normal, gamma, beta (a shape below 1: the boost)
        np.testing.assert_allclose(_xo_variates.py_func(kind, 2.5, 0.5, 9, 300), compiled[kind],
                                   rtol=1e-12)
    np.testing.assert_allclose(_tail_draws.py_func(85.0, 15.0, 0.0, 9, 50)[2], tail[2], rtol=1e-12)


@njit(cache=True)
def _xo_words(seed, n):
    st = rk.xo_seed(seed)
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i], st = rk.xo_next(st)
    return out


def test_fast_paths_equal_py_func(pure_python):
    means = np.array([0.6, 0.5, 0.55])
    gaps = np.max(means) - means
    ck = np.array([2, 40, 330], dtype=np.int64)
    ct, isq = kr.ucb1_tables(2.0, 100)
    cases = [("run_ucb1_bernoulli", (2.0, ct, isq, means, gaps)),
             ("run_ts_bernoulli", (1.0, 1.0, means, gaps))]
    compiled = [getattr(kr, name) for name, _ in cases]  # before patching
    outs = []
    for fn, (name, head) in [(c, case) for case, c in zip(cases, compiled)] + \
            [("py", case) for case in cases]:
        fn = getattr(pure_python(), name) if fn == "py" else fn
        reg, rew, pulls = np.zeros(3), np.zeros(3), np.zeros(3)
        fn(*head, 330, ck, 21, reg, rew, pulls)
        outs.append((reg.tolist(), rew.tolist(), pulls.tolist()))
    assert outs[0] == outs[2] and outs[1] == outs[3]
