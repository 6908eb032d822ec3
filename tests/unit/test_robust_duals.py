"""Robust duals: closed-form values, degenerate inputs, limits, kernels vs .py_func, errors."""

import numpy as np
import pytest

from mdpkit.divergences import (
    KL,
    ChiSquare,
    Hellinger,
    TotalVariation,
    ball_inf,
    penalized_inf,
)
from mdpkit.divergences import _robust_kernels as RK

DIVS = [KL(), ChiSquare(), TotalVariation()]


def test_reference_values_two_states():
    v, p = np.array([0.0, 1.0]), np.array([0.5, 0.5])
    # KL: -lam log((1 + e^{-1/lam})/2)
    val, q = penalized_inf(KL(), v, p, 0.5)
    assert val == pytest.approx(-0.5 * np.log((1 + np.exp(-2.0)) / 2), abs=1e-15)
    np.testing.assert_allclose(q, [1 / (1 + np.exp(-2.0)), np.exp(-2.0) / (1 + np.exp(-2.0))], rtol=1e-14)
    # chi2 without clipping: E v - Var v / (4 lam) = 0.5 - 0.25/(4 lam); q = p (1 + (Ev - v)/(2 lam))
    val, q = penalized_inf(ChiSquare(), v, p, 1.0)
    assert val == pytest.approx(0.5 - 0.25 / 4, abs=1e-15)
    np.testing.assert_allclose(q, [0.5 * 1.25, 0.5 * 0.75])
    # chi2 clipped (lam small): alpha* = 2 lam / p_min + min v... with lam = 0.1: alpha = 0.4
    val, q = penalized_inf(ChiSquare(), v, p, 0.1)
    # [v]_0.4 = (0, 0.4): E = 0.2, Var = 0.04 -> 0.2 - 0.04/0.4 = 0.1
    assert val == pytest.approx(0.1, abs=1e-15)
    np.testing.assert_allclose(q, [1.0, 0.0], atol=1e-15)
    # TV: E min(v, min v + lam)
    assert penalized_inf(TotalVariation(), v, p, 0.3)[0] == pytest.approx(0.15)
    # TV ball: move rho of mass from v = 1 to v = 0
    val, q = ball_inf(TotalVariation(), v, p, 0.2)
    assert val == pytest.approx(0.3)
    np.testing.assert_allclose(q, [0.7, 0.3])
    # chi2 ball: E v - sqrt(rho Var v) while no state is emptied (rho <= 1 here)
    assert ball_inf(ChiSquare(), v, p, 0.64)[0] == pytest.approx(0.5 - 0.8 * 0.5)
    # chi2 ball large: all mass on argmin once rho >= (1 - p_min)/p_min = 1
    val, q = ball_inf(ChiSquare(), v, p, 1.5)
    assert val == 0.0 and np.array_equal(q, [1.0, 0.0])
    # KL ball: min v once rho >= -log p(argmin) = log 2
    assert ball_inf(KL(), v, p, np.log(2.0) + 1e-12)[0] == 0.0


def test_kl_ball_attains_radius():
    rng = np.random.default_rng(0)
    v, p = rng.uniform(size=7), rng.dirichlet(np.ones(7))
    for rho in (1e-8, 1e-3, 0.1, 0.5):
        val, q = ball_inf(KL(), v, p, rho)
        assert KL().value(q, p) == pytest.approx(rho, rel=1e-9)
        assert q @ v == pytest.approx(val, abs=1e-12)


@pytest.mark.parametrize("div", DIVS, ids=lambda d: d.name)
def test_degenerate_inputs(div):
    p = np.array([0.0, 0.3, 0.0, 0.7])
    v = np.array([-5.0, 1.0, 10.0, 2.0])
    # constant v: value = v, q = p
    val, q = penalized_inf(div, np.full(4, 3.0), p, 0.7)
    assert val == pytest.approx(3.0, abs=1e-15)
    val, q = ball_inf(div, np.full(4, 3.0), p, 0.4)
    assert val == pytest.approx(3.0, abs=1e-15)
    # rho = 0 and lam -> inf: the nominal mean
    assert ball_inf(div, v, p, 0.0)[0] == pytest.approx(p @ v, abs=1e-14)
    assert penalized_inf(div, v, p, 1e9)[0] == pytest.approx(p @ v, abs=1e-8)
    # lam -> 0: min over the support (KL, chi2) or over all states (TV, which can put mass at p = 0)
    low = -5.0 if div.name == "tv" else 1.0
    val, q = penalized_inf(div, v, p, 1e-10)
    assert val == pytest.approx(low, abs=1e-8)
    assert np.all(q >= 0) and q.sum() == pytest.approx(1.0)
    if div.name != "tv":
        assert np.all(q[p == 0] == 0)


@pytest.mark.parametrize("lam", [1e-8, 1e-3, 1.0, 1e3, 1e8])
def test_kl_stable_at_extreme_lam(lam):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    v = np.array([0.0, 50.0, 400.0, 900.0])
    p = np.array([0.1, 0.2, 0.3, 0.4])
    L = mpmath.mpf(lam)
    z = sum(mpmath.mpf(pi) * mpmath.exp(-mpmath.mpf(vi) / L) for pi, vi in zip(p, v, strict=True))
    z /= sum(mpmath.mpf(pi) for pi in p)   # the float p sums to 1 only up to rounding
    expect = float(-L * mpmath.log(z))   # 60-digit reference
    val, q = penalized_inf(KL(), v, p, lam)
    assert np.isfinite(val) and val == pytest.approx(expect, rel=1e-13, abs=1e-13)
    assert np.all(np.isfinite(q)) and q.sum() == pytest.approx(1.0)


