"""f-divergence objects: f(1) = 0, convexity, Fenchel-Young, values vs closed forms,
the regularized max against cvxpy and against brute-force search."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit.checks._oracles import regularized_max_program
from mdpkit.divergences import (
    KL,
    Alpha,
    ChiSquare,
    ForwardKL,
    Hellinger,
    JensenShannon,
    TotalVariation,
)
from tests.strategies import divergences, simplex_rows


@given(div=divergences())
def test_f_at_one_is_zero(div):
    assert abs(float(div.f(1.0))) < 1e-15


@given(div=divergences(), t=st.floats(0.01, 50), s=st.floats(0.01, 50), w=st.floats(0, 1))
def test_generator_is_convex(div, t, s, w):
    lhs = float(div.f(w * t + (1 - w) * s))
    rhs = w * float(div.f(t)) + (1 - w) * float(div.f(s))
    assert lhs <= rhs + 1e-9 * (1 + abs(rhs))


@given(div=divergences(), t=st.floats(0.0, 20), u=st.floats(-5, 5))
def test_fenchel_young(div, t, u):
    fc = float(div.conjugate(u))
    assert float(div.f(t)) + fc >= t * u - 1e-9 * (1 + abs(t * u))


@given(div=divergences(), u=st.floats(-3, -0.01))
def test_conjugate_is_a_supremum(div, u):
    ts = np.concatenate([np.linspace(0, 5, 2001), np.geomspace(5, 1e3, 200)])
    brute = np.max(u * ts - div.f(ts))
    assert float(div.conjugate(u)) >= brute - 1e-9
    assert float(div.conjugate(u)) <= brute + 1e-2 * (1 + abs(brute))


def test_closed_form_values():
    q, p = np.array([0.2, 0.8]), np.array([0.6, 0.4])
    assert KL().value(q, p) == pytest.approx(np.sum(q * np.log(q / p)), rel=1e-14)
    assert ForwardKL().value(q, p) == pytest.approx(np.sum(p * np.log(p / q)), rel=1e-14)
    assert ChiSquare().value(q, p) == pytest.approx(np.sum((q - p) ** 2 / p), rel=1e-14)
    assert TotalVariation().value(q, p) == pytest.approx(0.5 * np.abs(q - p).sum(), rel=1e-14)
    assert Hellinger().value(q, p) == pytest.approx(np.sum((np.sqrt(q) - np.sqrt(p)) ** 2), rel=1e-14)
    m = (q + p) / 2
    js = 0.5 * np.sum(q * np.log(q / m)) + 0.5 * np.sum(p * np.log(p / m))
    assert JensenShannon().value(q, p) == pytest.approx(js, rel=1e-13)
    a = 0.3
    amari = (np.sum(q**a * p ** (1 - a)) - 1) / (a * (a - 1))
    assert Alpha(a).value(q, p) == pytest.approx(amari, rel=1e-13)


def test_values_with_zero_reference_mass():
    q, p = np.array([0.5, 0.5]), np.array([1.0, 0.0])
    assert np.isinf(KL().value(q, p))
    assert TotalVariation().value(q, p) == pytest.approx(0.5)
    assert ForwardKL().value(q, p) == pytest.approx(np.log(2))
    assert JensenShannon().value([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.log(2))


@settings(max_examples=10)
@given(div=divergences(), data=st.data())
def test_regularized_max_matches_cvxpy(div, data):
    """f-DPO (CLAIMS #10): the closed form / 1-D search equals the convex program."""
    pytest.importorskip("cvxpy")
    A = data.draw(st.integers(2, 6))
    p = data.draw(simplex_rows((A,), floor=1e-3))
    q = np.random.default_rng(data.draw(st.integers(0, 10**6))).normal(size=A)
    beta = data.draw(st.sampled_from([0.1, 1.0, 10.0]))
    M, pi = div.regularized_max(q, p, beta)
    opt = regularized_max_program(div.name, q, p, beta)
    if opt is None:
        return  # no standard DCP form (alpha, JS); covered by the brute-force test below
    assert float(M) == pytest.approx(opt, abs=1e-5 * (1 + abs(opt)))
    assert float(q @ pi - beta * div.value(pi, p)) == pytest.approx(float(M), abs=1e-10 * (1 + abs(M)))


@pytest.mark.parametrize("div", [Alpha(0.5), Alpha(2.0), Alpha(-1.0), JensenShannon(), KL(), ChiSquare()])
def test_regularized_max_beats_every_grid_policy(div, rng):
    """Optimality by brute force on a fine grid of the 2-simplex (A = 3)."""
    q = rng.normal(size=3)
    p = rng.dirichlet(np.ones(3))
    M, pi = div.regularized_max(q, p, 0.4)
    g = np.linspace(0, 1, 301)
    best = -np.inf
    for x in g:
        y = g[g <= 1 - x + 1e-12]
        cand = np.stack([np.full_like(y, x), y, np.clip(1 - x - y, 0, None)], axis=1)
        vals = cand @ q - 0.4 * div.value(cand / cand.sum(1, keepdims=True), np.broadcast_to(p, cand.shape))
        best = max(best, float(vals.max()))
    assert float(M) >= best - 1e-9
    assert float(M) <= best + 5e-3


def test_regularized_max_ratios_within_level():
    """f-DPO (#14 iii): actions with equal scores keep the reference's ratio."""
    q = np.array([1.0, 1.0, 0.0, 0.0])
    p = np.array([0.1, 0.3, 0.2, 0.4])
    for div in (KL(), ForwardKL(), ChiSquare(), Hellinger(), Alpha(0.5), JensenShannon()):
        _, pi = div.regularized_max(q, p, 0.7)
        assert pi[1] / pi[0] == pytest.approx(3.0, rel=1e-9)
        assert pi[3] / pi[2] == pytest.approx(2.0, rel=1e-9)


@pytest.mark.parametrize("beta", [1e-8, 1e-4, 1.0, 1e4, 1e8])
def test_kl_regularized_max_extreme_beta(beta, rng):
    q = rng.normal(size=6) * 3
    p = rng.dirichlet(np.ones(6))
    M, pi = KL().regularized_max(q, p, beta)
    assert np.isfinite(M) and np.all(np.isfinite(pi))
    exact = beta * np.log(np.sum(p * np.exp((q - q.max()) / beta))) + q.max()
    tol = 1e-11 * (1 + abs(exact))
    if beta >= 1e4:
        # beta log E e^{q/beta} = E q + Var q / (2 beta) + O(max|q - E q|^3 / beta^2): the
        # naive formula loses beta * eps here, the cumulant expansion does not.
        mean = p @ q
        exact = mean + (p @ (q - mean) ** 2) / (2 * beta)
        tol += np.abs(q - mean).max() ** 3 / beta**2
    assert float(M) == pytest.approx(exact, abs=tol)
