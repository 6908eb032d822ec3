"""Textbook reference values (Puterman 2005, Sec. 3.1 and Example 6.2.1), exact closed forms."""

import numpy as np
import pytest

import mdpkit as mk


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("method", ["value_iteration", "policy_iteration", "modified_policy_iteration"])
def test_two_state_example(gamma, method):
    res = mk.solve(mk.puterman_example(gamma), method=method, tol=1e-12)
    if gamma > 10 / 11:
        v1, a = (5 - 5.5 * gamma) / ((1 - 0.5 * gamma) * (1 - gamma)), 0
    else:
        v1, a = 10 - gamma / (1 - gamma), 1
    np.testing.assert_allclose(res.V, [v1, -1 / (1 - gamma)], rtol=0, atol=1e-10)
    assert int(res.pi[0].argmax()) == a


def test_policy_values_closed_form():
    g = 0.95
    mdp = mk.puterman_example(g)
    np.testing.assert_allclose(mdp.evaluate(np.array([1, 0])), [10 - g / (1 - g), -1 / (1 - g)])
