"""Policy iteration with ILU(0)-BiCGSTAB evaluations (large sparse default, issue 18).

Every answer is checked against an independent route: QuantEcon's ``DiscreteDP`` policy
iteration (hard), a dense NumPy solve of the policy equation, or the soft Bellman
equation evaluated in NumPy (soft). No timing assertions.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mdpkit as mk
from mdpkit.solvers import _krylov as KR
from mdpkit.solvers import _krylov_kernels as KK
from mdpkit.solvers import _methods as MM
from tests.strategies import tabular_mdps


@pytest.fixture
def krylov(monkeypatch):
    """Force the Krylov evaluations on small models (whose default is a banded or dense LU)."""
    monkeypatch.setattr(MM, "evaluation_solver", lambda prob: None)


def _quantecon_v(mdp):
    import quantecon as qe

    S, A = mdp.n_states, mdp.n_actions
    ddp = qe.markov.DiscreteDP(mdp.r.ravel(), mdp.P_csr, mdp.gamma, np.repeat(np.arange(S), A), np.tile(np.arange(A), S))
    return ddp.solve(method="policy_iteration", max_iter=10**5).v


def _dense_pi_v(mdp):
    """Howard's policy iteration in dense NumPy (ties keep the action): ``V*`` exactly.

    For models where QuantEcon's policy iteration cycles on ties (negative step rewards).
    """
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.P_csr.toarray().reshape(S, A, S)
    pol = np.zeros(S, dtype=int)
    for _ in range(10 * S * A):
        V = np.linalg.solve(np.eye(S) - mdp.gamma * P[np.arange(S), pol], mdp.r[np.arange(S), pol])
        Q = mdp.r + mdp.gamma * P @ V
        better = Q.max(axis=1) > Q[np.arange(S), pol] + 1e-12 * (1 + np.abs(V).max())
        if not better.any():
            return V
        pol = np.where(better, Q.argmax(axis=1), pol)
    raise AssertionError("dense policy iteration did not stop")


def _soft_residual(mdp, ref, beta, V):
    """``||T V - V||_inf`` of the soft Bellman operator written in NumPy (an independent route)."""
    S, A = mdp.n_states, mdp.n_actions
    Q = mdp.r + mdp.gamma * (mdp.P_csr @ V).reshape(S, A)
    m = Q.max(axis=1)
    return float(np.abs(m + beta * np.log((ref * np.exp((Q - m[:, None]) / beta)).sum(axis=1)) - V).max())


def _random_sparse(S, A, k, gamma, seed):
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(S * A), k)
    cols = np.concatenate([rng.choice(S, size=k, replace=False) for _ in range(S * A)])
    P = sp.csr_matrix((rng.dirichlet(np.ones(k), size=S * A).ravel(), (rows, cols)), shape=(S * A, S))
    return mk.TabularMDP(P, rng.normal(size=(S, A)), gamma=gamma)


def test_kernels_against_dense_algebra_and_py_func(rng):
    """policy_matrix is I - gamma P_pi; ILU(0) matches M on its pattern; BiCGSTAB solves M x = b.

    Compiled kernels and their ``py_func`` on the same inputs (fixed-width and CSR storage).
    """
    mdp = _random_sparse(30, 3, 4, 0.95, 1)
    S, A = 30, 3
    pi = rng.dirichlet(np.ones(A), size=S)
    pi[::3] = np.eye(A)[rng.integers(0, A, size=10)]  # some one-hot rows
    P = mdp.P_csr.toarray().reshape(S, A, S)
    M_want = np.eye(S) - 0.95 * np.einsum("sa,sat->st", pi, P)
    b = rng.normal(size=S)
    x_want = np.linalg.solve(M_want, b)
    for stored in (MM.storage(mdp)[0], _csr_storage(mdp)):
        for pm, il, sol in ((KK.policy_matrix, KK.ilu0, KK.bicgstab),
                            (KK.policy_matrix.py_func, KK.ilu0.py_func, KK.bicgstab.py_func)):
            cap = S + S * A * 30
            ip, ind, dat, dg = np.empty(S + 1, np.int64), np.empty(cap, np.int64), np.empty(cap), np.empty(S, np.int64)
            nnz = pm(stored, A, pi, 0.95, ip, ind, dat, dg, np.empty(A * 30 + 1, np.int64), np.empty(A * 30 + 1))
            M = sp.csr_matrix((dat[:nnz], ind[:nnz], ip), shape=(S, S)).toarray()
            np.testing.assert_allclose(M, M_want, rtol=0, atol=1e-15)
            assert np.all(np.diff(ind[:nnz])[np.diff(np.repeat(np.arange(S), np.diff(ip)))[:] == 0] > 0)  # sorted
            lu, inv = np.empty(nnz), np.empty(S)
            assert il(ip, ind, dat[:nnz], dg, lu, inv, np.full(S, -1, np.int64)) > 0.0  # M-matrix: positive pivots
            L = np.tril(sp.csr_matrix((lu, ind[:nnz], ip), shape=(S, S)).toarray(), -1) + np.eye(S)
            U = np.triu(sp.csr_matrix((lu, ind[:nnz], ip), shape=(S, S)).toarray())
            on = M_want != 0
            np.testing.assert_allclose((L @ U)[on], M_want[on], rtol=0, atol=1e-14)  # ILU(0): exact on the pattern
            x = np.zeros(S)
            assert sol(ip, ind, dat[:nnz], lu, dg, inv, b, x, 1e-13, 500, 3) > 0
            np.testing.assert_allclose(x, x_want, rtol=0, atol=1e-11)
    assert KK.bicgstab(ip, ind, dat[:nnz], lu, dg, inv, b, np.zeros(S), 1e-13, 2, 0) == -1  # budget: reported


def test_one_hot_policy_kernel(rng):
    """The hard evaluation's policy rows and right-hand side, compiled and ``py_func``."""
    S, A = 7, 3
    greedy = rng.integers(0, A, size=S)
    r2 = rng.normal(size=S * A)
    for f in (KK.one_hot_policy, KK.one_hot_policy.py_func):
        pi, rhs = np.full((S, A), 0.5), np.empty(S)
        f(greedy, r2, A, pi, rhs)
        np.testing.assert_array_equal(pi, np.eye(A)[greedy])
        np.testing.assert_array_equal(rhs, r2.reshape(S, A)[np.arange(S), greedy])


