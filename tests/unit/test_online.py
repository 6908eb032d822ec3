"""Tabular online learners: UCBVI, KL-regularized UCBVI, demonstration-regularized UCBVI."""

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.learners import (
    UCBVI,
    DemoRegularizedUCBVI,
    KLRegularizedUCBVI,
    behavior_cloning,
    demo_regularization_beta,
    run_online,
)
from mdpkit.learners import _online_kernels as OK


@pytest.fixture
def mdp():
    return mk.random_mdp(n_states=4, n_actions=3, horizon=3, rng=0, stationary=False)


def _model(mdp, n_episodes=40, seed=0):
    """Counts from uniform play; every (h, s, a) visited at least twice."""
    H, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    tr = mdp.simulate(mk.uniform_policy(mdp), n_episodes, rng=seed)
    N, Nsas, R = np.zeros((H, S, A)), np.zeros((H, S, A, S)), np.zeros((H, S, A))
    for i in range(n_episodes):
        for h in range(H):
            s, a, t = tr.states[i, h], tr.actions[i, h], tr.states[i, h + 1]
            N[h, s, a] += 1
            Nsas[h, s, a, t] += 1
            R[h, s, a] += tr.rewards[i, h]
    return N, Nsas, R


def _plan(f, N, Nsas, R, bonus_kind, L, scale, beta, log_ref):
    """Run ``plan_episode`` (or its ``py_func``); returns V_up, V_lo, V_rec, pi, pi_rec."""
    H, S, A = N.shape
    V = [np.zeros((H + 1, S)) for _ in range(3)]
    pis = [np.empty((H, S, A)) for _ in range(2)]
    f(N, Nsas, R, bonus_kind, L, scale, beta, log_ref, *V, *pis, np.empty((S, A)), np.empty((S, A)), np.empty((S, A)),
      np.exp(log_ref))
    return (*V, *pis)


# -- kernels against their Python functions --------------------------------------------------
@pytest.mark.parametrize("beta", [1e-12, 1.0, 1e12])
def test_planning_on_the_true_model_is_the_exact_soft_solve(mdp, beta):
    """UCBVI-Ent / KL-UCBVI / demonstration-regularized UCBVI share the solvers' action part:
    with the true model as data (one pseudo-count per pair, ``Nsas = P``, ``Rsum = r``) and no
    bonus, every planning recursion is the soft backward induction of ``solve_kl_regularized``.
    The only differences are summation orders, so the tolerance is a few ulps of ``H``."""
    H, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    pi_ref = np.random.default_rng(1).dirichlet(np.ones(A), size=(H, S))
    N = np.ones((H, S, A))
    out = _plan(OK.plan_episode, N, np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r),
                OK.BONUS_HOEFFDING, 1.0, 0.0, beta, np.log(pi_ref))
    exact = mk.solve_kl_regularized(mdp, pi_ref, beta)
    for V in out[:3]:
        np.testing.assert_allclose(V, exact.V, rtol=0, atol=1e-13 * H)
    for pi in out[3:]:
        np.testing.assert_allclose(pi, exact.pi, rtol=0, atol=1e-12)
    # independent limits: beta -> 0 is the hard-max optimum, beta -> inf the value of pi_ref,
    # with the Hoeffding bias (sum over stages of span^2 / (8 beta)) <= H^3 / (8 beta)
    if beta == 1e-12:
        np.testing.assert_allclose(out[0], mk.solve(mdp).V, rtol=0, atol=1e-10)
    if beta == 1e12:
        np.testing.assert_allclose(out[0], mdp.evaluate(pi_ref), rtol=0, atol=1e-12 + H**3 / (8 * beta))


@pytest.mark.parametrize("bonus_kind", [OK.BONUS_HOEFFDING, OK.BONUS_BERNSTEIN])
@pytest.mark.parametrize("beta", [0.0, 0.3])
def test_plan_episode_matches_py_func(mdp, bonus_kind, beta):
    N, Nsas, R = _model(mdp, 6)
    H, S, A = N.shape
    log_ref = np.log(np.random.default_rng(0).dirichlet(np.ones(A), size=(H, S)))
    a = _plan(OK.plan_episode, N, Nsas, R, bonus_kind, 5.0, 0.7, beta, log_ref)
    b = _plan(OK.plan_episode.py_func, N, Nsas, R, bonus_kind, 5.0, 0.7, beta, log_ref)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    V_up, V_lo, V_rec = a[:3]
    assert (V_lo <= V_rec + 1e-12).all() and (V_rec <= V_up + 1e-12).all()


