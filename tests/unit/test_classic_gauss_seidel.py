"""Gauss-Seidel value iteration: agreement with independent routes and its stopping rule."""

import numpy as np
import pytest
import scipy.sparse as sp
from test_classic_masks import numpy_soft_vi

import mdpkit as mk
from mdpkit.checks._oracles import lp_optimal_values
from mdpkit.solvers import _gauss_seidel_kernels as GSK


@pytest.mark.parametrize("tol", [1e-3, 1e-8])
def test_gauss_seidel_certified_tolerance(tol):
    mdp = mk.random_mdp(n_states=15, n_actions=3, gamma=0.95, rng=1)
    v_star = lp_optimal_values(mdp)  # cvxpy, accurate to ~1e-8
    res = mk.solve(mdp, method="gauss_seidel", tol=tol)
    assert res.converged and res.method == "gauss_seidel"
    assert np.max(np.abs(res.V - v_star)) <= tol + 1e-7
    lo, hi = res.bounds
    assert np.all(lo <= v_star + 1e-7) and np.all(v_star <= hi + 1e-7)


def test_gauss_seidel_sparse_and_soft():
    mdp = mk.random_mdp(n_states=10, n_actions=2, gamma=0.9, rng=2)
    P = np.asarray(mdp.P)
    sparse = mk.TabularMDP(sp.csr_matrix(P.reshape(20, 10)), mdp.r, gamma=0.9)
    np.testing.assert_allclose(mk.solve(sparse, method="gauss_seidel", tol=1e-10).V, lp_optimal_values(mdp),
                               atol=1e-7)
    ref = np.full((10, 2), 0.5)
    soft = mk.solve_kl_regularized(mdp, ref, beta=0.4, method="gauss_seidel", tol=1e-11)
    np.testing.assert_allclose(soft.V, numpy_soft_vi(P, np.asarray(mdp.r), ref, 0.4, 0.9), atol=1e-9)


def test_gauss_seidel_refuses_robust_and_f_regularized():
    mdp = mk.random_mdp(n_states=3, n_actions=2, gamma=0.9, rng=0)
    with pytest.raises(ValueError, match="gauss_seidel"):
        mk.solve(mdp, robust=mk.Robust(mk.divergences.KL(), lam=1.0), method="gauss_seidel")
    reg = mk.PolicyRegularizer(mk.divergences.ChiSquare(), np.full((3, 2), 0.5), beta=1.0)
    with pytest.raises(ValueError, match="gauss_seidel"):
        mk.solve(mdp, policy_reg=reg, method="gauss_seidel")


def test_gauss_seidel_kernel_matches_py_func():
    mdp = mk.random_mdp(n_states=4, n_actions=2, gamma=0.8, rng=3)
    P2 = np.ascontiguousarray(np.asarray(mdp.P).reshape(8, 4))
    feas = np.array([1, 0, 1, 1, 1, 1, 0, 1], dtype=np.uint8)
    z = np.zeros(1, dtype=np.int64)
    out = []
    for f in (GSK.gauss_seidel_kernel, GSK.gauss_seidel_kernel.py_func):
        for kind in (GSK.ACT_MAX, GSK.ACT_KL):
            V, hist = np.zeros(4), np.empty(50)
            log_ref = np.where(feas.reshape(4, 2) == 1, np.log(0.5), -np.inf)
            n = f(False, P2, z, z, np.zeros(1), np.asarray(mdp.r).ravel(), feas, 0.8, kind, log_ref, 0.3,
                  V, 1e-9, 50, hist)
            out.append((n, V.copy()))
    for (n1, v1), (n2, v2) in zip(out[:2], out[2:], strict=True):
        assert n1 == n2
        np.testing.assert_allclose(v1, v2, rtol=0, atol=1e-13)
