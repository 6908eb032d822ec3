"""Proxy models, exact gold-reward curves, fits and mitigations (mdpkit.reward_hacking)."""

import itertools
import math

import numpy as np
import pytest
from scipy.special import expit, logsumexp

import mdpkit as mk
from mdpkit import bon
from mdpkit import reward_hacking as rh
from mdpkit.divergences import KL, ChiSquare
from mdpkit.reward_hacking import _hacking_kernels as HK


def _small_law():
    p = np.array([0.1, 0.3, 0.2, 0.25, 0.15])
    proxy = np.array([0.0, 1.0, 1.0, 2.0, 3.0])
    gold = np.array([0.5, -1.0, 2.0, 1.0, -0.5])
    return rh.JointLaw(p, gold, proxy)


# ------------------------------------------------------------------ proxy models
def test_noise_grid_is_standardized_and_symmetric():
    for noise, df in (("gaussian", None), ("student_t", 3.0)):
        z = rh.noise_grid(33, noise=noise, df=df)
        assert abs(z.mean()) < 1e-15 and abs(np.mean(z**2) - 1) < 1e-14
        np.testing.assert_allclose(z, -z[::-1], atol=1e-14)
    # heavier tails: the t grid's largest atom exceeds the Gaussian's
    assert rh.noise_grid(200, noise="student_t", df=3.0)[-1] > rh.noise_grid(200)[-1]


def test_correlated_proxy_has_the_exact_correlation():
    for corr in (-1.0, -0.3, 0.0, 0.6, 1.0):
        law = rh.correlated_proxy(corr, sigma_gold=2.0, sigma_proxy=0.5, n_grid=10)
        assert law.correlation == pytest.approx(corr, abs=1e-12)
        assert law.gold_std == pytest.approx(2.0, rel=1e-12)
        assert law.proxy_std == pytest.approx(0.5, rel=1e-12)


def test_additive_noise_correlation_is_one_over_sqrt_one_plus_sigma2():
    for sigma in (0.5, 2.0):
        law = rh.additive_noise(sigma, n_grid=12)
        assert law.correlation == pytest.approx(1 / math.sqrt(1 + sigma**2), abs=1e-12)
    law = rh.additive_noise(1.0, gold=[0.0, 1.0], gold_probs=[0.25, 0.75], n_grid=4)
    assert law.n_atoms == 8 and law.gold_mean == pytest.approx(0.75)


def test_tail_proxy_is_right_on_the_bulk():
    law = rh.tail_proxy(tail_mass=0.01, tail_proxy=[5.0, 6.0], tail_gold=-1.0, n_grid=10)
    np.testing.assert_array_equal(law.proxy[:10], law.gold[:10])
    assert law.probs[10:].sum() == pytest.approx(0.01)
    np.testing.assert_array_equal(law.gold[10:], [-1.0, -1.0])


def test_ensemble_members_share_the_shared_error():
    ens = rh.ensemble_proxy(3, sigma_shared=0.7, sigma_independent=0.0, n_gold=4, n_shared=3,
                            n_independent=2)
    np.testing.assert_allclose(ens.members[0], ens.members[2])
    ens = rh.ensemble_proxy(2, sigma_shared=0.0, sigma_independent=1.0, n_gold=4, n_shared=2,
                            n_independent=3)
    e = ens.members - ens.gold
    p = ens.probs
    assert float(p @ (e[0] * e[1])) == pytest.approx(0.0, abs=1e-14)   # independent errors
    assert float(p @ e[0] ** 2) == pytest.approx(1.0, rel=1e-12)


# ------------------------------------------------------------------ exact curves
def _enumerated_bon_gold(p, proxy, gold, n):
    acc = 0.0
    for tup in itertools.product(range(len(p)), repeat=n):
        vals = proxy[list(tup)]
        win = [y for y, v in zip(tup, vals) if v == vals.max()]
        acc += float(np.prod(p[list(tup)])) * float(np.mean(gold[win]))
    return acc


def test_bon_gold_curve_matches_enumeration_and_bon_laws():
    law = _small_law()
    c = rh.gold_reward_curve(law, "best_of_n", n=[1, 2, 3, 4])
    for i, n in enumerate([1, 2, 3, 4]):
        assert c.gold[i] == pytest.approx(_enumerated_bon_gold(law.probs, law.proxy, law.gold, n), abs=1e-14)
        ref = bon.Discrete(law.probs, law.proxy)
        q = bon.best_of_n(ref, n)
        assert c.kl[i] == pytest.approx(bon.kl(q, ref), abs=1e-14)
        assert c.proxy[i] == pytest.approx(bon.expected_reward(q), abs=1e-14)
    assert c.gold[0] == pytest.approx(law.gold_mean) and abs(c.kl[0]) < 1e-15


