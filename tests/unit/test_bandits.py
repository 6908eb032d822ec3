"""Bandit front end: API shapes, seeding, threads, checkpoints, user policies, errors."""
# ruff: noqa: NPY002  (jitted code uses NumPy's legacy stream, as Numba does)

import numba
import numpy as np
import pytest
from numba import njit

import mdpkit as mk
import mdpkit.bandits as B

ENV = B.BernoulliBandit([0.5, 0.45, 0.4, 0.3])


def test_issue_example_shapes():
    runs = B.simulate(ENV, B.UCB1(), horizon=5000, n_runs=6, rng=0)
    assert runs.regret.shape == (6, runs.checkpoints.size) == runs.reward.shape
    assert runs.pulls.shape == (6, 4) and runs.pulls.dtype == np.int64
    assert np.all(runs.pulls.sum(axis=1) == 5000)
    assert runs.checkpoints[0] == 1 and runs.checkpoints[-1] == 5000
    assert np.all(np.diff(runs.regret, axis=1) >= 0)  # pseudo-regret is non-decreasing
    # the last checkpoint's pseudo-regret is sum_a gap_a * pulls_a
    np.testing.assert_allclose(runs.regret[:, -1], runs.pulls @ ENV.gaps, rtol=1e-12)
    assert "UCB1" in repr(runs)


def test_every_step_checkpoints_and_explicit_grid():
    runs = B.simulate(ENV, B.UCB1(), horizon=300, n_runs=2, rng=1, checkpoints="all")
    assert runs.checkpoints.tolist() == list(range(1, 301))
    sub = B.simulate(ENV, B.UCB1(), horizon=300, n_runs=2, rng=1, checkpoints=np.array([10, 300]))
    np.testing.assert_array_equal(sub.regret, runs.regret[:, [9, 299]])


def test_same_seed_same_result_and_run_prefix():
    a = B.simulate(ENV, B.ThompsonSampling(), horizon=2000, n_runs=5, rng=42)
    b = B.simulate(ENV, B.ThompsonSampling(), horizon=2000, n_runs=5, rng=42)
    c = B.simulate(ENV, B.ThompsonSampling(), horizon=2000, n_runs=3, rng=42)
    np.testing.assert_array_equal(a.regret, b.regret)
    np.testing.assert_array_equal(a.regret[:3], c.regret)
    d = B.simulate(ENV, B.ThompsonSampling(), horizon=2000, n_runs=5, rng=43)
    assert not np.array_equal(a.regret, d.regret)
    gen = np.random.default_rng(0)
    assert B.simulate(ENV, B.UCB1(), horizon=10, rng=gen).n_runs == 1


@pytest.mark.parametrize("algo", [B.ThompsonSampling(), B.UCB1(), B.KLUCB(), B.EXP3(), B.LinUCB()])
def test_results_do_not_depend_on_thread_count(algo, monkeypatch):
    from mdpkit.bandits import _simulate

    monkeypatch.setattr(_simulate, "SERIAL_MAX_PULLS", 0)  # force the prange kernels
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 Numba threads")
    env = ENV if not isinstance(algo, B.LinUCB) else B.LinearBandit(
        [0.3, 0.1], action_set="sphere", n_actions=4, sigma=0.5)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = B.simulate(env, algo, horizon=3000, n_runs=7, rng=3)
        numba.set_num_threads(2)
        two = B.simulate(env, algo, horizon=3000, n_runs=7, rng=3)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(one.regret, two.regret)
    np.testing.assert_array_equal(one.pulls, two.pulls)
    three = B.simulate(env, algo, horizon=3000, n_runs=7, rng=3, n_threads=1)
    np.testing.assert_array_equal(one.regret, three.regret)
    monkeypatch.setattr(_simulate, "SERIAL_MAX_PULLS", 10**9)  # the serial path agrees
    serial = B.simulate(env, algo, horizon=3000, n_runs=7, rng=3)
    np.testing.assert_array_equal(one.regret, serial.regret)


