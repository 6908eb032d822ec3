"""Bradley-Terry preferences, the BT-MLE reward, and demonstration-regularized RLHF."""

import numpy as np
import pytest
from scipy.special import expit

import mdpkit as mk
from mdpkit.learners import (
    Preferences,
    behavior_cloning,
    bradley_terry_reward,
    demo_regularized_rlhf,
    preference_pairs,
)
from mdpkit.mdp import Trajectories


@pytest.fixture
def mdp():
    return mk.random_mdp(n_states=3, n_actions=2, horizon=2, rng=0, stationary=False)


def test_labels_follow_bradley_terry(mdp):
    prefs = preference_pairs(mdp, mk.uniform_policy(mdp), 20000, rng=0)
    p = expit(prefs.first.returns - prefs.second.returns)
    # E[label - p] = 0: Monte-Carlo within 4 standard errors
    resid = prefs.prefer_first - p
    assert abs(resid.mean()) < 4 * resid.std() / np.sqrt(resid.size)


def test_preference_pairs_deterministic(mdp):
    a = preference_pairs(mdp, mk.uniform_policy(mdp), 50, rng=3)
    b = preference_pairs(mdp, mk.uniform_policy(mdp), 50, rng=3)
    np.testing.assert_array_equal(a.prefer_first, b.prefer_first)
    np.testing.assert_array_equal(a.first.states, b.first.states)


def test_bt_mle_closed_form_two_trajectories():
    one = lambda a, n: Trajectories(np.zeros((n, 2), int), np.full((n, 1), a), np.zeros((n, 1)), 1)  # noqa: E731
    prefs = Preferences(first=one(1, 5), second=one(0, 5), prefer_first=np.array([1, 1, 1, 0, 0], bool))
    est = bradley_terry_reward(prefs, 1, 2, horizon=1, ridge=1e-10, tol=1e-18)
    assert est.r[0, 0, 1] - est.r[0, 0, 0] == pytest.approx(np.log(3 / 2), abs=1e-7)
    assert est.converged


def test_bt_mle_recovers_return_differences(mdp):
    prefs = preference_pairs(mdp, mk.uniform_policy(mdp), 40000, rng=1)
    est = bradley_terry_reward(prefs, 3, 2, horizon=2, ridge=1e-6)
    # only differences within a stage are identified: compare centred rewards
    true = mdp.r - mdp.r.mean(axis=(1, 2), keepdims=True)
    got = est.r - est.r.mean(axis=(1, 2), keepdims=True)
    assert np.abs(true - got).max() < 0.15


def test_linear_bt_with_reward_features(mdp):
    phi = mdp.r.transpose(1, 2, 0).copy()                     # r_h = phi . e_h, realizable
    prefs = preference_pairs(mdp, mk.uniform_policy(mdp), 20000, rng=2)
    est = bradley_terry_reward(prefs, 3, 2, horizon=2, phi=phi, ridge=1e-6)
    assert est.w.shape == (2, 2)
    np.testing.assert_allclose(est.w, np.eye(2), atol=0.15)


def test_rlhf_with_many_pairs_matches_the_true_reward_plan(mdp):
    pi_bc = behavior_cloning(mdp.simulate(mk.solve(mdp).pi, 5, rng=0), 3, 2, horizon=2)
    prefs = preference_pairs(mdp, pi_bc, 40000, rng=0)
    plan, est = demo_regularized_rlhf(mdp, prefs, pi_bc, 0.3, ridge=1e-6)
    truth = mk.solve_kl_regularized(mdp, pi_bc, 0.3).pi
    assert np.abs(plan.pi - truth).max() < 0.1


def test_rlhf_deterministic(mdp):
    pi_bc = mk.uniform_policy(mdp)
    prefs = preference_pairs(mdp, pi_bc, 200, rng=5)
    a, _ = demo_regularized_rlhf(mdp, prefs, pi_bc, 0.1)
    b, _ = demo_regularized_rlhf(mdp, prefs, pi_bc, 0.1)
    np.testing.assert_array_equal(a.pi, b.pi)


def test_rlhf_bad_input(mdp):
    pi_bc = mk.uniform_policy(mdp)
    prefs = preference_pairs(mdp, pi_bc, 10, rng=0)
    with pytest.raises(ValueError, match="`beta` must be > 0"):
        demo_regularized_rlhf(mdp, prefs, pi_bc, 0.0)
    with pytest.raises(ValueError, match=r"`pi_bc` must have shape \(H, S, A\) = \(2, 3, 2\)"):
        demo_regularized_rlhf(mdp, prefs, np.full((3, 3, 2), 0.5), 0.1)
    with pytest.raises(TypeError, match="Preferences object"):
        bradley_terry_reward((prefs.first, prefs.second), 3, 2, horizon=2)
    with pytest.raises(ValueError, match=r"`phi` must have shape \(S, A, d\) with \(S, A\) = \(3, 2\)"):
        bradley_terry_reward(prefs, 3, 2, horizon=2, phi=np.ones((2, 2, 1)))
    with pytest.raises(ValueError, match="prefs.first.*horizon 3"):
        bradley_terry_reward(prefs, 3, 2, horizon=3)
    bad = Preferences(first=prefs.first, second=prefs.second, prefer_first=prefs.prefer_first[:5])
    with pytest.raises(ValueError, match="as many second trajectories and labels"):
        bradley_terry_reward(bad, 3, 2, horizon=2)
    with pytest.raises(ValueError, match="`n_pairs` must be >= 1"):
        preference_pairs(mdp, pi_bc, 0)
    with pytest.raises(ValueError, match="`ridge` must be > 0"):
        bradley_terry_reward(prefs, 3, 2, horizon=2, ridge=0.0)
