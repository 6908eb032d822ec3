"""Average reward: pymdptoolbox's published long-run averages, a NumPy reference by
enumeration (stationary laws by least squares, bias by the fundamental matrix), and the
vanishing-discount limit of the discounted solution."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

import mdpkit as mk
from mdpkit.solvers import _average_kernels as AK

METHODS = ["policy_iteration", "relative_value_iteration"]


def numpy_average_reference(P, r):
    """max over feasible deterministic policies of d_pi . r_pi, and the bias of the maximizer."""
    S = r.shape[0]
    best = (-np.inf, None, None)
    for pol in itertools.product(*[np.flatnonzero(np.isfinite(r[s])) for s in range(S)]):
        Pp, rp = P[np.arange(S), pol], r[np.arange(S), pol]
        M = np.vstack([(np.eye(S) - Pp).T, np.ones(S)])
        d = np.linalg.lstsq(M, np.r_[np.zeros(S), 1.0], rcond=None)[0]
        g = float(d @ rp)
        if g > best[0] + 1e-12:
            h = np.linalg.solve(np.eye(S) - Pp + np.outer(np.ones(S), d), rp - g)  # d^T h = 0
            best = (g, h, np.array(pol))
    return best


@pytest.mark.parametrize("method", METHODS)
def test_published_forest_and_small(method):
    # forest: "always wait", stationary law (0.1, 0.09, 0.81), gain 4 * 0.81 = 3.24
    res = mk.solve_average_reward(mk.forest(), method=method)
    assert abs(res.gain - 3.24) < 1e-9 and res.pi.argmax(1).tolist() == [0, 0, 0]
    np.testing.assert_allclose(res.stationary, [0.1, 0.09, 0.81], atol=1e-12)
    # small: policy (1, 0), stationary law (0.8, 1) / 1.8, gain (0.8 * 10 - 1) / 1.8 = 7 / 1.8
    res = mk.solve_average_reward(mk.small(), method=method)
    assert abs(res.gain - 7 / 1.8) < 1e-9 and res.pi.argmax(1).tolist() == [1, 0]
    lo, hi = res.gain_bounds
    assert lo - 1e-12 <= 7 / 1.8 <= hi + 1e-12
    sparse = mk.solve_average_reward(mk.forest(6, sparse=True), method=method)
    dense = mk.solve_average_reward(mk.forest(6), method=method)
    assert abs(sparse.gain - dense.gain) < 1e-9


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", [0, 1])
def test_numpy_reference_gain_bias_span(method, seed):
    rng = np.random.default_rng(seed)
    S, A = 5, 3
    P = rng.dirichlet(np.ones(S), size=(S, A))  # positive rows: every policy unichain, aperiodic
    r = rng.normal(size=(S, A))
    r[1, 2] = -np.inf
    g, h, pol = numpy_average_reference(P, r)
    res = mk.solve_average_reward(mk.TabularMDP(P, r, gamma=0.5), method=method)
    assert abs(res.gain - g) < 1e-9
    np.testing.assert_array_equal(res.pi.argmax(1), pol)
    np.testing.assert_allclose(res.bias, h, atol=1e-8)
    assert abs(res.span - np.ptp(h)) < 1e-8
    assert np.all(np.isneginf(res.Q[1, 2]))
    # optimality equation at the solution: max_a Q(s, a) = h(s) (relative action values)
    np.testing.assert_allclose(res.Q.max(1), res.bias, atol=1e-8)


def test_vanishing_discount_limit():
    mdp = mk.random_mdp(n_states=8, n_actions=3, gamma=0.9, rng=4)
    res = mk.solve_average_reward(mdp)
    P, r = np.asarray(mdp.P), np.asarray(mdp.r)
    for gamma in (0.99, 0.999, 0.9999):
        V = mk.solve(mk.TabularMDP(P, r, gamma=gamma), method="policy_iteration").V
        # V_gamma = g / (1 - gamma) + h + O(1 - gamma) (Puterman Thm. 8.2.3, Laurent series)
        err = np.max(np.abs((1 - gamma) * V - res.gain))
        assert err <= (1 - gamma) * (np.max(np.abs(res.bias)) + 1.0)


def test_periodic_chain_needs_tau():
    P = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])  # a deterministic 2-cycle
    mdp = mk.TabularMDP(P, [[1.0], [0.0]], gamma=0.5)
    with pytest.warns(mk.ConvergenceWarning, match="aperiodicity > 0"):
        bad = mk.solve_average_reward(mdp, method="relative_value_iteration", max_iter=50)
    assert not bad.converged
    ok = mk.solve_average_reward(mdp, method="relative_value_iteration", aperiodicity=0.5)
    assert ok.converged and abs(ok.gain - 0.5) < 1e-9
    assert abs(mk.solve_average_reward(mdp).gain - 0.5) < 1e-12
    np.testing.assert_allclose(ok.bias, [0.25, -0.25], atol=1e-8)


@pytest.mark.parametrize("method", METHODS)
def test_multichain_is_a_clear_error(method):
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    P[1, :, 1] = P[2, :, 2] = 1.0  # two absorbing states: every policy has two recurrent classes
    mdp = mk.TabularMDP(P, np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), gamma=0.5)
    with pytest.raises(ValueError, match=r"not unichain.*2 recurrent classes \(states \[1\]; \[2\]\)"):
        mk.solve_average_reward(mdp, method=method)


def test_errors_and_recurrent_classes():
    with pytest.raises(ValueError, match="stationary infinite-horizon"):
        mk.solve_average_reward(mk.random_mdp(n_states=2, n_actions=2, horizon=2, rng=0))
    with pytest.raises(ValueError, match="`method` must be one of"):
        mk.solve_average_reward(mk.small(), method="vi")
    with pytest.raises(ValueError, match="`aperiodicity` must be < 1"):
        mk.solve_average_reward(mk.small(), method="relative_value_iteration", aperiodicity=1.0)
    classes = mk.solvers.recurrent_classes(sp.csr_matrix(np.array([[0.5, 0.5, 0], [0, 1, 0], [0, 0, 1.0]])))
    assert [c.tolist() for c in classes] == [[1], [2]]


def test_rvi_kernel_matches_py_func():
    mdp = mk.small()
    P2 = np.ascontiguousarray(np.asarray(mdp.P).reshape(4, 2))
    z = np.zeros(1, dtype=np.int64)
    outs = []
    for f in (AK.relative_value_iteration_kernel, AK.relative_value_iteration_kernel.py_func):
        h, Th, hist = np.zeros(2), np.empty(2), np.empty(100)
        n, lo, hi = f(False, P2, z, z, np.zeros(1), np.asarray(mdp.r).ravel(), np.ones(4, dtype=np.uint8),
                      0.25, 0, h, 1e-10, 100, Th, hist)
        outs.append((n, lo, hi, h.copy()))
    assert outs[0][0] == outs[1][0]
    np.testing.assert_allclose(outs[0][3], outs[1][3], atol=1e-13)
    assert abs(outs[0][1] - outs[1][1]) < 1e-13 and abs(outs[0][2] - outs[1][2]) < 1e-13
