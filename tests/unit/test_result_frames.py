"""``.summary()`` and ``.to_frame()`` of the law, curve, trajectory, preference and sim objects.

Every frame is checked for its columns and for one value recomputed from the object's raw
arrays (or from scipy), not from the frame code.
"""

import types

import numpy as np
import pytest
from scipy import stats

import mdpkit as mk
from mdpkit import bon


def test_discrete_law():
    ref = bon.Discrete([0.5, 0.25, 0.25], [0.0, 1.0, 2.0])
    df = ref.to_frame()
    assert list(df.columns) == ["reward", "prob", "log_prob"]
    np.testing.assert_array_equal(df["prob"], [0.5, 0.25, 0.25])
    assert float((df["prob"] * df["reward"]).sum()) == pytest.approx(0.75)   # E r by hand
    assert "3 atoms" in ref.summary() and "E r = 0.75" in ref.summary()


def test_continuous_and_order_statistic():
    ref = bon.Continuous(stats.norm(1.0, 2.0))
    df = ref.to_frame(5)
    assert list(df.columns) == ["level", "reward", "pdf"]
    np.testing.assert_allclose(df["reward"], 1.0 + 2.0 * stats.norm.ppf(df["level"]), rtol=1e-12)
    assert "E r = 1" in ref.summary()
    law = bon.best_of_n(ref, 4)
    df = law.to_frame(5)
    # the max of 4 draws has CDF F(x)^4: its u-quantile is F^{-1}(u^{1/4})
    np.testing.assert_allclose(df["reward"], stats.norm(1.0, 2.0).ppf(df["level"] ** 0.25), rtol=1e-9)
    assert law.summary().startswith("Best-of-4 ")


def test_calibrated_policy():
    pol = bon.CalibratedPolicy(bon.identity_transform(), beta=0.5)
    df = pol.to_frame(5)
    assert list(df.columns) == ["u", "pdf"]
    lam = 2.0  # identity tilt: q(u) = lam e^{lam u} / (e^lam - 1)
    np.testing.assert_allclose(df["pdf"], lam * np.exp(lam * df["u"]) / np.expm1(lam), rtol=1e-9)
    assert "beta=0.5" in pol.summary()


def test_frontier_and_curves():
    ref = bon.Discrete([0.5, 0.25, 0.25], [0.0, 1.0, 2.0])
    fr = bon.frontier(ref, n_points=5)
    df = fr.to_frame()
    assert list(df.columns) == ["method", "param", "kl", "reward", "win_rate"]
    tilted = fr["tilted"]
    sub = df[df["method"] == "tilted"]
    np.testing.assert_array_equal(sub["kl"], tilted.kl)
    cdf = tilted.to_frame()
    assert list(cdf.columns) == ["method", tilted.param_name, "kl", "reward", "win_rate"]
    # the reward column is E_q r of the tilted law at that beta, computed here by hand
    beta = float(cdf[tilted.param_name].iloc[2])
    w = np.array([0.5, 0.25, 0.25]) * np.exp(np.array([0.0, 1.0, 2.0]) / beta)
    assert cdf["reward"].iloc[2] == pytest.approx(float(w @ [0.0, 1.0, 2.0] / w.sum()), rel=1e-9)
    assert "tilted" in fr.summary() and "5 points" in tilted.summary()


def test_estimate():
    x = np.random.default_rng(0).random(400)
    est = bon.Estimate(float(x.mean()), float(x.std(ddof=1) / 20.0), 400)
    df = est.to_frame()
    assert list(df.columns) == ["mean", "se", "n_samples"]
    assert df["mean"].iloc[0] == x.mean() and df["n_samples"].iloc[0] == 400
    assert "+-" in est.summary()


def test_trajectories_and_preferences():
    mdp = mk.random_mdp(n_states=3, n_actions=2, horizon=4, rng=0)
    tr = mdp.simulate(mk.uniform_policy(mdp), 6, rng=1)
    df = tr.to_frame()
    assert list(df.columns) == ["episode", "t", "state", "action", "reward", "next_state"]
    assert len(df) == 6 * 4
    np.testing.assert_allclose(df.groupby("episode")["reward"].sum(), tr.rewards.sum(axis=1))
    row = df[(df["episode"] == 2) & (df["t"] == 3)].iloc[0]
    assert (row["state"], row["action"], row["next_state"]) == (tr.states[2, 3], tr.actions[2, 3], tr.states[2, 4])
    assert "6 episodes of 4 steps" in tr.summary()
    prefs = mk.learners.preference_pairs(mdp, mk.uniform_policy(mdp), n_pairs=5, rng=2)
    pdf = prefs.to_frame()
    assert list(pdf.columns) == ["pair", "return_first", "return_second", "prefer_first"]
    np.testing.assert_allclose(pdf["return_second"], prefs.second.rewards.sum(axis=1))
    assert pdf["prefer_first"].tolist() == prefs.prefer_first.tolist()
    assert "5 pairs" in prefs.summary()


