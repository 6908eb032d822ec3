"""Finite-time KL-UCB bound (Lattimore-Szepesvari Thm 10.6) and the Thompson leading term."""

import math

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.theory import bernoulli_kl


def test_klucb_bound_dominates_its_leading_term_and_tends_to_it():
    mu, star = 0.5, 0.9
    lead = lambda n: math.log1p(n * math.log(n) ** 2) / float(bernoulli_kl(mu, star))  # noqa: E731
    ratios = [mk.theory.klucb_pulls_bound(mu, star, n) / lead(n) for n in (10**3, 10**6, 10**12)]
    assert all(r > 1.0 for r in ratios)
    assert np.all(np.diff(ratios) < 0)


def test_klucb_bound_any_lattice_point_is_valid():
    # the infimum over a finer lattice can only be smaller
    coarse = mk.theory.klucb_pulls_bound(0.6, 0.8, 5000, grid=20)
    fine = mk.theory.klucb_pulls_bound(0.6, 0.8, 5000, grid=400)
    assert fine <= coarse


def test_klucb_regret_bound_is_gap_weighted_sum():
    b = mk.theory.klucb_regret_bound([0.9, 0.5, 0.7], 1000)
    want = 0.4 * mk.theory.klucb_pulls_bound(0.5, 0.9, 1000) + 0.2 * mk.theory.klucb_pulls_bound(0.7, 0.9, 1000)
    assert b == pytest.approx(want, rel=1e-12)


def test_thompson_leading_term_is_lai_robbins_at_eps_zero():
    means = [0.9, 0.8, 0.7]
    c = mk.theory.lai_robbins_constant(means, family="bernoulli")
    assert mk.theory.thompson_leading_term(means, 10**4) == pytest.approx(c * math.log(10**4), rel=1e-12)
    assert mk.theory.thompson_leading_term(means, 10**4, 0.5) == pytest.approx(1.5 * c * math.log(10**4))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="`mu_arm`"):
        mk.theory.klucb_pulls_bound(0.9, 0.5, 100)
    with pytest.raises(ValueError, match="`exploration`"):
        mk.theory.klucb_pulls_bound(0.5, 0.9, 100, exploration=1.0)
    with pytest.raises(ValueError, match="`means`"):
        mk.theory.thompson_leading_term([0.5, 1.0], 100)
    with pytest.raises(ValueError, match="`horizon`"):
        mk.theory.klucb_pulls_bound(0.5, 0.9, 1)
