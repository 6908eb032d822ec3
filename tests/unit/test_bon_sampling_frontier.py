"""Monte-Carlo samplers, soft best-of-N and frontiers."""

import itertools

import numpy as np
import pytest
from scipy import stats

import mdpkit as mk
from mdpkit.bon import _bon_kernels as K

P = np.array([0.1, 0.25, 0.05, 0.3, 0.2, 0.1])
R = np.array([1.0, 0.0, 1.0, 2.0, 0.0, 2.0])


@pytest.mark.parametrize("ties", ["random", "first"])
@pytest.mark.parametrize("kind", ["max", "min"])
def test_simulated_procedure_matches_exact_law(ties, kind):
    """Per-atom frequencies, reward, win rate and KL within 3 standard errors."""
    ref = mk.bon.Discrete(P, R)
    n, M = 5, 60_000
    exact = (mk.bon.best_of_n if kind == "max" else mk.bon.worst_of_n)(ref, n, ties=ties)
    y = mk.bon.sample_best_of_n(ref, n, M, rng=7, ties=ties, kind=kind)
    freq = np.bincount(y, minlength=6) / M
    se = np.sqrt(exact.probs * (1 - exact.probs) / M)
    assert np.all(np.abs(freq - exact.probs) <= 3.5 * se + 1e-12)
    est = mk.bon.mc_kl(exact, ref, y)
    assert est.agrees(mk.bon.kl(exact, ref), z=3.5)


def test_monte_carlo_estimates_agree():
    ref = mk.bon.Discrete(P, R)
    exact = mk.bon.best_of_n(ref, 8)
    mc = mk.bon.monte_carlo_best_of_n(ref, 8, 50_000, rng=3)
    assert mc.expected_reward.agrees(mk.bon.expected_reward(exact), z=3.5)
    assert mc.win_rate.agrees(mk.bon.win_rate(exact, ref), z=3.5)
    np.testing.assert_allclose(mc.level_freqs.sum(), 1.0)


def test_sampling_is_seeded():
    ref = mk.bon.Discrete(P, R)
    a = mk.bon.sample_best_of_n(ref, 4, 100, rng=5)
    b = mk.bon.sample_best_of_n(ref, 4, 100, rng=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mk.bon.sample(ref, 10, rng=1), mk.bon.sample(ref, 10, rng=1))


def test_continuous_sampling():
    ref = mk.bon.Continuous(stats.norm())
    x = mk.bon.sample_best_of_n(ref, 4, 40_000, rng=0)
    est = mk.bon.expected_reward(mk.bon.best_of_n(ref, 4))
    assert abs(x.mean() - est) <= 3.5 * x.std() / np.sqrt(x.size)
    z = mk.bon.sample(mk.bon.best_of_n(ref, 4), 40_000, rng=1)
    assert stats.ks_2samp(x, z).pvalue > 1e-3


def soft_brute(p, r, n, tau):
    q = np.zeros(len(p))
    for tup in itertools.product(range(len(p)), repeat=n):
        w = np.prod(p[list(tup)])
        e = np.exp(r[list(tup)] / tau)
        for i, y in enumerate(tup):
            q[y] += w * e[i] / e.sum()
    return q


@pytest.mark.parametrize("n,tau", [(1, 0.5), (2, 0.3), (3, 1.0), (4, 0.05), (3, 20.0)])
def test_soft_best_of_n_matches_enumeration(n, tau):
    q = mk.bon.soft_best_of_n(mk.bon.Discrete(P, R), n, tau)
    np.testing.assert_allclose(q.probs, soft_brute(P, R, n, tau), rtol=1e-11, atol=1e-15)


def test_soft_best_of_n_limits():
    ref = mk.bon.Discrete(P, R)
    lo = mk.bon.soft_best_of_n(ref, 6, 2.0 / 700)
    np.testing.assert_allclose(lo.probs, mk.bon.best_of_n(ref, 6).probs, atol=1e-12)
    hi = mk.bon.soft_best_of_n(ref, 6, 1e7)
    np.testing.assert_allclose(hi.probs, ref.probs, rtol=1e-6)