def test_tilted_gold_curve_matches_numpy_softmax():
    law = rh.additive_noise(1.0, noise="student_t", df=3.0, n_grid=20)
    betas = np.array([0.05, 0.3, 1.0, 10.0])
    c = rh.gold_reward_curve(law, "tilted", beta=betas)
    for i, b in enumerate(betas):
        a = np.log(law.probs) + law.proxy / b
        lq = a - logsumexp(a)
        q = np.exp(lq)
        assert c.kl[i] == pytest.approx(float(q @ (lq - np.log(law.probs))), rel=1e-11, abs=1e-14)
        assert c.gold[i] == pytest.approx(float(q @ law.gold), rel=1e-11, abs=1e-14)


def test_default_tilted_grid_reaches_kl_max_and_starts_at_the_reference():
    law = rh.correlated_proxy(0.5, n_grid=16)
    c = rh.gold_reward_curve(law, "tilted", kl_max=2.0, n_points=25)
    assert c.kl[0] == 0.0 and np.isinf(c.param[0]) and c.kl[-1] == pytest.approx(2.0, rel=1e-9)
    assert np.all(np.diff(c.kl) > 0)
    np.testing.assert_allclose(c.d, np.sqrt(c.kl))


def test_regularized_kl_equals_the_tilt_and_chi2_matches_its_closed_form():
    law = rh.additive_noise(0.7, n_grid=10)
    betas = np.array([0.2, 1.0, 5.0])
    a = rh.gold_reward_curve(law, "regularized", div=KL(), beta=betas)
    b = rh.gold_reward_curve(law, "tilted", beta=betas)
    np.testing.assert_allclose(a.gold, b.gold, atol=1e-12)
    np.testing.assert_allclose(a.kl, b.kl, atol=1e-12)
    # chi-square: pi = p (1 + (r - nu)/(2 beta))_+, nu by bisection (an independent route)
    c = rh.gold_reward_curve(law, "regularized", div=ChiSquare(), beta=[0.5])
    p, r = law.probs, law.proxy
    lo, hi = r.min() - 10, r.max() + 10
    for _ in range(200):
        nu = 0.5 * (lo + hi)
        s = np.sum(p * np.maximum(1 + (r - nu), 0))
        lo, hi = (nu, hi) if s > 1 else (lo, nu)
    pi = p * np.maximum(1 + (r - nu), 0)
    assert c.gold[0] == pytest.approx(float(pi @ law.gold), abs=1e-9)


def test_monte_carlo_agrees_with_the_exact_curves():
    law = rh.additive_noise(1.0, noise="student_t", df=3.0, n_grid=16)
    for method, param in (("best_of_n", 8), ("tilted", 0.5)):
        exact = rh.gold_reward_curve(law, method, **({"n": [param]} if method == "best_of_n" else {"beta": [param]})).gold[0]
        est = rh.monte_carlo_gold(law, method, param, 40_000, rng=3)
        assert est.agrees(float(exact), z=4.0)


def test_monte_carlo_is_deterministic_under_a_seed():
    law = _small_law()
    a = rh.monte_carlo_gold(law, "best_of_n", 4, 1000, rng=np.random.SeedSequence(5))
    b = rh.monte_carlo_gold(law, "best_of_n", 4, 1000, rng=np.random.SeedSequence(5))
    assert a == b


def test_gaussian_first_order_slope():
    """d gold / d sqrt(KL) -> sqrt(2) Cov(g, r)/sd(r) as KL -> 0 (Taylor expansion of the tilt)."""
    law = rh.correlated_proxy(0.4, sigma_gold=1.5, n_grid=12)
    c = rh.gold_reward_curve(law, "tilted", beta=[1e5])
    slope = (c.gold[0] - c.gold_ref) / c.d[0]
    assert slope == pytest.approx(math.sqrt(2) * 0.4 * 1.5, rel=1e-3)


def test_fit_gao_recovers_exact_forms_and_peak():
    d = np.linspace(0.05, 4, 40)
    for form, y, peak in (("bon", d * (1.2 - 0.3 * d), 2.0), ("rl", d * (0.5 - 0.25 * np.log(d)), math.exp(1.0))):
        c = rh.GoldCurve("tilted", "beta", d, d**2, y + 1.0, y, 1.0, 0.0)
        f = rh.fit_gao(c, form)
        assert f.r2 == pytest.approx(1.0, abs=1e-12) and f.d_peak == pytest.approx(peak, rel=1e-9)
        np.testing.assert_allclose(f.predict(d), y, atol=1e-10)