def test_sim():
    m = types.ModuleType("toy")
    m.GRID = {"n": [10, 100], "arms": [[0.1, 0.2]]}
    m.N_SEEDS = 2
    m.run_cell = lambda settings, seed: {"y": 1.0}
    sim = mk.sweep.load_sim(m)
    df = sim.to_frame()
    assert list(df.columns) == ["n", "arms", "seed_index", "seed", "settings_hash"]
    assert df["n"].tolist() == [10, 10, 100, 100] and df["arms"].iloc[0] == "[0.1,0.2]"
    assert df["seed"].iloc[3] == mk.sweep.cell_seed(0, {"n": 100, "arms": [0.1, 0.2]}, 1)
    assert "2 settings x 2 seeds = 4 cells" in sim.summary()


def _one_row(obj, expected):
    """The scalar-field frame has exactly ``expected`` columns, one row, the object's values."""
    df = obj.to_frame()
    assert list(df.columns) == list(expected) and len(df) == 1
    for k, v in expected.items():
        assert df[k].iloc[0] == v
    return df


def test_theory_slope_and_bound():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = 3.0 * x ** -0.5 * np.array([1.0, 1.01, 0.99, 1.0])
    fit = mk.theory.loglog_slope(x, y)
    ref = stats.linregress(np.log(x), np.log(y))   # independent route: scipy on the logs
    df = _one_row(fit, {"slope": fit.slope, "intercept": fit.intercept, "stderr": fit.stderr,
                        "ci_low": fit.ci_low, "ci_high": fit.ci_high, "n_points": 4})
    assert df["slope"].iloc[0] == pytest.approx(ref.slope, rel=1e-12)
    assert f"slope = {ref.slope:.6g}" in fit.summary() and fit.summary().startswith("SlopeFit:")
    s = np.array([0.1, 0.3, 0.2, 0.4])
    bt = mk.theory.bound_violation_test(s, 1.0)
    df = _one_row(bt, {"mean": bt.mean, "se": bt.se, "bound": 1.0, "z": bt.z, "p_value": bt.p_value,
                       "violated": bt.violated})
    assert df["mean"].iloc[0] == pytest.approx(s.mean()) and df["se"].iloc[0] == pytest.approx(s.std(ddof=1) / 2)
    assert f"mean = {s.mean():.6g}" in bt.summary() and "violated = False" in bt.summary()


def test_reward_hacking_results():
    from mdpkit import reward_hacking as rh
    law = rh.JointLaw([0.5, 0.5], gold=[1.0, 0.0], proxy=[0.0, 1.0])
    c = rh.gold_reward_curve(law, "best_of_n", n=[1, 2, 4])
    df = c.to_frame()
    assert list(df.columns) == ["method", "n", "kl", "d", "gold", "proxy"]
    # best-of-4 keeps atom 0 (gold 1) only when all four draws hit it: gold = 1/16
    assert df["gold"].iloc[2] == pytest.approx(1 / 16) and df["n"].tolist() == [1.0, 2.0, 4.0]
    np.testing.assert_allclose(df["d"], np.sqrt(c.kl))
    assert "3 points" in c.summary() and f"max gold {0.5:.6g}" in c.summary()
    d = np.linspace(0.1, 3, 30)
    f = rh.fit_gao(rh.GoldCurve("best_of_n", "n", d, d**2, d * (1 - 0.25 * d), d, 0.0, 0.0))
    _one_row(f, {"form": "bon", "alpha": f.alpha, "decay": f.decay, "r2": f.r2, "rmse": f.rmse,
                 "d_peak": f.d_peak})
    assert f.summary().endswith("d_peak = 2")     # alpha d - decay d^2 peaks at 1 / (2 * 0.25)
    pk = rh.GoldCurve("best_of_n", "n", d, d**2, d * (1 - 0.25 * d), d, 0.0, 0.0).peak()
    assert list(pk.to_frame().columns) == ["index", "kl", "d", "gold", "param", "interior"]
    assert f"gold = {pk.gold:.6g}" in pk.summary()
    mdp = mk.random_mdp(n_states=4, n_actions=2, gamma=0.9, rng=0)
    st = rh.proxy_statistics(mdp, mk.uniform_policy(mdp), mdp.r, 2 * mdp.r + 1)
    _one_row(st, {"corr": st.corr, "sigma_gold": st.sigma_gold, "sigma_proxy": st.sigma_proxy})
    assert "corr = 1," in st.summary()            # an affine proxy is perfectly correlated
    R2 = mdp.r + 0.1 * mk.random_mdp(n_states=4, n_actions=2, gamma=0.9, rng=1).r
    sr = rh.starc_regret_bound(mdp, mdp.r, R2)
    _one_row(sr, {"regret": sr.regret, "bound": sr.bound, "distance": sr.distance})
    assert f"distance = {rh.starc_distance(mdp, mdp.r, R2):.6g}" in sr.summary()
    pi = mk.solve(mdp, method="policy_iteration").pi
    b = rh.chi2_occupancy_bound(mdp, pi, mk.uniform_policy(mdp), mdp.r, R2)
    _one_row(b, {"gold_gain": b.gold_gain, "lower_bound": b.lower_bound, "proxy_gain": b.proxy_gain,
                 "chi2": b.chi2})
    assert f"gold_gain = {b.gold_gain:.6g}" in b.summary()


