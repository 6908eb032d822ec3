"""Tabular and d-rectangular robust solvers: routes agree, worst-case kernels, sweeps, errors."""

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.divergences import KL, ChiSquare, TotalVariation, ball_inf, penalized_inf
from mdpkit.solvers import _robust_kernels as SK
from mdpkit.solvers import (
    robust_bellman,
    robust_policy_evaluation,
    solve_linear_robust,
    worst_case_kernel,
)

DIVS = [KL(), ChiSquare(), TotalVariation()]
FORMS = [{"lam": 0.4}, {"rho": 0.25}]


@pytest.fixture(scope="module")
def mdp():
    return mk.random_mdp(n_states=7, n_actions=3, gamma=0.9, rng=3, concentration=0.4)


@pytest.mark.parametrize("kw", FORMS, ids=["pen", "ball"])
@pytest.mark.parametrize("div", DIVS, ids=lambda d: d.name)
def test_operator_matches_vectorised_dual(mdp, div, kw):
    V = np.random.default_rng(0).normal(size=7) * 4
    fn = penalized_inf if "lam" in kw else ball_inf
    val, _ = fn(div, V, mdp.P, next(iter(kw.values())))
    op = mk.Robust(div, **kw).transition_operator(mdp)
    out = np.empty((7, 3))
    op(V, out)
    np.testing.assert_allclose(out, val, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(robust_bellman(V, mdp, div=div, **kw),
                               (mdp.r + 0.9 * val).max(axis=1), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("kw", FORMS, ids=["pen", "ball"])
@pytest.mark.parametrize("div", DIVS, ids=lambda d: d.name)
def test_solution_is_fixed_point_and_worst_kernel(mdp, div, kw):
    res = mk.solve_robust(mdp, div=div, **kw, tol=1e-11, return_worst_case=True)
    assert res.converged and res.method == "value_iteration"
    TV = robust_bellman(res.V, mdp, div=div, **kw)
    assert np.abs(TV - res.V).max() <= 2e-11
    Pw = res.trace["P_worst"]
    assert Pw.shape == (7, 3, 7)
    np.testing.assert_allclose(Pw.sum(axis=-1), 1.0, atol=1e-12)
    # Q = r + gamma (<P_worst, V> + lam D(P_worst || P))
    pen = kw.get("lam", 0.0) * div.value(Pw, mdp.P)
    np.testing.assert_allclose(res.Q, mdp.r + 0.9 * (Pw @ res.V + pen), atol=1e-9)
    if "rho" in kw:
        assert div.value(Pw, mdp.P).max() <= kw["rho"] + 1e-9
    # robust policy evaluation of the optimal policy returns the optimal robust value
    np.testing.assert_allclose(robust_policy_evaluation(mdp, res.pi, div=div, **kw, tol=1e-11), res.V,
                               atol=1e-9)


def test_finite_horizon_stage_dependent_and_worst_kernel():
    mdp = mk.random_mdp(n_states=5, n_actions=2, horizon=4, rng=1, stationary=False)
    for div in DIVS:
        res = mk.solve_robust(mdp, div=div, lam=0.3, return_worst_case=True)
        assert res.method == "backward_induction" and res.V.shape == (5, 5)
        Pw = res.trace["P_worst"]
        assert Pw.shape == (4, 5, 2, 5)
        for h in range(4):
            val, q = penalized_inf(div, res.V[h + 1], mdp.P[h], 0.3)
            np.testing.assert_allclose(res.Q[h], mdp.r[h] + val, atol=1e-13)
            np.testing.assert_allclose(Pw[h], q, atol=1e-15)
        Vpi = robust_policy_evaluation(mdp, res.pi, div=div, lam=0.3)
        np.testing.assert_allclose(Vpi, res.V, atol=1e-13)
        np.testing.assert_allclose(worst_case_kernel(mdp, res.V, div=div, lam=0.3), Pw)


def test_doubly_regularized_is_soft_robust(mdp):
    pi_ref = np.full((7, 3), 1 / 3)
    reg = mk.PolicyRegularizer(KL(), pi_ref, 0.5)
    res = mk.solve(mdp, policy_reg=reg, robust=mk.Robust(TotalVariation(), rho=0.1), tol=1e-11)
    same = mk.solve_robust(mdp, div=TotalVariation(), rho=0.1, policy_reg=reg, tol=1e-11)
    np.testing.assert_allclose(res.V, same.V)
    TV = mk.soft_bellman(res.V, mdp, pi_ref, 0.5, robust=mk.Robust(TotalVariation(), rho=0.1))
    assert np.abs(TV - res.V).max() < 1e-10
    # robust soft value below the nominal soft value, above the robust hard value minus beta log A
    soft = mk.solve_kl_regularized(mdp, pi_ref, 0.5, tol=1e-11)
    assert np.all(res.V <= soft.V + 1e-9)


@pytest.mark.parametrize("par", [False, True])
def test_sweep_kernels_match_py_func(par):
    rng = np.random.default_rng(4)
    P2 = rng.dirichlet(np.full(12, 0.3), size=10)
    V = rng.normal(size=12) * 3
    order, jmin = np.argsort(V), int(np.argmin(V))
    pairs = [(SK.kl_penalized_sweep, SK.kl_penalized_sweep_par, (P2, V, 0.2)),
             (SK.tv_penalized_sweep, SK.tv_penalized_sweep_par, (P2, V, 0.2))]
    for serial, parallel, args in pairs:
        f = parallel if par else serial
        a, b = np.empty(10), np.empty(10)
        f(*args, a)
        serial.py_func(*args, b)
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    f = SK.chi2_penalized_sweep_par if par else SK.chi2_penalized_sweep
    a, b = np.empty(10), np.empty(10)
    f(P2, V, 0.2, order, a)
    SK.chi2_penalized_sweep.py_func(P2, V, 0.2, order, b)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    for code in (0, 2, 3):
        for ball in (False, True):
            f = SK.generic_sweep_par if par else SK.generic_sweep
            a, b = np.empty(10), np.empty(10)
            f(code, ball, P2, V, 0.2, order, jmin, a)
            SK.generic_sweep.py_func(code, ball, P2, V, 0.2, order, jmin, b)
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    hint_a, hint_b = np.full(10, np.nan), np.full(10, np.nan)
    a, b = np.empty(10), np.empty(10)
    (SK.kl_ball_sweep_par if par else SK.kl_ball_sweep)(P2, V, 0.2, hint_a, a)
    SK.kl_ball_sweep.py_func(P2, V, 0.2, hint_b, b)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(hint_a, hint_b, rtol=1e-10)
    a, qa = np.empty(10), np.empty((10, 12))
    b, qb = np.empty(10), np.empty((10, 12))
    SK.worst_case_rows(2, True, P2, V, 0.2, order, jmin, a, qa)
    SK.worst_case_rows.py_func(2, True, P2, V, 0.2, order, jmin, b, qb)
    np.testing.assert_allclose(qa, qb, atol=1e-14)


def test_kl_sweep_far_from_global_min_uses_stable_fallback():
    # rows whose support misses the global minimum by 1e3 / lam: direct exp would underflow
    P2 = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    V = np.array([-1000.0, 0.0, 1.0])
    out = np.empty(2)
    SK.kl_penalized_sweep(P2, V, 0.01, out)
    assert out[0] == pytest.approx(-0.01 * np.log(0.5 * (1 + np.exp(-100.0))), abs=1e-14)
    assert out[1] == -1000.0


def test_linear_robust_matches_tabular_for_one_hot_features():
    base = mk.random_mdp(n_states=3, n_actions=2, horizon=3, rng=2, stationary=False)
    lin = mk.LinearMDP(np.eye(6).reshape(3, 2, 6), base.P.reshape(3, 6, 3), base.r.reshape(3, 6), base.mu0)
    for div in DIVS:
        for kw in FORMS:
            a = solve_linear_robust(lin, div=div, **kw)
            b = mk.solve_robust(base, div=div, **kw)
            np.testing.assert_allclose(a.V, b.V, atol=1e-13)
            assert a.trace["w"].shape == (3, 6) and a.trace["mu_worst"].shape == (3, 6, 3)


def test_linear_robust_soft_and_limits():
    lin = mk.random_linear_mdp(5, 3, 2, 3, rng=0)
    nom = mk.solve(lin.to_tabular())
    for div in DIVS:
        assert np.abs(solve_linear_robust(lin, div=div, rho=0.0).V - nom.V).max() < 1e-13
        res = solve_linear_robust(lin, div=div, lam=0.5,
                                  policy_reg=mk.PolicyRegularizer(KL(), np.full((5, 3), 1 / 3), 0.1))
        np.testing.assert_allclose(res.pi.sum(axis=-1), 1.0)
        assert np.all(res.pi > 0)


@pytest.mark.parametrize("beta", [None, 0.2])
def test_linear_robust_kl_penalized_equals_the_closed_form_recursion(beta):
    """``solve_linear_robust`` runs through the generic backward induction with the d-rectangular
    transition part; against an independent NumPy/SciPy recursion of the closed forms,
    ``w_{h,i} = -lam log E_{mu_{h,i}} e^{-V_{h+1}/lam}``, ``Q_h = phi (theta_h + w_h)`` and
    ``V_h = max_a Q_h`` (or ``beta log E_{pi_ref} e^{Q_h/beta}``). Only summation orders differ:
    a few ulps of the value scale ``H``."""
    from scipy.special import logsumexp

    lin = mk.random_linear_mdp(7, 3, 4, 5, rng=2)
    H, S, A, lam = lin.horizon, lin.n_states, lin.n_actions, 0.4
    pi_ref = np.random.default_rng(0).dirichlet(np.ones(A), size=S)
    reg = None if beta is None else mk.PolicyRegularizer(KL(), pi_ref, beta)
    res = solve_linear_robust(lin, div=KL(), lam=lam, policy_reg=reg)
    V = np.zeros((H + 1, S))
    for h in range(H - 1, -1, -1):
        w = -lam * logsumexp(-V[h + 1][None, :] / lam, b=lin.mu[h], axis=1)
        Q = lin.phi @ (lin.theta[h] + w)
        V[h] = Q.max(axis=1) if beta is None else beta * logsumexp(Q / beta, b=pi_ref, axis=1)
        np.testing.assert_allclose(res.trace["w"][h], lin.theta[h] + w, rtol=0, atol=1e-13 * H)
        np.testing.assert_allclose(res.Q[h], Q, rtol=0, atol=1e-13 * H)
    np.testing.assert_allclose(res.V, V, rtol=0, atol=1e-13 * H)
    assert res.method == "backward_induction" and res.converged
    # the returned worst-case factors are the Gibbs laws mu e^{-V/lam} / Z of the same recursion
    Vn = res.V[H - 1]
    gibbs = lin.mu[H - 2] * np.exp(-(Vn - Vn.min()) / lam)
    np.testing.assert_allclose(res.trace["mu_worst"][H - 2], gibbs / gibbs.sum(axis=1, keepdims=True), atol=1e-12)


_MDP = mk.random_mdp(n_states=7, n_actions=3, gamma=0.9, rng=3)
ERRORS = [
    (lambda: mk.Robust(KL()), ValueError, "exactly one of `lam`"),
    (lambda: mk.Robust(KL(), lam=1.0, rho=0.1), ValueError, "exactly one of `lam`"),
    (lambda: mk.Robust(KL(), lam=0), ValueError, "`lam` must be > 0; got 0"),
    (lambda: mk.solve_robust(_MDP, div=KL(), rho=-1), ValueError, "`rho` must be >= 0; got -1"),
    (lambda: mk.Robust(mk.divergences.Hellinger(), lam=1.0), NotImplementedError, "Hellinger"),
    (lambda: mk.Robust("tv", lam=1.0), TypeError, "`div` must be an mdpkit.divergences.FDivergence"),
    (lambda: mk.solve_robust(_MDP, div=KL(), lam=1.0, method="policy_iteration"), NotImplementedError,
     "policy iteration is for nominal transitions"),
    (lambda: mk.solve_robust(_MDP, div=KL(), lam=1.0, method="vi"), ValueError, "`method` must be one of"),
    (lambda: robust_bellman([0.0, np.nan, 0, 0, 0, 0, 0], _MDP, div=KL(), lam=1.0), ValueError,
     "`V` must be finite"),
    (lambda: worst_case_kernel(_MDP, np.zeros(3), div=KL(), lam=1.0), ValueError, r"`V` must have shape \(7\)"),
    (lambda: robust_policy_evaluation(_MDP, np.zeros((7, 2)), div=KL(), lam=1.0), ValueError,
     r"`pi` must have shape \(S, A\)"),
    (lambda: solve_linear_robust(_MDP, div=KL(), lam=1.0), TypeError, "`lin` must be a LinearMDP"),
    (lambda: mk.Robust(KL(), lam=1.0).transition_operator("mdp"), TypeError, "`mdp` must be a TabularMDP"),
    (lambda: mk.solve(_MDP, robust=KL()), TypeError, "transition_operator"),
]


@pytest.mark.parametrize(("call", "exc", "match"), ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