def test_tail_proxy_has_an_interior_peak_where_n_tail_mass_is_order_one():
    law = rh.tail_proxy(tail_mass=1e-3, tail_proxy=[8.0], tail_gold=-4.0, n_grid=40)
    c = rh.gold_reward_curve(law, "best_of_n", n_max=10**5, n_points=60)
    pk = rh.overoptimization_peak(c)
    assert pk.interior and 10 <= pk.param <= 2000
    assert c.gold[-1] < c.gold_ref          # eventually worse than the reference
    assert np.all(np.diff(c.proxy) >= -1e-12)   # while the proxy keeps rising


# ------------------------------------------------------------------ mitigations
def test_ensemble_aggregates_against_numpy():
    ens = rh.ensemble_proxy(3, sigma_shared=0.5, sigma_independent=1.0, n_gold=3, n_shared=2, n_independent=3)
    m = ens.members
    np.testing.assert_allclose(rh.mean_ensemble()(ens), m.mean(0))
    np.testing.assert_allclose(rh.min_ensemble()(ens), m.min(0))
    np.testing.assert_allclose(rh.uncertainty_weighted_ensemble(0.3)(ens), m.mean(0) - 0.3 * m.var(0))
    np.testing.assert_allclose(rh.brme_ensemble(0.25)(ens), 0.25 * m.mean(0) + 0.75 * m.min(0))
    np.testing.assert_allclose(rh.brme_ensemble(1.0)(ens), rh.mean_ensemble()(ens))


def test_par_shaping_is_a_centred_sigmoid_and_leaves_bon_unchanged():
    law = rh.additive_noise(1.0, n_grid=8)
    shaped = rh.par_shaping()(law)
    np.testing.assert_allclose(shaped, expit(law.proxy - law.probs @ law.proxy))
    a = rh.gold_reward_curve(law, "best_of_n", n=[1, 4, 32])
    b = rh.gold_reward_curve(law, "best_of_n", n=[1, 4, 32], transform=rh.par_shaping())
    np.testing.assert_allclose(a.gold, b.gold, atol=1e-14)
    ens = rh.ensemble_proxy(2, sigma_shared=0.1, sigma_independent=0.5, n_gold=3, n_shared=2, n_independent=2)
    np.testing.assert_allclose(rh.par_shaping(0.0, inner=rh.min_ensemble())(ens), expit(ens.members.min(0)))


def test_ensemble_mean_slope_follows_the_shared_variance():
    for share in (0.0, 0.5):
        ens = rh.ensemble_proxy(2, sigma_shared=math.sqrt(share), sigma_independent=math.sqrt(1 - share),
                                n_gold=6, n_shared=4, n_independent=4)
        c = rh.gold_reward_curve(ens, "tilted", transform=rh.mean_ensemble(), beta=[1e5])
        pred = math.sqrt(2) / math.sqrt(1 + share + (1 - share) / 2)
        assert (c.gold[0] - c.gold_ref) / c.d[0] == pytest.approx(pred, rel=1e-3)


# ------------------------------------------------------------------ kernels
def test_kernels_match_their_python_functions():
    rng = np.random.default_rng(0)
    lp = np.log(rng.dirichlet(np.ones(30)))
    lp[3] = -np.inf
    r, g = np.sort(rng.normal(size=30)), rng.normal(size=30)
    lams = np.array([0.0, 0.5, 3.0])
    cs = np.array([0.1, 0.1, r[-1]])
    a, b = np.empty((3, 4)), np.empty((3, 4))
    HK.tilt_moments(lp, r, g, lams, cs, a)
    HK.tilt_moments.py_func(lp, r, g, lams, cs, b)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    x, y = np.empty(3), np.empty(3)
    HK.law_moments(lp, lp, g, r, x)
    HK.law_moments.py_func(lp, lp, g, r, y)
    np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)
    assert abs(x[0]) < 1e-15


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("corr", [1.5, -1.01])
def test_correlation_outside_unit_interval_is_an_error(corr):
    with pytest.raises(ValueError, match=r"`corr` must be"):
        rh.correlated_proxy(corr)


def test_zero_variance_proxy_is_an_error():
    with pytest.raises(ValueError, match=r"`proxy` must vary"):
        rh.JointLaw([0.5, 0.5], [0.0, 1.0], [2.0, 2.0])
    with pytest.raises(ValueError, match=r"`members\[1\]` must vary"):
        rh.EnsembleLaw([0.5, 0.5], [0.0, 1.0], [[0.0, 1.0], [3.0, 3.0]])


