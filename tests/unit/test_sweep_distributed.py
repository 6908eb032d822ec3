"""mdpkit.sweep on a real Dask distributed cluster (loopback only) and kill-and-resume."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mdpkit import sweep
from tests.sweep_toy import TOY, write_sim  # noqa: F401

distributed = pytest.importorskip("distributed")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster():
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=logging.ERROR) as c:
        yield c


def test_dask_local_cluster_gives_the_local_pool_numbers(tmp_path):
    toy = write_sim(tmp_path)
    pool = sweep.run(toy, n_workers=2, progress=False)
    dask = sweep.run(toy, executor="dask", n_workers=2, out=tmp_path / "dask", progress=False)
    pd.testing.assert_frame_equal(pool, dask)
    pd.testing.assert_frame_equal(sweep.read_results(tmp_path / "dask")[pool.columns], pool)


def test_existing_scheduler_and_client(tmp_path, cluster):
    toy = write_sim(tmp_path)
    ref = sweep.run(toy, executor="serial", progress=False)
    by_address = sweep.run(toy, scheduler=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(ref, by_address)
    with distributed.Client(cluster, set_as_default=False) as client:
        by_client = sweep.run(toy, executor=client, progress=False)
        assert client.status == "running"  # a Client passed in is not closed
    pd.testing.assert_frame_equal(ref, by_client)


def test_unreachable_scheduler_fails_fast_and_writes_nothing(tmp_path):
    toy = write_sim(tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "res"
    t0 = time.perf_counter()
    with pytest.raises(ConnectionError, match=rf"could not reach the Dask scheduler .*127.0.0.1:{port}"):
        sweep.run(toy, scheduler=f"tcp://127.0.0.1:{port}", out=out, progress=False)
    assert time.perf_counter() - t0 < sweep.CONNECT_TIMEOUT + 5
    assert not out.exists()


SLOW = TOY.replace("GRID = {", "GRID = {'pause': [0.03], ").replace(
    "def run_cell(settings, seed):", "def run_cell(settings, seed):\n    import time; time.sleep(settings['pause'])"
).replace('"n": [200, 800]', '"n": list(range(100, 1100, 100))')


def test_killed_run_resumes_to_the_uninterrupted_table(tmp_path):
    """SIGKILL a CLI sweep (process group, workers included) mid-way, then resume."""
    sim = write_sim(tmp_path, SLOW, "slow")  # 10 x 3 settings x 2 seeds = 60 cells of 30 ms
    out_root = tmp_path / "results"
    out = out_root / "slow"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mdpkit", "sweep", str(sim), "--workers", "2", "--out",
         str(out_root), "--no-progress"],
        env=env, cwd=tmp_path, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("part-*.parquet")):  # wait for the first stored rows
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "no part file appeared"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    stored = sweep.read_results(out)
    assert 0 < len(stored) < 60, len(stored)
    resumed = sweep.run(sim, executor="serial", out=out, progress=False)
    fresh = sweep.run(sim, executor="serial", progress=False)
    pd.testing.assert_frame_equal(resumed, fresh)
    assert len(list(out.glob("part-*.parquet"))) == 1  # compacted after completion


def test_sigterm_keeps_every_finished_cell(tmp_path):
    """SIGTERM (e.g. a batch scheduler's time limit) flushes finished rows, then exits."""
    sim = write_sim(tmp_path, SLOW, "slow")
    out = tmp_path / "results" / "slow"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mdpkit", "sweep", str(sim), "--serial", "--out",
         str(tmp_path / "results"), "--no-progress"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not (out / "manifest.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)  # some cells finish, but fewer than a flush interval's worth
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    stored = sweep.read_results(out)
    assert 0 < len(stored) < 60
    pd.testing.assert_frame_equal(sweep.run(sim, executor="serial", out=out, progress=False),
                                  sweep.run(sim, executor="serial", progress=False))
