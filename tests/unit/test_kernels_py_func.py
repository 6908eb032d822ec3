"""Each Numba kernel agrees with its own pure-Python function (``.py_func``)."""

import numpy as np
import pytest

from mdpkit.divergences import _kernels as DK
from mdpkit.mdp import _mdp_kernels as MDPK
from mdpkit.solvers import _bellman_kernels as BK


@pytest.fixture
def data(rng):
    S, A = 5, 3
    P = rng.dirichlet(np.ones(S), size=(S, A))
    return S, A, P.reshape(S * A, S), rng.normal(size=S * A), rng.normal(size=S)


def test_q_kernels(data):
    S, A, P2, r2, V = data
    import scipy.sparse as sp

    csr = sp.csr_matrix(P2)
    ref = r2 + 0.9 * P2 @ V
    for k in (BK.q_dense_into, BK.q_dense_into_par):
        out1, out2 = np.empty(S * A), np.empty(S * A)
        k(P2, r2, 0.9, V, out1)
        k.py_func(P2, r2, 0.9, V, out2)
        np.testing.assert_allclose(out1, ref, rtol=1e-12)
        np.testing.assert_allclose(out2, ref, rtol=1e-12)
    for k in (BK.q_csr_into, BK.q_csr_into_par):
        out1, out2 = np.empty(S * A), np.empty(S * A)
        args = (csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data, r2, 0.9, V)
        k(*args, out1)
        k.py_func(*args, out2)
        np.testing.assert_allclose(out1, ref, rtol=1e-12)
        np.testing.assert_allclose(out2, ref, rtol=1e-12)


@pytest.mark.parametrize("kind", [BK.ACT_MAX, BK.ACT_KL])
def test_action_kernel(data, rng, kind):
    S, A, _, r2, _ = data
    Q = r2.reshape(S, A)
    log_ref = np.log(rng.dirichlet(np.ones(A), size=S))
    outs = []
    for f in (BK.action_into, BK.action_into.py_func, BK.action_into_par, BK.action_into_par.py_func):
        V, pi = np.empty(S), np.empty((S, A))
        f(kind, Q, log_ref, 0.3, V, pi, True)
        outs.append((V, pi))
    for V, pi in outs[1:]:
        np.testing.assert_allclose(V, outs[0][0], rtol=1e-12)
        np.testing.assert_allclose(pi, outs[0][1], rtol=1e-12)


def _stores(P2, A):
    """The same transitions in the three storages of the sweep kernels."""
    import scipy.sparse as sp

    from mdpkit.solvers import _methods as MM

    csr = sp.csr_matrix(P2)
    idx, prob = MM.fixed_width(csr.indptr, csr.indices, csr.data, A)
    d2, di2, d1, di1 = np.zeros((1, 1)), np.zeros((1, 1), np.int32), np.zeros(1), np.zeros(1, np.int32)
    dense = (BK.DENSE, P2, di2, d2, np.zeros(2, np.int64), di1, d1)
    fixed = (BK.FIXED, d2, idx, prob, np.zeros(2, np.int64), di1, d1)
    csr_st = (BK.CSR, d2, di2, d2, csr.indptr.astype(np.int64), csr.indices.astype(np.int32), csr.data)
    return [dense, fixed, csr_st]


@pytest.mark.parametrize("kind", [BK.ACT_MAX, BK.ACT_KL])
def test_sweep_kernels(data, rng, kind):
    S, A, P2, r2, V = data
    P2 = P2 * (rng.random(P2.shape) < 0.5)  # some zeros: rows of different widths
    P2[:, 0] += 1e-3
    P2 /= P2.sum(axis=1, keepdims=True)
    log_ref = np.log(rng.dirichlet(np.ones(A), size=S))
    Q = (r2 + 0.9 * P2 @ V).reshape(S, A)
    V_ref, pi_ref = np.empty(S), np.empty((S, A))
    BK.action_into(kind, Q, log_ref, 0.3, V_ref, pi_ref, True)
    for st in _stores(P2, A):
        for f in (BK.sweep, BK.sweep.py_func, BK.sweep_par, BK.sweep_par.py_func):
            Vn, g = np.empty(S), np.empty(S, np.int64)
            f(st, A, r2, 0.9, kind, np.exp(log_ref), log_ref, 0.3, V, Vn, g)
            np.testing.assert_allclose(Vn, V_ref, rtol=1e-12, atol=1e-12)
            if kind == BK.ACT_MAX:
                np.testing.assert_array_equal(g, Q.argmax(axis=1))
        pol = rng.integers(0, A, size=S)
        want = r2[np.arange(S) * A + pol] + 0.9 * P2[np.arange(S) * A + pol] @ V
        for f in (BK.policy_block, BK.policy_block.py_func, BK.policy_sweep_par, BK.policy_sweep_par.py_func):
            out = np.empty(S)
            args = (0, S, A, r2, 0.9, pol, V, out) if "block" in f.__name__ else (A, r2, 0.9, pol, V, out)
            lo, hi = f(st, *args)
            np.testing.assert_allclose(out, want, rtol=1e-12)
            assert np.isclose(lo, (want - V).min()) and np.isclose(hi, (want - V).max())


