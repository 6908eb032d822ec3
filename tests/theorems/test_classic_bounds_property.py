"""Property (Puterman 2005, Sec. 6.6.3): the value bounds of every discounted solve bracket
V*, even when the solver was stopped early; V* by enumeration of deterministic policies."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import tabular_mdps

import mdpkit as mk
from mdpkit.checks.classic import enumerate_optimum

pytestmark = pytest.mark.theorem


@given(mdp=tabular_mdps(max_states=4, max_actions=3, gamma=0.9),
       method=st.sampled_from(["value_iteration", "gauss_seidel", "modified_policy_iteration",
                               "policy_iteration", "linear_programming"]),
       max_iter=st.integers(1, 30))
def test_bounds_bracket_v_star(mdp, method, max_iter):
    v_star = enumerate_optimum(np.asarray(mdp.P), np.asarray(mdp.r), 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mk.ConvergenceWarning)
        res = mk.solve(mdp, method=method, max_iter=max_iter, n_sweeps=2)
    lo, hi = res.bounds
    scale = 1e-9 * (1 + np.abs(v_star).max())
    assert np.all(lo <= v_star + scale) and np.all(v_star <= hi + scale)
    assert np.abs(res.V - v_star).max() <= res.error_bound + scale
    if res.converged:
        assert np.abs(res.V - v_star).max() <= 1e-8 + scale
