"""mdpkit.sweep: grids, seeds, executors agree, results folders, bad input."""

import os
import types

import numpy as np
import pandas as pd
import pytest

import mdpkit
from mdpkit import sweep
from mdpkit.cli import main as cli_main
from tests.sweep_toy import TOY, write_sim


@pytest.fixture
def toy(tmp_path):
    return write_sim(tmp_path)


def test_grid_expansion_and_hash_are_stable():
    cells = sweep.expand_grid({"a": [1, 2], "b": ["x", "y"]})
    assert cells == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    assert sweep.expand_grid([{"a": 1}, {"a": 2, "c": [1, 2]}])[1] == {"a": 2, "c": [1, 2]}
    # the hash is a pure function of the canonical JSON: key order and numpy scalars don't matter
    assert sweep.settings_hash({"a": 1, "b": 0.5}) == sweep.settings_hash({"b": np.float64(0.5), "a": 1})
    assert sweep.settings_hash({"a": 1}) != sweep.settings_hash({"a": 2})


def test_cell_seed_is_spawned_from_the_root_and_keyed_by_the_cell():
    s = {"n": 5}
    h = int(sweep.settings_hash(s), 16)
    child = np.random.SeedSequence(3).spawn(1)[0]  # spawn_key (0,) of root 3
    assert child.spawn_key == (0,)
    expect = np.random.SeedSequence(3, spawn_key=(h >> 32, h & 0xFFFFFFFF, 1))
    assert sweep.cell_seed(3, s, 1) == int(expect.generate_state(1, np.uint64)[0] >> np.uint64(1))
    seeds = {sweep.cell_seed(0, {"n": k}, r) for k in range(20) for r in range(5)}
    assert len(seeds) == 100
    assert sweep.cell_seed(0, s, 0) != sweep.cell_seed(1, s, 0)


def test_serial_run_table(toy):
    df = sweep.run(toy, executor="serial", progress=False)
    assert list(df.columns) == ["n", "p", "seed_index", "seed", "mean", "hits", "ok",
                                "settings_hash", "mdpkit_version", "row_hash"]
    assert len(df) == 12 and df["mdpkit_version"].eq(mdpkit.__version__).all()
    assert df[["n", "p", "seed_index"]].iloc[:3].values.tolist() == [[200, 0.25, 0], [200, 0.25, 1], [200, 0.5, 0]]
    # each row is reproducible from its own seed alone
    row = df.iloc[5]
    x = np.random.default_rng(int(row["seed"])).random(int(row["n"])) < row["p"]
    assert row["mean"] == x.mean() and row["hits"] == x.sum()
    assert row["seed"] == sweep.cell_seed(7, {"n": int(row["n"]), "p": float(row["p"])}, int(row["seed_index"]))
    assert df.attrs["sweep"]["sim"] == "toy" and df.attrs["sweep"]["root_seed"] == 7


def test_results_do_not_depend_on_grid_order_or_executor(tmp_path, toy):
    ref = sweep.run(toy, executor="serial", progress=False)
    reordered = write_sim(tmp_path, TOY.replace('"n": [200, 800], "p": [0.25, 0.5, 0.75]',
                                                '"p": [0.75, 0.5, 0.25], "n": [800, 200]'), "toy2")
    m = sweep.load_sim(reordered)
    other = sweep.run(m, executor="serial", progress=False)
    key = ["n", "p", "seed_index"]
    a = ref.sort_values(key).reset_index(drop=True)
    b = other.sort_values(key).reset_index(drop=True)[a.columns]
    pd.testing.assert_frame_equal(a, b)
    pool = sweep.run(toy, n_workers=2, out=tmp_path / "pool", progress=False)
    pd.testing.assert_frame_equal(ref, pool, check_like=False)


def test_quick_grid_and_root_seed(toy):
    q = sweep.run(toy, executor="serial", quick=True, progress=False)
    assert len(q) == 2 and q["n"].eq(50).all()
    r = sweep.run(toy, executor="serial", quick=True, root_seed=8, progress=False)
    assert not np.array_equal(q["seed"], r["seed"])