def test_value_iteration_kernels(data):
    S, A, P2, r2, _ = data
    for st in _stores(P2, A):
        res = []
        for f in (BK.value_iteration_kernel, BK.value_iteration_kernel.py_func):
            V = np.zeros(S)
            n = f(st, A, r2, 0.9, BK.ACT_KL, np.full((S, A), 1 / A), np.full((S, A), -np.log(A)), 0.5, V, 1e-10,
                  10_000, False,
                  np.empty(S), np.empty(S, np.int64), np.empty(10_000))
            res.append((n, V))
        assert res[0][0] == res[1][0] > 0
        np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-10)
        for frac, rate, max_eval, nq in ((0.1, 0.5, 50, 0), (-1.0, np.inf, 5, 0), (0.1, 0.5, 50, S * A)):
            out = []
            for f in (BK.modified_policy_iteration_kernel, BK.modified_policy_iteration_kernel.py_func):
                V = np.zeros(S)
                n = f(st, A, r2, 0.9, V, 1e-10, 10_000, max_eval, frac, rate, False, np.empty(S),
                      np.empty(S, np.int64), np.empty(10_000), np.empty(nq), np.empty(nq))
                out.append((n, V))
            assert out[0][0] == out[1][0] > 0
            np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-10)


def test_finish_and_soft_mpi_kernels(data, rng):
    """finish_hard, soft_improve / soft_evaluate and the soft MPI loop against their py_func."""
    S, A, P2, r2, V = data
    ref = rng.dirichlet(np.ones(A), size=S)
    Q_np = (r2 + 0.9 * P2 @ V).reshape(S, A)
    for st in _stores(P2, A):
        for f in (BK.finish_hard, BK.finish_hard.py_func):
            Q, pi, TV = np.empty((S, A)), np.zeros((S, A)), np.empty(S)
            ok, res, lo, hi = f(st, A, r2, 0.9, V, Q, pi, TV)
            np.testing.assert_allclose(Q, Q_np, rtol=1e-12)
            np.testing.assert_array_equal(pi.argmax(1), Q_np.argmax(1))
            assert ok and np.isclose(res, np.abs(Q_np.max(1) - V).max()) and np.isclose(lo, (Q_np.max(1) - V).min())
        outs = []
        for fi, fe in ((BK.soft_improve, BK.soft_evaluate), (BK.soft_improve.py_func, BK.soft_evaluate.py_func)):
            Vn, pi, kl, Ve = np.empty(S), np.empty((S, A)), np.empty(S), np.empty(S)
            fi(st, A, r2, 0.9, np.log(ref), 0.3, V, Vn, pi, kl, np.empty(3 * (2 * A + 2)), ref)  # chunks of 3 states
            fe(st, A, r2, 0.9, pi, kl, V, Ve, np.empty(2 * A))
            outs.append((Vn, pi, Ve))
        soft = 0.3 * np.log((ref * np.exp(Q_np / 0.3)).sum(1))
        want_pi = ref * np.exp((Q_np - soft[:, None]) / 0.3)
        # the policy's regularized value after one sweep: sum_a pi Q - 0.3 KL(pi || ref)
        want_e = (want_pi * Q_np).sum(1) - 0.3 * (want_pi * np.log(want_pi / ref)).sum(1)
        for Vn, pi, Ve in outs:
            np.testing.assert_allclose(Vn, soft, rtol=1e-12)
            np.testing.assert_allclose(pi, want_pi, rtol=1e-10)
            np.testing.assert_allclose(Ve, want_e, rtol=1e-10, atol=1e-12)
        res = []
        for f in (BK.soft_mpi_kernel, BK.soft_mpi_kernel.py_func):
            V0 = np.zeros(S)
            n = f(st, A, r2, 0.9, np.log(ref), 0.3, V0, 1e-10, 1000, 5, 1e-4, np.empty(S), np.empty((S, A)),
                  np.empty(S), np.empty(1000))
            res.append((n, V0))
        assert res[0][0] == res[1][0] > 0
        np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-10)


