"""Linear programming method and the value bounds of every discounted solve.

Independent routes: a cvxpy LP over values (the oracle in ``mdpkit.checks._oracles``),
a second HiGHS program over *normalized* occupancy measures with ``mu0`` on the right-hand
side (a different formulation from the one under test), and brute-force enumeration of
deterministic policies with NumPy linear solves.
"""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

import mdpkit as mk
from mdpkit.checks._oracles import lp_optimal_values

METHODS = ["value_iteration", "policy_iteration", "modified_policy_iteration", "linear_programming"]


def brute_force_values(P, r, gamma):
    """max over every feasible deterministic policy of (I - gamma P_pi)^{-1} r_pi (NumPy only)."""
    S = r.shape[0]
    best = np.full(S, -np.inf)
    for pol in itertools.product(*[np.flatnonzero(np.isfinite(r[s])) for s in range(S)]):
        Pp, rp = P[np.arange(S), pol], r[np.arange(S), pol]
        best = np.maximum(best, np.linalg.solve(np.eye(S) - gamma * Pp, rp))
    return best


def normalized_occupancy_lp(P, r, mu0, gamma):
    """max <d, r> s.t. sum_a d(s',a) = (1-gamma) mu0(s') + gamma sum P(s'|s,a) d(s,a), d >= 0 (dense)."""
    S, A = r.shape
    Aeq = np.zeros((S, S * A))
    for s in range(S):
        Aeq[s, s * A:(s + 1) * A] = 1.0
    Aeq -= gamma * P.reshape(S * A, S).T
    res = linprog(-r.ravel(), A_eq=Aeq, b_eq=(1 - gamma) * mu0, bounds=(0, None), method="highs")
    return -res.fun / (1 - gamma), res.x.reshape(S, A)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lp_agrees_with_cvxpy_and_second_highs_program(seed):
    mdp = mk.random_mdp(n_states=12, n_actions=3, gamma=0.9, rng=seed)
    res = mk.solve(mdp, method="linear_programming")
    assert res.converged and res.method == "linear_programming"
    # cvxpy's default conic solver is accurate to ~1e-8 here; 1e-6 leaves room for it
    np.testing.assert_allclose(res.V, lp_optimal_values(mdp), atol=1e-6)
    val, d = normalized_occupancy_lp(np.asarray(mdp.P), np.asarray(mdp.r), np.asarray(mdp.mu0), 0.9)
    assert abs(mdp.mu0 @ res.V - val) < 1e-8
    # the policy from the dual attains V*: its exact value equals the primal values
    np.testing.assert_allclose(mdp.evaluate(res.pi), res.V, atol=1e-9)


def test_lp_certificate_and_policy_from_dual():
    mdp = mk.random_mdp(n_states=15, n_actions=4, gamma=0.95, rng=3)
    res = mk.solve(mdp, method="linear_programming")
    t = res.trace
    assert abs(t["duality_gap"]) < 1e-8 and t["primal_infeasibility"] < 1e-8 and t["dual_infeasibility"] < 1e-8
    x = t["occupancy"]
    assert x.shape == (15, 4) and x.min() >= -1e-12
    np.testing.assert_array_equal(res.pi.argmax(1), x.argmax(1))
    # the dual objective: sum r x = w^T V* with the uniform weights w of the program
    assert abs((x * mdp.r).sum() - res.V.mean()) < 1e-8
    np.testing.assert_allclose(res.V, lp_optimal_values(mdp), atol=1e-6)


def test_lp_sparse_and_masked():
    rng = np.random.default_rng(4)
    S, A = 6, 3
    P = rng.dirichlet(np.ones(S), size=(S, A))
    P[P < 0.15] = 0.0
    P /= P.sum(-1, keepdims=True)
    r = rng.normal(size=(S, A))
    r[0, 0] = r[3, 1] = r[3, 2] = -np.inf
    want = brute_force_values(P, r, 0.8)
    for PP in (P, sp.csr_matrix(P.reshape(S * A, S))):
        res = mk.solve(mk.TabularMDP(PP, r, gamma=0.8), method="linear_programming")
        np.testing.assert_allclose(res.V, want, atol=1e-10)
        assert res.pi[0, 0] == 0 and res.pi[3, 0] == 1


def test_lp_rejects_regularized_and_robust():
    mdp = mk.random_mdp(n_states=3, n_actions=2, gamma=0.9, rng=0)
    with pytest.raises(ValueError, match="linear_programming"):
        mk.solve_kl_regularized(mdp, np.full((3, 2), 0.5), beta=1.0, method="linear_programming")
    with pytest.raises(ValueError, match="linear_programming"):
        mk.solve(mdp, robust=mk.Robust(mk.divergences.KL(), lam=1.0), method="linear_programming")


@pytest.mark.parametrize("method", METHODS)
def test_bounds_bracket_the_optimum(method):
    mdp = mk.random_mdp(n_states=8, n_actions=3, gamma=0.9, rng=5)
    v_star = brute_force_values(np.asarray(mdp.P), np.asarray(mdp.r), 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mk._results.ConvergenceWarning)
        res = mk.solve(mdp, method=method, tol=1e-2)
    lo, hi = res.bounds
    assert np.all(lo <= v_star + 1e-12) and np.all(v_star <= hi + 1e-12)
    assert np.max(np.abs(res.V - v_star)) <= res.error_bound + 1e-12


def test_bounds_of_stopped_value_iteration_are_valid():
    # stopped early (max_iter=3): not converged, but the bounds still bracket V*
    mdp = mk.random_mdp(n_states=8, n_actions=3, gamma=0.95, rng=6)
    v_star = brute_force_values(np.asarray(mdp.P), np.asarray(mdp.r), 0.95)
    with pytest.warns(mk._results.ConvergenceWarning):
        res = mk.solve(mdp, method="value_iteration", max_iter=3)
    assert not res.converged
    lo, hi = res.bounds
    assert np.all(lo <= v_star + 1e-12) and np.all(v_star <= hi + 1e-12)
    assert res.error_bound >= np.max(np.abs(res.V - v_star)) > 1e-3


def test_bounds_regularized_and_robust_and_finite_horizon():
    mdp = mk.random_mdp(n_states=6, n_actions=2, gamma=0.9, rng=7)
    soft = mk.solve_kl_regularized(mdp, np.full((6, 2), 0.5), beta=0.3)
    assert soft.bounds is not None and soft.error_bound <= 1e-8
    rob = mk.solve_robust(mdp, div=mk.divergences.TotalVariation(), rho=0.1)
    assert rob.bounds is not None and rob.error_bound <= 1e-8
    fh = mk.solve(mk.random_mdp(n_states=4, n_actions=2, horizon=3, rng=0))
    assert fh.bounds is None and fh.error_bound == 0.0