def test_resume_recomputes_nothing_stored(tmp_path, toy):
    out = tmp_path / "res"
    first = sweep.run(toy, executor="serial", out=out, progress=False)
    files = sorted(os.listdir(out))
    assert "manifest.json" in files and any(f.endswith(".parquet") for f in files)
    calls = []
    m = sweep.load_sim(toy)
    counting = sweep.Sim(m.name, m.cells, m.n_seeds, m.root_seed, m.quick, "", m.path,
                         lambda s, seed: calls.append(1) or m.run_cell(s, seed))
    again = sweep.run(counting, executor="serial", out=out, progress=False)
    assert calls == []
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(sweep.read_results(out)[first.columns], first)


def test_partial_results_are_completed(tmp_path, toy):
    out = tmp_path / "res"
    full = sweep.run(toy, executor="serial", progress=False)
    m = sweep.load_sim(toy)
    n_calls = []

    def flaky(settings, seed):
        n_calls.append(1)
        if settings["n"] == 800:
            raise RuntimeError("boom")
        return m.run_cell(settings, seed)

    broken = sweep.Sim(m.name, m.cells, m.n_seeds, m.root_seed, m.quick, "", m.path, flaky)
    with pytest.raises(sweep.CellError, match=r"(?s)failed for 6 of 12 cells.*'n': 800.*RuntimeError: boom"):
        sweep.run(broken, executor="serial", out=out, progress=False)
    assert len(sweep.read_results(out)) == 6  # every other cell ran and is stored
    n_calls.clear()
    counting = sweep.Sim(m.name, m.cells, m.n_seeds, m.root_seed, m.quick, "", m.path,
                         lambda s, seed: n_calls.append(1) or m.run_cell(s, seed))
    with pytest.raises(sweep.CellError, match="retry_failed=True"):  # failures are skipped, reported
        sweep.run(counting, executor="serial", out=out, progress=False)
    assert len(n_calls) == 0
    done = sweep.run(counting, executor="serial", out=out, progress=False, retry_failed=True)
    assert len(n_calls) == 6 and not (out / "failures.json").exists()
    pd.testing.assert_frame_equal(done, full)


def test_progress_bar_reports_cells_rate_and_eta(tmp_path, toy, capsys):
    sweep.run(toy, executor="serial", progress=True)
    err = capsys.readouterr().err
    assert "toy: 12/12 cells (100%)" in err and "cells/s" in err and "ETA" in err


# -- results folders: foreign, other sweep, corrupted -----------------------------
def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_folder_of_a_different_sweep_is_refused_and_untouched(tmp_path, toy):
    out = tmp_path / "res"
    sweep.run(toy, executor="serial", out=out, progress=False)
    before = _snapshot(out)
    with pytest.raises(sweep.ResultsError, match="different sweep"):
        sweep.run(toy, executor="serial", out=out, quick=True, progress=False)
    with pytest.raises(sweep.ResultsError, match="different sweep"):
        sweep.run(toy, executor="serial", out=out, root_seed=1, progress=False)
    assert _snapshot(out) == before


def test_foreign_folder_is_refused(tmp_path, toy):
    out = tmp_path / "res"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(sweep.ResultsError, match="not empty and holds no mdpkit sweep manifest"):
        sweep.run(toy, executor="serial", out=out, progress=False)
    assert _snapshot(out) == {"notes.txt": b"mine"}
    (tmp_path / "file").write_text("x")
    with pytest.raises(sweep.ResultsError, match="must be a folder"):
        sweep.run(toy, executor="serial", out=tmp_path / "file", progress=False)