def test_active_value_iteration_kernel():
    """Skipping the states whose successors did not change gives value iteration's iterates
    bit for bit (compiled and py_func), with the same sweep count."""
    import mdpkit as mk
    from mdpkit.solvers import _methods as MM

    for mdp in (mk.gridworld(9, 7, gamma=0.95), mk.chain_mdp(30, gamma=0.9)):
        S, A = mdp.n_states, mdp.n_actions
        st, _ = MM.storage(mdp)
        r2 = np.ascontiguousarray(mdp.r.ravel())
        rp, ri = MM.predecessors(mdp)
        V0, dummy = np.zeros(S), np.ones((1, 1))
        n0 = BK.value_iteration_kernel(st, A, r2, mdp.gamma, BK.ACT_MAX, dummy, dummy, 1.0, V0, 1e-10, 5000, False,
                                       np.empty(S), np.empty(S, np.int64), np.empty(5000))
        for f in (BK.value_iteration_active_kernel, BK.value_iteration_active_kernel.py_func):
            V = np.zeros(S)
            n = f(st, A, r2, mdp.gamma, V, 1e-10, 5000, rp, ri, np.empty(S), np.empty(S, np.int64), np.empty(5000))
            assert n == n0 > 0
            np.testing.assert_array_equal(V, V0)


def test_band_kernels(rng):
    """Banded LU against numpy's dense solve, and the compiled PI loop against its py_func."""
    S, A, b = 12, 3, 2
    P = np.zeros((S, A, S))
    for s in range(S):
        lo, hi = max(0, s - b), min(S, s + b + 1)
        P[s, :, lo:hi] = rng.dirichlet(np.ones(hi - lo), size=A)
    P2 = P.reshape(S * A, S)
    r2 = rng.normal(size=S * A)
    pi = rng.dirichlet(np.ones(A), size=S)
    rhs = rng.normal(size=S)
    want = np.linalg.solve(np.eye(S) - 0.95 * np.einsum("sa,sat->st", pi, P), rhs)
    for st in _stores(P2, A):
        for f in (BK.bandwidth, BK.bandwidth.py_func):
            assert f(st, A, S, 10) == b
            assert f(st, A, S, 1) == 2  # stops early: limit + 1
        for fm, fs in ((BK.band_matrix, BK.band_solve), (BK.band_matrix.py_func, BK.band_solve.py_func)):
            M, x = np.empty((S, 2 * b + 1)), np.empty(S)
            fm(st, A, pi, 0.95, b, M)
            fs(M, b, rhs, x)
            np.testing.assert_allclose(x, want, rtol=1e-10, atol=1e-12)
        tied = np.where(np.arange(S * A) < A, 0.0, r2)  # state 0's rewards tie: from_zero takes the uniform start
        for f in (BK._rewards_tie, BK._rewards_tie.py_func):
            assert f(tied, A) and not f(r2, A)
        for r in (r2, tied):
            out = []
            for f in (BK.policy_iteration_band_kernel, BK.policy_iteration_band_kernel.py_func):
                for from_zero in (False, True):
                    V = np.zeros(S)
                    n = f(st, A, r, 0.95, b, V, 100, False, from_zero, np.empty(S), np.empty(S, np.int64),
                          np.empty(S, np.int64), np.empty((S, 2 * b + 1)), np.empty(100))
                    out.append((n, V))
            for k in (0, 1):  # compiled vs py_func, from the greedy policy of V = 0 and the from_zero start
                assert out[k][0] == out[k + 2][0] > 0
                np.testing.assert_allclose(out[k][1], out[k + 2][1], rtol=1e-12)
            np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-10)  # the same optimum from either start


