"""C13 chi-square occupancy bound and planner, the lambda constant, tomato gridworld, STARC."""

import math

import numpy as np
import pytest

import mdpkit as mk
from mdpkit import reward_hacking as rh


def _instance(seed, corr_scale=0.3, S=6, A=3):
    mdp = mk.random_mdp(n_states=S, n_actions=A, gamma=0.9, rng=seed)
    g = np.random.default_rng(1000 + seed)
    R = g.normal(size=(S, A))
    return mdp, R, corr_scale * R + g.normal(size=(S, A))


def test_bound_sides_match_a_direct_computation():
    mdp, R, Rt = _instance(0)
    rng = np.random.default_rng(0)
    pr = rng.dirichlet(np.ones(3), size=6)
    pi = rng.dirichlet(np.ones(3), size=6)
    b = rh.chi2_occupancy_bound(mdp, pi, pr, R, Rt)
    # occupancies by simulation-free power series sum_t gamma^t (mu0 P_pi^t), truncated at 1e-16
    def occ(p):
        Ppi = np.einsum("sa,sat->st", p, mdp.P)
        d, x = np.zeros(6), np.asarray(mdp.mu0).copy()
        for t in range(400):
            d += (1 - 0.9) * 0.9**t * x
            x = x @ Ppi
        return d[:, None] * p
    mu, mr = occ(pi), occ(pr)
    sR = math.sqrt(np.sum(mr * (R - np.sum(mr * R)) ** 2))
    sT = math.sqrt(np.sum(mr * (Rt - np.sum(mr * Rt)) ** 2))
    r = np.sum(mr * (R - np.sum(mr * R)) * (Rt - np.sum(mr * Rt))) / (sR * sT)
    chi2 = np.sum((mu - mr) ** 2 / mr)
    assert b.chi2 == pytest.approx(chi2, rel=1e-10)
    assert b.stats.corr == pytest.approx(r, rel=1e-10)
    assert b.gold_gain == pytest.approx(np.sum((mu - mr) * R), abs=1e-12)
    rhs = r * sR / sT * np.sum((mu - mr) * Rt) - sR * math.sqrt(1 - r * r) * math.sqrt(chi2)
    assert b.lower_bound == pytest.approx(rhs, abs=1e-12)
    assert b.slack >= 0


def test_bound_is_tight_for_a_perfect_proxy_up_to_scale():
    mdp, R, _ = _instance(1)
    pr = mk.uniform_policy(mdp)
    pi = mk.solve(mdp).pi
    b = rh.chi2_occupancy_bound(mdp, pi, pr, R, 2.0 * R + 3.0)
    assert b.slack == pytest.approx(0.0, abs=1e-7)     # r = 1: equality (sqrt(1 - r^2) ~ 1e-8)


def test_planner_agrees_with_a_scipy_route_on_a_bandit():
    """One state, gamma irrelevant: maximize <x, q> - lam ||(x - p)/sqrt(p)|| over the simplex."""
    from scipy.optimize import minimize

    P = np.ones((1, 3, 1))
    mdp = mk.TabularMDP(P, np.zeros((1, 3)), gamma=0.5)
    p = np.array([0.2, 0.3, 0.5])
    q = np.array([1.0, 0.2, 0.0])
    plan = rh.chi2_occupancy_planner(mdp, p[None], q[None], 0.4)

    def neg(z):
        x = np.exp(z) / np.exp(z).sum()
        return -(x @ q - 0.4 * np.linalg.norm((x - p) / np.sqrt(p)))

    best = min((minimize(neg, z0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12,
                                                                   "maxiter": 20000})
                for z0 in (np.zeros(3), np.array([2.0, 0, 0]), np.array([0, 0, 2.0]))),
               key=lambda o: o.fun)
    assert plan.objective == pytest.approx(-best.fun, abs=1e-6)


@pytest.mark.parametrize("seed", [2, 6, 27])
def test_lambda_star_certifies_and_r_lambda_star_does_not(seed):
    """The constant question (CLAIMS corrections): sigma sqrt(1-r^2)/r is the right one."""
    mdp, R, Rt = _instance(seed)
    pr = mk.uniform_policy(mdp)
    st = rh.proxy_statistics(mdp, pr, R, Rt)
    lam = rh.chi2_regularization_coef(mdp, pr, R, Rt)
    assert lam == pytest.approx(st.sigma_proxy * math.sqrt(1 - st.corr**2) / st.corr)
    good = rh.chi2_occupancy_bound(mdp, rh.chi2_occupancy_planner(mdp, pr, Rt, lam).pi, pr, R, Rt)
    assert good.lower_bound >= -1e-7 and good.gold_gain >= -1e-7      # solver tolerance
    larger = rh.chi2_occupancy_bound(mdp, rh.chi2_occupancy_planner(mdp, pr, Rt, 3 * lam).pi, pr, R, Rt)
    assert larger.lower_bound >= -1e-7                               # any beta >= lambda* certifies
    bad = rh.chi2_occupancy_bound(mdp, rh.chi2_occupancy_planner(mdp, pr, Rt, lam * st.corr).pi,
                                  pr, R, Rt)
    assert bad.lower_bound < -1e-3      # these seeds are counterexamples for sigma sqrt(1-r^2)


