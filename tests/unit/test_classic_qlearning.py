"""Tabular Q-learning family: exact recursions on deterministic models, seeding, the
exact Q* against an independent LP, convergence, kernels against their py_func."""

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.checks._oracles import lp_optimal_values
from mdpkit.learners import _qlearning_kernels as QK
from mdpkit.learners._qlearning import _model

L = mk.learners


def deterministic_mdp(gamma=0.8):
    rng = np.random.default_rng(0)
    S, A = 4, 2
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, size=(S, A))] = 1.0
    return mk.TabularMDP(P, rng.normal(size=(S, A)), gamma=gamma), P


def test_constant_step_one_on_deterministic_model_is_value_iteration():
    mdp, P = deterministic_mdp()
    run = L.q_learning(mdp, n_iterations=7, eta=1.0, rng=0, n_checkpoints=7)
    Q = np.zeros((4, 2))
    for _ in range(7):
        Q = np.asarray(mdp.r) + 0.8 * P @ Q.max(1)
    np.testing.assert_allclose(run.Q[0], Q, atol=1e-13)


@pytest.mark.parametrize("eta", ["linear", "rescaled_linear", "polynomial"])
def test_schedules_on_deterministic_model(eta):
    mdp, P = deterministic_mdp()
    run = L.q_learning(mdp, n_iterations=30, eta=eta, omega=0.7, rng=0)
    Q = np.zeros((4, 2))
    for t in range(1, 31):
        e = {"linear": 1 / t, "rescaled_linear": 1 / (1 + 0.2 * t), "polynomial": t ** -0.7}[eta]
        Q = (1 - e) * Q + e * (np.asarray(mdp.r) + 0.8 * P @ Q.max(1))
    np.testing.assert_allclose(run.Q[0], Q, atol=1e-12)


def test_speedy_on_deterministic_model():
    mdp, P = deterministic_mdp()
    run = L.speedy_q_learning(mdp, n_iterations=25, rng=0)
    T = lambda Q: np.asarray(mdp.r) + 0.8 * P @ Q.max(1)  # noqa: E731
    Q_prev = Q = np.zeros((4, 2))
    for t in range(1, 26):
        a = 1 / t
        Q, Q_prev = Q + a * (T(Q_prev) - Q) + (1 - a) * (T(Q) - T(Q_prev)), Q
    np.testing.assert_allclose(run.Q[0], Q, atol=1e-12)


def test_q_star_is_exact_and_learners_converge():
    mdp = mk.random_mdp(n_states=5, n_actions=2, gamma=0.5, rng=3)
    q_lp = np.asarray(mdp.r) + 0.5 * np.asarray(mdp.P) @ lp_optimal_values(mdp)  # cvxpy route
    runs = [L.q_learning(mdp, n_iterations=20000, n_runs=4, rng=1),
            L.speedy_q_learning(mdp, n_iterations=20000, n_runs=4, rng=1),
            L.variance_reduced_q_learning(mdp, n_epochs=6, n_runs=4, rng=1),
            L.q_learning(mdp, n_iterations=100000, n_runs=4, sampling="trajectory", rng=1)]
    for run in runs:
        np.testing.assert_allclose(run.Q_star, q_lp, atol=1e-6)
        # the recorded error is the sup distance of the returned Q to Q*
        np.testing.assert_allclose(run.error[:, -1], np.abs(run.Q - q_lp).max(axis=(1, 2)), atol=1e-6)
        assert run.error[:, -1].max() < 0.1 < run.error[:, 0].min()


def test_seeding_is_reproducible_and_prefix_stable():
    mdp = mk.random_mdp(n_states=4, n_actions=2, gamma=0.7, rng=0)
    a = L.q_learning(mdp, n_iterations=300, n_runs=3, rng=5)
    b = L.q_learning(mdp, n_iterations=300, n_runs=5, rng=np.random.SeedSequence(5))
    np.testing.assert_array_equal(a.error, b.error[:3])
    np.testing.assert_array_equal(a.seeds, b.seeds[:3])
    assert not np.array_equal(a.error[0], a.error[1])
    frame = a.to_frame()
    assert len(frame) == a.error.size and set(a.summary()) == {"error", "error_se", "n_samples"}


def test_infeasible_actions_are_never_learned():
    P = np.random.default_rng(1).dirichlet(np.ones(3), size=(3, 2))
    r = np.array([[1.0, -np.inf], [0.0, 2.0], [-np.inf, 0.5]])
    mdp = mk.TabularMDP(P, r, gamma=0.6)
    for run in (L.q_learning(mdp, n_iterations=2000, rng=0),
                L.q_learning(mdp, n_iterations=5000, sampling="trajectory", rng=0),
                L.variance_reduced_q_learning(mdp, n_epochs=3, rng=0)):
        assert np.all(np.isneginf(run.Q[0][~np.isfinite(r)])) and np.all(np.isfinite(run.error))
        assert run.error[0, -1] < 0.3


