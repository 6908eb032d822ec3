"""LSVI-UCB and KL-regularized LSVI-UCB on LinearMDP."""

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.learners import (
    LSVIUCB,
    KLRegularizedLSVIUCB,
    linear_behavior_cloning,
    run_online,
)
from mdpkit.learners import _online_kernels as OK


@pytest.fixture
def lin():
    return mk.random_linear_mdp(5, 3, 3, 3, rng=0)


def _stats(phi, H, data, ridge):
    """``Lam^{-1}``, ``M``, ``b`` from (h, s, a, r, s_next) tuples, by direct inversion."""
    S, A, d = phi.shape
    Lam = np.broadcast_to(ridge * np.eye(d), (H, d, d)).copy()
    M, b = np.zeros((H, d, S)), np.zeros((H, d))
    for h, s, a, r, t in data:
        f = phi[s, a]
        Lam[h] += np.outer(f, f)
        M[h, :, t] += f
        b[h] += f * r
    return np.linalg.inv(Lam), M, b


def test_plan_lsvi_matches_py_func(lin):
    g = np.random.default_rng(0)
    H, S, A, d = lin.horizon, lin.n_states, lin.n_actions, lin.dim
    data = [(int(g.integers(H)), int(g.integers(S)), int(g.integers(A)), g.random(), int(g.integers(S)))
            for _ in range(40)]
    Li, M, b = _stats(lin.phi, H, data, 1.0)
    log_ref = np.full((H, S, A), -np.log(A))
    for beta, sign in ((0.0, 1.0), (0.3, -1.0)):
        outs = []
        for f in (OK.plan_lsvi, OK.plan_lsvi.py_func):
            V, pi = np.zeros((H + 1, S)), np.empty((H, S, A))
            f(lin.phi, Li, M, b, 0.8, sign, beta, log_ref, V, pi, np.empty(d), np.empty(d), np.empty((S, A)),
              np.exp(log_ref))
            outs.append((V, pi))
        np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12, atol=1e-12)


