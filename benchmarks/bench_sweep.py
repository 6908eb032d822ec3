"""Sweep runner overhead and strong scaling (local process pool vs Dask distributed).

Overhead per cell: a sim whose cell busy-waits 1 ms is swept with one worker. Each cell
records when it started and ended (``time.perf_counter`` is the system-wide monotonic
clock on Linux, comparable across processes). In steady state, (last end - first end)
/ (cells - 1) is the cell plus the runner's overhead per cell (scheduling, pickling,
the result row, Parquet streaming, amortized over the runner's adaptive batches); minus
the median cell duration it is the overhead per cell, free of start-up costs, which are
reported separately. The median gap is printed too: it is robust to the
descheduling spikes of a loaded machine, but within a batch it measures no overhead. Baseline: the same cell in a plain Python loop in this process.
Targets (issue): < 2 ms per cell local, < 10 ms per cell Dask.

Strong scaling: a CPU-bound sim (about 25 ms of pure-Python work per cell) with 1 and 2
workers; speedup = T(1) / T(2) (ideal 2 on an otherwise idle 2-core machine).

Run: ``PYTHONPATH=. python benchmarks/bench_sweep.py`` (about 30-50 s). Writes
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
    t0 = time.perf_counter()
    while time.perf_counter() < t0 + 0.001:
        pass
    t1 = time.perf_counter()
    return {"t_start": t0, "t_end": t1}
'''

CPU = '''
GRID = {"i": list(range(%d))}


def run_cell(settings, seed):
    acc = 0
    for k in range(%d):
        acc = (acc * 31 + k + seed) %% 1000003
    return {"acc": acc}
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
    for label in ("local", "dask"):
        wall, df = _timed(sim, folder, executor=label, n_workers=1)
        t_end = np.sort(df["t_end"].to_numpy())
        gaps = np.diff(t_end)
        dur = float(np.median(df["t_end"] - df["t_start"]))
        res[label] = {
            "median_gap_seconds": float(np.median(gaps)),
            "mean_gap_seconds": float(np.mean(gaps)),
            "overhead_ms_per_cell": 1e3 * (float(np.mean(gaps)) - dur),
            "median_gap_overhead_ms": 1e3 * (float(np.median(gaps)) - dur),
            "wall_seconds": wall,
            "startup_seconds": wall - float(t_end[-1] - df["t_start"].min()),
        }
    return res


def scaling(folder: Path, n_cells: int = 40, work: int = 250_000) -> dict:
    sim = _write(folder, "cpu", CPU % (n_cells, work))
    mod = sweep.load_sim(sim)
    t0 = time.perf_counter()
    mod.run_cell({"i": 0}, 0)
    cell = time.perf_counter() - t0
    res = {"cell_seconds": cell, "n_cells": n_cells}
    for label, ex in [("local", "local"), ("dask", "dask")]:
        t1 = _timed(sim, folder, executor=ex, n_workers=1)[0]
        t2 = _timed(sim, folder, executor=ex, n_workers=2)[0]
        res[label] = {"seconds_1_worker": t1, "seconds_2_workers": t2, "speedup": t1 / t2}
    return res


def main() -> dict:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        t0 = time.perf_counter()
        ov = overhead(folder)
        sc = scaling(folder)
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
        print(f"  {k:5s}: {1e3 * o['mean_gap_seconds']:.3f} ms per cell in steady state -> overhead "
              f"{o['overhead_ms_per_cell']:.3f} ms (target < {target:g} ms; median gap "
              f"{o['median_gap_overhead_ms']:.3f} ms); ratio to the plain loop "
              f"{o['mean_gap_seconds'] / ov['cell_seconds_plain_loop']:.2f}x; start-up "
              f"{o['startup_seconds']:.2f} s")
    print(f"strong scaling, {sc['n_cells']} cells of {1e3 * sc['cell_seconds']:.0f} ms:")
    for k in ("local", "dask"):
        s = sc[k]
        print(f"  {k:5s}: 1 worker {s['seconds_1_worker']:.2f} s, 2 workers {s['seconds_2_workers']:.2f} s, "
              f"speedup {s['speedup']:.2f}x (ideal 2x)")
    print(f"total {total:.1f} s")
    out = Path(__file__).resolve().parent / "results" / "sweep.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {out}")
    return result


if __name__ == "__main__":
    main()
