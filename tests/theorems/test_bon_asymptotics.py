"""Yang et al. (2024), memoryless LM with additive reward: the tilt earns x_Delta per token
with I(x_Delta) = Delta (I the Cramér rate function), and best-of-N with N = e^{n Delta} never
beats it (its KL is below n Delta); Beirami et al. (2024): continuous references are the
fine-discretization limit, with KL = log N - (N-1)/N.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import mdpkit as mk

pytestmark = pytest.mark.theorem


@st.composite
def memoryless(draw):
    v = draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    p = rng.dirichlet(np.ones(v))
    r = rng.integers(0, 6, v).astype(float) / 2
    if np.all(r == r[0]):
        r[0] += 0.5
    return mk.bon.Memoryless(token_probs=p, token_rewards=r)


@given(ml=memoryless(), frac=st.floats(0.01, 0.95), n=st.sampled_from([1, 5, 30]))
def test_tilt_is_rate_level_and_bon_below_it(ml, frac, n):
    delta = frac * (-ml.log_p_top)
    x = ml.tilted_reward_per_token(delta)
    assert ml.rate_function(x) == pytest.approx(delta, rel=1e-9, abs=1e-12)
    assert ml.mean - 1e-12 <= x <= ml.r_max + 1e-12
    assert ml.bon_reward_per_token(n, delta) <= x + 1e-10
    assert ml.bon_kl_per_token(n, delta) <= delta + 1e-12


@given(ml=memoryless(), x=st.floats(0.0, 1.0))
def test_rate_function_convex_and_zero_at_mean(ml, x):
    a, b = ml.r_min, ml.r_max
    pts = a + (b - a) * np.array([0.05, x * 0.9 + 0.05, 0.95])
    i = ml.rate_function(pts)
    assert np.all(i >= 0)
    mid = ml.rate_function(0.5 * (pts[0] + pts[2]))
    assert mid <= 0.5 * (i[0] + i[2]) + 1e-10
    assert ml.rate_function(ml.mean) == 0.0


dists = st.sampled_from([stats.norm(0.3, 2.0), stats.gumbel_r(), stats.logistic(), stats.expon()])


@given(dist=dists, n=st.sampled_from([2, 8, 50]))
def test_continuous_is_the_fine_discretization_limit(dist, n):
    k = 50_000
    atoms = dist.ppf((np.arange(k) + 0.5) / k)
    disc = mk.bon.Discrete(np.full(k, 1 / k), atoms)
    cont = mk.bon.Continuous(dist)
    for f in (mk.bon.best_of_n, mk.bon.worst_of_n):
        d, c = f(disc, n), f(cont, n)
        assert mk.bon.kl(d, disc) == pytest.approx(mk.bon.kl(c, cont), abs=2e-3)
        assert mk.bon.win_rate(d, disc) == pytest.approx(mk.bon.win_rate(c, cont), abs=1e-4)
        assert mk.bon.expected_reward(d) == pytest.approx(mk.bon.expected_reward(c), abs=2e-2 * dist.std())