def test_policy_value_matches_py_func_and_evaluate(mdp):
    H, S = mdp.horizon, mdp.n_states
    P4, r3 = np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r)
    pi = mk.uniform_policy(mdp)
    v = OK.policy_value(P4, r3, pi, mdp.mu0, np.empty((H + 1, S)))
    assert v == pytest.approx(OK.policy_value.py_func(P4, r3, pi, mdp.mu0, np.empty((H + 1, S))), rel=1e-12)
    assert v == pytest.approx(float(mdp.mu0 @ mdp.evaluate(pi)[0]), rel=1e-12)


def test_run_episodes_matches_py_func(mdp):
    H, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    P4, r3 = np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r)
    K = 15

    def go(f):
        arrays = dict(N=np.zeros((H, S, A)), Nsas=np.zeros((H, S, A, S)), R=np.zeros((H, S, A)))
        outs = [np.empty(K) for _ in range(5)]
        pi, pi_rec = np.empty((H, S, A)), np.empty((H, S, A))
        f(3, np.cumsum(mdp.mu0), np.cumsum(P4, axis=-1), P4, r3, mdp.mu0, 1.0, OK.BONUS_BERNSTEIN, 4.0, 1.0,
          0.5, np.full((H, S, A), -np.log(A)), arrays["N"], arrays["Nsas"], arrays["R"],
          *(np.zeros((H + 1, S)) for _ in range(3)), pi, pi_rec, np.empty((H + 1, S)), *outs)
        return outs + [arrays["N"], pi, pi_rec]

    for a, b in zip(go(OK.run_episodes), go(OK.run_episodes.py_func), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# -- planning = the exact solver on the empirical model ------------------------------------------
def test_plugin_plan_equals_solver_on_the_empirical_model(mdp):
    N, Nsas, R = _model(mdp, 400)
    assert N.min() > 0
    H, S, A = N.shape
    model = mk.TabularMDP(Nsas / N[..., None], R / N, horizon=H)
    ref = np.random.default_rng(1).dirichlet(np.ones(A), size=(H, S))
    out = _plan(OK.plan_episode, N, Nsas, R, OK.BONUS_HOEFFDING, 3.0, 1.0, 0.25, np.log(ref))
    res = mk.solve_kl_regularized(model, ref, 0.25)
    np.testing.assert_allclose(out[2], res.V, atol=1e-12)
    np.testing.assert_allclose(out[4], res.pi, atol=1e-12)
    out = _plan(OK.plan_episode, N, Nsas, R, OK.BONUS_HOEFFDING, 3.0, 1.0, 0.0, np.log(ref))
    np.testing.assert_allclose(out[2], mk.solve(model).V, atol=1e-12)
    # the optimistic recursion with a vanishing bonus is the same recursion (clipping inactive)
    out = _plan(OK.plan_episode, N, Nsas, R, OK.BONUS_HOEFFDING, 3.0, 1e-300, 0.25, np.log(ref))
    np.testing.assert_allclose(out[0], res.V, atol=1e-12)
    np.testing.assert_allclose(out[3], res.pi, atol=1e-12)


# -- behaviour -----------------------------------------------------------------------------------
@pytest.mark.parametrize("agent", [UCBVI(), UCBVI(bonus="bernstein"), KLRegularizedUCBVI(beta=0.2)])
def test_determinism_under_a_seed(mdp, agent):
    a, b = run_online(agent, mdp, n_episodes=60, rng=11), run_online(agent, mdp, n_episodes=60, rng=11)
    np.testing.assert_array_equal(a.regret, b.regret)
    np.testing.assert_array_equal(a.counts, b.counts)
    c = run_online(agent, mdp, n_episodes=60, rng=12)
    assert not np.array_equal(a.returns, c.returns)


@pytest.mark.parametrize("agent", [UCBVI(), UCBVI(bonus="bernstein"), KLRegularizedUCBVI(beta=0.1)])
def test_confidence_bounds_bracket_the_target(mdp, agent):
    run = run_online(agent, mdp, n_episodes=300, rng=0)
    assert (run.upper_value >= run.target_value - 1e-12).all()
    assert (run.lower_value <= run.target_value + 1e-12).all()
    assert run.counts.sum() == 300 * mdp.horizon
    assert run.regret[0, -1] == pytest.approx(run.suboptimality.sum())
    assert (run.suboptimality >= -1e-12).all()


def test_ucbvi_learns(mdp):
    run = run_online(UCBVI(bonus_scale=0.3), mdp, n_episodes=3000, rng=0)
    assert run.suboptimality[0, -500:].mean() < 0.2 * run.suboptimality[0, :100].mean()
    assert run.recommended_suboptimality[0, -1] < 1e-9


def test_kl_regularized_converges_to_the_soft_optimum(mdp):
    agent = KLRegularizedUCBVI(beta=0.5, bonus_scale=0.2)
    run = run_online(agent, mdp, n_episodes=3000, rng=0)
    soft = mk.solve_kl_regularized(mdp, mk.uniform_policy(mdp), 0.5).pi
    assert np.abs(run.recommended_policy[0] - soft).max() < 0.1


def test_demo_regularized_is_the_kl_learner_toward_pi_bc(mdp):
    pi_bc = behavior_cloning(mdp.simulate(mk.solve(mdp).pi, 30, rng=0), 4, 3, horizon=3).pi
    a = run_online(DemoRegularizedUCBVI(beta=0.1, pi_bc=pi_bc), mdp, n_episodes=100, rng=4)
    b = run_online(KLRegularizedUCBVI(beta=0.1, pi_ref=pi_bc), mdp, n_episodes=100, rng=4)
    np.testing.assert_array_equal(a.regret, b.regret)
    # before any data the learner plays pi_bc exactly
    np.testing.assert_allclose(a.suboptimality[0, 0], a.optimal_value - mdp.mu0 @ mdp.evaluate(pi_bc)[0])


def test_from_demonstrations_prescribes_beta(mdp):
    demos = mdp.simulate(mk.solve(mdp).pi, 50, rng=0)
    agent = DemoRegularizedUCBVI.from_demonstrations(demos, 4, 3, horizon=3, epsilon=0.2)
    assert agent.beta == pytest.approx(0.2 / (2 * 4 * 3 * 3 / 50))
    agent2 = DemoRegularizedUCBVI.from_demonstrations(demos, 4, 3, horizon=3, epsilon=0.2, kl_traj=0.01)
    assert agent2.beta == pytest.approx(10.0)


def test_episodes_to_epsilon():
    from mdpkit.learners import OnlineRun

    sub = np.array([[0.5, 0.05, 0.3, 0.01, 0.02], [0.01, 0.0, 0.0, 0.0, 0.5]])
    one = np.ones((2, 1, 1, 1))
    run = OnlineRun(suboptimality=sub, regret=np.cumsum(sub, axis=1), recommended_suboptimality=sub[:, ::-1].copy(),
                    returns=sub, upper_value=sub, lower_value=sub, target_value=1.0, optimal_value=1.0,
                    policy=one, recommended_policy=one, counts=one, seeds=np.arange(2), agent="x")
    assert run.episodes_to_epsilon(0.1, recommended=False).tolist() == [3, 5]
    assert run.episodes_to_epsilon(0.1).tolist() == [5, 1]
    assert run.episodes_to_epsilon(1.0).tolist() == [0, 0]
    assert run.mean_regret.shape == (5,) and run.final_regret == pytest.approx([0.88, 0.51])
    assert run.summary().startswith("x: 2 run(s) x 5 episodes, mean final regret 0.695 +- 0.185")
    frame = run.to_frame()
    assert frame.shape == (10, 8) and frame["regret"].iloc[-1] == pytest.approx(0.51)


def test_runs_are_independent_of_n_runs_and_threads(mdp):
    """Run r depends on its own seed only: the same for any n_runs and on the parallel path."""
    from mdpkit.learners import _online as ON

    agent = KLRegularizedUCBVI(beta=0.2)
    one = run_online(agent, mdp, n_episodes=40, n_runs=1, rng=3)
    three = run_online(agent, mdp, n_episodes=40, n_runs=3, rng=3)
    np.testing.assert_array_equal(three.regret[:1], one.regret)
    assert three.regret.shape == (3, 40) and three.policy.shape == (3, 3, 4, 3)
    assert not np.array_equal(three.returns[0], three.returns[1])
    old = ON.PARALLEL_MIN_WORK
    ON.PARALLEL_MIN_WORK = 0           # force the prange kernel
    try:
        par = run_online(agent, mdp, n_episodes=40, n_runs=3, rng=3)
    finally:
        ON.PARALLEL_MIN_WORK = old
    np.testing.assert_array_equal(par.regret, three.regret)
    np.testing.assert_array_equal(par.counts, three.counts)


# -- bad input -------------------------------------------------------------------------------
def test_beta_must_be_positive():
    with pytest.raises(ValueError, match="`beta` must be > 0; got 0.0"):
        DemoRegularizedUCBVI(beta=0.0, pi_bc=np.full((1, 1, 2), 0.5))
    with pytest.raises(ValueError, match="`beta` must be > 0; got -1"):
        KLRegularizedUCBVI(beta=-1)


def test_bad_bonus_name():
    with pytest.raises(ValueError, match=r"`bonus` must be one of \['azar_bf', 'azar_ch', 'bernstein', 'hoeffding'\]; got 'ucb'"):
        UCBVI(bonus="ucb")


def test_bad_delta_and_scale():
    with pytest.raises(ValueError, match="`delta` must be < 1"):
        UCBVI(delta=1.0)
    with pytest.raises(ValueError, match="`bonus_scale` must be > 0"):
        UCBVI(bonus_scale=0.0)


def test_pi_bc_mismatched_horizon(mdp):
    agent = DemoRegularizedUCBVI(beta=0.1, pi_bc=np.full((5, 4, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"`pi_bc` must have shape \(H, S, A\) = \(3, 4, 3\)"):
        run_online(agent, mdp, n_episodes=10, rng=0)


def test_pi_bc_needs_full_support(mdp):
    pi = np.full((3, 4, 3), 0.5)
    pi[..., 2] = 0.0
    with pytest.raises(ValueError, match="`pi_bc` must be strictly positive"):
        run_online(DemoRegularizedUCBVI(beta=0.1, pi_bc=pi), mdp, n_episodes=10, rng=0)


def test_discounted_mdp_rejected():
    with pytest.raises(ValueError, match="must be finite-horizon"):
        run_online(UCBVI(), mk.random_mdp(n_states=2, n_actions=2, gamma=0.9, rng=0), n_episodes=10)


def test_rewards_outside_unit_interval_rejected():
    mdp = mk.TabularMDP(np.ones((1, 2, 1)), [[0.0, 2.0]], horizon=2)
    with pytest.raises(ValueError, match=r"rewards must lie in \[0, 1\]"):
        run_online(UCBVI(), mdp, n_episodes=10)


def test_linear_mdp_rejected_by_tabular_learner():
    with pytest.raises(TypeError, match="must be a TabularMDP"):
        run_online(UCBVI(), mk.random_linear_mdp(3, 2, 2, 2, rng=0), n_episodes=10)


def test_unknown_agent_and_bad_episodes(mdp):
    with pytest.raises(TypeError, match="online learner"):
        run_online(object(), mdp, n_episodes=10)
    with pytest.raises(ValueError, match="`n_episodes` must be >= 1"):
        run_online(UCBVI(), mdp, n_episodes=0)
    with pytest.raises(ValueError, match="`n_runs` must be >= 1"):
        run_online(UCBVI(), mdp, n_episodes=5, n_runs=0)


def test_demo_regularization_beta():
    assert demo_regularization_beta(0.2, 0.1) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="`kl_traj` must be > 0"):
        demo_regularization_beta(0.1, 0.0)
    with pytest.raises(ValueError, match="`epsilon` must be > 0"):
        demo_regularization_beta(-0.1, 1.0)
