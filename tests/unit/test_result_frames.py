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