def test_lambda_star_maximizes_the_lower_bound():
    mdp, R, Rt = _instance(0)
    pr = mk.uniform_policy(mdp)
    lam = rh.chi2_regularization_coef(mdp, pr, R, Rt)
    best = rh.chi2_occupancy_bound(mdp, rh.chi2_occupancy_planner(mdp, pr, Rt, lam).pi, pr, R, Rt)
    rng = np.random.default_rng(2)
    for c in (0.3 * lam, 0.7 * lam, 2 * lam):
        other = rh.chi2_occupancy_planner(mdp, pr, Rt, c).pi
        assert rh.chi2_occupancy_bound(mdp, other, pr, R, Rt).lower_bound <= best.lower_bound + 1e-7
    for _ in range(20):
        pi = rng.dirichlet(np.ones(3), size=6)
        assert rh.chi2_occupancy_bound(mdp, pi, pr, R, Rt).lower_bound <= best.lower_bound + 1e-7


def test_tomato_chi2_om_keeps_gold_and_action_kl_hacks():
    env = rh.tomato_gridworld()
    assert env.mdp.n_states == 144
    lam = rh.chi2_regularization_coef(env.mdp, env.pi_ref, env.gold, env.proxy)
    plan = rh.chi2_occupancy_planner(env.mdp, env.pi_ref, env.proxy, lam)
    assert rh.chi2_occupancy_bound(env.mdp, plan.pi, env.pi_ref, env.gold, env.proxy).gold_gain >= -1e-7
    mdp_p = mk.TabularMDP(env.mdp.P, env.proxy, gamma=env.mdp.gamma, mu0=env.mdp.mu0)
    pi_kl = mk.solve_kl_regularized(mdp_p, env.pi_ref, 0.01).pi
    b = rh.chi2_occupancy_bound(env.mdp, pi_kl, env.pi_ref, env.gold, env.proxy)
    assert b.gold_gain < -0.1 and b.proxy_gain > 0      # hacking: proxy up, gold down
    # the proxy optimum sits on the sprinkler
    pi_star = mk.solve(mdp_p).pi
    occ = env.mdp.occupancy(pi_star).sum(1).reshape(len(env.cells), -1).sum(1)
    assert occ[env.sprinkler] > 0.5


def test_tomato_dynamics():
    env = rh.tomato_gridworld(dry_prob=0.0)
    # standing still on a dry tomato waters it and, with no drying, the mask only grows
    t0 = [k for k, c in enumerate(env.cells) if c == (1, 1)][0]
    s = env.state(t0, 0)
    nxt = np.flatnonzero(env.mdp.P[s, 4])
    assert nxt.tolist() == [env.state(t0, 1)]
    with pytest.raises(ValueError, match="layout"):
        rh.tomato_gridworld(layout=("###", "#.#", "###"))


def test_support_and_degenerate_errors():
    mdp, R, Rt = _instance(0)
    pr = mk.uniform_policy(mdp).copy()
    pr[2] = [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"zero occupancy at \(s, a\) = \(2, 1\)"):
        rh.chi2_occupancy_planner(mdp, pr, Rt, 1.0)
    with pytest.raises(ValueError, match="infinite"):
        rh.chi2_occupancy_bound(mdp, mk.uniform_policy(mdp), pr, R, Rt)
    with pytest.raises(ValueError, match="`R_proxy` must vary"):
        rh.chi2_occupancy_bound(mdp, pr, mk.uniform_policy(mdp), R, np.ones((6, 3)))
    with pytest.raises(ValueError, match="positively correlated"):
        rh.chi2_regularization_coef(mdp, mk.uniform_policy(mdp), R, -R)
    with pytest.raises(ValueError, match="`beta` must be >= 0"):
        rh.chi2_occupancy_planner(mdp, mk.uniform_policy(mdp), Rt, -1.0)
    with pytest.raises(NotImplementedError):
        rh.chi2_occupancy_bound(mk.random_mdp(n_states=3, n_actions=2, horizon=3, rng=0),
                                np.full((3, 3, 2), 0.5), np.full((3, 3, 2), 0.5), R, Rt)


# ------------------------------------------------------------------ STARC
def test_starc_distance_properties():
    mdp = mk.random_mdp(n_states=4, n_actions=3, gamma=0.8, rng=0)
    rng = np.random.default_rng(0)
    R1, R2 = rng.normal(size=(4, 3, 4)), rng.normal(size=(4, 3, 4))
    d = rh.starc_distance(mdp, R1, R2)
    assert 0 < d <= 2
    assert rh.starc_distance(mdp, R2, R1) == pytest.approx(d, abs=1e-14)
    assert rh.starc_distance(mdp, R1, -R1) == pytest.approx(2.0, abs=1e-12)
    # canonical forms are fixed points: c(c(R)) = c(R)
    c = rh.starc_canonicalize(mdp, R1)
    np.testing.assert_allclose(rh.starc_canonicalize(mdp, c), c, atol=1e-12)


def test_starc_regret_bound_on_random_mdps():
    rng = np.random.default_rng(1)
    for _ in range(30):
        mdp = mk.random_mdp(n_states=5, n_actions=3, gamma=0.9, rng=int(rng.integers(2**31)))
        R1 = rng.normal(size=(5, 3, 5))
        out = rh.starc_regret_bound(mdp, R1, R1 + rng.uniform(0.01, 2) * rng.normal(size=(5, 3, 5)))
        assert -1e-9 <= out.regret <= out.bound + 1e-9
        same = rh.starc_regret_bound(mdp, R1, 2 * rh.potential_shaping(mdp, R1, rng.normal(size=5)))
        assert same.distance == pytest.approx(0.0, abs=1e-10) and abs(same.regret) < 1e-8
