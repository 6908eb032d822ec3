"""Exact best-of-N / worst-of-N laws, KL, win rate: brute force, limits, errors."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

import mdpkit as mk
from mdpkit.bon import _bon_kernels as K
from mdpkit.bon._laws import _max_law_from_probs, _reward_order


def brute_force(p, r, n, ties, kind="max"):
    """Enumerate all K^n draws; return the law of the selected atom."""
    p, r = np.asarray(p, float), np.asarray(r, float)
    q = np.zeros(len(p))
    for tup in itertools.product(range(len(p)), repeat=n):
        w = np.prod(p[list(tup)])
        if w == 0:
            continue
        vals = r[list(tup)]
        best = vals.max() if kind == "max" else vals.min()
        winners = [y for y, v in zip(tup, vals) if v == best]
        if ties == "first":
            q[min(winners)] += w
        else:
            for y in winners:
                q[y] += w / len(winners)
    return q


def brute_win(a, b, r):
    r = np.asarray(r, float)
    gt = (r[:, None] > r[None, :]).astype(float) + 0.5 * (r[:, None] == r[None, :])
    return float(a @ gt @ b)


P = [0.1, 0.25, 0.05, 0.3, 0.2, 0.1]
R = [1.0, 0.0, 1.0, 2.0, 0.0, 2.0]


@pytest.mark.parametrize("ties", ["random", "first"])
@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_order_statistic_law_matches_enumeration(ties, kind, n):
    ref = mk.bon.Discrete(P, R)
    f = mk.bon.best_of_n if kind == "max" else mk.bon.worst_of_n
    law = f(ref, n, ties=ties)
    np.testing.assert_allclose(law.probs, brute_force(P, R, n, ties, kind), atol=1e-15)
    assert law.same_atoms(ref) and law.n_atoms == ref.n_atoms


@pytest.mark.parametrize("n", [1, 2, 5])
def test_kl_and_win_rate_match_enumeration(n):
    ref = mk.bon.Discrete(P, R)
    for ties in ("random", "first"):
        law = mk.bon.best_of_n(ref, n, ties=ties)
        q = brute_force(P, R, n, ties)
        m = q > 0
        assert mk.bon.kl(law, ref) == pytest.approx(np.sum(q[m] * np.log(q[m] / np.array(P)[m])), abs=1e-13)
        assert mk.bon.win_rate(law, ref) == pytest.approx(brute_win(q, np.array(P), R), abs=1e-13)
        assert mk.bon.expected_reward(law) == pytest.approx(q @ np.array(R), abs=1e-13)
    # against best-of-N of the reference: a law beats itself with probability 1/2
    assert mk.bon.win_rate(law, law) == pytest.approx(0.5, abs=1e-15)


def test_zero_probability_atoms_and_zero_mass_levels():
    ref = mk.bon.Discrete([0.5, 0.0, 0.5, 0.0], [0.0, 1.0, 2.0, 3.0])
    for ties in ("random", "first"):
        law = mk.bon.best_of_n(ref, 3, ties=ties)
        np.testing.assert_allclose(law.probs, [0.125, 0.0, 0.875, 0.0], atol=1e-15)
        assert np.isfinite(mk.bon.kl(law, ref))


def test_random_ties_kl_not_above_first_ties_kl():
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = rng.dirichlet(np.ones(8))
        r = rng.integers(0, 3, 8).astype(float)
        ref = mk.bon.Discrete(p, r)
        for n in (2, 7, 100):
            kr = mk.bon.kl(mk.bon.best_of_n(ref, n, ties="random"), ref)
            kf = mk.bon.kl(mk.bon.best_of_n(ref, n, ties="first"), ref)
            assert kr <= kf + 1e-12 <= mk.bon.kl_bound(n) + 2e-12


def test_huge_n_saturates_at_top_level():
    p = np.array([0.3, 0.3, 0.4 - 1e-9, 1e-9])
    ref = mk.bon.Discrete(p, [0.0, 1.0, 2.0, 3.0])
    law = mk.bon.best_of_n(ref, 10**100)
    assert law.probs[-1] == 1.0
    assert mk.bon.kl(law, ref) == pytest.approx(-np.log(1e-9), rel=1e-12)
    # log_n beyond float range, and a mass far below 1e-308 keeps its exponent
    law2 = mk.bon.best_of_n(ref, log_n=5000.0)
    assert law2.log_probs[-1] == 0.0 and law2.log_probs[2] < -1e300 or law2.log_probs[2] == -np.inf
    mid = mk.bon.best_of_n(ref, 10**9)  # N * 1e-9 = 1: the top atom has 1 - e^{-1}
    assert mid.probs[-1] == pytest.approx(-np.expm1(10**9 * np.log1p(-1e-9)), rel=1e-12)


def test_integer_valued_float_n_is_accepted():
    ref = mk.bon.Discrete(P, R)
    np.testing.assert_array_equal(mk.bon.best_of_n(ref, 4.0).probs, mk.bon.best_of_n(ref, 4).probs)


def test_log_probs_reference_far_below_underflow():
    lp = np.array([0.0, -800.0, -2000.0])
    lp = lp - np.logaddexp.reduce(lp)
    ref = mk.bon.Discrete.from_log_probs(lp, [0.0, 1.0, 2.0])
    law = mk.bon.best_of_n(ref, 1000)
    # top atom: 1 - (1 - e^{-2000})^1000 ~ 1000 e^{-2000}
    assert law.log_probs[2] == pytest.approx(np.log(1000) - 2000, rel=1e-12)
    assert law.log_probs[1] == pytest.approx(np.log(1000) - 800, rel=1e-12)


def test_uniform_distinct_atoms_are_tight():
    K = 100_000
    ref = mk.bon.Discrete(np.full(K, 1 / K), np.arange(K, dtype=float))
    for n in (2, 16, 256):
        law = mk.bon.best_of_n(ref, n)
        assert mk.bon.kl(law, ref) == pytest.approx(mk.bon.kl_bound(n), abs=1e-3)
        assert mk.bon.win_rate(law, ref) == pytest.approx(mk.bon.win_rate_bound(n), abs=1e-4)


def test_bounds_closed_forms():
    assert mk.bon.kl_bound(1) == 0.0
    assert mk.bon.kl_bound(2) == pytest.approx(np.log(2) - 0.5, abs=1e-16)
    assert mk.bon.win_rate_bound(3) == pytest.approx(0.75, abs=1e-16)
    assert mk.bon.kl_bound(10**100) == pytest.approx(100 * np.log(10) - 1, rel=1e-15)


def test_continuous_reference():
    ref = mk.bon.Continuous(stats.norm())
    b = mk.bon.best_of_n(ref, 3)
    assert mk.bon.kl(b, ref) == pytest.approx(np.log(3) - 2 / 3, abs=1e-15)
    assert mk.bon.win_rate(b, ref) == pytest.approx(0.75, abs=1e-15)
    assert mk.bon.expected_reward(b) == pytest.approx(3 / (2 * np.sqrt(np.pi)), abs=1e-9)
    w = mk.bon.worst_of_n(ref, 3)
    assert mk.bon.expected_reward(w) == pytest.approx(-3 / (2 * np.sqrt(np.pi)), abs=1e-9)
    assert mk.bon.win_rate(w, ref) == pytest.approx(0.25, abs=1e-12)
    assert mk.bon.win_rate(b, mk.bon.best_of_n(ref, 5)) == pytest.approx(3 / 8, abs=1e-15)
    assert mk.bon.win_rate(b, w) == pytest.approx(
        1 - mk.bon.win_rate(w, b), abs=1e-10)
    # KL between two order statistics by quadrature vs the u-space closed form
    b5 = mk.bon.best_of_n(ref, 5)
    # KL(Beta(5,1) || Beta(3,1)) = log(5/3) + 2 * E log u = log(5/3) - 2/5
    assert mk.bon.kl(b5, b) == pytest.approx(np.log(5 / 3) - 2 / 5, abs=1e-10)
    x = np.linspace(-2, 3, 7)
    np.testing.assert_allclose(b.cdf(x), stats.norm.cdf(x) ** 3, rtol=1e-12)
    np.testing.assert_allclose(b.pdf(x), 3 * stats.norm.cdf(x) ** 2 * stats.norm.pdf(x), rtol=1e-12)
    np.testing.assert_allclose(b.cdf(b.ppf([0.1, 0.5, 0.9])), [0.1, 0.5, 0.9], rtol=1e-10)
    np.testing.assert_allclose(w.cdf(w.ppf([0.1, 0.5, 0.9])), [0.1, 0.5, 0.9], rtol=1e-10)


def test_continuous_huge_n():
    ref = mk.bon.Continuous(stats.norm())
    b = mk.bon.best_of_n(ref, 1e100)
    assert mk.bon.kl(b, ref) == pytest.approx(100 * np.log(10) - 1, rel=1e-14)
    # E max of N normals ~ sqrt(2 log N) to leading order
    assert 19 < mk.bon.expected_reward(b) < math.sqrt(2 * 100 * np.log(10))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_kernels_match_py_func():
    p = np.array([0.1, 0.2, 0.0, 0.7])
    lp = np.log(np.where(p > 0, p, 1e-300))
    lp[2] = -np.inf
    for args in ((p, lp, 5.0, np.log(5.0)), (p, lp, 1e4, np.log(1e4)),
                 (p, lp, np.inf, np.log(1e30))):
        o1, o2 = np.empty(4), np.empty(4)
        K.max_law_from_probs(*args, o1)
        K.max_law_from_probs.py_func(*args, o2)
        np.testing.assert_allclose(o1, o2, rtol=1e-14)
    o1, o2 = np.empty(4), np.empty(4)
    K.max_law_from_log_probs(lp, np.log(5.0), o1)
    K.max_law_from_log_probs.py_func(lp, np.log(5.0), o2)
    np.testing.assert_allclose(o1, o2, rtol=1e-14)
    q = np.array([0.2, 0.2, 0.1, 0.5])
    lq = np.log(q)
    assert K.kl_from_logs(p, lp, lq) == pytest.approx(K.kl_from_logs.py_func(p, lp, lq), rel=1e-14)
    lev, llev, order = np.array([0, 0, 1, 1]), np.array([-0.5, -1.5]), np.array([2, 0, 3, 1])
    o1, o2 = np.empty(4), np.empty(4)
    K.spread_levels(llev, lev, lp, llev, o1)
    K.spread_levels.py_func(llev, lev, lp, llev, o2)
    np.testing.assert_array_equal(o1, o2)
    assert K.underflowed(lq, q) == K.underflowed.py_func(lq, q) is False
    assert K.underflowed(np.array([-800.0]), np.array([0.0])) is True
    K.scatter(lp, order, o1)
    K.scatter.py_func(lp, order, o2)
    np.testing.assert_array_equal(o1, o2)
    assert K.exp_into(lq, o1) == K.exp_into.py_func(lq, o2)
    np.testing.assert_array_equal(o1, o2)
    starts = np.array([0, 2])
    o1, o2 = np.empty(2), np.empty(2)
    K.segment_logsumexp(lp, starts, o1)
    K.segment_logsumexp.py_func(lp, starts, o2)
    np.testing.assert_allclose(o1, o2, rtol=1e-14)


# ------------------------------------------------------------------ bad input
def test_probs_off_simplex():
    with pytest.raises(ValueError, match=r"`probs\[:\]` must sum to 1 \(atol=1e-09\); it sums to 1.1"):
        mk.bon.Discrete([0.5, 0.6], [0.0, 1.0])


def test_negative_probs():
    with pytest.raises(ValueError, match=r"`probs` must have non-negative entries; `probs\[1\]` = .*-0.5"):
        mk.bon.Discrete([1.5, -0.5], [0.0, 1.0])


def test_nan_rewards():
    with pytest.raises(ValueError, match=r"`rewards` must be finite"):
        mk.bon.Discrete([0.5, 0.5], [0.0, np.nan])


def test_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        mk.bon.Discrete([0.5, 0.5], [0.0, 1.0, 2.0])


def test_empty_reference():
    with pytest.raises(ValueError, match="must not be empty"):
        mk.bon.Discrete([], [])


def test_bad_log_probs():
    with pytest.raises(ValueError, match="log-sum-exp to 0"):
        mk.bon.Discrete.from_log_probs([0.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="finite or -inf"):
        mk.bon.Discrete.from_log_probs([0.0, np.nan], [0.0, 1.0])


def test_n_below_one():
    ref = mk.bon.Discrete(P, R)
    with pytest.raises(ValueError, match="`n` must be >= 1; got 0"):
        mk.bon.best_of_n(ref, 0)
    with pytest.raises(TypeError, match="`n` must be an integer"):
        mk.bon.best_of_n(ref, 2.5)
    with pytest.raises(ValueError, match="`n` must be >= 1"):
        mk.bon.kl_bound(0)


def test_n_and_log_n_exclusive():
    ref = mk.bon.Discrete(P, R)
    with pytest.raises(ValueError, match="exactly one of `n` and `log_n`"):
        mk.bon.best_of_n(ref, 2, log_n=1.0)
    with pytest.raises(ValueError, match="`log_n` must be >= 0"):
        mk.bon.best_of_n(ref, log_n=-1.0)


def test_bad_ties():
    with pytest.raises(ValueError, match=r"`ties` must be one of \['first', 'random'\]; got 'last'"):
        mk.bon.best_of_n(mk.bon.Discrete(P, R), 2, ties="last")


def test_bad_reference_type():
    with pytest.raises(TypeError, match="`ref` must be a `mk.bon.Discrete`"):
        mk.bon.best_of_n(np.array(P), 2)
    with pytest.raises(TypeError, match="frozen scipy.stats continuous"):
        mk.bon.Continuous(stats.norm)


def test_different_atoms():
    a = mk.bon.Discrete([0.5, 0.5], [0.0, 1.0])
    b = mk.bon.Discrete([0.5, 0.5], [0.0, 2.0])
    with pytest.raises(ValueError, match="same atoms"):
        mk.bon.kl(a, b)
    with pytest.raises(ValueError, match="same atoms"):
        mk.bon.win_rate(a, b)


def test_immutable():
    ref = mk.bon.Discrete(P, R)
    with pytest.raises(AttributeError, match="immutable"):
        ref.probs = None
    with pytest.raises(ValueError, match="read-only"):
        ref.probs[0] = 1.0


@pytest.mark.parametrize("n", [1.0, 2.0, 64.0, 1e4, 1e6, 1e100])
def test_fast_and_log_space_paths_agree(n):
    """The float-N branch (series for small N p/F) equals the pure log-N branch."""
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.full(2000, 0.3))
    lp = np.log(p)
    o1, o2, o3 = np.empty(2000), np.empty(2000), np.empty(2000)
    K.max_law_from_probs(p, lp, n, np.log(n), o1)
    K.max_law_from_probs(p, lp, np.inf, np.log(n), o2)
    K.max_law_from_log_probs(lp, np.log(n), o3)
    o4 = np.empty(2000)
    _max_law_from_probs(p, lp, n, np.log(n), o4)  # logarithms vectorised by NumPy
    np.testing.assert_allclose(o4, o1, rtol=1e-12, atol=1e-12)
    fin = np.isfinite(o1)
    np.testing.assert_array_equal(fin, np.isfinite(o2))
    np.testing.assert_allclose(o1[fin], o2[fin], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(o3[fin], o2[fin], rtol=1e-12, atol=1e-11)


# ------------------------------------------------------------------ atom order and kernels
@pytest.mark.parametrize("case", ["normal", "levels", "signed_zeros", "prefix_ties", "extremes"])
def test_reward_order_is_the_stable_order(case):
    """One packed-word sort plus run repair equals NumPy's stable argsort on the reversed
    rewards (ascending reward, descending index inside a tie), with the same levels."""
    rng = np.random.default_rng(3)
    r = {"normal": rng.normal(size=5000),
         "levels": rng.integers(0, 40, 5000).astype(float),
         "signed_zeros": np.array([0.0, -0.0, 1.0, -1.0, 0.0, -0.0, 5.0, -3e300, 2.0]),
         # equal in their leading 52 bits: every run of key prefixes must be re-sorted
         "prefix_ties": 1.0 + 1e-15 * rng.integers(0, 60, 3000),
         "extremes": np.array([-np.finfo(float).max, np.finfo(float).max, -5e-324, 5e-324,
                               0.0, 1e-300, -1e-300])}[case]
    order, new, r_sorted = _reward_order(r)
    expect = (r.size - 1) - np.argsort(r[::-1], kind="stable")
    np.testing.assert_array_equal(order, expect)
    rs = r[expect]
    np.testing.assert_array_equal(new, np.concatenate([[True], rs[1:] != rs[:-1]]))
    np.testing.assert_array_equal(r_sorted, rs)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_order_and_max_law_kernels_match_py_func():
    r = np.array([0.5, -0.0, 0.5, 0.0, 2.0, 1.0 + 2e-16, 1.0])
    bits = 3
    w1, w2 = np.empty(7, dtype=np.uint64), np.empty(7, dtype=np.uint64)
    K.packed_reward_keys(r, bits, w1)
    K.packed_reward_keys.py_func(r, bits, w2)
    np.testing.assert_array_equal(w1, w2)
    w1.sort()
    outs = []
    for f in (K.order_from_packed, K.order_from_packed.py_func):
        o, nl = np.empty(7, dtype=np.int64), np.empty(7, dtype=np.bool_)
        f(w1, r, np.sort(r), bits, o, nl)
        outs.append((o.tolist(), nl.tolist()))
    assert outs[0] == outs[1]
    p = np.array([0.1, 0.2, 0.0, 0.3, 0.4])
    lp = np.log(np.where(p > 0, p, 1.0))
    lp[2] = -np.inf
    res = []
    for tails, series, fix, coef in (
            (K.max_law_tails, K.max_law_series, K.max_law_fix, K.series_coefficients),
            (K.max_law_tails.py_func, K.max_law_series.py_func, K.max_law_fix.py_func,
             K.series_coefficients.py_func)):
        G, out = np.empty(5), np.empty(5)
        i0, n_big, nx = tails(p, 3.0, G)
        lF = np.where(np.arange(5) < i0, np.log(np.abs(G)), np.log1p(np.minimum(G, 0.0)))
        series(p, lp, G, i0, lF, coef(3.0), 3.0, np.log(3.0), out)
        fix(p, lp, G, i0, lF, np.empty(0), 3.0, np.log(3.0), out)
        res.append((i0, n_big, nx, G.tolist(), out.tolist()))
    assert res[0] == res[1]
