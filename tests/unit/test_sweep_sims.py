"""The shipped sims (sims/*.py) and the sweep-based paper figures (fig6N)."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mdpkit import sweep

ROOT = Path(__file__).resolve().parents[2]
SIMS = sorted(p for p in (ROOT / "sims").glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def quick_tables():
    return {p.stem: sweep.run(p, quick=True, executor="serial", progress=False) for p in SIMS}


@pytest.mark.parametrize("path", SIMS, ids=[p.stem for p in SIMS])
def test_sim_is_valid_and_its_quick_sweep_runs(path, quick_tables):
    full = sweep.load_sim(path)
    quick = sweep.load_sim(path, quick=True)
    assert full.n_tasks > quick.n_tasks >= 2
    assert (full.__class__ is sweep.Sim) and full.name == path.stem
    df = quick_tables[path.stem]
    assert len(df) == quick.n_tasks
    outputs = df.drop(columns=["settings_hash", "mdpkit_version", "row_hash"]).select_dtypes("number")
    assert np.isfinite(outputs.to_numpy(dtype=float)).all()


def test_bon_sim_respects_the_theorems(quick_tables):
    df = quick_tables.get("bon_kl_reward")
    if df is None:
        pytest.skip("sim not present")
    assert (df["kl"] <= df["kl_bound"] + 1e-12).all()  # Beirami et al. (2024)
    assert (df["kl"] <= df["kl_saturation"] + 1e-12).all()
    assert (df["win_rate"] <= df["win_rate_bound"] + 1e-12).all()
    assert (abs(df["mc_reward"] - df["reward"]) <= 5 * df["mc_reward_se"] + 1e-12).all()
    assert (abs(df["mc_win_rate"] - df["win_rate"]) <= 5 * df["mc_win_rate_se"] + 1e-12).all()


def test_kl_mdp_sim_respects_the_theorems(quick_tables):
    df = quick_tables.get("kl_mdp_value")
    if df is None:
        pytest.skip("sim not present")
    assert df["converged"].all()
    assert (df["value_ref"] - 1e-8 <= df["value"]).all() and (df["value"] <= df["value_opt"] + 1e-8).all()
    assert (df["gap"] <= df["bound"] + 1e-8).all()  # KL to a uniform reference <= log A


def test_numba_sim_on_the_local_pool_matches_serial(quick_tables, tmp_path):
    """Workers pin Numba to one thread without breaking its compilation (regression)."""
    path = ROOT / "sims" / "kl_mdp_value.py"
    if not path.exists():
        pytest.skip("sim not present")
    pool = sweep.run(path, quick=True, n_workers=2, out=tmp_path / "r", progress=False)
    pd.testing.assert_frame_equal(pool, quick_tables["kl_mdp_value"])


FIGS = sorted((ROOT / "paper_figures").glob("fig6*.py"))


@pytest.mark.parametrize("path", FIGS, ids=[p.stem for p in FIGS])
def test_sweep_figures_quick(path, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.syspath_prepend(str(path.parent))
    common = importlib.import_module("_common")
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    spec = importlib.util.spec_from_file_location(f"_fig_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    paths = mod.main(tmp_path / "figs", quick=True)
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    assert all(p.is_file() and p.stat().st_size > 1000 for p in paths)
    assert list((tmp_path / "results").iterdir())  # it read/wrote sweep output
    sys.modules.pop("_common", None)


def test_bandit_sim_respects_the_ucb1_bound(quick_tables):
    df = quick_tables.get("bandit_regret")
    if df is None:
        pytest.skip("sim not present")
    ucb = df[df["algorithm"] == "UCB1"]
    assert len(ucb) and (ucb["regret"] - 3 * ucb["regret_se"] <= ucb["ucb1_bound"]).all()  # Auer et al. (2002)
    assert (df["regret"] >= 0).all()


def test_robust_sim_respects_the_theorems(quick_tables):
    df = quick_tables.get("robust_value")
    if df is None:
        pytest.skip("sim not present")
    assert df["converged"].all()
    assert (df["robust_value"] <= df["nominal_value"] + 1e-8).all()  # robust <= nominal
    q0 = df[df["perturbation"] == 0.0]
    assert len(q0)
    # on the unperturbed model the nominal-optimal policy attains V* and is best
    np.testing.assert_allclose(q0["test_value_nominal_policy"], q0["nominal_value"], atol=1e-6)
    assert (q0["test_value_robust_policy"] <= q0["test_value_nominal_policy"] + 1e-8).all()
