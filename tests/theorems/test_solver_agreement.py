"""Puterman (2005) Thms 6.3.1, 6.4.2, 6.5.5: VI, PI and MPI converge to the same V*;
regularized: soft VI = soft PI = soft MPI, and V* is the fixed point (certificate)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mdpkit as mk
from tests.strategies import divergences, policies, tabular_mdps

METHODS = ("value_iteration", "policy_iteration", "modified_policy_iteration")


@given(mdp=tabular_mdps(gamma=0.9))
def test_standard_methods_agree(mdp):
    Vs = [mk.solve(mdp, method=m, tol=1e-10).V for m in METHODS]
    for V in Vs[1:]:
        np.testing.assert_allclose(V, Vs[0], atol=3e-10 / (1 - 0.9))
    # greedy policy is optimal: its exact value equals V*
    res = mk.solve(mdp, tol=1e-11)
    np.testing.assert_allclose(mdp.evaluate(res.pi), res.V, atol=1e-8)


@given(mdp=tabular_mdps(gamma=0.9), data=st.data())
def test_regularized_methods_agree(mdp, data):
    div = data.draw(divergences())
    pi_ref = data.draw(policies(mdp.n_states, mdp.n_actions))
    beta = data.draw(st.sampled_from([0.05, 1.0, 20.0]))
    reg = mk.PolicyRegularizer(div, pi_ref, beta)
    Vs = [mk.solve(mdp, policy_reg=reg, method=m, tol=1e-10).V for m in METHODS]
    for V in Vs[1:]:
        np.testing.assert_allclose(V, Vs[0], atol=1e-8)
    # the returned policy attains the regularized value (exact regularized evaluation)
    res = mk.solve(mdp, policy_reg=reg, tol=1e-11)
    np.testing.assert_allclose(mk.policy_evaluation(mdp, res.pi, policy_reg=reg), res.V, atol=1e-7)


@given(mdp=tabular_mdps(gamma=0.99, max_states=4))
def test_tolerance_guarantee(mdp):
    """The span rule returns ||V - V*|| <= tol (V* from policy iteration, exact)."""
    exact = mk.solve(mdp, method="policy_iteration").V
    for tol in (1e-3, 1e-6):
        V = mk.solve(mdp, method="value_iteration", tol=tol).V
        assert np.abs(V - exact).max() <= tol * (1 + 1e-6) + 1e-9


@pytest.mark.parametrize("beta", [1e-8, 1e-6, 1e-3, 1.0, 1e3, 1e6, 1e8])
def test_extreme_beta_finite_and_bracketed(beta):
    mdp = mk.random_mdp(n_states=8, n_actions=3, gamma=0.9, rng=4)
    pi_ref = mk.uniform_policy(mdp)
    res = mk.solve_kl_regularized(mdp, pi_ref, beta)
    assert res.converged and np.all(np.isfinite(res.V)) and np.all(np.isfinite(res.pi))
    V_star = mk.solve(mdp, method="policy_iteration").V
    V_ref = mdp.evaluate(pi_ref)
    tol = 1e-7
    assert np.all(res.V <= V_star + tol)
    assert np.all(res.V >= V_ref - tol)
    assert np.all(V_star - res.V <= beta * np.log(3) / (1 - 0.9) + tol)
