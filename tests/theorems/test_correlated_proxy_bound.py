"""Laidlaw, Singhal, Dragan (2025), Thm 5.1 (CLAIMS C13); Ng, Harada, Russell (1999).

C13: for every policy pi, with statistics under the reference occupancy mu_ref,
J(pi,R) - J(pi_ref,R) >= (r s_R/s_Rt)(J(pi,Rt) - J(pi_ref,Rt)) - s_R sqrt(1-r^2) sqrt(chi2(mu_pi||mu_ref)).
Checked for random policies and for policies optimized against the proxy.

Ng et al.: potential-based shaping R + gamma Phi(s') - Phi(s) changes Q* to Q* - Phi(s),
so the optimal policies are unchanged.
"""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

import mdpkit as mk
from mdpkit import reward_hacking as rh
from tests.strategies import policies, tabular_mdps


@given(mdp=tabular_mdps(max_states=7, max_actions=4, gamma=0.9), data=st.data())
def test_chi2_occupancy_bound_holds(mdp, data):
    S, A = mdp.n_states, mdp.n_actions
    assume(S * A >= 2)
    seed = data.draw(st.integers(0, 2**31 - 1))
    g = np.random.default_rng(seed)
    R = g.normal(size=(S, A))
    Rt = data.draw(st.floats(-2.0, 2.0)) * R + data.draw(st.sampled_from([0.01, 0.5, 3.0])) * g.normal(size=(S, A))
    pi_ref = data.draw(policies(S, A))
    mu_ref = mdp.occupancy(pi_ref)
    for x in (R, Rt):
        assume(np.sum(mu_ref * (x - np.sum(mu_ref * x)) ** 2) > 1e-8)
    proxy_mdp = mk.TabularMDP(mdp.P, Rt, gamma=mdp.gamma, mu0=mdp.mu0)
    candidates = [data.draw(policies(S, A)), mk.solve(proxy_mdp, method="policy_iteration").pi,
                  mk.solve_kl_regularized(proxy_mdp, pi_ref, data.draw(st.sampled_from([0.01, 1.0]))).pi]
    for pi in candidates:
        b = rh.chi2_occupancy_bound(mdp, pi, pi_ref, R, Rt)
        scale = 1.0 + abs(b.gold_gain) + abs(b.lower_bound)
        assert b.slack >= -1e-9 * scale


@given(mdp=tabular_mdps(max_states=6, max_actions=4, gamma=0.9), data=st.data())
def test_potential_shaping_keeps_optimal_policies(mdp, data):
    S = mdp.n_states
    phi = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1))).normal(size=S) * data.draw(
        st.sampled_from([0.1, 1.0, 10.0]))
    shaped = mk.TabularMDP(mdp.P, rh.expected_reward(mdp, rh.potential_shaping(mdp, mdp.r, phi)),
                           gamma=mdp.gamma, mu0=mdp.mu0)
    a = mk.solve(mdp, method="policy_iteration")
    b = mk.solve(shaped, method="policy_iteration")
    np.testing.assert_allclose(b.V, a.V - phi, atol=1e-8 * (1 + np.abs(phi).max()))
    # the shaped-optimal policy is optimal for the original reward
    np.testing.assert_allclose(mdp.evaluate(b.pi), a.V, atol=1e-8 * (1 + np.abs(phi).max()))
    assert rh.starc_distance(mdp, mdp.r, rh.potential_shaping(mdp, mdp.r, phi)) < 1e-9
