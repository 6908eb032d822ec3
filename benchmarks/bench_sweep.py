"""Sweep runner overhead and strong scaling (local process pool vs Dask distributed).

Overhead per cell: a sim whose cell busy-waits 1 ms is swept with one worker. Each cell
records when it started and ended (``time.perf_counter`` is the system-wide monotonic
clock on Linux, comparable across processes). In steady state, (last end - first end)
/ (cells - 1) is the cell plus the runner's overhead per cell (scheduling, pickling,
the result row, Parquet streaming, amortized over the runner's adaptive batches); minus
the median cell duration it is the overhead per cell, free of start-up costs, which are
reported separately. On a loaded machine wall time also counts the time the worker
waits for a core, so the CPU cost is measured too: the worker's CPU time between the
first and the last cell end minus the CPU time spent inside the cells, plus the marginal
CPU time of this process per cell (the parent: scheduling, rows, Parquet; for a
LocalCluster also the Dask scheduler, which runs here), from two sweep sizes so that
fixed start-up and finishing costs cancel. Baseline: the same cell in a plain Python loop in this process.
Targets (issue): < 2 ms per cell local, < 10 ms per cell Dask.

Strong scaling: a CPU-bound sim (about 50 ms of pure-Python work per cell) with 1 and 2
workers; speedup = T(1) / T(2) over the compute span (first cell start to last cell
end; ideal 2 on an otherwise idle 2-core machine), and over the wall time with start-up.
On a shared machine the CPU-bound speedup is capped by the free cores, so the runner's
own concurrency is also measured with sleeping cells (busy time / span, ideal 2).

Run: ``PYTHONPATH=. python benchmarks/bench_sweep.py [--quick]`` or ``mdpkit bench sweep``
(about 30 s; ``--quick`` about 15 s). Writes
``benchmarks/results/sweep.json``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import mdpkit
from mdpkit import sweep

BUSY = '''
import time

GRID = {"i": list(range(%d))}


def run_cell(settings, seed):
    c0, t0 = time.process_time(), time.perf_counter()
    while time.perf_counter() < t0 + 0.001:
        pass
    return {"t_start": t0, "t_end": time.perf_counter(), "cpu_start": c0,
            "cpu_end": time.process_time()}
'''

CPU = '''
import time

GRID = {"i": list(range(%d))}


def run_cell(settings, seed):
    t0 = time.perf_counter()
    acc = 0
    for k in range(%d):
        acc = (acc * 31 + k + seed) %% 1000003
    return {"acc": acc, "t_start": t0, "t_end": time.perf_counter()}
'''


SLEEP = '''
import time

GRID = {"i": list(range(%d))}


def run_cell(settings, seed):
    t0 = time.perf_counter()
    time.sleep(0.05)
    return {"t_start": t0, "t_end": time.perf_counter()}
'''


def _write(folder: Path, name: str, text: str) -> Path:
    p = folder / f"{name}.py"
    p.write_text(text)
    return p


def _timed(sim, folder: Path, **kw):
    out = folder / f"out-{time.perf_counter_ns()}"
    t0 = time.perf_counter()
    df = sweep.run(sim, out=out, progress=False, **kw)
    return time.perf_counter() - t0, df


def overhead(folder: Path, n_cells: int = 400) -> dict:
    import numpy as np

    sim = _write(folder, "busy", BUSY % n_cells)
    mod = sweep.load_sim(sim)
    loop = [mod.run_cell({"i": k}, 0) for k in range(200)]
    base = float(np.median([r["t_end"] - r["t_start"] for r in loop]))
    res = {"cell_seconds_plain_loop": base, "n_cells": n_cells}
    small = _write(folder, "busy_small", BUSY % (n_cells // 4))
    for label in ("local", "dask"):
        _timed(small, folder, executor=label, n_workers=1)  # warm-up: first imports
        c0 = time.process_time()
        _timed(small, folder, executor=label, n_workers=1)
        c1 = time.process_time()
        wall, df = _timed(sim, folder, executor=label, n_workers=1)
        # marginal parent CPU per cell: the fixed start/finish costs cancel out
        parent_cpu = (time.process_time() - c1) - (c1 - c0)
        parent_cells = n_cells - n_cells // 4
        df = df.sort_values("t_end")
        t_end = df["t_end"].to_numpy()
        gaps = np.diff(t_end)
        dur = float(np.median(df["t_end"] - df["t_start"]))
        inside = (df["cpu_end"] - df["cpu_start"]).to_numpy()[1:].sum()
        worker_cpu = float(df["cpu_end"].iloc[-1] - df["cpu_end"].iloc[0])
        res[label] = {
            "mean_gap_seconds": float(np.mean(gaps)),
            "overhead_ms_per_cell": 1e3 * (float(np.mean(gaps)) - dur),
            "median_gap_overhead_ms": 1e3 * (float(np.median(gaps)) - dur),
            "cpu_overhead_ms_per_cell": 1e3 * ((worker_cpu - inside) / (len(df) - 1)
                                               + parent_cpu / parent_cells),
            "worker_cpu_overhead_ms_per_cell": 1e3 * (worker_cpu - inside) / (len(df) - 1),
            "parent_cpu_ms_per_cell": 1e3 * parent_cpu / parent_cells,
            "wall_seconds": wall,
            "startup_seconds": wall - float(t_end[-1] - df["t_start"].min()),
        }
    return res


def scaling(folder: Path, n_cells: int = 40, work: int = 500_000) -> dict:
    sim = _write(folder, "cpu", CPU % (n_cells, work))
    mod = sweep.load_sim(sim)
    t0 = time.perf_counter()
    mod.run_cell({"i": 0}, 0)
    cell = time.perf_counter() - t0
    res = {"cell_seconds": cell, "n_cells": n_cells}
    sleepy = _write(folder, "sleepy", SLEEP % n_cells)
    for label, ex in [("local", "local"), ("dask", "dask")]:
        # the runner's own concurrency, free of CPU contention: 50 ms sleeping cells
        _, df = _timed(sleepy, folder, executor=ex, n_workers=2)
        res[f"{label}_sleep_parallelism_2_workers"] = float(
            (df["t_end"] - df["t_start"]).sum() / (df["t_end"].max() - df["t_start"].min()))
        runs = {}
        for n in (1, 2):
            wall, df = _timed(sim, folder, executor=ex, n_workers=n)
            # compute span: first cell start to last cell end (start-up excluded)
            runs[n] = (wall, float(df["t_end"].max() - df["t_start"].min()))
        res[label] = {
            "seconds_1_worker": runs[1][1], "seconds_2_workers": runs[2][1],
            "speedup": runs[1][1] / runs[2][1],
            "wall_1_worker": runs[1][0], "wall_2_workers": runs[2][0],
            "wall_speedup": runs[1][0] / runs[2][0],
        }
    return res


def main(quick: bool = False) -> dict:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        t0 = time.perf_counter()
        ov = overhead(folder, n_cells=150 if quick else 400)
        sc = scaling(folder, n_cells=16 if quick else 40)
        total = time.perf_counter() - t0
    result = {
        "benchmark": "sweep",
        "mdpkit_version": mdpkit.__version__,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average": load,
        "overhead_1ms_cell": ov,
        "strong_scaling": sc,
        "total_seconds": total,
    }
    print(f"load average at start: {load[0]:.2f} (cpu_count {os.cpu_count()}); timings on a "
          "shared machine are noisy")
    print(f"1 ms cell: {1e3 * ov['cell_seconds_plain_loop']:.3f} ms in a plain loop (baseline)")
    for k, target in (("local", 2.0), ("dask", 10.0)):
        o = ov[k]
        print(f"  {k:5s}: CPU overhead {o['cpu_overhead_ms_per_cell']:.3f} ms per cell (worker "
              f"{o['worker_cpu_overhead_ms_per_cell']:.3f} + parent {o['parent_cpu_ms_per_cell']:.3f}; "
              f"target < {target:g} ms); wall: {1e3 * o['mean_gap_seconds']:.3f} ms per cell in "
              f"steady state ({o['mean_gap_seconds'] / ov['cell_seconds_plain_loop']:.2f}x the plain "
              f"loop), start-up {o['startup_seconds']:.2f} s")
    print(f"strong scaling, {sc['n_cells']} cells of {1e3 * sc['cell_seconds']:.0f} ms:")
    for k in ("local", "dask"):
        s = sc[k]
        print(f"  {k:5s}: compute span 1 worker {s['seconds_1_worker']:.2f} s, 2 workers "
              f"{s['seconds_2_workers']:.2f} s, speedup {s['speedup']:.2f}x (ideal 2x); with "
              f"start-up {s['wall_1_worker']:.2f} s vs {s['wall_2_workers']:.2f} s "
              f"({s['wall_speedup']:.2f}x)")
    print("  runner concurrency with 2 workers on sleeping cells (CPU-free; ideal 2): "
          f"local {sc['local_sleep_parallelism_2_workers']:.2f}, "
          f"dask {sc['dask_sleep_parallelism_2_workers']:.2f}")
    print(f"total {total:.1f} s")
    out = Path(__file__).resolve().parent / "results" / "sweep.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {out}")
    return result


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="sweep runner overhead and strong scaling")
    ap.add_argument("--quick", action="store_true", help="fewer cells (about 15 s)")
    main(quick=ap.parse_args().quick)