def test_self_play_serial_and_parallel_agree(monkeypatch):
    from mdpkit.bandits import _simulate

    game = B.MatrixGame([[0.0, 1.0, 0.4], [0.8, 0.1, 0.5]])
    a = B.self_play(game, horizon=500, n_runs=4, rng=1, feedback="sampled")
    monkeypatch.setattr(_simulate, "SERIAL_MAX_PULLS", 0)
    b = B.self_play(game, horizon=500, n_runs=4, rng=1, feedback="sampled")
    np.testing.assert_array_equal(a.nash_gap, b.nash_gap)
    np.testing.assert_array_equal(a.x_bar, b.x_bar)


def test_run_seeds_come_from_seed_sequence_spawn():
    kids = np.random.SeedSequence(5).spawn(3)
    expect = [int(k.generate_state(1, np.uint32)[0]) for k in kids]
    assert B.run_seeds(5, 3).tolist() == expect


def test_stats_properties():
    runs = B.simulate(ENV, B.UCB1(), horizon=500, n_runs=4, rng=0)
    m, se = mk.theory.mean_and_se(runs.final_regret)
    assert runs.mean_regret[-1] == pytest.approx(float(m))
    assert runs.regret_se[-1] == pytest.approx(float(se))
    assert runs.pulls_per_second > 0
    one = B.simulate(ENV, B.UCB1(), horizon=50, n_runs=1, rng=0)
    with pytest.raises(ValueError, match="n_runs >= 2"):
        one.regret_se


def test_adversarial_regret_is_against_best_arm_in_hindsight():
    X = np.random.default_rng(1).random((400, 3))
    run = B.simulate(B.AdversarialBandit(X), B.EXP3(), horizon=400, n_runs=3, rng=0)
    best = X.sum(axis=0).max()
    np.testing.assert_allclose(run.regret[:, -1], best - run.reward[:, -1])
    gen = B.AdversarialBandit(lambda T, rng: rng.random((T, 3)), n_arms=3)
    r1 = B.simulate(gen, B.EXP3(), horizon=100, n_runs=2, rng=4)
    r2 = B.simulate(gen, B.EXP3(), horizon=100, n_runs=2, rng=4)
    np.testing.assert_array_equal(r1.regret, r2.regret)


def test_full_information_losses_and_hedge():
    L = np.random.default_rng(2).random((300, 3))
    env = B.FullInformation(L)
    np.testing.assert_allclose(env.rewards, 1 - L)
    run = B.simulate(env, B.Hedge(), horizon=300, n_runs=3, rng=0)
    np.testing.assert_allclose(run.regret[:, -1], (1 - L).sum(0).max() - run.reward[:, -1])
    B.simulate(env, B.RegretMatching(), horizon=300, n_runs=2, rng=0)


def test_user_index_policy_reproduces_ucb1():
    @njit
    def ucb(t, counts, sums, params, out):
        for a in range(counts.size):
            out[a] = sums[a] / counts[a] + np.sqrt(params[0] * np.log(t) / counts[a])

    mine = B.simulate(ENV, B.IndexPolicy(ucb, params=[2.0]), horizon=2000, n_runs=3, rng=1)
    ref = B.simulate(ENV, B.UCB1(), horizon=2000, n_runs=3, rng=1)
    np.testing.assert_array_equal(mine.regret, ref.regret)
    np.testing.assert_array_equal(mine.pulls, ref.pulls)


@njit
def _eps_select(t, state, params):
    K = 4
    if t < K:
        return t
    if np.random.random() < params[0]:
        return int(np.random.random() * K)
    a = 0
    for k in range(1, K):
        if state[K + k] / state[k] > state[K + a] / state[a]:
            a = k
    return a


@njit
def _eps_update(t, state, params, arm, reward):
    state[arm] += 1.0
    state[4 + arm] += reward


