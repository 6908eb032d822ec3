"""Regret decomposition (Slivkins 2019, Sec. 1.3; Lattimore and Szepesvari 2020, Lemma 4.5).

Statement: the pseudo-regret of any policy on a stochastic bandit after T pulls equals
sum_a Delta_a n_a(T); it is non-decreasing in t and at most Delta_max * t.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import mdpkit.bandits as B

ALGOS = [B.UCB1(), B.KLUCB(), B.MOSS(), B.ThompsonSampling(), B.EXP3(), B.SuccessiveElimination(),
         B.EpsilonGreedy(0.1), B.SoftmaxPolicyGradient(eta=0.2, natural=True, beta=0.05)]


@settings(deadline=None)
@given(means=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=6),
       algo=st.sampled_from(ALGOS), T=st.integers(1, 500), seed=st.integers(0, 2**32 - 1))
def test_pseudo_regret_is_gap_weighted_pull_count(means, algo, T, seed):
    env = B.BernoulliBandit(means)
    run = B.simulate(env, algo, horizon=T, n_runs=2, rng=seed, checkpoints="all")
    np.testing.assert_allclose(run.regret[:, -1], run.pulls @ env.gaps, rtol=1e-12, atol=1e-12)
    assert np.all(np.diff(run.regret, axis=1) >= -1e-15)
    assert np.all(run.regret <= env.gaps.max() * run.checkpoints + 1e-9)
    assert np.all(run.pulls.sum(axis=1) == T)