def test_occupancy_plan():
    from mdpkit import reward_hacking as rh
    mdp = mk.random_mdp(n_states=3, n_actions=2, gamma=0.8, rng=0)
    plan = rh.chi2_occupancy_planner(mdp, mk.uniform_policy(mdp), mdp.r, 0.5)
    df = plan.to_frame()
    assert list(df.columns) == ["stage", "state", "action", "pi", "occupancy"]
    assert df.loc[(df["state"] == 2) & (df["action"] == 1), "occupancy"].iloc[0] == plan.occupancy[2, 1]
    assert df["occupancy"].sum() == pytest.approx(1.0)        # a normalized occupancy
    assert f"objective = {plan.objective:.6g}" in plan.summary() and "status = optimal" in plan.summary()


def test_preference_results():
    from mdpkit import preference as pr
    lv = pr.preference_loss([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [0.0, 0.0]], beta=1.0)
    df = lv.to_frame()
    assert list(df.columns) == ["response", "grad"]
    np.testing.assert_allclose(df["grad"], [-0.5, 0.5], atol=1e-12)   # -(beta/2)(e0 - e1)
    assert f"value = {np.log(2):.6g}" in lv.summary()
    W = pr.population_counts(pr.bradley_terry_matrix([0.0, 1.0]), [0.5, 0.5])
    tilt = np.array([0.5, 0.5 * np.e]) / (0.5 + 0.5 * np.e)          # pi_ref e^{r / beta}, normalized
    m = pr.minimize_loss([0.5, 0.5], W, beta=1.0)
    df = m.to_frame()
    assert list(df.columns) == ["response", "pi"]
    np.testing.assert_allclose(df["pi"], tilt, atol=1e-8)
    assert f"n_iter = {m.n_iter}" in m.summary() and "converged = True" in m.summary()
    P = pr.cyclic_preference(3, 0.4)
    nash = pr.regularized_nash(P, [0.2, 0.3, 0.5], beta=0.1)
    df = nash.to_frame()
    assert list(df.columns) == ["response", "pi"] and df["pi"].sum() == pytest.approx(1.0)
    assert df["pi"].iloc[2] == nash.pi[2] and f"residual = {nash.residual:.6g}" in nash.summary()
    tr = pr.nash_mp(P, [0.2, 0.3, 0.5], 0.5, n_iter=4, eta=2.0)
    df = tr.to_frame()
    assert list(df.columns) == ["iteration", "response", "pi", "queries"] and len(df) == 5 * 3
    assert df["pi"].iloc[0] == 0.2 and df["queries"].iloc[-1] == 8        # pi_0 = pi_ref; 2 queries/iteration
    assert tr.summary().startswith("4 iterations over 3 responses") and "8 preference queries" in tr.summary()
    run = pr.offline_dpo(W, [0.5, 0.5], beta=1.0, eta=4.0, n_steps=50)
    df = run.to_frame()
    assert list(df.columns) == ["run", "step", "loss"] and df["step"].tolist() == list(range(1, 51))
    p = np.array(run.pi[0])   # DPO loss of the final policy: -sum_{ij} W_ij log sigma(beta log (p_i/ref_i)/(p_j/ref_j))
    h = np.log(p / 0.5)
    loss = -sum(W[i, j] * np.log(1 / (1 + np.exp(-(h[i] - h[j])))) for i in range(2) for j in range(2) if W[i, j])
    assert df["loss"].iloc[-1] == pytest.approx(loss, rel=1e-9)
    assert f"= {loss:.6g}" in run.summary()
    on = pr.online_dpo([0.5, 0.5], [1.0, 0.0], 1.0, n_rounds=50, n_runs=2, method="argmin", rng=0)
    df = on.to_frame()
    assert list(df.columns) == ["run", "round", "gap"] and len(df) == 2 * on.checkpoints.size
    gap0 = np.log(0.5 + 0.5 * np.e) - 0.5          # J* = beta log E_ref e^{r/beta}, J(pi_ref) = E_ref r
    assert df["gap"].iloc[0] == pytest.approx(gap0, rel=1e-9)
    assert on.summary().startswith("argmin: 2 runs") and f"{on.gap[:, -1].mean():.6g}" in on.summary()