def test_user_step_policy_reproduces_epsilon_greedy():
    pol = B.StepPolicy(_eps_select, _eps_update, state_size=8, params=[0.2], label="my-eps")
    mine = B.simulate(ENV, pol, horizon=1500, n_runs=3, rng=2)
    ref = B.simulate(ENV, B.EpsilonGreedy(0.2), horizon=1500, n_runs=3, rng=2)
    np.testing.assert_array_equal(mine.regret, ref.regret)
    assert mine.algorithm == "my-eps"


@njit
def _bad_select(t, state, params):
    return 7


def test_user_policy_errors():
    with pytest.raises(TypeError, match="Numba-jitted"):
        B.IndexPolicy(lambda *a: None)
    with pytest.raises(TypeError, match="`update` must be a Numba-jitted"):
        B.StepPolicy(_eps_select, print, state_size=2)
    with pytest.raises(ValueError, match="state_size"):
        B.StepPolicy(_eps_select, _eps_update, state_size=0)
    with pytest.raises(ValueError, match=r"outside \[0, 3\]"):
        B.simulate(ENV, B.StepPolicy(_bad_select, _eps_update, state_size=8), horizon=5)


def test_linear_bandit_regret_and_gaps():
    env = B.LinearBandit([1.0, 0.0], actions=[[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], sigma=0.1)
    run = B.simulate(env, B.OFUL(), horizon=500, n_runs=2, rng=0)
    np.testing.assert_allclose(run.regret[:, -1], run.pulls @ env.gaps)
    assert np.all(run.pulls[:, 0] > 400)
    r = B.simulate(B.LinearBandit([0.5, 0.5, 0.0], action_set="gaussian", n_actions=6),
                   B.LinearThompsonSampling(), horizon=200, n_runs=2, rng=0)
    assert r.pulls.shape == (2, 6)


def test_self_play_identity_and_types():
    game = B.MatrixGame(np.random.default_rng(0).random((3, 4)))
    out = B.self_play(game, B.Hedge(), B.RegretMatching(), horizon=800, n_runs=2, rng=0,
                      feedback="sampled")
    T = out.horizon
    for r in range(2):
        gap = game.nash_gap(out.x_bar[r], out.y_bar[r])
        assert gap == pytest.approx(out.nash_gap[r, -1], abs=1e-12)
        assert gap == pytest.approx((out.regret_row[r, -1] + out.regret_col[r, -1]) / T, abs=1e-12)
    with pytest.raises(TypeError, match="`row` must be Hedge"):
        B.self_play(game, B.UCB1(), horizon=10)
    with pytest.raises(ValueError, match="`feedback` must be one of"):
        B.self_play(game, horizon=10, feedback="bandit")
    with pytest.raises(TypeError, match="`game` must be a MatrixGame"):
        B.self_play(ENV, horizon=10)
    with pytest.raises(TypeError, match="self_play"):
        B.simulate(game, B.Hedge(), horizon=10)


def test_compare_table_and_figure(tmp_path):
    res = B.compare(ENV, [B.UCB1(), B.KLUCB(), B.MOSS()], horizon=2000, n_runs=10, rng=0,
                    out=tmp_path / "cmp.png")
    assert [r["algorithm"] for r in res.rows] == ["UCB1", "KLUCB(bernoulli)", "MOSS"]
    assert res.rows[0]["bound_kind"] == "UCB1 bound" and res.rows[2]["bound_kind"] == "MOSS bound"
    assert res.figure.exists() and res.figure.with_suffix(".pdf").exists()
    assert "UCB1" in str(res)
    with pytest.raises(ValueError, match="distinct names"):
        B.compare(ENV, [B.UCB1(), B.UCB1(c=1.0)], horizon=10, n_runs=2)
    with pytest.raises(ValueError, match="at least one"):
        B.compare(ENV, [], horizon=10)


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("make,match", [
    (lambda: B.BernoulliBandit([0.5]), "K >= 2"),
    (lambda: B.BernoulliBandit([0.5, 1.2]), r"means\[1\]"),
    (lambda: B.BernoulliBandit([0.5, -0.1]), r"must lie in \[0, 1\]"),
    (lambda: B.BernoulliBandit([0.5, np.nan]), "finite"),
    (lambda: B.GaussianBandit([0.0, 1.0], sigma=0.0), "sigma"),
    (lambda: B.GaussianBandit([0.0, 1.0], sigma=[1.0, 1.0, 1.0]), "sigma"),
    (lambda: B.BetaBandit([1.0, 2.0], [1.0, -1.0]), r"beta\[1\]"),
    (lambda: B.BetaBandit([1.0, 2.0], [1.0]), "shape"),
    (lambda: B.AdversarialBandit([[0.5, 1.5]]), r"rewards\[0, 1\]"),
    (lambda: B.AdversarialBandit([[0.5], [0.1]]), "K >= 2"),
    (lambda: B.AdversarialBandit(lambda T, r: None), "n_arms"),
    (lambda: B.FullInformation([[0.5, -0.5]]), "losses"),
    (lambda: B.LinearBandit([1.0, 0.0]), "actions"),
    (lambda: B.LinearBandit([1.0, 0.0], [[1.0, 0.0, 0.0]]), "shape"),
    (lambda: B.LinearBandit([1.0, 0.0], [[1.0, 0.0]]), "K >= 2"),
    (lambda: B.LinearBandit([1.0], action_set="ball", n_actions=3), "action_set"),
    (lambda: B.LinearBandit([1.0], action_set="sphere"), "n_actions"),
    (lambda: B.LinearBandit([1.0], action_set="sphere", n_actions=1), "n_actions"),
    (lambda: B.MatrixGame([[1.0, 2.0]]), "2 rows"),
])
def test_bad_environments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make,match", [
    (lambda: B.UCB1(c=0), "`c` must be > 0"),
    (lambda: B.UCBV(zeta=-1), "`zeta`"),
    (lambda: B.KLUCB(kind="poisson"), "`kind` must be one of"),
    (lambda: B.KLUCB(c=-1), "`c` must be >= 0"),
    (lambda: B.ExploreThenCommit(m=0), "`m` must be >= 1"),
    (lambda: B.EpsilonGreedy(1.5), "`epsilon` must be <= 1"),
    (lambda: B.DecayingEpsilonGreedy(c=0), "`c`"),
    (lambda: B.ThompsonSampling(prior=(0, 1)), r"`prior\[0\]`"),
    (lambda: B.GaussianThompsonSampling(sigma=-1), "`sigma`"),
    (lambda: B.EXP3(gamma=0.0), "`gamma` must be > 0"),
    (lambda: B.EXP3(gamma=1.5), "`gamma` must be <= 1"),
    (lambda: B.Hedge(eta=-0.1), "`eta`"),
    (lambda: B.SoftmaxPolicyGradient(eta=0), "`eta`"),
    (lambda: B.SoftmaxPolicyGradient(beta=-1), "`beta`"),
    (lambda: B.SoftmaxPolicyGradient(pi_ref=[0.5, 0.6]), "sum to 1"),
    (lambda: B.SoftmaxPolicyGradient(beta=0.1, pi_ref=[1.0, 0.0]), "strictly positive"),
    (lambda: B.LinUCB(alpha=-1), "`alpha`"),
    (lambda: B.OFUL(delta=1.0), "`delta`"),
    (lambda: B.LinearThompsonSampling(ridge=0), "`ridge`"),
])
def test_bad_algorithm_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_types():
    with pytest.raises(TypeError, match="`c` must be a real number"):
        B.UCB1(c="2")
    with pytest.raises(TypeError, match="`baseline` must be a bool"):
        B.SoftmaxPolicyGradient(baseline=1)
    with pytest.raises(TypeError, match="`prior` must be a pair"):
        B.ThompsonSampling(prior=1.0)
    with pytest.raises(TypeError, match="`algorithm` must be a bandit algorithm"):
        B.simulate(ENV, "UCB1", horizon=10)
    with pytest.raises(TypeError, match="`env` must be a BernoulliBandit"):
        B.simulate([0.5, 0.4], B.UCB1(), horizon=10)
    with pytest.raises(TypeError, match="`rng`"):
        B.simulate(ENV, B.UCB1(), horizon=10, rng="zero")