def test_soft_kernel_matches_py_func():
    lp = np.log(np.array([0.2, 0.3, 0.5]))
    lw = np.array([-2.0, -1.0, 0.0])
    t = np.arange(-10, 5, 0.5)
    o1, o2 = np.empty(3), np.empty(3)
    K.soft_bon_log_weights(lp, lw, np.log(3.0), t, 0.5, o1)
    K.soft_bon_log_weights.py_func(lp, lw, np.log(3.0), t, 0.5, o2)
    np.testing.assert_allclose(o1, o2, rtol=1e-13)


def test_frontier_curves():
    rng = np.random.default_rng(2)
    ref = mk.bon.Discrete(rng.dirichlet(np.ones(200)), rng.normal(size=200))
    fr = mk.bon.frontier(ref, methods=["best_of_n", "tilted", "soft_best_of_n"], kl_max=3.0, n_points=40)
    t, b, s = fr["tilted"], fr["best_of_n"], fr["soft_best_of_n"]
    assert t.kl[0] == 0 and t.kl[-1] == pytest.approx(3.0, rel=1e-10)
    assert np.all(np.diff(t.kl) > 0) and np.all(np.diff(t.reward) > 0)
    assert b.kl.max() <= 3.0 + 1e-9 and s.kl.max() <= 3.0 + 1e-9
    # the tilted policy is optimal at every KL of the other curves
    for c in (b, s):
        for k, r in zip(c.kl[::5], c.reward[::5]):
            assert mk.bon.expected_reward(mk.bon.tilted(ref, kl=k)) >= r - 1e-10
    assert np.all(fr.gain_fraction <= 1 + 1e-10) and np.all(fr.gain_fraction > 0.5)
    np.testing.assert_allclose(b.kl, [mk.bon.kl(mk.bon.best_of_n(ref, int(n)), ref) for n in b.param], rtol=1e-12)


def test_gain_fraction_matches_frontier():
    ref = mk.bon.Discrete(P, R)
    fr = mk.bon.frontier(ref, methods=["best_of_n"], kl_max=0.9, n_points=30)
    for n, g in zip(fr["best_of_n"].param, fr.gain_fraction):
        assert g == pytest.approx(mk.bon.bon_gain_fraction(ref, int(n)), rel=1e-10)


def test_frontier_errors():
    ref = mk.bon.Discrete(P, R)
    with pytest.raises(ValueError, match=r"`methods` entries must be one of"):
        mk.bon.frontier(ref, methods=["dpo"])
    with pytest.raises(ValueError, match=r"`kl_max` must be <= log\(1/p\(top level\)\)"):
        mk.bon.frontier(ref, kl_max=10.0)
    with pytest.raises(ValueError, match="`kl_max` must be > 0"):
        mk.bon.frontier(ref, kl_max=-1.0)
    with pytest.raises(ValueError, match="single reward level"):
        mk.bon.frontier(mk.bon.Discrete([0.5, 0.5], [1.0, 1.0]))


def test_soft_errors():
    ref = mk.bon.Discrete(P, R)
    with pytest.raises(ValueError, match="`temperature` must be >= "):
        mk.bon.soft_best_of_n(ref, 3, 1e-4)
    with pytest.raises(ValueError, match="`temperature` must be > 0"):
        mk.bon.soft_best_of_n(ref, 3, 0.0)
    with pytest.raises(ValueError, match="`n` must be >= 1"):
        mk.bon.soft_best_of_n(ref, 0, 1.0)


def test_sampling_errors():
    ref = mk.bon.Discrete(P, R)
    with pytest.raises(ValueError, match="`size` must be >= 1"):
        mk.bon.sample(ref, 0)
    with pytest.raises(ValueError, match=r"`kind` must be one of \['max', 'min'\]"):
        mk.bon.sample_best_of_n(ref, 2, 10, kind="median")
    with pytest.raises(ValueError, match="`samples` must be atom indices"):
        mk.bon.mc_kl(ref, ref, np.array([0, 9]))
    with pytest.raises(TypeError, match="`rng` must be None"):
        mk.bon.sample(ref, 3, rng="seed")


def test_monte_carlo_summary_and_frame():
    ref = mk.bon.Discrete([0.5, 0.5], [0.0, 1.0])
    mc = mk.bon.monte_carlo_best_of_n(ref, 2, 4000, rng=0)
    assert mc.summary().startswith("Monte-Carlo best-of-N (4000 trials): reward ")
    frame = mc.to_frame()
    assert frame["frequency"].sum() == pytest.approx(1.0) and frame.shape == (2, 2)