def test_pg_results():
    prob = mk.pg.k_armed([0.1, 0.5, 0.9])
    tr = mk.pg.exact_dynamics(prob, eta=[0.5, 1.0], n_steps=6, natural=True)
    df = tr.to_frame()
    assert list(df.columns) == ["config", "step", "reward", "entropy", "kl"]
    assert len(df) == 2 * tr.steps.size
    first = df[(df["config"] == 1) & (df["step"] == 0)].iloc[0]   # uniform start: mean reward, log 3, KL 0
    assert first["reward"] == pytest.approx(0.5) and first["entropy"] == pytest.approx(np.log(3))
    assert first["kl"] == pytest.approx(0.0, abs=1e-12)
    assert df[(df["config"] == 0)]["reward"].iloc[-1] == tr.reward[0, -1]
    assert tr.summary().startswith("exact dynamics: 2 configs") and f"reward = {tr.reward[:, -1].mean():.6g}" in tr.summary()
    run = mk.pg.sample_dynamics(prob, eta=0.5, n_steps=4, G=4, n_runs=2, rng=0)
    df = run.to_frame()
    assert list(df.columns) == ["run", "step", "reward", "entropy", "kl"]
    assert df["reward"].iloc[0] == pytest.approx(0.5) and df["entropy"].iloc[0] == pytest.approx(np.log(3))
    assert df[df["run"] == 1]["kl"].iloc[-1] == run.kl[1, -1]
    assert run.summary().startswith(f"{run.estimator}: 2 runs x {run.steps.size} checkpoints to step 4")
    m = mk.pg.estimator_moments(mk.pg.k_armed([0.2, 0.7]), estimator="dr_grpo", G=3)
    df = m.to_frame()
    assert list(df.columns) == ["action", "mean", "true_gradient", "bias"]
    np.testing.assert_allclose(df["true_gradient"], [-0.125, 0.125], atol=1e-12)   # pi (q - <pi, q>)
    assert f"variance = {m.variance:.6g}" in m.summary()
    km = mk.pg.kl_estimator_moments([0.5, 0.5], [0.9, 0.1])
    df = km.to_frame()
    assert list(df.columns) == ["estimator", "mean", "bias", "var", "min_value"]
    kl = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
    assert df["mean"].iloc[0] == pytest.approx(kl) and df["bias"].iloc[2] == pytest.approx(0.0, abs=1e-12)
    assert df["estimator"].tolist() == ["k1", "k2", "k3"] and f"KL = {kl:.6g}" in km.summary()


def test_pg_mdp_results():
    mdp = mk.token_tree_mdp(2, 2, [0.0, 0.0, 0.0, 1.0])
    tr = mk.pg.exact_dynamics_mdp(mdp, np.zeros((7, 2)), eta=1.0, n_steps=5, natural=True)
    df = tr.to_frame()
    assert list(df.columns) == ["step", "value", "mean_entropy"] and len(df) == 6
    assert df["mean_entropy"].iloc[0] == pytest.approx(np.log(2))      # zero logits: uniform everywhere
    assert df["value"].iloc[0] == pytest.approx(0.25)                 # one of 4 leaves pays 1
    assert tr.summary().startswith("exact MDP dynamics: 5 steps, value 0.25 ->")
    run = mk.pg.sample_dynamics_mdp(mdp, np.zeros((7, 2)), eta=2.0, n_steps=4, G=4, n_runs=2, rng=0)
    df = run.to_frame()
    assert list(df.columns) == ["run", "step", "value", "mean_entropy"]
    assert df["value"].iloc[0] == pytest.approx(0.25) and df["mean_entropy"].iloc[0] == pytest.approx(np.log(2))
    assert df[df["run"] == 1]["value"].iloc[-1] == run.value[1, -1]
    assert f"value = {run.value[:, -1].mean():.6g}" in run.summary()