def test_foreign_manifest_and_parquet_are_refused(tmp_path, toy):
    out = tmp_path / "res"
    out.mkdir()
    (out / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(sweep.ResultsError, match="not an mdpkit sweep manifest"):
        sweep.run(toy, executor="serial", out=out, progress=False)
    out2 = tmp_path / "res2"
    sweep.run(toy, executor="serial", out=out2, progress=False)
    pd.DataFrame({"x": [1.0]}).to_parquet(out2 / "part-999999-0000.parquet")
    with pytest.raises(sweep.ResultsError, match="lacks the columns"):
        sweep.run(toy, executor="serial", out=out2, progress=False)


def test_corrupted_files_give_a_clear_error_and_are_not_overwritten(tmp_path, toy):
    out = tmp_path / "res"
    sweep.run(toy, executor="serial", out=out, progress=False)
    part = next(out.glob("part-*.parquet"))
    good = part.read_bytes()
    part.write_bytes(good[: len(good) // 2])
    before = _snapshot(out)
    with pytest.raises(sweep.ResultsError, match="is corrupted and cannot be read"):
        sweep.run(toy, executor="serial", out=out, progress=False)
    with pytest.raises(sweep.ResultsError, match="is corrupted"):
        sweep.read_results(out)
    assert _snapshot(out) == before

    part.write_bytes(good)
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(sweep.ResultsError, match="manifest .* is corrupted"):
        sweep.run(toy, executor="serial", out=out, progress=False)


def test_tampered_rows_fail_the_content_check(tmp_path, toy):
    out = tmp_path / "res"
    sweep.run(toy, executor="serial", out=out, progress=False)
    part = next(out.glob("part-*.parquet"))
    df = pd.read_parquet(part)
    df.loc[3, "mean"] += 0.01
    df.to_parquet(part, index=False)
    with pytest.raises(sweep.ResultsError, match="fails its content check"):
        sweep.run(toy, executor="serial", out=out, progress=False)


def test_stray_temp_files_of_a_killed_run_are_ignored(tmp_path, toy):
    out = tmp_path / "res"
    ref = sweep.run(toy, executor="serial", out=out, progress=False)
    (out / ".tmp-part-000009-dead.parquet").write_bytes(b"half a file")
    pd.testing.assert_frame_equal(sweep.run(toy, executor="serial", out=out, progress=False), ref)
    assert not list(out.glob(".tmp-*"))


# -- bad input ---------------------------------------------------------------------
def test_unknown_sim_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sims").mkdir()
    write_sim(tmp_path / "sims", name="known")
    with pytest.raises(ValueError, match=r"unknown sim 'nope'.*Known sims: \['known'\]"):
        sweep.run("nope", executor="serial")
    assert len(sweep.run("known", executor="serial", quick=True, progress=False)) == 2
    with pytest.raises(ValueError, match="does not exist"):
        sweep.run(tmp_path / "missing.py")
    with pytest.raises(TypeError, match="`sim` must be a path"):
        sweep.run(3.5)


def _module(grid, fn=None, **attrs):
    m = types.ModuleType("bad")
    m.GRID = grid
    m.run_cell = fn or (lambda s, seed: {"y": 1.0})
    for k, v in attrs.items():
        setattr(m, k, v)
    return m


@pytest.mark.parametrize(
    ("grid", "match"),
    [
        ({"x": [np.zeros(2)]}, r"plain data.*ndarray"),
        ({"x": [object()]}, r"plain data.*object"),
        ({"x": [{1, 2}]}, r"plain data.*set"),
        ([{"x": 1}, 5], r"list of dicts; GRID\[1\] is a int"),
        ({"x": [{3: "a"}]}, "string keys"),
        ("abc", "dict of lists or a list of dicts"),
    ],
)
def test_settings_must_be_plain_data(grid, match):
    with pytest.raises(TypeError, match=match):
        sweep.load_sim(_module(grid))


@pytest.mark.parametrize(
    ("grid", "match"),
    [
        ({"x": []}, r"GRID\['x'\]` must not be empty"),
        ([], "at least one settings point"),
        ({"seed": [1]}, "reserved column names"),
        ([{"x": 1}, {"x": 1}], "more than once"),
        ({"x": [float("nan")]}, "finite"),
    ],
)
def test_bad_grids(grid, match):
    with pytest.raises(ValueError, match=match):
        sweep.load_sim(_module(grid))


def test_bad_sim_modules():
    with pytest.raises(ValueError, match="defines no `QUICK_GRID`"):
        sweep.load_sim(_module({"x": [1]}), quick=True)
    m = _module({"x": [1]})
    del m.run_cell
    with pytest.raises(TypeError, match="must define a function `run_cell"):
        sweep.load_sim(m)
    with pytest.raises(ValueError, match="`N_SEEDS` must be >= 1"):
        sweep.load_sim(_module({"x": [1]}, N_SEEDS=0))
    with pytest.raises(ValueError, match="`root_seed` must be >= 0"):
        sweep.load_sim(_module({"x": [1]}), root_seed=-1)


@pytest.mark.parametrize(
    ("ret", "match"),
    [
        ([1.0], "must return a dict of numbers"),
        ({"y": "text"}, "must return numbers; .* output 'y' is a str"),
        ({"y": np.ones(3)}, "output 'y' is a ndarray"),
        ({"x": 1.0}, "settings or reserved column name"),
        ({"seed": 1.0}, "settings or reserved column name"),
    ],
)
def test_bad_outputs(ret, match):
    m = _module({"x": [1]}, fn=lambda s, seed: ret)
    with pytest.raises(sweep.CellError, match=match):
        sweep.run(m, executor="serial", progress=False)


def test_bad_executor_arguments(toy):
    with pytest.raises(ValueError, match="`executor` must be one of"):
        sweep.run(toy, executor="threads")
    with pytest.raises(ValueError, match="`n_workers` must be >= 1"):
        sweep.run(toy, n_workers=0)
    with pytest.raises(ValueError, match="`scheduler` needs executor='dask'"):
        sweep.run(toy, executor="serial", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(TypeError, match="`scheduler` must be an address"):
        sweep.run(toy, scheduler=8786)
    with pytest.raises(ValueError, match="`flush_seconds` must be > 0"):
        sweep.run(toy, flush_seconds=0)


# -- command line ------------------------------------------------------------------
def test_cli_sweep(tmp_path, toy, capsys):
    out = tmp_path / "results"
    assert cli_main(["sweep", str(toy), "--quick", "--serial", "--out", str(out), "--no-progress"]) == 0
    assert "toy: 2 rows (1 settings x 2 seeds)" in capsys.readouterr().out
    assert cli_main(["sweep", str(toy), "--quick", "--serial", "--out", str(out), "--no-progress"]) == 0
    assert "0 computed now, 2 read back" in capsys.readouterr().out
    assert len(sweep.read_results(out / "toy_quick")) == 2
    assert cli_main(["sweep", str(tmp_path / "nope.py"), "--serial"]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["sweep", str(toy), "--cluster", "remote:2"])
    assert "local:N" in capsys.readouterr().err


FIG_OK = '''
from pathlib import Path

def main(out_dir, quick=False):
    p = Path(out_dir) / "fig90_ok.png"
    p.write_bytes(b"png" if quick else b"PNG")
    return [p]
'''


def test_cli_figures(tmp_path, capsys):
    figs = tmp_path / "paper_figures"
    figs.mkdir()
    (figs / "fig90_ok.py").write_text(FIG_OK)
    out = tmp_path / "out"
    assert cli_main(["figures", "--quick", "--dir", str(figs), "--out", str(out)]) == 0
    assert (out / "fig90_ok.png").read_bytes() == b"png"
    (figs / "fig91_bad.py").write_text("def main(out_dir, quick=False):\n    raise RuntimeError('x')\n")
    assert cli_main(["figures", "--dir", str(figs), "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "FAIL  fig91_bad" in text and "1/2 figure scripts succeeded" in text
    assert cli_main(["figures", "--dir", str(figs), "--out", str(out), "--only", "fig90"]) == 0
    import json
    assert json.loads((out / "index.json").read_text()) == {"fig90_ok": ["fig90_ok.png"]}
    assert cli_main(["figures", "--dir", str(tmp_path / "none")]) == 2


def test_importing_the_sweep_package_stays_light():
    import subprocess
    import sys

    code = ("import sys, mdpkit, mdpkit.sweep, mdpkit.commands.sweep, mdpkit.commands.figures; "
            "print(sorted(m for m in ('pandas', 'pyarrow', 'dask', 'distributed', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_list_and_dict_settings_are_stored_as_canonical_json(tmp_path):
    m = _module([{"means": [0.5, 0.25], "opt": {"b": 1, "a": None}}, {"means": [0.5], "opt": {}}],
                fn=lambda s, seed: {"k": float(len(s["means"]))})
    m.__name__ = "lists"
    df = sweep.run(m, executor="serial", out=tmp_path / "r", progress=False)
    assert df["means"].tolist() == ["[0.5,0.25]", "[0.5]"]
    assert df["opt"].tolist() == ['{"a":null,"b":1}', "{}"]
    assert df["k"].tolist() == [2.0, 1.0]
    pd.testing.assert_frame_equal(sweep.run(m, executor="serial", out=tmp_path / "r", progress=False), df)


def test_batches_adapt_to_the_cell_time_and_shrink_at_the_end():
    from mdpkit.sweep._run import _Batcher

    b = _Batcher([(i, {}, 0) for i in range(1000)], n_slots=2, target=0.1)
    assert len(b.next()) == 1  # nothing measured yet
    b.record(1, 0.001)  # 1 ms cells -> about 100 per batch
    assert len(b.next()) == 100
    b.record(100, 10.0)  # now ~0.1 s per cell -> one per batch
    assert len(b.next()) == 1
    b.size = 256
    sizes = []
    while (batch := b.next()) is not None:
        sizes.append(len(batch))
    assert sum(sizes) == 1000 - 102 and sizes[-1] == 1  # the tail is split across workers
    assert max(sizes) <= -(-(1000 - 102) // 4)


def test_outputs_must_keep_one_type_and_fit_the_table():
    m = _module({"x": [1, 2]}, fn=lambda s, seed: {"y": s["x"] == 1 if s["x"] == 1 else 3.0})
    with pytest.raises(TypeError, match="output 'y' as a bool in one cell and as a number"):
        sweep.run(m, executor="serial", progress=False)
    m = _module({"x": [1]}, fn=lambda s, seed: {"y": 2**70})
    with pytest.raises(sweep.CellError, match="outside the 64-bit integer range"):
        sweep.run(m, executor="serial", progress=False)
    m = _module({"x": [1, 2]}, fn=lambda s, seed: {"y": 1 if s["x"] == 1 else 2.5})
    assert sweep.run(m, executor="serial", progress=False)["y"].tolist() == [1.0, 2.5]


def test_interactive_sim_on_a_process_pool_is_a_clear_error():
    m = _module({"x": [1, 2]}, fn=lambda s, seed: {"y": 1.0})  # a lambda cannot be pickled
    with pytest.raises(sweep.CellError, match="defined interactively"):
        sweep.run(m, n_workers=1, progress=False)


PROBE = '''
GRID = {"a": [1, 2]}


def run_cell(settings, seed):
    import numba
    import threadpoolctl

    info = threadpoolctl.threadpool_info()
    return {"numba_threads": numba.get_num_threads(),
            "max_pool_threads": max([i["num_threads"] for i in info] or [1])}
'''


def test_pool_workers_are_pinned_to_one_thread(tmp_path):
    pytest.importorskip("threadpoolctl")
    df = sweep.run(write_sim(tmp_path, PROBE, "probe"), n_workers=1, progress=False)
    assert df["numba_threads"].eq(1).all() and df["max_pool_threads"].eq(1).all()


def test_local_pool_from_a_stdin_script_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    toy = write_sim(tmp_path)
    code = ("import mdpkit.sweep as sw\n"
            "try:\n"
            f"    sw.run({str(toy)!r}, n_workers=1, progress=False)\n"
            "except RuntimeError as e:\n"
            "    print(e)\n")
    import os
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=120)
    assert "re-import the main script, but it is not a file" in out.stdout, out.stderr