@pytest.mark.parametrize("S", [12, BK.DENSE_SOLVE_MIN_STATES + 4])
def test_band_evaluate_full_band(rng, S):
    """A full band (b = S - 1): band LU below DENSE_SOLVE_MIN_STATES, LAPACK from there; numpy's solve and py_func agree."""
    A, b = 3, S - 1
    P = rng.dirichlet(np.ones(S), size=(S, A))
    pi = rng.dirichlet(np.ones(A), size=S)
    rhs = rng.normal(size=S)
    want = np.linalg.solve(np.eye(S) - 0.9 * np.einsum("sa,sat->st", pi, P), rhs)
    for st in _stores(P.reshape(S * A, S), A):
        for f in (BK.band_evaluate, BK.band_evaluate.py_func):
            V = np.empty(S)
            f(st, A, pi, 0.9, b, np.empty((S, 2 * b + 1)), rhs, V)
            np.testing.assert_allclose(V, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("code", [DK.KL, DK.FORWARD_KL, DK.CHI2, DK.TV, DK.HELLINGER, DK.ALPHA, DK.JS])
def test_regularized_max_kernel(rng, code):
    S, A = 4, 5
    Q = rng.normal(size=(S, A))
    ref = rng.dirichlet(np.ones(A), size=S)
    alpha = 0.5
    outs = []
    for f in (DK.regularized_max_into, DK.regularized_max_into.py_func):
        V, pi = np.empty(S), np.empty((S, A))
        f(code, alpha, Q, ref, np.log(ref), 0.7, V, pi)
        outs.append((V, pi))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-7, atol=1e-10)
    for s in range(S):
        v = DK.divergence_value(code, alpha, outs[0][1][s], ref[s])
        assert v == pytest.approx(DK.divergence_value.py_func(code, alpha, outs[0][1][s], ref[s]), rel=1e-10, abs=1e-14)


def test_simulate_kernel(rng):
    n, T_, S, A = 3, 4, 3, 2
    u = rng.random((n, T_, 3))
    cum_mu0 = np.cumsum(np.full(S, 1 / S))
    cum_pi = np.cumsum(np.full((1, S, A), 1 / A), axis=-1)
    cumP = np.cumsum(rng.dirichlet(np.ones(S), size=(1, S, A)), axis=-1)
    r3 = rng.normal(size=(1, S, A))
    outs = []
    for f in (MDPK.simulate_kernel, MDPK.simulate_kernel.py_func):
        st = np.empty((n, T_ + 1), np.int64)
        ac = np.empty((n, T_), np.int64)
        rw = np.empty((n, T_))
        f(u, cum_mu0, cum_pi, 0, cumP, np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1), r3, S, A,
          st, ac, rw)
        outs.append((st, ac, rw))
    for a, b in zip(outs[0], outs[1]):
        np.testing.assert_array_equal(a, b)


def test_fdiv_row_and_kl_row_match_py_func_on_the_pole_and_extreme_paths():
    from mdpkit.divergences import _kernels as K

    q = np.array([-1.0, 0.0, -0.5])
    for code, alpha in ((K.FORWARD_KL, 0.0), (K.HELLINGER, 0.0), (K.ALPHA, 0.5), (K.JS, 0.0), (K.CHI2, 0.0)):
        for p in (np.array([0.5, 1e-30, 0.5 - 1e-30]), np.array([0.2, 0.5, 0.3])):
            for beta in (1e-12, 1e-3, 1e8):
                o1, o2 = np.empty(3), np.empty(3)
                v1 = K._fdiv_max_row(code, alpha, q, p, beta, o1)
                v2 = K._fdiv_max_row.py_func(code, alpha, q, p, beta, o2)
                assert v1 == pytest.approx(v2, rel=1e-13, abs=1e-15)
                np.testing.assert_allclose(o1, o2, rtol=1e-12, atol=1e-15)
    for beta in (1e-12, 1.0, 1e12):
        o1, o2 = np.empty(2), np.empty(2)
        lp = np.log(np.array([0.5, 0.5]))
        v1 = K.kl_max_row(np.array([0.0, 1e300]), lp, beta, o1, True)
        v2 = K.kl_max_row.py_func(np.array([0.0, 1e300]), lp, beta, o2, True)
        assert v1 == v2 and np.array_equal(o1, o2)


