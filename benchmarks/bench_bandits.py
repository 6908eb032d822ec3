"""Bandit simulator speed: mdpkit vs a NumPy loop vectorised over runs vs SMPyBandits.

Instance (issue 5): Bernoulli K=10, means 0.9, 0.85, ..., 0.45, horizon T=10^5, 100 runs,
UCB1 and Beta-Bernoulli Thompson sampling. All timings are taken in this process; the
slow baselines run a shorter horizon and are compared through arm pulls per second (their
cost per pull does not depend on t). Results go to ``benchmarks/results/bandits.json``.

SMPyBandits (0.9.7) imports ``scipy.special.btdtri``, removed in SciPy 1.15; the benchmark
installs a one-line alias to ``betaincinv`` (the same function) before importing it. It is
only a benchmark baseline, never a dependency of mdpkit.

A second instance (issue 18): Bernoulli K=5, means 0.9, ..., 0.5, T=2e4, 200 runs, UCB1
and Thompson sampling, both codes over the same horizon, ratios of wall times in this
process and regret means compared within standard errors (``issue_instance``).

What is compared for Thompson sampling: NumPy draws a Beta for every arm of every run at
each step (``Generator.beta``, vectorised over the runs) and takes the argmax; mdpkit's
Bernoulli fast path draws the same argmax lazily and exactly (the most pulled arm in full,
each other arm first on which side of a precomputed split it falls, most often below the
running maximum), with Marsaglia-Tsang gammas from ziggurat normals on a per-run
xoshiro256** stream. The streams differ, so the regrets agree in law, not draw for draw.

Run: ``python benchmarks/bench_bandits.py [--quick]`` (``--issue`` for the second one only).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np

import mdpkit as mk
from mdpkit.bandits._simulate import SERIAL_MAX_PULLS

K = 10
MEANS = 0.9 - 0.05 * np.arange(K)


def bench_mdpkit(algo, horizon, n_runs, n_threads):
    env = mk.bandits.BernoulliBandit(MEANS)
    # compile / load the cache of both the parallel and the serial (small problems) paths
    mk.bandits.simulate(env, algo, horizon=1000, n_runs=SERIAL_MAX_PULLS // 1000 + 1, rng=0)
    mk.bandits.simulate(env, algo, horizon=100, n_runs=2, rng=0)
    run = mk.bandits.simulate(env, algo, horizon=horizon, n_runs=n_runs, rng=1,
                              n_threads=n_threads)
    return run.pulls_per_second, float(run.mean_regret[-1])


def numpy_ucb1(horizon, n_runs, rng):
    """UCB1 for all runs at once on MEANS: one vectorised step per round."""
    return _numpy_ucb1_k(MEANS, horizon, n_runs, rng)


def numpy_thompson(horizon, n_runs, rng):
    """Beta-Bernoulli Thompson sampling for all runs at once on MEANS."""
    return _numpy_thompson_k(MEANS, horizon, n_runs, rng)


def bench_numpy(fn, horizon, n_runs):
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    fn(horizon, n_runs, rng)
    return horizon * n_runs / (time.perf_counter() - t0)


def bench_smpybandits(name, horizon):
    try:
        import scipy.special as sp

        if not hasattr(sp, "btdtri"):
            sp.btdtri = sp.betaincinv  # removed alias, same function
        from SMPyBandits.Arms import Bernoulli
        from SMPyBandits.Policies import UCB, Thompson
    except Exception as e:  # not installed / broken
        return None, f"SMPyBandits unavailable: {type(e).__name__}: {e}"
    arms = [Bernoulli(float(p)) for p in MEANS]  # SMPyBandits' own arms draw the rewards
    pol = {"UCB1": UCB, "Thompson": Thompson}[name](K)
    pol.startGame()
    t0 = time.perf_counter()
    for _ in range(horizon):
        a = pol.choice()
        pol.getReward(a, arms[a].draw())
    return horizon / (time.perf_counter() - t0), "SMPyBandits 0.9.7, one run, Policies.UCB / Thompson"


# ---------------------------------------------------------------- the issue-18 instance
K5_MEANS = np.array([0.9, 0.8, 0.7, 0.6, 0.5])


def _numpy_ucb1_k(means, horizon, n_runs, rng):
    """UCB1 (c = 2) for all runs at once, on any Bernoulli means: one vectorised step per round."""
    K_ = means.size
    idx = np.arange(n_runs)
    n = np.zeros((n_runs, K_))
    s = np.zeros((n_runs, K_))
    regret = np.zeros(n_runs)
    gaps = means.max() - means
    for t in range(horizon):
        a = np.full(n_runs, t) if t < K_ else np.argmax(s / n + np.sqrt(2.0 * math.log(t) / n), axis=1)
        x = rng.random(n_runs) < means[a]
        n[idx, a] += 1
        s[idx, a] += x
        regret += gaps[a]
    return regret


def _numpy_thompson_k(means, horizon, n_runs, rng):
    """Beta(1, 1)-Bernoulli Thompson sampling for all runs at once."""
    K_ = means.size
    idx = np.arange(n_runs)
    succ = np.zeros((n_runs, K_))
    fail = np.zeros((n_runs, K_))
    regret = np.zeros(n_runs)
    gaps = means.max() - means
    for _ in range(horizon):
        a = np.argmax(rng.beta(succ + 1.0, fail + 1.0), axis=1)
        x = rng.random(n_runs) < means[a]
        succ[idx, a] += x
        fail[idx, a] += ~x
        regret += gaps[a]
    return regret


def issue_instance(horizon: int = 20_000, n_runs: int = 200, repeats: int = 2) -> dict:
    """UCB1 and Thompson sampling, Bernoulli K=5, against NumPy vectorised over the runs.

    Same process, interleaved, best of ``repeats``; 1 thread and all threads; the mean
    final regrets of the two codes must agree within 4 standard errors (else the ratio
    is not reported as valid). Returns the rows and prints them with the load average.
    """
    env = mk.bandits.BernoulliBandit(K5_MEANS)
    threads = numba.config.NUMBA_NUM_THREADS
    out: dict = {"load_average_1min": os.getloadavg()[0], "threads": threads}
    for name, algo, np_fn in (("UCB1", mk.bandits.UCB1(), _numpy_ucb1_k),
                              ("Thompson", mk.bandits.ThompsonSampling(), _numpy_thompson_k)):
        mk.bandits.simulate(env, algo, horizon=1000, n_runs=n_runs, rng=0)  # compile / load
        best = {"1": math.inf, "n": math.inf, "np": math.inf}
        for rep in range(repeats):
            for key, nt in (("1", 1), ("n", threads)):
                run = mk.bandits.simulate(env, algo, horizon=horizon, n_runs=n_runs, rng=rep,
                                          n_threads=nt)
                best[key] = min(best[key], run.seconds)
            t0 = time.perf_counter()
            reg_np = np_fn(K5_MEANS, horizon, n_runs, np.random.default_rng(rep))
            best["np"] = min(best["np"], time.perf_counter() - t0)
        reg = run.regret[:, -1]
        se = math.sqrt(reg.var(ddof=1) / n_runs + reg_np.var(ddof=1) / n_runs)
        z = (reg.mean() - reg_np.mean()) / se
        pulls = horizon * n_runs
        row = {"pulls_per_s_1_thread": pulls / best["1"], f"pulls_per_s_{threads}_threads": pulls / best["n"],
               "numpy_pulls_per_s": pulls / best["np"], "ratio_vs_numpy": best["np"] / best["n"],
               "ratio_vs_numpy_1_thread": best["np"] / best["1"],
               "thread_scaling": best["1"] / best["n"], "mean_regret": float(reg.mean()),
               "numpy_mean_regret": float(reg_np.mean()), "z_regret": z, "agree": abs(z) < 4.0}
        out[name] = row
        print(f"{name:9s} K=5 T={horizon} runs={n_runs}: mdpkit {row['pulls_per_s_1_thread']:.3g} pulls/s "
              f"(1 thread), {row[f'pulls_per_s_{threads}_threads']:.3g} ({threads} threads, scaling "
              f"{row['thread_scaling']:.2f}x); NumPy {row['numpy_pulls_per_s']:.3g}; ratio "
              f"{row['ratio_vs_numpy']:.1f}x ({row['ratio_vs_numpy_1_thread']:.1f}x on 1 thread); "
              f"regret {row['mean_regret']:.2f} vs {row['numpy_mean_regret']:.2f} (z = {z:+.2f})")
    print("Thompson: NumPy draws every arm's Beta each step; mdpkit draws the same argmax "
          "lazily and exactly (its own stream: equal in law, z above)")
    print(f"load average (1 min) at start: {out['load_average_1min']:.2f} on {os.cpu_count()} CPUs")
    return out


def main(quick: bool = False) -> dict:
    T, R = (20_000, 50) if quick else (100_000, 100)
    # Thompson sampling costs ~20 Beta draws per pull: fewer runs (the rate is per pull)
    # keep the whole benchmark under a minute on a shared 2-core machine.
    R_ts = 10 if quick else 20
    T_np_ucb, T_np_ts = (5_000, 1_000) if quick else (20_000, 4_000)
    T_smpy = 2_000 if quick else 5_000
    threads = numba.config.NUMBA_NUM_THREADS
    out: dict = {"instance": {"K": K, "horizon": T, "n_runs": R, "means": MEANS.tolist()},
                 "machine": {"cpus": threads, "python": platform.python_version(),
                             "numba": numba.__version__, "numpy": np.__version__},
                 "pulls_per_second": {}, "ratios": {}}
    pps = out["pulls_per_second"]
    for name, algo, np_fn, T_np, n_runs in (
            ("UCB1", mk.bandits.UCB1(), numpy_ucb1, T_np_ucb, R),
            ("Thompson", mk.bandits.ThompsonSampling(), numpy_thompson, T_np_ts, R_ts)):
        rate_1, reg = bench_mdpkit(algo, T, max(n_runs // 2, 1), 1)
        rate_n, _ = bench_mdpkit(algo, T, n_runs, threads)
        rate_np = bench_numpy(np_fn, T_np, R)
        rate_smpy, note = bench_smpybandits(name, T_smpy)
        pps[name] = {"mdpkit_runs": n_runs, "mdpkit_1_thread": rate_1, f"mdpkit_{threads}_threads": rate_n,
                     "numpy_vectorised": rate_np, "smpybandits": rate_smpy,
                     "mean_final_regret_mdpkit": reg, "note": note}
        out["ratios"][name] = {"vs_numpy": rate_n / rate_np,
                               "vs_smpybandits": None if rate_smpy is None else rate_n / rate_smpy}
        print(f"{name:9s} mdpkit {rate_1:10.3g} pulls/s (1 thread), {rate_n:10.3g} ({threads} threads); "
              f"NumPy vectorised {rate_np:10.3g}; SMPyBandits "
              f"{'n/a' if rate_smpy is None else f'{rate_smpy:10.3g}'}")
        r = out["ratios"][name]
        vs_smpy = "n/a" if r["vs_smpybandits"] is None else f"{r['vs_smpybandits']:.0f}x"
        print(f"{'':9s} ratios: {r['vs_numpy']:.1f}x NumPy, {vs_smpy} SMPyBandits")
    out["issue_18"] = issue_instance(horizon=5_000 if quick else 20_000, repeats=1 if quick else 2)
    path = Path(__file__).parent / "results" / "bandits.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"saved {path}")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--issue", action="store_true", help="only the issue-18 instance")
    args = ap.parse_args()
    if args.issue:
        issue_instance()
    else:
        main(args.quick)
