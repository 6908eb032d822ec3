"""Behaviour cloning (tabular, log-linear) and the exact trajectory KL."""

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.checks.demo_reg import enumerated_kl
from mdpkit.learners import _mle_kernels as MK
from mdpkit.learners import (
    behavior_cloning,
    linear_behavior_cloning,
    log_linear_policy,
    trajectory_kl,
)
from mdpkit.mdp import Trajectories


@pytest.fixture
def small():
    mdp = mk.random_mdp(n_states=3, n_actions=2, horizon=3, rng=0, stationary=False)
    return mdp, mk.solve_kl_regularized(mdp, mk.uniform_policy(mdp), 0.1).pi


# -- tabular BC ----------------------------------------------------------------------------
def test_bc_is_the_smoothed_count_ratio():
    states = np.array([[0, 1], [0, 1], [0, 0]])
    actions = np.array([[1, 0], [1, 0], [0, 1]])
    pi = behavior_cloning((states, actions), 2, 2, horizon=2, kappa=0.5).pi
    # stage 0, state 0: counts (1, 2) -> ((1+.5)/(3+1), (2+.5)/(3+1))
    np.testing.assert_allclose(pi[0, 0], [1.5 / 4, 2.5 / 4])
    # stage 1, state 1: counts (2, 0); state 0: counts (0, 1)
    np.testing.assert_allclose(pi[1, 1], [2.5 / 3, 0.5 / 3])
    np.testing.assert_allclose(pi[1, 0], [0.5 / 2, 1.5 / 2])
    np.testing.assert_allclose(pi.sum(-1), 1.0)


def test_bc_unvisited_states_are_uniform_and_positive():
    pi = behavior_cloning((np.zeros((4, 3), int), np.ones((4, 3), int)), 5, 3, horizon=3).pi
    np.testing.assert_allclose(pi[:, 1:], 1.0 / 3)
    assert (pi > 0).all()


def test_bc_single_demonstration(small):
    mdp, expert = small
    demos = mdp.simulate(expert, 1, rng=3)
    pi = behavior_cloning(demos, 3, 2, horizon=3).pi
    for h in range(3):
        s, a = demos.states[0, h], demos.actions[0, h]
        assert pi[h, s, a] == pytest.approx(2 / 3)        # (1 + 1) / (1 + 2)
    assert np.isfinite(trajectory_kl(mdp, expert, pi))


def test_bc_accepts_states_with_or_without_final_state(small):
    mdp, expert = small
    tr = mdp.simulate(expert, 20, rng=0)
    a = behavior_cloning(tr, 3, 2, horizon=3).pi
    b = behavior_cloning((tr.states[:, :3], tr.actions), 3, 2, horizon=3).pi
    c = behavior_cloning((tr.states, tr.actions), 3, 2, horizon=3).pi
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_bc_converges_to_the_expert(small):
    mdp, expert = small
    pi = behavior_cloning(mdp.simulate(expert, 20000, rng=1), 3, 2, horizon=3).pi
    d = mdp.occupancy(expert).sum(-1)
    assert np.abs((pi - expert) * d[..., None]).max() < 0.02


def test_bc_out_of_range_state():
    with pytest.raises(ValueError, match=r"states must lie in \[0, 1\]; episode 1, step 0 has 2"):
        behavior_cloning((np.array([[0], [2]]), np.array([[0], [0]])), 2, 2, horizon=1).pi


def test_bc_out_of_range_action():
    with pytest.raises(ValueError, match=r"actions must lie in \[0, 1\]; episode 0, step 1 has -1"):
        behavior_cloning((np.zeros((1, 2), int), np.array([[0, -1]])), 2, 2, horizon=2).pi


def test_bc_empty_dataset():
    with pytest.raises(ValueError, match="at least one episode"):
        behavior_cloning((np.zeros((0, 2), int), np.zeros((0, 2), int)), 2, 2, horizon=2).pi


def test_bc_mismatched_horizon_array():
    with pytest.raises(ValueError, match=r"must have 3 steps per episode"):
        behavior_cloning((np.zeros((2, 2), int), np.zeros((2, 2), int)), 2, 2, horizon=3).pi


def test_bc_mismatched_horizon_trajectories(small):
    mdp, expert = small
    with pytest.raises(ValueError, match="must have horizon 4"):
        behavior_cloning(mdp.simulate(expert, 2, rng=0), 3, 2, horizon=4).pi


def test_bc_mismatched_state_shape():
    with pytest.raises(ValueError, match=r"states must have shape \(2, 2\) or \(2, 3\)"):
        behavior_cloning((np.zeros((2, 5), int), np.zeros((2, 2), int)), 2, 2, horizon=2).pi


def test_bc_float_indices_rejected():
    with pytest.raises(TypeError, match="integer indices"):
        behavior_cloning((np.zeros((2, 2)), np.zeros((2, 2), int)), 2, 2, horizon=2).pi


def test_bc_wrong_demos_type():
    with pytest.raises(TypeError, match="Trajectories object"):
        behavior_cloning([1, 2, 3], 2, 2, horizon=2).pi


def test_bc_kappa_positive():
    with pytest.raises(ValueError, match="`kappa` must be > 0"):
        behavior_cloning((np.zeros((1, 1), int), np.zeros((1, 1), int)), 1, 2, horizon=1, kappa=0.0).pi


