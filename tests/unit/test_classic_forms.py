"""State-action-pair form, terminal values with a discounted finite horizon, r[s, a, s_next].

Independent route: QuantEcon's ``DiscreteDP`` (its own solvers and backward induction)
and NumPy recursions written here.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import mdpkit as mk

qe_markov = pytest.importorskip("quantecon.markov")


def sa_instance(seed=0, S=6, A=3):
    """Random pairs (states with different action sets), shuffled."""
    rng = np.random.default_rng(seed)
    pairs = [(s, a) for s in range(S) for a in range(A) if a == 0 or rng.random() < 0.6]
    pairs = [pairs[i] for i in rng.permutation(len(pairs))]
    s_idx = np.array([p[0] for p in pairs])
    a_idx = np.array([p[1] for p in pairs])
    P = rng.dirichlet(np.ones(S), size=len(pairs))
    r = rng.normal(size=len(pairs))
    return s_idx, a_idx, P, r


@pytest.mark.parametrize("sparse", [False, True])
def test_from_sa_pairs_matches_quantecon(sparse):
    s_idx, a_idx, P, r = sa_instance()
    PP = sp.csr_matrix(P) if sparse else P
    mdp = mk.TabularMDP.from_sa_pairs(s_idx, a_idx, PP, r, gamma=0.95)
    ddp = qe_markov.DiscreteDP(r, P, 0.95, s_idx, a_idx)
    qe = ddp.solve(method="policy_iteration")
    for method in ("policy_iteration", "value_iteration", "linear_programming"):
        res = mk.solve(mdp, method=method, tol=1e-10)
        np.testing.assert_allclose(res.V, qe.v, atol=1e-8)
    res = mk.solve(mdp, method="policy_iteration")
    np.testing.assert_array_equal(res.pi.argmax(1), qe.sigma)
    # results map back to pairs: Q at the pairs equals R + beta Q v (QuantEcon's pair order is sorted)
    order = np.lexsort((a_idx, s_idx))
    np.testing.assert_allclose(mdp.pair_values(res.Q), (r + 0.95 * P @ qe.v)[order], atol=1e-8)


def test_to_sa_pairs_round_trip():
    s_idx, a_idx, P, r = sa_instance(1)
    mdp = mk.TabularMDP.from_sa_pairs(s_idx, a_idx, P, r, gamma=0.9)
    s2, a2, P2, r2 = mdp.to_sa_pairs()
    order = np.lexsort((a_idx, s_idx))
    np.testing.assert_array_equal(s2, s_idx[order])
    np.testing.assert_array_equal(a2, a_idx[order])
    np.testing.assert_allclose(P2.toarray(), P[order], atol=0)
    np.testing.assert_allclose(r2, r[order], atol=0)
    back = mk.TabularMDP.from_sa_pairs(s2, a2, P2, r2, gamma=0.9)
    np.testing.assert_array_equal(back.r, mdp.r)


def test_sa_pair_errors():
    s_idx, a_idx, P, r = sa_instance(2)
    with pytest.raises(ValueError, match=r"`s_indices\[0\]` = 6 is out of range"):
        mk.TabularMDP.from_sa_pairs(np.r_[6, s_idx[1:]], a_idx, P, r, gamma=0.9)
    with pytest.raises(ValueError, match=r"`a_indices\[1\]` = -1 is out of range"):
        mk.TabularMDP.from_sa_pairs(s_idx, np.r_[a_idx[0], -1, a_idx[2:]], P, r, gamma=0.9)
    with pytest.raises(ValueError, match=r"`a_indices\[0\]` = 2 is out of range; it must lie in \[0, 1\]"):
        mk.TabularMDP.from_sa_pairs([0, 1], [2, 0], np.eye(2), [1.0, 1.0], gamma=0.9, n_actions=2)
    with pytest.raises(ValueError, match=r"duplicate state-action pair \(s, a\) = \(0, 1\) at positions 0 and 2"):
        mk.TabularMDP.from_sa_pairs([0, 1, 0], [1, 0, 1], np.full((3, 2), 0.5), [1.0, 2.0, 3.0], gamma=0.9)
    with pytest.raises(ValueError, match=r"state 1 has no feasible action"):
        mk.TabularMDP.from_sa_pairs([0, 2, 0], [0, 0, 1], np.full((3, 3), 1 / 3), [1.0, 2.0, 3.0], gamma=0.9)
    with pytest.raises(ValueError, match=r"same length"):
        mk.TabularMDP.from_sa_pairs([0, 1], [0], np.eye(2), [1.0, 1.0], gamma=0.9)
    with pytest.raises(ValueError, match=r"one row per pair"):
        mk.TabularMDP.from_sa_pairs([0, 1], [0, 0], np.eye(3), [1.0, 1.0], gamma=0.9)
    with pytest.raises(TypeError, match=r"`s_indices` must hold integers"):
        mk.TabularMDP.from_sa_pairs([0.0, 1.0], [0, 0], np.eye(2), [1.0, 1.0], gamma=0.9)


@pytest.mark.filterwarnings("ignore:infinite horizon solution methods are disabled")
@pytest.mark.parametrize("gamma", [None, 0.9, 1.0])
def test_terminal_value_matches_quantecon_backward_induction(gamma):
    rng = np.random.default_rng(3)
    S, A, H = 5, 3, 6
    P = rng.dirichlet(np.ones(S), size=(S, A))
    r = rng.normal(size=(S, A))
    v_term = rng.normal(size=S)
    mdp = mk.TabularMDP(P, r, gamma=gamma, horizon=H, terminal_value=v_term)
    res = mk.solve(mdp)
    vs, sigmas = qe_markov.backward_induction(qe_markov.DiscreteDP(r, P, 1.0 if gamma is None else gamma), H,
                                              v_term=v_term)
    np.testing.assert_allclose(res.V, vs, atol=1e-12)
    np.testing.assert_array_equal(res.pi.argmax(-1), sigmas)
    np.testing.assert_allclose(mdp.evaluate(res.pi), vs, atol=1e-12)
    np.testing.assert_allclose(mk.policy_evaluation(mdp, res.pi), vs, atol=1e-12)


def test_gamma_horizon_and_terminal_errors():
    P, r = np.full((2, 1, 2), 0.5), np.zeros((2, 1))
    with pytest.raises(ValueError, match="one of `gamma`"):
        mk.TabularMDP(P, r)
    with pytest.raises(ValueError, match=r"`gamma` must be <= 1"):
        mk.TabularMDP(P, r, gamma=1.5, horizon=3)
    with pytest.raises(ValueError, match=r"`terminal_value` needs a finite-horizon"):
        mk.TabularMDP(P, r, gamma=0.9, terminal_value=[0.0, 1.0])
    with pytest.raises(ValueError, match=r"`terminal_value` must have shape \(2\)"):
        mk.TabularMDP(P, r, horizon=2, terminal_value=[0.0, 1.0, 2.0])


def test_transition_dependent_rewards_reduce_exactly():
    rng = np.random.default_rng(4)
    S, A = 5, 2
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R3 = rng.normal(size=(S, A, S))
    mdp = mk.TabularMDP(P, R3, gamma=0.9)
    np.testing.assert_allclose(mdp.r, np.einsum("sat,sat->sa", P, R3), atol=1e-15)
    # NumPy value iteration on the transition-reward Bellman equation Q = sum_s' P (r + gamma V)
    V = np.zeros(S)
    for _ in range(600):
        V = (P * (R3 + 0.9 * V[None, None, :])).sum(-1).max(1)
    np.testing.assert_allclose(mk.solve(mdp, method="policy_iteration").V, V, atol=1e-10)
    sparse = mk.TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), R3, gamma=0.9)
    np.testing.assert_allclose(sparse.r, mdp.r, atol=1e-15)
    # finite horizon, stage-dependent r[h, s, a, s_next]
    R4 = rng.normal(size=(3, S, A, S))
    fh = mk.TabularMDP(P, R4, horizon=3)
    np.testing.assert_allclose(fh.r, np.einsum("sat,hsat->hsa", P, R4), atol=1e-15)
    with pytest.raises(ValueError, match=r"`r` must be finite"):
        mk.TabularMDP(P, np.where(R3 > 1.5, np.inf, R3), gamma=0.9)
    with pytest.raises(ValueError, match=r"`P` must have shape \(4, 2, 4\) to match `r`"):
        mk.TabularMDP(P, rng.normal(size=(4, A, 4)), gamma=0.9)