def test_run_lsvi_episodes_matches_py_func(lin):
    tab = lin.to_tabular()
    H, S, A, d = lin.horizon, lin.n_states, lin.n_actions, lin.dim
    P4, r3 = np.ascontiguousarray(tab.P), np.ascontiguousarray(tab.r)
    K = 8

    def go(f):
        Li = np.ascontiguousarray(np.broadcast_to(np.eye(d), (H, d, d)))
        M, b, counts = np.zeros((H, d, S)), np.zeros((H, d)), np.zeros((H, S, A))
        pis = [np.empty((H, S, A)) for _ in range(3)]
        outs = [np.empty(K) for _ in range(5)]
        f(5, np.cumsum(tab.mu0), np.cumsum(P4, axis=-1), P4, r3, tab.mu0, 1.0, lin.phi, 0.5, 0.2,
          np.full((H, S, A), -np.log(A)), Li, M, b, counts, np.zeros((H + 1, S)), np.zeros((H + 1, S)),
          np.zeros((H + 1, S)), *pis, np.zeros((H + 1, S)), *outs)
        return outs + [Li, M, counts]

    for a, b in zip(go(OK.run_lsvi_episodes), go(OK.run_lsvi_episodes.py_func), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_sherman_morrison_matches_direct_inverse(lin):
    tab = lin.to_tabular()
    H, S, A, d = lin.horizon, lin.n_states, lin.n_actions, lin.dim
    P4, r3 = np.ascontiguousarray(tab.P), np.ascontiguousarray(tab.r)
    Li = np.ascontiguousarray(np.broadcast_to(np.eye(d) / 0.5, (H, d, d)))
    counts = np.zeros((H, S, A))
    OK.run_lsvi_episodes(1, np.cumsum(tab.mu0), np.cumsum(P4, axis=-1), P4, r3, tab.mu0, 1.0, lin.phi, 1.0, 0.0,
                         np.zeros((H, S, A)), Li, np.zeros((H, d, S)), np.zeros((H, d)), counts,
                         *(np.zeros((H + 1, S)) for _ in range(3)), *(np.empty((H, S, A)) for _ in range(3)),
                         np.zeros((H + 1, S)), *(np.empty(40) for _ in range(5)))
    Lam = 0.5 * np.eye(d) + np.einsum("hsa,sai,saj->hij", counts, lin.phi, lin.phi)
    np.testing.assert_allclose(Li, np.linalg.inv(Lam), rtol=1e-9, atol=1e-12)


def test_one_hot_features_recover_the_tabular_plugin_plan():
    """With phi(s, a) = e_(s,a) (on the simplex) and ridge -> 0, LSVI's w_h is the empirical Q."""
    mdp = mk.random_mdp(n_states=3, n_actions=2, horizon=3, rng=1, stationary=False)
    H, S, A = 3, 3, 2
    phi = np.eye(S * A).reshape(S, A, S * A)
    tr = mdp.simulate(mk.uniform_policy(mdp), 300, rng=0)
    data = [(h, tr.states[i, h], tr.actions[i, h], tr.rewards[i, h], tr.states[i, h + 1])
            for i in range(300) for h in range(H)]
    Li, M, b = _stats(phi, H, data, 1e-10)
    N, Nsas, R = np.zeros((H, S, A)), np.zeros((H, S, A, S)), np.zeros((H, S, A))
    for h, s, a, r, t in data:
        N[h, s, a] += 1
        Nsas[h, s, a, t] += 1
        R[h, s, a] += r
    log_ref = np.full((H, S, A), -np.log(A))
    V1, pi1 = np.zeros((H + 1, S)), np.empty((H, S, A))
    OK.plan_lsvi(phi, Li, M, b, 0.0, 1.0, 0.2, log_ref, V1, pi1, np.empty(S * A), np.empty(S * A), np.empty((S, A)),
                np.exp(log_ref))
    V = [np.zeros((H + 1, S)) for _ in range(3)]
    pis = [np.empty((H, S, A)) for _ in range(2)]
    OK.plan_episode(N, Nsas, R, OK.BONUS_HOEFFDING, 1.0, 1.0, 0.2, log_ref, *V, *pis,
                    *(np.empty((S, A)) for _ in range(3)), np.exp(log_ref))
    V2, pi2 = V[2], pis[1]
    np.testing.assert_allclose(V1, V2, atol=1e-7)
    np.testing.assert_allclose(pi1, pi2, atol=1e-7)


def test_lsvi_determinism_and_learning(lin):
    a = run_online(LSVIUCB(bonus_scale=0.2), lin, n_episodes=600, rng=2)
    b = run_online(LSVIUCB(bonus_scale=0.2), lin, n_episodes=600, rng=2)
    np.testing.assert_array_equal(a.regret, b.regret)
    assert a.suboptimality[0, -100:].mean() < a.suboptimality[0, :50].mean()
    assert (a.upper_value >= a.target_value - 1e-12).all()


def test_kl_lsvi_accepts_log_linear_policy(lin):
    expert = mk.solve(lin.to_tabular()).pi
    bc = linear_behavior_cloning(lin.simulate(expert, 100, rng=0), lin.phi, horizon=lin.horizon)
    a = run_online(KLRegularizedLSVIUCB(beta=0.1, pi_ref=bc), lin, n_episodes=30, rng=0)
    b = run_online(KLRegularizedLSVIUCB(beta=0.1, pi_ref=bc.pi), lin, n_episodes=30, rng=0)
    np.testing.assert_array_equal(a.regret, b.regret)
    np.testing.assert_allclose(a.suboptimality[0, 0], a.optimal_value - lin.mu0 @ lin.to_tabular().evaluate(bc.pi)[0])


def test_linear_bad_input(lin):
    with pytest.raises(ValueError, match="`beta` must be > 0"):
        KLRegularizedLSVIUCB(beta=0.0)
    with pytest.raises(ValueError, match="`ridge` must be > 0"):
        LSVIUCB(ridge=-1.0)
    with pytest.raises(TypeError, match="must be a LinearMDP"):
        run_online(LSVIUCB(), mk.random_mdp(n_states=2, n_actions=2, horizon=2, rng=0), n_episodes=5)
    with pytest.raises(ValueError, match=r"`pi_ref` must have shape \(H, S, A\) = \(3, 5, 3\)"):
        run_online(KLRegularizedLSVIUCB(beta=0.1, pi_ref=np.full((2, 5, 3), 1 / 3)), lin, n_episodes=5)
