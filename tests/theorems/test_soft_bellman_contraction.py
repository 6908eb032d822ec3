"""Geist et al. (2019), Prop. 1: the regularized Bellman operator is a gamma-contraction.

For every f-divergence regularizer, ||T V1 - T V2||_inf <= gamma ||V1 - V2||_inf, and the
operator is monotone with T(V + c) = T V + gamma c (used by the span stopping rule)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import mdpkit as mk
from tests.strategies import divergences, policies, sup_norm, tabular_mdps, value_pairs


@given(mdp=tabular_mdps(), data=st.data())
def test_regularized_operator_is_gamma_contraction(mdp, data):
    div = data.draw(divergences())
    pi_ref = data.draw(policies(mdp.n_states, mdp.n_actions))
    beta = data.draw(st.sampled_from([1e-2, 1.0, 1e2]))
    reg = mk.PolicyRegularizer(div, pi_ref, beta)
    V1, V2 = data.draw(value_pairs(mdp.n_states))
    from mdpkit.solvers._solve import _operator

    T1, T2 = _operator(mdp, V1, reg, None, 0), _operator(mdp, V2, reg, None, 0)
    assert sup_norm(T1 - T2) <= mdp.gamma * sup_norm(V1 - V2) * (1 + 1e-9) + 1e-9


@given(mdp=tabular_mdps(), data=st.data())
def test_soft_operator_monotone_and_shift_equivariant(mdp, data):
    pi_ref = data.draw(policies(mdp.n_states, mdp.n_actions))
    beta = data.draw(st.sampled_from([1e-3, 0.3, 30.0]))
    V1, _ = data.draw(value_pairs(mdp.n_states))
    c = data.draw(st.floats(-10, 10))
    T1 = mk.soft_bellman(V1, mdp, pi_ref, beta)
    np.testing.assert_allclose(mk.soft_bellman(V1 + c, mdp, pi_ref, beta), T1 + mdp.gamma * c,
                               atol=1e-9 * (1 + abs(c) + sup_norm(T1)))
    assert np.all(mk.soft_bellman(V1 + abs(c), mdp, pi_ref, beta) >= T1 - 1e-12)