def _csr_storage(mdp):
    from mdpkit.solvers import _bellman_kernels as BK

    csr = mdp.P_csr
    d2, di2 = np.zeros((1, 1)), np.zeros((1, 1), np.int32)
    return (BK.CSR, d2, di2, d2, csr.indptr.astype(np.int64), csr.indices.astype(np.int32), csr.data)


@pytest.mark.parametrize("make", [
    lambda: mk.gridworld(12, 11, gamma=0.99),
    lambda: mk.gridworld(9, 9, gamma=0.9, step_reward=-0.1),
    lambda: _random_sparse(200, 4, 3, 0.99, 2),
    lambda: _random_sparse(150, 3, 5, 0.999, 3),
    lambda: mk.chain_mdp(80, gamma=0.99),
])
def test_hard_krylov_policy_iteration_matches_dense_policy_iteration(krylov, make):
    mdp = make()
    # at gamma = 0.999 the documented rounding floor gamma/(1-gamma) 4 eps (|V| + |r|) is
    # about 3e-9 here: ask for what float64 can certify
    tol = 1e-9 if mdp.gamma <= 0.99 else 2e-8
    res = mk.solve(mdp, method="policy_iteration", tol=tol)
    assert res.method == "policy_iteration" and res.converged and res.error_bound <= tol
    np.testing.assert_allclose(res.V, _dense_pi_v(mdp), rtol=0, atol=2 * tol)


