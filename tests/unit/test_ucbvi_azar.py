"""UCBVI-CH / UCBVI-BF as in Azar, Osband, Munos (2017), Alg. 1-4, and their Theorem bounds."""

import math

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.learners import _ucbvi_azar_kernels as AK


@pytest.fixture(scope="module")
def mdp():
    return mk.random_mdp(n_states=3, n_actions=2, horizon=3, rng=2)


@pytest.mark.parametrize("bonus", ["azar_ch", "azar_bf"])
def test_q_values_never_increase(mdp, bonus):
    # Q_k = min(Q_{k-1}, ...) makes V_k non-increasing in k
    run = mk.learners.run_online(mk.learners.UCBVI(bonus=bonus), mdp, n_episodes=200, rng=0)
    assert np.all(np.diff(run.upper_value) <= 1e-12)
    assert np.all(run.upper_value >= run.target_value - 1e-12)
    assert run.info["layered_states"] == 9


def test_ch_bonus_formula_on_one_visit():
    H, S, A = 2, 1, 1
    N = np.ones((H, S, A))
    Nsas = np.ones((H, S, A, S))
    Rsum = np.full((H, S, A), 0.25)
    Nstate = np.ones((H, S))
    Q = np.full((H, S, A), 1e9)   # no cap from the previous Q
    V, pi = np.zeros((H + 1, S)), np.empty((H, S, A))
    L = 0.01
    AK.azar_plan(N, Nsas, Rsum, Nstate, Q, AK.AZAR_CH, L, 2.0, V, pi)
    assert Q[1, 0, 0] == pytest.approx(min(2.0, 0.25 + 7 * 2 * L))
    assert Q[0, 0, 0] == pytest.approx(min(2.0, 0.25 + Q[1, 0, 0] + 7 * 2 * L))


@pytest.mark.parametrize("variant", [AK.AZAR_CH, AK.AZAR_BF])
def test_kernel_matches_py_func(mdp, variant):
    H, S, A = 3, 3, 2
    P4 = np.ascontiguousarray(mdp.P if mdp.P.ndim == 4 else mdp.P[None])
    r3 = np.ascontiguousarray(mdp.r if mdp.r.ndim == 3 else mdp.r[None])
    mu0 = mdp.mu0

    def go(fn):
        N, Rsum = np.zeros((H, S, A)), np.zeros((H, S, A))
        Nsas, Nstate = np.zeros((H, S, A, S)), np.zeros((H, S))
        Q = np.full((H, S, A), 3.0)
        V, pi = np.zeros((H + 1, S)), np.empty((H, S, A))
        sub, ret, up = np.empty(30), np.empty(30), np.empty(30)
        fn(5, np.cumsum(mu0), np.ascontiguousarray(np.cumsum(P4, -1)), P4, r3, mu0, 1.0, variant, 3.0, 9.0,
           N, Nsas, Rsum, Nstate, Q, V, pi, np.empty((H + 1, S)), sub, ret, up)
        return sub, up, Q

    for a, b in zip(go(AK.run_azar_episodes), go(AK.run_azar_episodes.py_func), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_theorem_bounds_closed_forms():
    S, A, H, K, d = 4, 2, 3, 100, 0.1
    L = math.log(5 * H * (S * H) * A * K * H / d)
    assert mk.theory.azar_log_term(S, A, H, K, d) == pytest.approx(L)
    Sp = S * H
    ch = 20 * H**1.5 * L * math.sqrt(Sp * A * K) + 250 * H**2 * Sp**2 * A * L**2
    bf = 30 * H * L * math.sqrt(Sp * A * K) + 2500 * H**2 * Sp**2 * A * L**2 + 4 * H**1.5 * math.sqrt(K * L)
    assert mk.theory.azar_regret_bound(S, A, H, K, d) == pytest.approx(ch)
    assert mk.theory.azar_regret_bound(S, A, H, K, d, kind="bf") == pytest.approx(bf)


def test_azar_bonus_rejects_a_scale():
    with pytest.raises(ValueError, match="`bonus_scale`"):
        mk.learners.UCBVI(bonus="azar_ch", bonus_scale=0.5)
    with pytest.raises(ValueError, match="`bonus`"):
        mk.learners.UCBVI(bonus="azar")


@pytest.mark.parametrize("variant", [AK.AZAR_CH, AK.AZAR_BF])
def test_plan_kernel_matches_py_func(variant):
    rng = np.random.default_rng(4)
    H, S, A = 3, 4, 2
    Nsas = rng.integers(0, 4, size=(H, S, A, S)).astype(float)
    N = Nsas.sum(-1)
    Rsum = N * rng.random((H, S, A))
    Nstate = N.sum(-1)

    def go(fn):
        Q = np.full((H, S, A), 2.5)
        V, pi = np.zeros((H + 1, S)), np.empty((H, S, A))
        fn(N, Nsas, Rsum, Nstate, Q, variant, 0.3, 12.0, V, pi)
        return Q, V, pi

    for a, b in zip(go(AK.azar_plan), go(AK.azar_plan.py_func), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
