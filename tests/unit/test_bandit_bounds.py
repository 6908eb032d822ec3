"""Closed-form bandit bounds: reference values computed by hand, and bad input."""

import math

import numpy as np
import pytest

import mdpkit as mk
from mdpkit import theory as th


def test_ucb1_bound_formula():
    gaps = [0.0, 0.1, 0.3]
    T = 10_000
    expect = 8 * math.log(T) * (1 / 0.1 + 1 / 0.3) + (1 + math.pi**2 / 3) * 0.4
    assert th.ucb1_regret_bound(gaps, T) == pytest.approx(expect, rel=1e-14)
    env = mk.bandits.BernoulliBandit([0.5, 0.4, 0.2])
    assert th.ucb1_regret_bound(env.gaps, T) == pytest.approx(expect, rel=1e-12)


def test_minimax_and_adversarial_bounds():
    assert th.moss_regret_bound(10, 10_000) == pytest.approx(49 * math.sqrt(1e5))
    assert th.exp3_regret_bound(5, 1000) == pytest.approx(2 * math.sqrt((math.e - 1) * 1000 * 5 * math.log(5)))
    assert th.hedge_regret_bound(5, 1000) == pytest.approx(math.sqrt(500 * math.log(5)))
    assert th.regret_matching_regret_bound(3, 100, payoff_range=2.0) == pytest.approx(2 * math.sqrt(300))
    assert th.minimax_lower_bound(2, 729) == pytest.approx(1.0)
    assert th.nash_gap_bound(1.0, 2.0, 30) == pytest.approx(0.1)
    se = th.successive_elimination_regret_bound([0.0, 0.2], 100)
    assert se == pytest.approx(32 * math.log(100) / 0.2 + 0.2 + 2 * 2 * 0.2 / 100**2)


def test_oful_bound_formula():
    T, d, ridge, S, L, sig, delta = 1000, 3, 2.0, 1.5, 1.0, 0.5, 0.1
    radius = math.sqrt(ridge) * S + sig * math.sqrt(2 * math.log(1 / delta) + d * math.log(1 + T * L / (ridge * d)))
    expect = 4 * math.sqrt(T * d * math.log(ridge + T * L / d)) * radius
    got = th.oful_regret_bound(T, d, ridge=ridge, S=S, L=L, sigma=sig, delta=delta)
    assert got == pytest.approx(expect, rel=1e-14)


def test_kl_and_lai_robbins():
    # kl(1/2, 1/4) = 1/2 ln 2 + 1/2 ln(2/3)
    assert th.bernoulli_kl(0.5, 0.25) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert th.bernoulli_kl(0.0, 0.5) == pytest.approx(math.log(2))
    assert th.bernoulli_kl(1.0, 1.0) == 0.0
    np.testing.assert_allclose(th.bernoulli_kl([0.2, 0.5], 0.5), [th.bernoulli_kl(0.2, 0.5), 0.0])
    mu = [0.9, 0.8, 0.5]
    expect = 0.1 / th.bernoulli_kl(0.8, 0.9) + 0.4 / th.bernoulli_kl(0.5, 0.9)
    env = mk.bandits.BernoulliBandit(mu)
    assert th.lai_robbins_constant(env) == pytest.approx(expect)
    assert th.lai_robbins_constant(mu, family="bernoulli") == pytest.approx(expect)
    genv = mk.bandits.GaussianBandit([1.0, 0.5, 0.0], sigma=2.0)
    # Gaussian: sum 2 sigma^2 / gap
    assert th.lai_robbins_constant(genv) == pytest.approx(8 / 0.5 + 8 / 1.0)
    assert th.lai_robbins_constant([1.0, 1.0], family="gaussian") == 0.0


@pytest.mark.parametrize("call,match", [
    (lambda: th.ucb1_regret_bound([0.1, 0.2], 10), "at least one 0"),
    (lambda: th.ucb1_regret_bound([0.0, -0.2], 10), r"gaps\[1\]"),
    (lambda: th.ucb1_regret_bound([0.0], 10), "K >= 2"),
    (lambda: th.ucb1_regret_bound([0.0, 0.1], 0), "`horizon` must be >= 1"),
    (lambda: th.moss_regret_bound(1, 10), "`n_arms` must be >= 2"),
    (lambda: th.minimax_lower_bound(10, 5), "`horizon` must be >= n_arms - 1"),
    (lambda: th.oful_regret_bound(10, 2, ridge=0.5), "`ridge` must be >= max"),
    (lambda: th.oful_regret_bound(10, 2, delta=1.0), "`delta`"),
    (lambda: th.bernoulli_kl(1.2, 0.5), r"`p` must lie in \[0, 1\]"),
    (lambda: th.lai_robbins_constant([0.5, 0.2]), "`family` must be one of"),
    (lambda: th.lai_robbins_constant([1.0, 0.2], family="bernoulli"), "must be < 1"),
    (lambda: th.lai_robbins_constant(mk.bandits.GaussianBandit([0, 1], sigma=[1, 2])), "common"),
    (lambda: th.lai_robbins_constant(mk.bandits.BernoulliBandit([0.5, 0.2]), family="gaussian"),
     "must match"),
    (lambda: th.regret_matching_regret_bound(3, 10, payoff_range=0), "payoff_range"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
