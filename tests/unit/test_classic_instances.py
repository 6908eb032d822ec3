"""Classic instances: pymdptoolbox's forest() and small(), QuantEcon's docstring example.

Expected numbers are pymdptoolbox's and QuantEcon's published values (their test suites
and docstrings), written here as literals, or closed forms derived in the comments.
"""

import numpy as np
import pytest

import mdpkit as mk


def test_forest_arrays_match_pymdptoolbox_docstring():
    mdp = mk.forest()
    # pymdptoolbox stores P[a, s, s_next]; its docstring prints P[0] (wait) and P[1] (cut)
    wait = [[0.1, 0.9, 0.0], [0.1, 0.0, 0.9], [0.1, 0.0, 0.9]]
    cut = [[1.0, 0.0, 0.0]] * 3
    np.testing.assert_array_equal(mdp.P[:, 0, :], wait)
    np.testing.assert_array_equal(mdp.P[:, 1, :], cut)
    np.testing.assert_array_equal(mdp.r, [[0.0, 0.0], [0.0, 1.0], [4.0, 2.0]])
    big = mk.forest(7, r1=3.0, r2=5.0, p=0.2)
    np.testing.assert_array_equal(mk.forest(7, r1=3.0, r2=5.0, p=0.2, sparse=True).P, big.P)


@pytest.mark.parametrize("method", ["policy_iteration", "linear_programming", "value_iteration", "gauss_seidel"])
def test_forest_and_small_published_values(method):
    # pymdptoolbox test_PolicyIteration_matrix_exampleForest: V = (26.244, 29.484, 33.484), policy (0, 0, 0)
    res = mk.solve(mk.forest(), method=method, tol=1e-10)
    np.testing.assert_allclose(res.V, [26.244, 29.484, 33.484], atol=1e-8)
    assert res.pi.argmax(1).tolist() == [0, 0, 0]
    # small(), gamma 0.9, policy (1, 0): V1 = 6.2 / 0.172, V0 = 10 + 0.9 V1 (pymdptoolbox: 42.4418604651163,
    # 36.0465116279070)
    res = mk.solve(mk.small(), method=method, tol=1e-10)
    np.testing.assert_allclose(res.V, [10 + 0.9 * 6.2 / 0.172, 6.2 / 0.172], atol=1e-8)
    np.testing.assert_allclose(res.V, [42.4418604651163, 36.0465116279070], atol=1e-8)
    assert res.pi.argmax(1).tolist() == [1, 0]


def test_forest_gamma_096_policy():
    # pymdptoolbox test_ValueIteration_exampleForest: discount 0.96, policy (0, 0, 0)
    assert mk.solve(mk.forest(gamma=0.96)).pi.argmax(1).tolist() == [0, 0, 0]


def test_quantecon_docstring_example():
    mdp = mk.quantecon_example()
    for method in ("policy_iteration", "linear_programming", "modified_policy_iteration"):
        res = mk.solve(mdp, method=method, tol=1e-10)
        # QuantEcon's docstring: res.v = [-8.57142857, -20.], sigma = [0, 0]; closed form -0.225/0.02625
        np.testing.assert_allclose(res.V, [-0.225 / 0.02625, -20.0], atol=1e-8)
        assert res.pi.argmax(1).tolist() == [0, 0]
    assert not mdp.action_mask[1, 1]


def test_forest_errors():
    with pytest.raises(ValueError, match=r"`n_states` must be >= 2"):
        mk.forest(1)
    with pytest.raises(ValueError, match=r"`p` must be <= 1"):
        mk.forest(p=1.5)
    with pytest.raises(ValueError, match=r"`r1` must be > 0"):
        mk.forest(r1=0.0)