def test_empty_ensemble_is_an_error():
    with pytest.raises(ValueError, match="ensemble size >= 1"):
        rh.EnsembleLaw([0.5, 0.5], [0.0, 1.0], np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"`n_members` must be >= 1"):
        rh.ensemble_proxy(0, sigma_shared=0.1, sigma_independent=0.1)


def test_other_bad_inputs():
    law = _small_law()
    with pytest.raises(ValueError, match=r"`probs\[:\]` must sum to 1 \(atol=1e-09\); it sums to 1.1"):
        rh.JointLaw([0.5, 0.6], [0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="`method` must be one of"):
        rh.gold_reward_curve(law, "ppo")
    with pytest.raises(ValueError, match="needs `div`"):
        rh.gold_reward_curve(law, "regularized", beta=[1.0])
    with pytest.raises(ValueError, match="`beta` must be > 0"):
        rh.gold_reward_curve(law, "tilted", beta=[0.0])
    with pytest.raises(ValueError, match="needs `transform=`"):
        rh.gold_reward_curve(rh.ensemble_proxy(1, sigma_shared=0.1, sigma_independent=0.1, n_gold=2,
                                               n_shared=2, n_independent=2))
    with pytest.raises(ValueError, match="`kl_max` must be"):
        rh.gold_reward_curve(law, "tilted", kl_max=100.0)
    with pytest.raises(ValueError, match="needs `df`"):
        rh.additive_noise(1.0, noise="student_t")
    with pytest.raises(ValueError, match="`sigma` must be > 0"):
        rh.additive_noise(0.0)
    with pytest.raises(TypeError, match="`rng` must be"):
        rh.monte_carlo_gold(law, "best_of_n", 2, 10, rng="seed")
    with pytest.raises(ValueError, match="`tail_mass` must be"):
        rh.tail_proxy(tail_mass=1.0, tail_proxy=[1.0])
    with pytest.raises(ValueError, match="at least 3 points"):
        rh.fit_gao(rh.gold_reward_curve(law, "best_of_n", n=[1, 2]))


def test_lazy_export():
    assert mk.reward_hacking.gold_reward_curve is rh.gold_reward_curve


def test_refined_peak_is_a_stationary_point_of_the_tilt_and_the_integer_argmax_of_bon():
    law = rh.tail_proxy(tail_mass=1e-3, tail_proxy=np.linspace(4.0, 6.0, 5), tail_gold=-3.0, n_grid=32)
    c = rh.gold_reward_curve(law, "tilted", kl_max=4.0, n_points=30)
    pk = c.peak(law)
    assert pk.interior and pk.gold >= c.gold.max()
    lam = 1.0 / pk.param          # d/dlam E gold = Cov(gold, proxy) under the tilt = 0 at the peak
    a = np.log(law.probs) + lam * law.proxy
    q = np.exp(a - logsumexp(a))
    cov = q @ ((law.gold - q @ law.gold) * (law.proxy - q @ law.proxy))
    assert abs(cov) < 1e-6
    cb = rh.gold_reward_curve(law, "best_of_n", n_max=2000, n_points=25)
    pb = cb.peak(law)
    ref = bon.Discrete(law.probs, law.proxy)
    i = int(np.argmax(cb.gold))
    ns = range(int(cb.param[i - 1]), int(cb.param[i + 1]) + 1)
    golds = [bon.best_of_n(ref, n).probs @ law.gold for n in ns]
    assert pb.param == list(ns)[int(np.argmax(golds))]
    assert pb.gold == pytest.approx(max(golds), abs=1e-13)


def test_kl_targets_hit_the_requested_kl():
    law = rh.additive_noise(1.0, noise="student_t", df=3.0, n_grid=16)
    ks = np.array([0.0, 0.01, 0.5, 2.0])
    c = rh.gold_reward_curve(law, "tilted", kl=ks)
    np.testing.assert_allclose(c.kl, ks, rtol=1e-9, atol=1e-14)
    grid = rh.gold_reward_curve(law, "tilted", kl_max=2.0, n_points=50)
    assert c.gold[-1] == pytest.approx(grid.gold[-1], rel=1e-9)
    with pytest.raises(ValueError, match="`kl` values must satisfy"):
        rh.gold_reward_curve(law, "tilted", kl=[100.0])
    with pytest.raises(ValueError, match="takes `n`"):
        rh.gold_reward_curve(law, "best_of_n", kl=[1.0])


def test_aggregate_rules_are_validated():
    with pytest.raises(ValueError, match="`rule` must be one of"):
        rh.EnsembleAggregate("median")
    with pytest.raises(ValueError, match="`coef` must be <= 1"):
        rh.brme_ensemble(1.5)
    with pytest.raises(ValueError, match="`coef` must be >= 0"):
        rh.uncertainty_weighted_ensemble(-0.1)