def test_errors():
    mdp = mk.small(gamma=0.5)
    with pytest.raises(ValueError, match="`eta` must be one of"):
        L.q_learning(mdp, n_iterations=10, eta="harmonic")
    with pytest.raises(ValueError, match=r"`omega` must be > 0.5"):
        L.q_learning(mdp, n_iterations=10, eta="polynomial", omega=0.5)
    with pytest.raises(ValueError, match=r"`eta` must be <= 1"):
        L.q_learning(mdp, n_iterations=10, eta=1.5)
    with pytest.raises(ValueError, match="needs the value itself"):
        L.q_learning(mdp, n_iterations=10, eta="constant")
    with pytest.raises(ValueError, match="`behavior` is for sampling='trajectory'"):
        L.q_learning(mdp, n_iterations=10, behavior=[[0.5, 0.5]] * 2)
    with pytest.raises(ValueError, match="needs a discounted MDP"):
        L.q_learning(mk.small(gamma=None, horizon=3), n_iterations=10)
    with pytest.raises(ValueError, match=r"`n_runs` must be >= 1"):
        L.speedy_q_learning(mdp, n_iterations=10, n_runs=0)
    with pytest.raises(TypeError):
        L.q_learning(mdp, 10)  # keyword-only


def test_kernels_match_py_func():
    mdp = mk.random_mdp(n_states=3, n_actions=2, gamma=0.6, rng=2)
    indptr, indices, cum, r2, feas, Q_star = _model(mdp)
    ck = np.array([1, 3, 5], dtype=np.int64)
    cum_pi = np.cumsum(np.full((3, 2), 0.5), axis=1)
    cum_mu0 = np.cumsum(mdp.mu0)
    for kind, alg in ((0, QK.ALG_Q), (0, QK.ALG_SPEEDY), (1, QK.ALG_Q), (2, QK.ALG_Q)):
        outs = []
        for f in (QK.many_runs, QK.many_runs.py_func):
            Q, err = np.zeros((2, 6)), np.zeros((2, 3))
            f(kind, alg, indptr, indices, cum, r2, feas, 0.6, 3, 2, 5, QK.ETA_RESCALED, 0.0, 1.0, cum_mu0, cum_pi,
              2, np.array([2, 8, 32], dtype=np.int64), Q_star, ck, np.array([3, 4], dtype=np.int64), Q, err)
            outs.append((Q, err))
        np.testing.assert_allclose(outs[0][0], outs[1][0], atol=1e-12)
        np.testing.assert_allclose(outs[0][1], outs[1][1], atol=1e-12)


def test_inner_kernels_match_py_func_on_a_deterministic_model():
    # one-hot transitions and a one-hot behaviour policy: the draws cannot change the result, so the
    # compiled kernels and their py_func (which draws from NumPy's generator) must agree exactly
    mdp, _ = deterministic_mdp()
    indptr, indices, cum, r2, feas, Q_star = _model(mdp)
    ck = np.array([2, 9], dtype=np.int64)
    cum_pi = np.cumsum(np.eye(2)[[0, 1, 1, 0]], axis=1)
    cum_mu0 = np.cumsum(mdp.mu0)
    calls = [
        (QK.synchronous_run, lambda Q, e: (QK.ALG_SPEEDY, indptr, indices, cum, r2, feas, 0.8, 4, 2, 9,
                                           QK.ETA_POLYNOMIAL, 0.0, 0.7, Q_star, ck, 1, Q, e)),
        (QK.variance_reduced_run, lambda Q, e: (indptr, indices, cum, r2, feas, 0.8, 4, 2, 3,
                                                np.array([1, 4], dtype=np.int64), Q_star, 1, Q, e)),
        (QK.trajectory_run, lambda Q, e: (indptr, indices, cum, r2, feas, 0.8, 4, 2, 9, QK.ETA_LINEAR, 0.0, 1.0,
                                          cum_mu0, cum_pi, Q_star, ck, 1, Q, e)),
    ]
    for f, args in calls:
        outs = []
        for g in (f, f.py_func):
            Q, e = np.zeros(8), np.zeros(2)
            g(*args(Q, e))
            outs.append((Q, e))
        np.testing.assert_allclose(outs[0][0], outs[1][0], atol=1e-12)
        np.testing.assert_allclose(outs[0][1], outs[1][1], atol=1e-12)
    for n in (1, 7.0):
        for code in range(4):
            assert QK.step_size(code, n, 0.9, 0.3, 0.8) == QK.step_size.py_func(code, n, 0.9, 0.3, 0.8)