@pytest.mark.parametrize("kwargs,match", [
    (dict(horizon=0), "`horizon` must be >= 1"),
    (dict(horizon=10, n_runs=0), "`n_runs` must be >= 1"),
    (dict(horizon=10, checkpoints="linear"), "`checkpoints` must be"),
    (dict(horizon=10, checkpoints=np.array([3, 2])), "strictly increasing"),
    (dict(horizon=10, checkpoints=np.array([5, 11])), "strictly increasing"),
    (dict(horizon=10, checkpoints=1), "`checkpoints` must be >= 2"),
    (dict(horizon=10, rng=-1), "non-negative"),
    (dict(horizon=10, n_threads=0), "`n_threads` must be >= 1"),
])
def test_bad_simulate_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        B.simulate(ENV, B.UCB1(), **kwargs)


def test_incompatible_algorithm_and_environment():
    g = B.GaussianBandit([0.0, 1.0])
    for algo in (B.KLUCB(), B.ThompsonSampling(), B.EXP3()):
        with pytest.raises(ValueError, match=r"rewards in \[0, 1\]"):
            B.simulate(g, algo, horizon=10)
    lin = B.LinearBandit([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(TypeError, match="not a linear-bandit algorithm"):
        B.simulate(lin, B.UCB1(), horizon=10)
    with pytest.raises(TypeError, match="must be a LinearBandit"):
        B.simulate(ENV, B.LinUCB(), horizon=10)
    adv = B.AdversarialBandit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="full information"):
        B.simulate(adv, B.Hedge(), horizon=5)
    with pytest.raises(ValueError, match="sequence length 5"):
        B.simulate(adv, B.EXP3(), horizon=6)
    with pytest.raises(ValueError, match="one entry per arm"):
        B.simulate(ENV, B.SoftmaxPolicyGradient(pi_ref=[0.5, 0.5]), horizon=5)


def test_bandit_run_summary_and_frame():
    run = B.simulate(ENV, B.UCB1(), horizon=100, n_runs=3, rng=0, checkpoints=[10, 100])
    assert run.summary().startswith("UCB1: 3 run(s) x 100 pulls, mean final regret ")
    frame = run.to_frame()
    assert frame.shape == (6, 4) and frame["t"].tolist() == [10, 100] * 3
    np.testing.assert_array_equal(frame["regret"].to_numpy().reshape(3, 2), run.regret)


def test_comparison_and_self_play_summaries_and_frames():
    res = B.compare(ENV, [B.UCB1(), B.MOSS()], horizon=300, n_runs=3, rng=0)
    assert res.summary().startswith("bandit comparison: ")
    assert res.to_frame()["algorithm"].tolist() == ["UCB1", "MOSS"]
    game = B.MatrixGame([[0.0, 1.0], [1.0, 0.0]])
    sp_run = B.self_play(game, B.Hedge(), B.Hedge(), horizon=200, n_runs=2, rng=0, checkpoints=[10, 200])
    assert sp_run.summary().startswith("self-play (expected feedback): 2 run(s) x 200 rounds")
    frame = sp_run.to_frame()
    assert frame.shape == (4, 5)
    np.testing.assert_array_equal(frame["nash_gap"].to_numpy().reshape(2, 2), sp_run.nash_gap)