def test_drrpo_results():
    from mdpkit.divergences import TotalVariation
    lin = mk.r2pvi_linear_mdp()
    res = mk.learners.robust_policy_mirror_descent(lin, div=TotalVariation(), rho=0.0, beta=0.1, n_iter=3)
    df = res.to_frame()
    assert list(df.columns) == ["iteration", "objective"] and df["iteration"].tolist() == [0, 1, 2, 3]
    # rho = 0 and pi_0 = pi_ref (uniform): J(pi_0) is the nominal value, no KL cost
    tab = lin.to_tabular()
    pi0 = np.full(np.shape(res.pi), 1.0 / np.shape(res.pi)[-1])
    assert df["objective"].iloc[0] == pytest.approx(float(tab.mu0 @ tab.evaluate(pi0)[0]), rel=1e-9)
    assert res.summary().startswith("robust mirror descent: 3 iterations") and f"{res.objective[-1]:.6g}" in res.summary()
    run = mk.learners.DRRPO(rho=0.3, beta=0.1).run(lin, n_episodes=3, rng=0)
    df = run.to_frame()
    assert list(df.columns) == ["episode", "objective", "regret"] and df["episode"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(df["regret"], np.cumsum(run.optimum - run.objective), rtol=1e-9, atol=1e-12)
    assert f"cumulative regret = {run.regret[-1]:.6g}" in run.summary() and "3 episodes" in run.summary()


def test_offline_dataset():
    phi = np.eye(2)[:, None, :].repeat(2, axis=1)
    data = mk.mdp.OfflineDataset(phi, [[0, 1, 1], [1, 0, 1]], [[0, 1], [1, 1]], [[0.0, 1.0], [0.5, 0.25]])
    df = data.to_frame()
    assert list(df.columns) == ["trajectory", "t", "state", "action", "reward", "next_state"] and len(df) == 4
    row = df[(df["trajectory"] == 1) & (df["t"] == 0)].iloc[0]
    assert (row["state"], row["action"], row["reward"], row["next_state"]) == (1, 1, 0.5, 0)
    assert data.summary().startswith("2 trajectories of 2 steps") and "mean return 0.875" in data.summary()


def test_llm_results():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from mdpkit.llm._dpo import DPORun
    from mdpkit.llm._pg import LMEntropyStep
    from mdpkit.llm._sampling import BestOfNPool
    # the frames only read the arrays: small hand-made instances, no model needed
    dH = (np.array([-0.1]), np.array([0.2, -0.3]))
    dHp = (np.array([-0.12]), np.array([0.2, -0.25]))
    d = (np.array([1.0]), np.array([0.4, 0.6]))
    step = LMEntropyStep(eta=0.5, parametrization="softmax", dH=dH, dH_pred=dHp, prefix_prob=d,
                         reward_before=0.25, reward_after=0.3, seconds=0.0, device="cpu")
    df = step.to_frame()
    assert list(df.columns) == ["length", "prefix", "prefix_prob", "dH", "dH_pred"]
    assert df["length"].tolist() == [0, 1, 1] and df["prefix"].tolist() == [0, 0, 1]
    assert (df["prefix_prob"] * (df["dH"] - df["dH_pred"]).abs()).sum() == pytest.approx(0.02 + 0.03)
    assert "reward 0.25 -> 0.3, residual 0.05 over 3 prefixes" in step.summary()
    r = np.array([[0.0, 1.0, 0.5], [0.2, 0.1, 0.0]])
    pool = BestOfNPool(None, None, r)
    df = pool.to_frame()
    assert list(df.columns) == ["sample", "draw", "reward"] and df["reward"].iloc[3] == 0.2
    assert df.groupby("sample")["reward"].max().mean() == pytest.approx(0.6)
    assert "2 x 3 reference draws" in pool.summary() and "best-of-3 mean 0.6" in pool.summary()
    lp = np.log([0.5, 0.25, 0.25])
    run = DPORun(lm=None, logp_ref=lp, logp_star=lp[::-1], logp=lp, rewards=np.array([0.0, 1.0, 2.0]),
                 kl_star_ref=0.1, kl_star=0.05, implied_reward_corr=0.9, loss=np.array([0.7, 0.6]), seconds=0.0)
    df = run.to_frame()
    assert list(df.columns) == ["sequence", "reward", "logp_ref", "logp_star", "logp"]
    assert float(np.exp(df["logp_star"]).sum()) == pytest.approx(1.0) and df["logp_star"].iloc[0] == np.log(0.25)
    assert run.summary().startswith("DPO: 2 steps over 3 sequences") and "KL(pi*||pi_theta) = 0.05" in run.summary()


def test_check_result():
    from mdpkit._comparison import Comparison
    from mdpkit.checks._registry import CheckResult
    rows = [Comparison("regret", 1.5, 1.4, 0.2, "==", "closed form", True),
            Comparison("slope", -0.48, (-0.55, -0.45), 0.0, "in", "theory", True),
            Comparison("bias", 0.3, 0.0, 0.1, "==", "exact", False)]
    res = CheckResult(name="x_demo", paper="p", statement="s", status="FAIL", comparisons=rows, seconds=1.25)
    df = res.to_frame()
    assert list(df.columns) == ["section", "quantity", "param", "measured", "se", "predicted", "tolerance",
                                "relation", "route", "passed"]
    assert df["predicted"].iloc[1] == (-0.55, -0.45) and df["measured"].tolist() == [1.5, -0.48, 0.3]
    assert res.summary() == "x_demo: FAIL (2/3 comparisons passed, 1.25 s)"
    floats = CheckResult(name="x", paper="p", statement="s", status="PASS", comparisons=rows[::2]).to_frame()
    assert floats["predicted"].dtype == np.float64 and floats["predicted"].tolist() == [1.4, 0.0]


def test_joint_and_ensemble_laws_and_pairs():
    from mdpkit import preference as pr
    from mdpkit import reward_hacking as rh
    law = rh.JointLaw([0.25, 0.75], gold=[1.0, 0.0], proxy=[0.0, 2.0])
    df = law.to_frame()
    assert list(df.columns) == ["atom", "prob", "gold", "proxy"] and df["proxy"].tolist() == [0.0, 2.0]
    assert "2 atoms, E gold = 0.25, corr(gold, proxy) = -1" in law.summary()   # anti-affine proxy
    ens = rh.EnsembleLaw([0.5, 0.5], gold=[0.0, 1.0], members=[[0.0, 1.0], [1.0, 0.0], [0.5, 0.7]])
    df = ens.to_frame()
    assert list(df.columns) == ["member", "atom", "prob", "gold", "proxy"] and len(df) == 6
    assert df[(df["member"] == 2) & (df["atom"] == 1)]["proxy"].iloc[0] == 0.7
    assert "3 members over 2 atoms, E gold = 0.5" in ens.summary()
    pairs = pr.PreferencePairs(chosen=[1, 1, 0, 2], rejected=[0, 2, 1, 0], context=[0, 0, 0, 0],
                               n_responses=3, n_contexts=1)
    df = pairs.to_frame()
    assert list(df.columns) == ["pair", "context", "chosen", "rejected"] and df["rejected"].tolist() == [0, 2, 1, 0]
    assert pairs.summary() == ("4 pairs over 3 responses and 1 contexts, most chosen response 1 (0.5 of pairs)")


def test_soft_q():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from mdpkit.llm._space import SoftQ
    r = np.array([0.0, 1.0])                     # one token, uniform reference, beta = 1
    v0 = np.log((1.0 + np.e) / 2.0)
    sq = SoftQ(beta=1.0, q=(r[None, :],), v=(np.array([v0]), r), log_ratio=((r - v0)[None, :],))
    df = sq.to_frame()
    assert list(df.columns) == ["length", "prefix", "token", "q", "v", "log_ratio"] and len(df) == 2
    # pi*(a) / pi_ref(a) = e^{r(a)} / E_ref e^r: the exp of the log-ratio column sums to 2 under pi_ref = 1/2
    assert float(np.exp(df["log_ratio"]).sum()) == pytest.approx(2.0)
    assert f"V*_0 = {v0:.6g}" in sq.summary() and "1 tokens" in sq.summary()
