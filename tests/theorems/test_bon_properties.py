"""Best-of-N theorems as hypothesis properties over random discrete references.

Beirami et al. (2024): KL(pi_N || p) <= log N - (N-1)/N; the win rate against one
reference draw (ties 1/2) is <= N/(N+1). Yang et al. (2024): the tilted policy
maximises reward at its KL, so best-of-N never beats it at equal KL. Korbak et al. (2022):
E_pi r - beta KL(pi||p) = beta log Z - beta KL(pi||pi*). References are drawn with tied
rewards, zero-probability atoms and one atom carrying most of the mass.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp

import mdpkit as mk

pytestmark = pytest.mark.theorem


@st.composite
def references(draw, max_atoms=12):
    k = draw(st.integers(1, max_atoms))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    conc = draw(st.sampled_from([0.05, 0.5, 5.0]))
    p = rng.dirichlet(np.full(k, conc))
    if draw(st.booleans()) and k > 1:  # zero-probability atoms
        p[rng.random(k) < 0.3] = 0.0
        if p.sum() == 0:
            p[0] = 1.0
        p /= p.sum()
    if draw(st.booleans()):  # one atom carrying most mass
        j = rng.integers(k)
        p = 0.01 * p
        p[j] += 0.99
    if draw(st.booleans()):  # ties
        r = rng.integers(0, 3, k).astype(float)
    else:
        r = rng.normal(size=k)
    return mk.bon.Discrete(p, r)


ns = st.sampled_from([1, 2, 3, 7, 64, 10**4, 10**100])


@given(ref=references(), n=ns, ties=st.sampled_from(["random", "first"]))
def test_kl_and_win_rate_bounds(ref, n, ties):
    law = mk.bon.best_of_n(ref, n, ties=ties)
    assert abs(law.probs.sum() - 1) < 1e-12
    assert mk.bon.kl(law, ref) <= mk.bon.kl_bound(n) + 1e-12
    if ties == "random":  # level-measurable laws: KL <= log 1/p(top level)
        assert mk.bon.kl(law, ref) <= mk.bon.max_kl(ref) + 1e-12
    assert mk.bon.win_rate(law, ref) <= mk.bon.win_rate_bound(n) + 1e-12
    assert mk.bon.expected_reward(law) >= mk.bon.expected_reward(ref) - 1e-12


@given(ref=references(), n=ns)
def test_random_ties_have_less_kl_than_a_fixed_order(ref, n):
    kr = mk.bon.kl(mk.bon.best_of_n(ref, n, ties="random"), ref)
    kf = mk.bon.kl(mk.bon.best_of_n(ref, n, ties="first"), ref)
    assert kr <= kf + 1e-12


@given(ref=references(), n=ns)
def test_worst_of_n_is_best_of_n_of_negated_reward(ref, n):
    neg = mk.bon.Discrete(ref.probs, -ref.rewards)
    np.testing.assert_allclose(mk.bon.worst_of_n(ref, n).probs, mk.bon.best_of_n(neg, n).probs,
                               atol=1e-14)


@given(ref=references(max_atoms=4), n=st.integers(1, 4))
def test_exact_law_equals_enumeration(ref, n):
    p, r = ref.probs, ref.rewards
    q = np.zeros(len(p))
    for tup in itertools.product(range(len(p)), repeat=n):
        w = float(np.prod(p[list(tup)]))
        vals = r[list(tup)]
        winners = [y for y, v in zip(tup, vals) if v == vals.max()]
        for y in winners:
            q[y] += w / len(winners)
    np.testing.assert_allclose(mk.bon.best_of_n(ref, n).probs, q, atol=1e-13)


@given(ref=references(), n=st.sampled_from([2, 5, 40]))
def test_tilted_dominates_best_of_n_at_equal_kl(ref, n):
    law = mk.bon.best_of_n(ref, n)
    k = mk.bon.kl(law, ref)
    tilt = mk.bon.tilted(ref, kl=min(k, mk.bon.max_kl(ref)))
    assert mk.bon.expected_reward(tilt) >= mk.bon.expected_reward(law) - 1e-9


@given(ref=references(), beta=st.floats(1e-3, 1e3), seed=st.integers(0, 1000))
def test_gibbs_identity(ref, beta, seed):
    rng = np.random.default_rng(seed)
    pi_probs = rng.dirichlet(np.ones(ref.n_atoms)) * (ref.probs > 0)
    pi_probs /= pi_probs.sum() if pi_probs.sum() > 0 else 1
    if pi_probs.sum() == 0:
        return
    pi = mk.bon.Discrete(pi_probs, ref.rewards)
    m = ref.probs > 0
    logits = np.log(ref.probs[m]) + ref.rewards[m] / beta
    log_z = logsumexp(logits)
    log_star = np.full(ref.n_atoms, -np.inf)
    log_star[m] = logits - log_z
    s = pi.probs > 0
    kl_star = float(np.sum(pi.probs[s] * (np.log(pi.probs[s]) - log_star[s])))
    lhs = mk.bon.expected_reward(pi) - beta * mk.bon.kl(pi, ref)
    rhs = beta * log_z - beta * kl_star
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9 * max(1.0, beta))


@given(ref=references(), delta_frac=st.floats(0.0, 1.0))
def test_kl_budget_roundtrip(ref, delta_frac):
    kmax = mk.bon.max_kl(ref)
    delta = delta_frac * kmax
    law = mk.bon.tilted(ref, kl=delta)
    assert mk.bon.kl(law, ref) == pytest.approx(delta, rel=1e-8, abs=1e-12)