def test_vectorised_shapes_and_broadcast():
    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(5), size=(3, 2))
    v = rng.normal(size=5)
    for div in DIVS:
        val, q = penalized_inf(div, v, P, 0.4)
        assert val.shape == (3, 2) and q.shape == (3, 2, 5)
        assert val[1, 0] == penalized_inf(div, v, P[1, 0], 0.4)[0]
        val, q = ball_inf(div, v, P, 0.2)
        assert val.shape == (3, 2)
        np.testing.assert_allclose(q.sum(axis=-1), 1.0)
    # per-row values broadcast against one law
    val, _ = penalized_inf(KL(), rng.normal(size=(4, 5)), P[0, 0], 1.0)
    assert val.shape == (4,)


def test_methods_delegate():
    v, p = [0.0, 2.0, 1.0], [0.2, 0.3, 0.5]
    for div in DIVS:
        assert div.penalized_inf(v, p, 0.3)[0] == penalized_inf(div, v, p, 0.3)[0]
        assert div.ball_inf(v, p, 0.3)[0] == ball_inf(div, v, p, 0.3)[0]


@pytest.mark.parametrize("ball", [False, True])
@pytest.mark.parametrize("code", [RK.KL, RK.CHI2, RK.TV])
def test_row_kernels_match_py_func(code, ball):
    rng = np.random.default_rng(2)
    V = rng.normal(size=(6, 9))
    P = rng.dirichlet(np.full(9, 0.5), size=6)
    P[2, :4] = 0
    P[2] /= P[2].sum()
    order = np.ascontiguousarray(np.argsort(V, axis=1))
    jmin = np.ascontiguousarray(np.argmin(V, axis=1))
    outs = []
    for f in (RK.robust_rows, RK.robust_rows.py_func):
        val, q = np.empty(6), np.empty((6, 9))
        f(code, ball, V, P, 0.3, order, jmin, val, q, True)
        outs.append((val, q))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12, atol=1e-13)


_V, _P = np.array([0.0, 1.0]), np.array([0.5, 0.5])
ERRORS = [
    (lambda: penalized_inf(KL(), _V, _P, 0.0), ValueError, "`lam` must be > 0; got 0.0"),
    (lambda: penalized_inf(KL(), _V, _P, -1.0), ValueError, "`lam` must be > 0"),
    (lambda: penalized_inf(KL(), _V, _P, np.inf), ValueError, "`lam` must be finite"),
    (lambda: penalized_inf(KL(), _V, _P, "1"), TypeError, "`lam` must be a real number"),
    (lambda: ball_inf(KL(), _V, _P, -0.1), ValueError, "`rho` must be >= 0; got -0.1"),
    (lambda: penalized_inf(TotalVariation(), [0.0, np.nan], _P, 1.0), ValueError,
     r"`v` must be finite; `v\[1\]` = .*nan"),
    (lambda: penalized_inf(ChiSquare(), _V, [0.5, 0.6], 1.0), ValueError, r"`p\[:\]` must sum to 1"),
    (lambda: ball_inf(ChiSquare(), _V, [1.5, -0.5], 0.1), ValueError, "`p` must have non-negative entries"),
    (lambda: penalized_inf(KL(), [0.0, 1.0, 2.0], _P, 1.0), ValueError, "same last dimension"),
    (lambda: penalized_inf(KL(), np.zeros((3, 2)), np.full((2, 2), 0.5), 1.0), ValueError, "broadcast"),
    (lambda: penalized_inf("kl", _V, _P, 1.0), TypeError, "`div` must be an mdpkit.divergences.FDivergence"),
    (lambda: Hellinger().penalized_inf(_V, _P, 1.0), NotImplementedError,
     "KL, ChiSquare and TotalVariation; got Hellinger"),
    (lambda: Hellinger().ball_inf(_V, _P, 0.1), NotImplementedError, "got Hellinger"),
]


@pytest.mark.parametrize(("call", "exc", "match"), ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_each_row_kernel_matches_its_py_func():
    rng = np.random.default_rng(5)
    v = rng.normal(size=11) * 2
    p = rng.dirichlet(np.full(11, 0.4))
    p[[1, 4]] = 0.0
    p /= p.sum()
    order, jmin = np.argsort(v), int(np.argmin(v))
    m, tot = v[p > 0].min(), 1.0
    cases = [
        (RK.kl_penalized_row, (v, p, 0.3)),
        (RK.tv_penalized_row, (v, p, 0.3, jmin)),
        (RK.chi2_penalized_row, (v, p, 0.3, order)),
        (RK.tv_ball_row, (v, p, 0.2, order, jmin)),
        (RK.chi2_ball_row, (v, p, 0.2, order)),
        (RK.kl_ball_row, (v, p, 0.2)),
    ]
    for k, args in cases:
        qa, qb = np.empty(11), np.empty(11)
        a, b = k(*args, qa, True), k.py_func(*args, qb, True)
        assert a == pytest.approx(b, rel=1e-13, abs=1e-13), k.__name__
        np.testing.assert_allclose(qa, qb, rtol=1e-12, atol=1e-14)
    a = RK.chi2_alpha(v, p, 0.3, order, m, tot)
    b = RK.chi2_alpha.py_func(v, p, 0.3, order, m, tot)
    np.testing.assert_allclose(a, b, rtol=1e-13)
    a = RK.kl_ball_solve(v, p, 0.2, 1.5, np.empty(0), False)
    b = RK.kl_ball_solve.py_func(v, p, 0.2, 1.5, np.empty(0), False)
    np.testing.assert_allclose(a, b, rtol=1e-12)