# -- log-linear BC -------------------------------------------------------------------------
def test_linear_bc_one_hot_features_is_the_empirical_mle():
    S, A, H = 3, 3, 2
    phi = np.eye(S * A).reshape(S, A, S * A)
    g = np.random.default_rng(0)
    states = g.integers(S, size=(200, H))
    actions = g.integers(A, size=(200, H))
    bc = linear_behavior_cloning((states, actions), phi, horizon=H, ridge=1e-9)
    counts = np.zeros((H, S, A))
    for h in range(H):
        np.add.at(counts[h], (states[:, h], actions[:, h]), 1)
    np.testing.assert_allclose(bc.pi, counts / counts.sum(-1, keepdims=True), atol=1e-6)
    assert bc.converged


def test_linear_bc_first_order_optimality():
    g = np.random.default_rng(1)
    S, A, H, d = 5, 3, 2, 4
    phi = g.dirichlet(np.ones(d), size=(S, A))
    pi_e = log_linear_policy(g.normal(0, 2, size=(H, d)), phi)
    mdp = mk.random_mdp(n_states=S, n_actions=A, horizon=H, rng=2)
    demos = mdp.simulate(pi_e, 300, rng=3)
    ridge = 0.7
    bc = linear_behavior_cloning(demos, phi, horizon=H, ridge=ridge)
    for h in range(H):
        s, a = demos.states[:, h], demos.actions[:, h]
        grad = (phi[s, a] - np.einsum("na,nad->nd", bc.pi[h][s], phi[s])).sum(0) - ridge * bc.theta[h]
        assert np.abs(grad).max() < 1e-6


def test_linear_bc_errors():
    phi = np.full((2, 2, 2), 0.5)
    demos = (np.zeros((1, 1), int), np.zeros((1, 1), int))
    with pytest.raises(ValueError, match="`ridge` must be > 0"):
        linear_behavior_cloning(demos, phi, horizon=1, ridge=0.0)
    with pytest.raises(ValueError, match="`phi` must have 3 dimensions"):
        linear_behavior_cloning(demos, phi[0], horizon=1)
    with pytest.raises(ValueError, match=r"actions must lie in \[0, 1\]"):
        linear_behavior_cloning((np.zeros((1, 1), int), np.full((1, 1), 2)), phi, horizon=1)


def test_log_linear_policy_shape_error():
    with pytest.raises(ValueError, match=r"`theta` must have shape \(H, d\) with d = 2"):
        log_linear_policy(np.zeros((1, 3)), np.full((1, 2, 2), 0.5))


def test_weighted_gram_kernel_matches_py_func_and_numpy():
    g = np.random.default_rng(0)
    Z, w = g.normal(size=(30, 4)), g.random(30)
    out, ref = np.empty((4, 4)), np.empty((4, 4))
    MK.weighted_gram_into(Z, w, out)
    MK.weighted_gram_into.py_func(Z, w, ref)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    np.testing.assert_allclose(out, (Z * w[:, None]).T @ Z, rtol=1e-12)


# -- trajectory KL -------------------------------------------------------------------------
def test_trajectory_kl_equals_enumeration(small):
    mdp, expert = small
    pi = behavior_cloning(mdp.simulate(expert, 4, rng=0), 3, 2, horizon=3).pi
    assert trajectory_kl(mdp, expert, pi) == pytest.approx(enumerated_kl(mdp, expert, pi), abs=1e-12)


def test_trajectory_kl_zero_and_infinite(small):
    mdp, expert = small
    assert trajectory_kl(mdp, expert, expert) == pytest.approx(0.0, abs=1e-15)
    det = np.zeros((3, 3, 2))
    det[..., 0] = 1.0
    assert trajectory_kl(mdp, expert, det) == np.inf


def test_trajectory_kl_linear_mdp():
    lin = mk.random_linear_mdp(4, 2, 2, 3, rng=0)
    u = np.full((3, 4, 2), 0.5)
    pi = np.broadcast_to([0.8, 0.2], (3, 4, 2))
    assert trajectory_kl(lin, pi, u) == pytest.approx(3 * (0.8 * np.log(1.6) + 0.2 * np.log(0.4)))


def test_trajectory_kl_needs_finite_horizon():
    mdp = mk.random_mdp(n_states=2, n_actions=2, gamma=0.9, rng=0)
    with pytest.raises(ValueError, match="must be finite-horizon"):
        trajectory_kl(mdp, [[1, 0], [1, 0]], [[0.5, 0.5], [0.5, 0.5]])


def test_trajectory_kl_mismatched_horizon(small):
    mdp, expert = small
    with pytest.raises(ValueError, match=r"`pi` must have shape \(H, S, A\) = \(3, 3, 2\)"):
        trajectory_kl(mdp, expert, np.full((4, 3, 2), 0.5))


def test_trajectory_kl_wrong_mdp_type():
    with pytest.raises(TypeError, match="TabularMDP or a LinearMDP"):
        trajectory_kl("mdp", [[1.0]], [[1.0]])


def test_trajectories_from_lists_are_validated():
    tr = Trajectories(np.zeros((2, 3), int), np.zeros((2, 2), int), np.zeros((2, 2)), 2)
    assert behavior_cloning(tr, 1, 1, horizon=2).pi.shape == (2, 1, 1)


def test_bc_result_is_named_with_summary_and_frame():
    states = np.array([[0, 1], [0, 0]])
    actions = np.array([[1, 0], [1, 1]])
    res = behavior_cloning((states, actions), 2, 2, horizon=2)
    assert res.n_demonstrations == 2 and res.counts[0, 0].tolist() == [0.0, 2.0]
    assert res.summary() == ("behavior cloning: 2 demonstrations, H=2, 1 unvisited (stage, state) pairs, "
                             "min pi = 0.25, kappa=1")
    frame = res.to_frame()
    assert frame.shape == (8, 5) and frame["pi"].iloc[1] == 0.75 and frame["count"].iloc[1] == 2.0