def test_the_categorical_sampler():
    """The one compiled categorical sampler: inverse CDF, never an index of probability 0."""
    from mdpkit import _sampling_kernels as SK

    p = np.array([0.0, 0.25, 0.0, 0.75, 0.0])
    for u, want in ((0.0, 1), (0.2499, 1), (0.25, 3), (0.999999, 3), (1.0, 3)):
        assert SK.sample_categorical(p, u) == SK.sample_categorical.py_func(p, u) == want
    u = np.random.default_rng(0).random(20_000)
    draws = np.array([SK.sample_categorical(p, x) for x in u])
    assert abs((draws == 3).mean() - 0.75) < 4 * np.sqrt(0.75 * 0.25 / u.size)   # 4 binomial SE


@pytest.mark.parametrize("beta", [1e-12, 0.05, 1.0, 1e12])
def test_kl_row_with_precomputed_masses_matches_the_log_space_formula(beta):
    """``kl_max_row`` with ``p = exp(log_p)`` given (the online learners) equals the row without
    it and the direct log-sum-exp ``beta * logsumexp(q / beta + log p)`` (scipy, independent),
    also with a masked action (``log p = -inf``) whose score is the largest, and with a top
    action of mass ``e^-700`` (below 1e-290: the rescaled path), with equal scores (the exact
    shortcut, a masked action scoring higher) and with a range below ``beta / 16`` (the
    ``expm1`` form). The two out-of-line paths are checked against their ``py_func`` on the
    same cases."""
    from scipy.special import logsumexp

    from mdpkit.divergences._kernels import (
        kl_max_row,
        kl_row_near,
        kl_row_rescaled,
    )

    rng = np.random.default_rng(3)
    cases = []
    for _ in range(5):
        q = rng.normal(size=6) * 3.0
        cases.append((q, np.log(rng.dirichlet(np.ones(6)))))
    q = np.array([0.3, 2.0, 50.0, -1.0])
    lp = np.log(np.array([0.5, 0.25, 1.0, 0.25]))
    lp[2] = -np.inf  # masked: carries no mass although its score is the top one
    cases.append((q, lp))
    lp2 = np.array([-700.0, np.log(0.5), np.log(0.5)])
    cases.append((np.array([1.0, 0.0, 0.0]), lp2))
    cases.append((np.array([2.0, 2.0, 9.0]), np.array([np.log(0.25), np.log(0.75), -np.inf])))
    cases.append((np.array([1.0, 1.0 - 1e-3 * min(beta, 1.0), 1.0]), np.log(np.array([0.2, 0.3, 0.5]))))
    for q, lp in cases:
        p = np.exp(lp)
        outs = []
        for f in (kl_max_row, kl_max_row.py_func):
            for extra in ((), (p,)):
                pi = np.empty_like(q)
                outs.append((f(q, lp, beta, pi, True, *extra), pi))
        qmax, qmin = float(q[lp > -np.inf].max()), float(q[lp > -np.inf].min())
        for f in (kl_row_near, kl_row_rescaled) if qmax - qmin <= beta / 16 else (kl_row_rescaled,):
            for extra in (None, p):
                pis = np.empty_like(q), np.empty_like(q)
                assert f(q, lp, beta, pis[0], True, extra, qmax) == pytest.approx(
                    f.py_func(q, lp, beta, pis[1], True, extra, qmax), rel=1e-14, abs=1e-15)
                np.testing.assert_allclose(pis[0], pis[1], rtol=1e-13, atol=1e-300)
        live = lp > -np.inf
        exact = beta * logsumexp(q[live] / beta + lp[live])
        pi_exact = np.zeros_like(q)
        z = (q[live] - qmax) / beta + lp[live]  # centred for scipy too: exact at beta = 1e-12
        pi_exact[live] = np.exp(z - logsumexp(z))
        scale = max(1.0, float(np.abs(q[live]).max()))
        for v, pi in outs:
            # centred forms: a few ulps of the scores' scale (1e12 beta: scipy's own rounding is
            # beta * 1e-16, so compare against the mean + variance expansion there instead)
            ref = exact if beta < 1e6 else float(np.exp(lp[live]) @ q[live])
            assert v == pytest.approx(ref, rel=0, abs=1e-13 * scale + (q[live].var() / beta if beta >= 1e6 else 0))
            np.testing.assert_allclose(pi, pi_exact, rtol=1e-9, atol=1e-15)
            assert np.isfinite(pi).all() and pi.sum() == pytest.approx(1.0, abs=1e-14)
        assert outs[0][0] == pytest.approx(outs[1][0], rel=1e-14, abs=1e-15)
