"""Robust dynamic programming (Iyengar 2005); Tang, Liu, Xu (ICML 2025); CLAIMS.md B1, B6.

"The (s,a)-rectangular robust Bellman operator, penalized or constrained, is monotone and a
gamma-contraction in sup norm; the robust value of every policy is at most its nominal value;
the d-rectangular robust regularized value is at most the nominal value."
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import mdpkit as mk
from mdpkit.divergences import KL, ChiSquare, TotalVariation
from mdpkit.solvers import robust_bellman, robust_policy_evaluation, solve_linear_robust

DIVS = st.sampled_from([KL(), ChiSquare(), TotalVariation()])


@st.composite
def forms(draw):
    if draw(st.booleans()):
        return {"lam": draw(st.floats(0.01, 10.0))}
    return {"rho": draw(st.floats(0.0, 1.5))}


@settings(deadline=None)
@given(seed=st.integers(0, 10_000), S=st.integers(1, 6), A=st.integers(1, 3), gamma=st.floats(0.0, 0.99),
       div=DIVS, kw=forms(), soft=st.booleans())
def test_robust_bellman_is_monotone_gamma_contraction(seed, S, A, gamma, div, kw, soft):
    mdp = mk.random_mdp(n_states=S, n_actions=A, gamma=gamma, rng=seed, concentration=0.5)
    rng = np.random.default_rng(seed)
    reg = mk.PolicyRegularizer(KL(), np.full((S, A), 1.0 / A), 0.3) if soft else None
    V1, V2 = rng.normal(size=S) * 3, rng.normal(size=S) * 3
    T1 = robust_bellman(V1, mdp, div=div, policy_reg=reg, **kw)
    T2 = robust_bellman(V2, mdp, div=div, policy_reg=reg, **kw)
    d = np.abs(V1 - V2).max()
    assert np.abs(T1 - T2).max() <= gamma * d + 1e-11 * (1 + d)
    T3 = robust_bellman(np.maximum(V1, V2), mdp, div=div, policy_reg=reg, **kw)
    assert np.all(T3 >= np.maximum(T1, T2) - 1e-11)


@settings(deadline=None)
@given(seed=st.integers(0, 10_000), S=st.integers(1, 5), A=st.integers(1, 3), div=DIVS, kw=forms())
def test_robust_value_below_nominal_for_every_policy(seed, S, A, div, kw):
    mdp = mk.random_mdp(n_states=S, n_actions=A, gamma=0.8, rng=seed, concentration=0.5)
    pi = np.random.default_rng(seed).dirichlet(np.ones(A), size=S)
    Vr = robust_policy_evaluation(mdp, pi, div=div, tol=1e-11, **kw)
    assert np.all(Vr <= mdp.evaluate(pi) + 1e-9)
    res = mk.solve_robust(mdp, div=div, tol=1e-11, **kw)
    assert np.all(res.V <= mk.solve(mdp, tol=1e-11).V + 1e-9)
    assert np.all(Vr <= res.V + 1e-9)


@settings(deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 4), div=DIVS, kw=forms())
def test_d_rectangular_value_below_nominal(seed, d, div, kw):
    lin = mk.random_linear_mdp(5, 2, d, 3, rng=seed)
    res = solve_linear_robust(lin, div=div, **kw)
    assert np.all(res.V <= mk.solve(lin.to_tabular()).V + 1e-12)
