"""Statistical checks with fixed seeds: the algorithms learn what theory says they learn."""

import math

import numpy as np

import mdpkit as mk
import mdpkit.bandits as B


def test_regularized_natural_pg_converges_to_the_gibbs_policy():
    """The fixed point of KL-regularized NPG is pi* proportional to pi_ref exp(mu / tau)."""
    mu = np.array([0.8, 0.5, 0.2])
    ref = np.array([0.2, 0.5, 0.3])
    tau = 0.25
    target = ref * np.exp(mu / tau)
    target /= target.sum()
    algo = B.SoftmaxPolicyGradient(eta=0.01, natural=True, beta=tau, pi_ref=ref)
    T = 40_000
    ck = np.array([T // 2, T], dtype=np.int64)
    run = B.simulate(B.BernoulliBandit(mu), algo, horizon=T, n_runs=16, rng=0, checkpoints=ck)
    # pulls of the second half: the same seeds replay the first half exactly
    first = B.simulate(B.BernoulliBandit(mu), algo, horizon=T // 2, n_runs=16, rng=0)
    late = (run.pulls - first.pulls).sum(axis=0) / (16 * T / 2)
    np.testing.assert_allclose(late, target, atol=0.03)


def test_unregularized_policy_gradient_concentrates_on_the_best_arm():
    env = B.BernoulliBandit([0.8, 0.5, 0.2])
    for algo in (B.SoftmaxPolicyGradient(eta=0.2), B.SoftmaxPolicyGradient(eta=0.05, natural=True)):
        run = B.simulate(env, algo, horizon=20_000, n_runs=8, rng=1)
        assert np.median(run.pulls[:, 0] / 20_000) > 0.9


def test_oful_regret_is_below_its_high_probability_bound():
    theta = np.array([0.6, -0.4, 0.3])
    env = B.LinearBandit(theta, action_set="sphere", n_actions=8, sigma=0.5)
    T, delta = 5_000, 0.05
    run = B.simulate(env, B.OFUL(delta=delta, ridge=1.0, S=1.0), horizon=T, n_runs=20, rng=2)
    bound = mk.theory.oful_regret_bound(T, 3, ridge=1.0, S=1.0, L=1.0, sigma=0.5, delta=delta)
    assert np.mean(run.final_regret <= bound) >= 1 - delta
    # and the regret grows sublinearly: the second half costs less than the first
    half = run.regret[:, np.searchsorted(run.checkpoints, T // 2)]
    assert np.mean(run.final_regret - half) < np.mean(half)


def test_linear_ts_and_linucb_learn_the_best_fixed_action():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.2]])
    env = B.LinearBandit([0.9, 0.2], X, sigma=0.3)
    for algo in (B.LinUCB(alpha=1.0), B.LinearThompsonSampling(v=0.3)):
        run = B.simulate(env, algo, horizon=4000, n_runs=8, rng=3)
        assert np.median(run.pulls[:, 0]) > 3000


def test_explore_then_commit_and_epsilon_greedy_rates():
    """ETC with m ~ (T/K)^(2/3) (ln T)^(1/3) and decaying eps-greedy: regret O(T^(2/3) (K ln T)^(1/3))."""
    env = B.BernoulliBandit([0.6, 0.5, 0.45])
    T, K = 20_000, 3
    m = int((T / K) ** (2 / 3) * math.log(T) ** (1 / 3))
    scale = T ** (2 / 3) * (K * math.log(T)) ** (1 / 3)
    for algo in (B.ExploreThenCommit(m=m), B.DecayingEpsilonGreedy()):
        run = B.simulate(env, algo, horizon=T, n_runs=30, rng=4)
        assert run.mean_regret[-1] < scale
        assert run.mean_regret[-1] < 0.25 * T * env.gaps.mean()  # far below uniform play
