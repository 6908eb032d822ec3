"""Infeasible actions: -inf rewards (QuantEcon's convention) and explicit action masks.

Independent routes: brute-force enumeration of the feasible deterministic policies, and a
NumPy soft value iteration on the reduced action sets (scipy's logsumexp).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp
from test_classic_lp import METHODS, brute_force_values

import mdpkit as mk
from mdpkit.divergences import KL, ChiSquare, TotalVariation


def masked_instance(seed=0, S=5, A=3):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    r = rng.normal(size=(S, A))
    r[0, 0] = r[2, 1] = r[2, 2] = r[4, 1] = -np.inf
    return P, r


@pytest.mark.parametrize("method", [*METHODS, "gauss_seidel"])
def test_every_method_matches_enumeration(method):
    if method not in mk.solvers.METHODS:
        pytest.skip("method not available")
    P, r = masked_instance()
    want = brute_force_values(P, r, 0.9)
    res = mk.solve(mk.TabularMDP(P, r, gamma=0.9), method=method, tol=1e-10)
    np.testing.assert_allclose(res.V, want, atol=1e-9)
    assert np.all(res.pi[~np.isfinite(r)] == 0)
    assert np.all(np.isneginf(res.Q[~np.isfinite(r)]))


def test_explicit_mask_equals_minus_inf_and_sparse():
    P, r = masked_instance(1)
    feas = np.isfinite(r)
    want = brute_force_values(P, r, 0.9)
    a = mk.solve(mk.TabularMDP(P, np.where(feas, r, 7.0), gamma=0.9, action_mask=feas))
    b = mk.solve(mk.TabularMDP(sp.csr_matrix(P.reshape(-1, 5)), r, gamma=0.9), method="policy_iteration")
    np.testing.assert_allclose(a.V, want, atol=1e-8)
    np.testing.assert_allclose(b.V, want, atol=1e-10)


def numpy_soft_vi(P, r, ref, beta, gamma, n=2000):
    """V = beta log sum_{a feasible} ref'(a|s) exp(Q/beta), ref' = ref renormalized on the feasible set."""
    feas = np.isfinite(r)
    ref = np.where(feas, ref, 0.0)
    ref = ref / ref.sum(1, keepdims=True)
    V = np.zeros(r.shape[0])
    with np.errstate(divide="ignore"):
        logref = np.log(ref)
    for _ in range(n):
        Q = np.where(feas, np.where(feas, r, 0.0) + gamma * P @ V, -np.inf)
        V = beta * logsumexp(Q / beta + logref, axis=1)
    return V


def test_soft_max_excludes_masked_actions_from_pi_ref():
    P, r = masked_instance(2)
    ref = np.random.default_rng(3).dirichlet(np.ones(3), size=5)
    res = mk.solve_kl_regularized(mk.TabularMDP(P, r, gamma=0.8), ref, beta=0.7, tol=1e-12)
    np.testing.assert_allclose(res.V, numpy_soft_vi(P, r, ref, 0.7, 0.8), atol=1e-10)
    assert np.all(res.pi[~np.isfinite(r)] == 0)
    # pi_ref may vanish on infeasible actions (it is renormalized on the feasible ones)
    ref0 = np.where(np.isfinite(r), ref, 0.0)
    ref0 /= ref0.sum(1, keepdims=True)
    res0 = mk.solve_kl_regularized(mk.TabularMDP(P, r, gamma=0.8), ref0, beta=0.7, tol=1e-12)
    np.testing.assert_allclose(res0.V, res.V, atol=1e-10)


@pytest.mark.parametrize("div", [ChiSquare(), TotalVariation()])
def test_f_regularized_and_robust_respect_the_mask(div):
    P, r = masked_instance(3)
    mdp = mk.TabularMDP(P, r, gamma=0.9)
    res = mk.solve(mdp, policy_reg=mk.PolicyRegularizer(div, np.full((5, 3), 1 / 3), beta=0.5))
    assert res.converged and np.all(res.pi[~np.isfinite(r)] == 0)
    # beta -> 0: the regularized optimum tends to the hard one (enumeration)
    hard = mk.solve(mdp, policy_reg=mk.PolicyRegularizer(div, np.full((5, 3), 1 / 3), beta=1e-9))
    np.testing.assert_allclose(hard.V, brute_force_values(P, r, 0.9), atol=1e-6)
    rob = mk.solve_robust(mdp, div=KL(), rho=0.0)  # rho = 0: nominal
    np.testing.assert_allclose(rob.V, brute_force_values(P, r, 0.9), atol=1e-7)
    assert np.all(rob.pi[~np.isfinite(r)] == 0)


def test_simulate_and_finite_horizon_respect_the_mask():
    P, r = masked_instance(4)
    mdp = mk.TabularMDP(P, r, horizon=4)
    res = mk.solve(mdp)
    assert np.all(res.pi[:, ~np.isfinite(r)] == 0)
    # stage values by NumPy backward induction over the feasible actions
    V = np.zeros(5)
    for _ in range(4):
        V = np.max(np.where(np.isfinite(r), np.where(np.isfinite(r), r, 0) + P @ V, -np.inf), axis=1)
    np.testing.assert_allclose(res.V[0], V, atol=1e-12)
    tr = mdp.simulate(res.pi, n_episodes=50, rng=0)
    assert np.all(np.isfinite(r)[tr.states[:, :-1], tr.actions])


def test_errors():
    P, r = masked_instance()
    bad = r.copy()
    bad[3, :] = -np.inf
    with pytest.raises(ValueError, match=r"state 3 has no feasible action"):
        mk.TabularMDP(P, bad, gamma=0.9)
    with pytest.raises(ValueError, match=r"state 1 has no feasible action"):
        mk.TabularMDP(P, np.zeros((5, 3)), gamma=0.9, action_mask=np.arange(15).reshape(5, 3) < 3)
    mdp = mk.TabularMDP(P, r, gamma=0.9)
    with pytest.raises(ValueError, match=r"infeasible actions; `pi\[0, 0\]`"):
        mdp.evaluate(np.full((5, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"infeasible"):
        mdp.simulate(np.full((5, 3), 1 / 3), n_episodes=2, n_steps=2)
    for v in (np.nan, np.inf):
        bad = r.copy()
        bad[1, 1] = v
        with pytest.raises(ValueError, match=r"`r` must be finite \(or -inf"):
            mk.TabularMDP(P, bad, gamma=0.9)
    with pytest.raises(TypeError, match="action_mask"):
        mk.TabularMDP(P, r, gamma=0.9, action_mask=np.ones((5, 3)))
    with pytest.raises(ValueError, match="action_mask"):
        mk.TabularMDP(P, r, gamma=0.9, action_mask=np.ones((5, 2), dtype=bool))


def test_zero_transition_rows_allowed_for_infeasible_pairs():
    P, r = masked_instance(5)
    P0 = P.copy()
    P0[~np.isfinite(r)] = 0.0
    np.testing.assert_allclose(mk.solve(mk.TabularMDP(P0, r, gamma=0.9)).V, brute_force_values(P, r, 0.9),
                               atol=1e-8)
    with pytest.raises(ValueError, match=r"P\[1, 0, :\]"):
        P1 = P.copy()
        P1[1, 0] = 0.0
        mk.TabularMDP(P1, r, gamma=0.9)
