"""Robust operators on CSR transitions: the uncertainty set of a row is its support.

Independent route: the inner problem of every row as a cvxpy program over laws on the
support (``primal_inner`` of :mod:`mdpkit.checks.robust`), and the dense robust solver
where the two sets coincide (KL, chi-square, or full-support rows for TV).
"""

import numpy as np
import pytest
import scipy.sparse as sp

import mdpkit as mk
from mdpkit.checks.robust import primal_inner
from mdpkit.divergences import KL, ChiSquare, TotalVariation
from mdpkit.solvers import _robust_csr_kernels as RCK

DIVS = {"kl": KL(), "chi2": ChiSquare(), "tv": TotalVariation()}


def sparse_instance(seed=0, S=6, A=2):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    P[P < 0.12] = 0.0
    P /= P.sum(-1, keepdims=True)
    return P, rng.normal(size=(S, A))


@pytest.mark.parametrize("name", ["kl", "chi2", "tv"])
@pytest.mark.parametrize("ball", [False, True])
def test_csr_operator_rows_match_cvxpy_on_the_support(name, ball):
    P, r = sparse_instance(1)
    S, A = r.shape
    mdp = mk.TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), r, gamma=0.9)
    V = np.random.default_rng(2).normal(size=S) * 3
    par = 0.2 if ball else 0.7
    kw = {"rho": par} if ball else {"lam": par}
    got = mk.solvers.robust_bellman(V, mdp, div=DIVS[name], **kw)
    rows = np.empty((S, A))
    for s in range(S):
        for a in range(A):
            sup = P[s, a] > 0
            rows[s, a] = primal_inner(name, V[sup], P[s, a][sup], par, ball)
    np.testing.assert_allclose(got, (r + 0.9 * rows).max(1), atol=2e-6)  # conic solver accuracy


@pytest.mark.parametrize("name", ["kl", "chi2"])
def test_csr_solve_equals_dense_where_sets_coincide(name):
    P, r = sparse_instance(3)
    S, A = r.shape
    dense = mk.TabularMDP(P, r, gamma=0.9)
    csr = mk.TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), r, gamma=0.9)
    for kw in ({"lam": 0.5}, {"rho": 0.1}):
        a = mk.solve_robust(dense, div=DIVS[name], **kw)
        b = mk.solve_robust(csr, div=DIVS[name], **kw)
        np.testing.assert_allclose(b.V, a.V, atol=1e-9)
        assert b.converged and b.error_bound <= 1e-8


def test_tv_full_support_equals_dense_and_worst_case_kernel():
    rng = np.random.default_rng(4)
    S, A = 5, 2
    P = rng.dirichlet(np.ones(S), size=(S, A))
    r = rng.normal(size=(S, A))
    csr = mk.TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), r, gamma=0.8)
    a = mk.solve_robust(mk.TabularMDP(P, r, gamma=0.8), div=TotalVariation(), rho=0.2)
    b = mk.solve_robust(csr, div=TotalVariation(), rho=0.2, return_worst_case=True)
    np.testing.assert_allclose(b.V, a.V, atol=1e-9)
    q = b.trace["P_worst"]
    assert sp.issparse(q) and q.shape == (S * A, S)
    np.testing.assert_allclose(np.asarray(q.sum(1)).ravel(), 1.0, atol=1e-12)
    # the worst-case law attains the robust value: r + gamma <q, V> = Q
    np.testing.assert_allclose((r + 0.8 * (q @ b.V).reshape(S, A)).max(1), b.V, atol=1e-8)


def test_robust_policy_evaluation_and_masks_on_csr():
    P, r = sparse_instance(5)
    r[0, 1] = -np.inf
    S, A = r.shape
    csr = mk.TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), r, gamma=0.9)
    res = mk.solve_robust(csr, div=KL(), lam=1.0)
    assert res.pi[0, 1] == 0
    Vpi = mk.solvers.robust_policy_evaluation(csr, res.pi, div=KL(), lam=1.0)
    np.testing.assert_allclose(Vpi, res.V, atol=1e-8)


def test_csr_kernel_matches_py_func():
    P, _ = sparse_instance(6, S=4)
    csr = sp.csr_matrix(P.reshape(8, 4))
    V = np.array([0.3, -1.0, 2.0, 0.5])
    for code, ball, par in ((KL().code, False, 0.5), (ChiSquare().code, True, 0.1), (TotalVariation().code, True, 0.2)):
        outs = []
        for f in (RCK.robust_csr_sweep, RCK.robust_csr_sweep.py_func):
            out, q = np.empty(8), np.zeros(csr.nnz)
            f(code, ball, csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data, V, par, out, q, True)
            outs.append((out, q))
        np.testing.assert_allclose(outs[0][0], outs[1][0], atol=1e-12)
        np.testing.assert_allclose(outs[0][1], outs[1][1], atol=1e-12)
