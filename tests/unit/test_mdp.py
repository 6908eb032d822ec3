"""TabularMDP: evaluation, occupancy, simulation, sparse = dense, finite horizon vs brute force."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

import mdpkit as mk


def test_sparse_and_dense_agree():
    mdp = mk.random_mdp(n_states=30, n_actions=3, gamma=0.95, rng=2, n_successors=4)
    sparse = mk.TabularMDP(sp.csr_matrix(mdp.P.reshape(90, 30)), mdp.r, gamma=0.95)
    for m in ("value_iteration", "policy_iteration", "modified_policy_iteration"):
        np.testing.assert_allclose(mk.solve(sparse, method=m).V, mk.solve(mdp, method=m).V, atol=1e-8)
    pi = mk.uniform_policy(mdp)
    np.testing.assert_allclose(sparse.evaluate(pi), mdp.evaluate(pi), rtol=1e-10)
    np.testing.assert_allclose(sparse.occupancy(pi), mdp.occupancy(pi), atol=1e-12)
    soft_s = mk.solve_kl_regularized(sparse, pi, 0.2).V
    soft_d = mk.solve_kl_regularized(mdp, pi, 0.2).V
    np.testing.assert_allclose(soft_s, soft_d, atol=1e-8)


def test_occupancy_identities():
    mdp = mk.random_mdp(n_states=6, n_actions=2, gamma=0.8, rng=0)
    pi = np.random.default_rng(1).dirichlet(np.ones(2), size=6)
    d = mdp.occupancy(pi)
    assert d.sum() == pytest.approx(1.0)
    assert (d * mdp.r).sum() == pytest.approx((1 - 0.8) * mdp.mu0 @ mdp.evaluate(pi), rel=1e-12)
    # Monte-Carlo discounted visitation from simulated paths (independent route)
    tr = mdp.simulate(pi, 4000, rng=3, n_steps=60)
    w = (1 - 0.8) * 0.8 ** np.arange(60)
    emp = np.zeros((6, 2))
    np.add.at(emp, (tr.states[:, :60], tr.actions), w[None, :])
    emp /= 4000
    assert np.abs(emp - d).max() < 0.02


def test_finite_horizon_against_brute_force():
    """Backward induction equals the best of all deterministic Markov policies (enumeration)."""
    H, S, A = 2, 2, 2
    mdp = mk.random_mdp(n_states=S, n_actions=A, horizon=H, rng=5, stationary=False)
    res = mk.solve(mdp)
    assert res.V.shape == (H + 1, S) and np.all(res.V[H] == 0)
    best = np.full(S, -np.inf)
    for acts in itertools.product(range(A), repeat=H * S):
        pi = np.eye(A)[np.array(acts).reshape(H, S)]
        best = np.maximum(best, mdp.evaluate(pi)[0])
    np.testing.assert_allclose(res.V[0], best, atol=1e-12)


def test_finite_horizon_soft_stage_dependent_reference():
    mdp = mk.random_mdp(n_states=3, n_actions=2, horizon=3, rng=1)
    ref = np.random.default_rng(0).dirichlet(np.ones(2), size=(3, 3))
    res = mk.solve_kl_regularized(mdp, ref, 0.5)
    reg = mk.PolicyRegularizer(mk.divergences.KL(), ref, 0.5)
    np.testing.assert_allclose(mk.policy_evaluation(mdp, res.pi, policy_reg=reg), res.V, atol=1e-12)


def test_simulate_is_deterministic_and_matches_law():
    mdp = mk.river_swim(4, horizon=5)
    pi = mk.uniform_policy(mdp)
    a = mdp.simulate(pi, 100, rng=7)
    b = mdp.simulate(pi, 100, rng=7)
    np.testing.assert_array_equal(a.states, b.states)
    tr = mdp.simulate(pi, 20_000, rng=1)
    V = mdp.evaluate(pi)
    se = tr.returns.std(ddof=1) / np.sqrt(20_000)
    assert abs(tr.returns.mean() - mdp.mu0 @ V[0]) < 4 * se


def test_read_only_arrays():
    mdp = mk.puterman_example()
    with pytest.raises(ValueError):
        mdp.r[0, 0] = 3.0


def test_generators_shapes_and_stochasticity():
    for mdp in (mk.chain_mdp(50, gamma=0.99), mk.gridworld(5, 7, gamma=0.9), mk.river_swim(6, gamma=0.9),
                mk.random_mdp(n_states=10, n_actions=3, gamma=0.9, sparse=True, n_successors=3, rng=0)):
        P = mdp.P
        np.testing.assert_allclose(P.sum(-1), 1.0, atol=1e-12)
    g = mk.gridworld(4, gamma=0.9, slip=0.0)
    V = mk.solve(g).V
    assert V[-1] == pytest.approx(1 / (1 - 0.9))
    assert V[0] == pytest.approx(0.9**6 / (1 - 0.9))  # 6 moves to the goal, then reward forever


@pytest.mark.parametrize("name", ["FrozenLake-v1", "Taxi-v4", "CliffWalking-v1"])
def test_from_gymnasium(name):
    gym = pytest.importorskip("gymnasium")
    try:
        env = gym.make(name)
    except Exception as e:  # pragma: no cover - version-dependent env ids
        pytest.skip(str(e))
    mdp = mk.TabularMDP.from_gymnasium(env, gamma=0.99)
    table = env.unwrapped.P
    assert mdp.n_states == len(table) + 1
    np.testing.assert_allclose(mdp.P.sum(-1), 1.0, atol=1e-12)
    res = mk.solve(mdp)
    assert res.converged


def test_from_gymnasium_frozenlake_value():
    """Deterministic FrozenLake: the optimal discounted value of the start is gamma^(6-1)."""
    gym = pytest.importorskip("gymnasium")
    env = gym.make("FrozenLake-v1", is_slippery=False)
    mdp = mk.TabularMDP.from_gymnasium(env, gamma=0.9)
    assert mk.solve(mdp).V[0] == pytest.approx(0.9**5)


def test_one_policy_evaluation_dense_sparse_and_regularized():
    """evaluate() (compiled recursion on dense P, CSR products on sparse P) and
    policy_evaluation() share one routine; both agree with a NumPy backward recursion."""
    import scipy.sparse as sp

    mdp = mk.random_mdp(n_states=5, n_actions=3, horizon=4, rng=2)
    pi = np.random.default_rng(3).dirichlet(np.ones(3), size=(4, 5))
    ref = np.zeros((5, 5))
    for h in range(3, -1, -1):
        ref[h] = (pi[h] * (mdp.r + mdp.P @ ref[h + 1])).sum(axis=1)
    np.testing.assert_allclose(mdp.evaluate(pi), ref, rtol=0, atol=1e-13)
    sparse = mk.TabularMDP(sp.csr_matrix(mdp.P.reshape(15, 5)), mdp.r, horizon=4)
    np.testing.assert_allclose(sparse.evaluate(pi), ref, rtol=0, atol=1e-13)
    pi_ref = np.full((4, 5, 3), 1 / 3)
    reg = mk.policy_evaluation(mdp, pi, policy_reg=mk.solvers.PolicyRegularizer(mk.divergences.KL(), pi_ref, 0.5))
    kl = (pi * np.log(pi / pi_ref)).sum(axis=-1)
    ref_kl = np.zeros((5, 5))
    for h in range(3, -1, -1):
        ref_kl[h] = (pi[h] * (mdp.r + mdp.P @ ref_kl[h + 1])).sum(axis=1) - 0.5 * kl[h]
    np.testing.assert_allclose(reg, ref_kl, rtol=0, atol=1e-13)
