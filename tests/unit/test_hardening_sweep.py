"""Regression tests for issue 12 items 7-10 and 13 (sweeps that always finish, readable errors)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mdpkit import sweep
from mdpkit.cli import main as cli_main
from mdpkit.sweep._store import ResultStore, manifest_for

ROOT = Path(__file__).resolve().parents[2]

FLAKY = '''
import os
from pathlib import Path

GRID = {"x": [1, 2, 3, 4]}
N_SEEDS = 1
ROOT_SEED = 0


def run_cell(settings, seed):
    if settings["x"] == 3 and (Path(__file__).parent / "FAIL").exists():
        raise RuntimeError("cell three is broken")
    return {"y": float(settings["x"]) ** 2}
'''


def _write(tmp_path: Path, source: str, name: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


# -- item 7: per-cell failures, summary, --retry-failed ---------------------------------
def test_failed_cell_does_not_stop_the_sweep_and_retry_failed(tmp_path, capsys):
    sim = _write(tmp_path, FLAKY, "flaky")
    (tmp_path / "FAIL").write_text("")
    out = tmp_path / "res"
    argv = ["sweep", str(sim), "--serial", "--out", str(out), "--no-progress"]
    assert cli_main(argv) == 1
    err = capsys.readouterr().err
    assert "failed for 1 of 4 cells" in err and "{'x': 3}" in err and "cell three is broken" in err
    assert "--retry-failed" in err
    assert sorted(sweep.read_results(out / "flaky")["x"]) == [1, 2, 4]  # the others completed
    rec = (out / "flaky" / "failures.json").read_text()
    assert "Traceback" in rec and "cell three is broken" in rec  # the traceback is in the store
    (tmp_path / "FAIL").unlink()
    assert cli_main(argv) == 1  # a plain rerun skips the recorded failure and says so again
    capsys.readouterr()
    assert cli_main([*argv, "--retry-failed"]) == 0
    assert "1 computed now, 3 read back" in capsys.readouterr().out
    df = sweep.read_results(out / "flaky")
    assert df["y"].tolist() == [1.0, 4.0, 9.0, 16.0]


# -- item 8: one writer per folder -------------------------------------------------------
def test_concurrent_sweep_into_the_same_folder_is_refused(tmp_path):
    sim = sweep.load_sim(_write(tmp_path, FLAKY, "flaky"))
    out = tmp_path / "res"
    store = ResultStore(out, manifest_for(sim, "x"))
    with store.lock():
        with pytest.raises(sweep.ResultsError, match=rf"in use by process {os.getpid()}"):
            sweep.run(sim, executor="serial", out=out, progress=False)
    assert not out.exists()  # the refused run and the released lock leave nothing behind
    # a lock left by a process that no longer exists is taken over
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / ".lock").write_text(f'{{"pid": {dead.pid}, "host": "{os.uname().nodename}"}}')
    assert len(sweep.run(sim, executor="serial", out=out, progress=False)) == 4


# -- item 9: non-finite outputs are stored faithfully -----------------------------------
def test_non_finite_outputs_are_stored(tmp_path):
    src = '''
GRID = {"x": [1, 2, 3]}
N_SEEDS = 1
ROOT_SEED = 0


def run_cell(settings, seed):
    return {"y": [float("inf"), float("-inf"), float("nan")][settings["x"] - 1]}
'''
    sim = _write(tmp_path, src, "nonfinite")
    out = tmp_path / "res"
    df = sweep.run(sim, executor="serial", out=out, progress=False)
    back = sweep.read_results(out)
    for frame in (df, back):
        y = frame["y"].tolist()
        assert y[0] == math.inf and y[1] == -math.inf and math.isnan(y[2])


# -- item 10: a killed worker, a killed parent, Ctrl-C ----------------------------------
KILLER = '''
import os
import signal

GRID = {"x": [1, 2]}
N_SEEDS = 1
ROOT_SEED = 0


def run_cell(settings, seed):
    if settings["x"] == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return {"y": 1.0}
'''

SLOW = '''
import time

GRID = {"x": list(range(400))}
N_SEEDS = 1
ROOT_SEED = 0


def run_cell(settings, seed):
    time.sleep(0.05)
    return {"y": float(settings["x"])}
'''


def test_killed_worker_names_the_signal(tmp_path):
    sim = _write(tmp_path, KILLER, "killer")
    # the forkserver usually reports the signal; when its report races the child's death the
    # message says the status is unknown (multiprocessing's returncode 255), never "interactively"
    with pytest.raises(sweep.CellError, match="killed by SIGKILL|exit status was not reported") as e:
        sweep.run(sim, n_workers=1, out=tmp_path / "res", progress=False)
    assert "interactively" not in str(e.value)


def _start_sweep(tmp_path: Path) -> subprocess.Popen:
    sim = _write(tmp_path, SLOW, "slow")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "mdpkit", "sweep", str(sim), "--workers", "2", "--out",
         str(tmp_path / "res"), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )


def _wait_for_rows(tmp_path: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not list((tmp_path / "res" / "slow").glob("part-*.parquet")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout
        time.sleep(0.2)


def test_sigint_stops_cleanly_with_one_line(tmp_path):
    proc = _start_sweep(tmp_path)
    _wait_for_rows(tmp_path, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and "leaked semaphore" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "interrupted:" in lines[0] and "of 400 cells stored" in lines[0]
    assert "run the same command again to resume" in lines[0]


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    psutil = pytest.importorskip("psutil")
    proc = _start_sweep(tmp_path)
    _wait_for_rows(tmp_path, proc)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children
    proc.kill()
    proc.wait()  # not communicate(): the orphans would hold its pipes open
    gone, alive = psutil.wait_procs(children, timeout=10)
    for p in alive:
        p.kill()
    proc.stdout.close()
    proc.stderr.close()
    assert not alive, [p.pid for p in alive]


# -- item 13: readable command-line errors ------------------------------------------------
FIG_OK = '''
from pathlib import Path


def main(out_dir, quick=False):
    p = Path(out_dir) / "fig92_ok.png"
    p.write_bytes(b"png")
    return [p]
'''


def test_figures_continue_past_a_script_that_exits(tmp_path, capsys):
    figs = tmp_path / "paper_figures"
    figs.mkdir()
    (figs / "fig91_exits.py").write_text("import sys\n\ndef main(out_dir, quick=False):\n    sys.exit(3)\n")
    (figs / "fig92_ok.py").write_text(FIG_OK)
    out = tmp_path / "out"
    assert cli_main(["figures", "--dir", str(figs), "--out", str(out)]) == 1
    cap = capsys.readouterr()
    assert "FAIL  fig91_exits" in cap.out and "1/2 figure scripts succeeded" in cap.out
    assert "1 script(s) failed: fig91_exits" in cap.err
    import json

    assert json.loads((out / "index.json").read_text()) == {"fig92_ok": ["fig92_ok.png"]}


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
@pytest.mark.parametrize("command", [["figures", "--dir", "PAPER"], ["check", "--all", "--skip-slow"]])
def test_unwritable_out_is_one_line(tmp_path, capsys, command):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    (tmp_path / "paper_figures").mkdir()
    (tmp_path / "paper_figures" / "fig92_ok.py").write_text(FIG_OK)
    argv = [a.replace("PAPER", str(tmp_path / "paper_figures")) for a in command]
    assert cli_main([*argv, "--out", str(ro / "sub")]) == 2
    err = capsys.readouterr().err
    assert "cannot write to --out" in err and "Traceback" not in err


def test_unwritable_out_is_one_line_as_root_too(tmp_path, capsys):
    # a path below a regular file can never be created, whoever runs the test
    blocker = tmp_path / "file"
    blocker.write_text("")
    figs = tmp_path / "paper_figures"
    figs.mkdir()
    (figs / "fig92_ok.py").write_text(FIG_OK)
    assert cli_main(["figures", "--dir", str(figs), "--out", str(blocker / "sub")]) == 2
    assert "mdpkit figures: error: cannot write to --out" in capsys.readouterr().err
    assert cli_main(["check", "--all", "--out", str(blocker / "sub")]) == 2
    assert "mdpkit check: error: cannot write to --out" in capsys.readouterr().err
    sim = _write(tmp_path, FLAKY, "flaky")
    assert cli_main(["sweep", str(sim), "--serial", "--out", str(blocker / "sub"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "mdpkit sweep: error: cannot write the results" in err and "Traceback" not in err


def test_missing_model_path_is_not_called_a_hub_id(tmp_path):
    pytest.importorskip("torch")
    from mdpkit.llm import load_causal_lm

    with pytest.raises(FileNotFoundError) as e:
        load_causal_lm("/nonexistent", device="cpu")
    assert "hub id" not in str(e.value)
    with pytest.raises(FileNotFoundError, match="looks like a hub id"):
        load_causal_lm("gpt2-org/tiny-model", device="cpu")