@pytest.mark.parametrize("beta", [0.05, 1.0])
@pytest.mark.parametrize("make", [lambda: mk.gridworld(10, 12, gamma=0.99), lambda: _random_sparse(120, 4, 3, 0.99, 5)])
def test_soft_krylov_policy_iteration_solves_the_soft_bellman_equation(krylov, make, beta):
    """Soft PI (Newton) against the soft Bellman equation in NumPy and a long soft VI run."""
    mdp = make()
    ref = np.random.default_rng(0).dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
    res = mk.solve_kl_regularized(mdp, ref, beta, method="policy_iteration", tol=1e-9)
    assert res.method == "policy_iteration" and res.converged and res.n_iter < 60
    # ||V - V*|| <= ||T V - V|| / (1 - gamma): the residual certifies 1e-9 independently
    assert _soft_residual(mdp, ref, beta, res.V) <= 1e-9 * (1 - mdp.gamma)
    vi = mk.solve_kl_regularized(mdp, ref, beta, method="value_iteration", tol=1e-10, max_iter=10**6)
    np.testing.assert_allclose(res.V, vi.V, rtol=0, atol=2e-9)


def test_failed_evaluations_fall_back_and_stay_certified(krylov, monkeypatch):
    """An evaluation that cannot reach its tolerance hands over to the old default; the answer
    is still certified (and correct against QuantEcon), never reported converged wrongly."""
    monkeypatch.setattr(KR, "MAX_MATVECS", 1)
    mdp = mk.gridworld(8, 8, gamma=0.95)
    res = mk.solve(mdp, method="policy_iteration", tol=1e-9)
    assert res.method == "value_iteration" and res.converged
    np.testing.assert_allclose(res.V, _quantecon_v(mdp), rtol=0, atol=2e-9)
    soft = mk.solve_kl_regularized(mdp, mk.uniform_policy(mdp), 0.3, method="policy_iteration", tol=1e-9)
    assert soft.method == "modified_policy_iteration" and soft.converged
    assert _soft_residual(mdp, mk.uniform_policy(mdp), 0.3, soft.V) <= 1e-9 * 0.05


def test_max_iter_reports_not_converged(krylov):
    mdp = mk.gridworld(10, 10, gamma=0.99)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mk.solve_kl_regularized(mdp, mk.uniform_policy(mdp), 0.1, method="policy_iteration", max_iter=2)
    assert not res.converged and res.n_iter == 2


def test_default_rule_large_sparse():
    """Sparse, not banded, at least KRYLOV_MIN_STATES states: policy iteration, hard and KL."""
    for gamma in (0.9, 0.99):
        mdp = mk.gridworld(71, 71, gamma=gamma)
        assert mdp.n_states >= MM.KRYLOV_MIN_STATES
        assert mk.solve(mdp).method == "policy_iteration"
        assert mk.solve_kl_regularized(mdp, mk.uniform_policy(mdp), 0.5).method == "policy_iteration"


@settings(max_examples=25, deadline=None)
@given(tabular_mdps(max_states=8, max_actions=3, gamma=0.95), st.sampled_from([None, 0.1, 2.0]))
def test_krylov_policy_iteration_property(mdp, beta):
    """Random small MDPs stored sparse: hard PI agrees with QuantEcon, soft PI satisfies the
    soft Bellman equation (NumPy), both to 1e-8."""
    S, A = mdp.n_states, mdp.n_actions
    m = mk.TabularMDP(sp.csr_matrix(mdp.P.reshape(S * A, S)), mdp.r, gamma=0.95)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MM, "evaluation_solver", lambda prob: None)
        if beta is None:
            res = mk.solve(m, method="policy_iteration", tol=1e-9)
            np.testing.assert_allclose(res.V, _quantecon_v(m), rtol=0, atol=1e-8)
        else:
            ref = mk.uniform_policy(m)
            res = mk.solve_kl_regularized(m, ref, beta, method="policy_iteration", tol=1e-9)
            assert _soft_residual(m, ref, beta, res.V) <= 1e-8 * 0.05
    assert res.converged
