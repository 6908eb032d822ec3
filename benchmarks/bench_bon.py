"""Benchmark: exact best-of-N laws + KL on 1e6 atoms, and reward-KL frontiers.

Targets (issue "Best-of-N asymptotics", scope 8; issue 18, part 5): best-of-N law + KL for
a 10^6-atom reference under 50 ms for each N in {2, ..., 10^6} after construction, the
construction of the ``Discrete`` reference under 100 ms; a 200-point frontier under 1 s.
The baseline, timed in the same process, is the plain NumPy formula
``q = F**N - (F - p)**N`` on pre-sorted atoms (no log space, no tie handling), which
is what one writes by hand; its KL is compared with ours for accuracy.

Run: ``PYTHONPATH=. python benchmarks/bench_bon.py`` (about 30-60 s on 2 cores).
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import platform
import time

import numpy as np
from scipy import optimize
from scipy.special import logsumexp

import mdpkit as mk


def best_time(fn, reps: int = 3) -> float:
    out = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def numpy_bon_kl(p_sorted: np.ndarray, n: float) -> float:
    """Naive NumPy best-of-N KL for distinct rewards, atoms already sorted by reward."""
    F = np.cumsum(p_sorted)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = F**n - np.maximum(F - p_sorted, 0.0) ** n
        m = q > 0
        return float(np.sum(q[m] * np.log(q[m] / p_sorted[m])))


def numpy_frontier(p: np.ndarray, r: np.ndarray, kl_max: float, n_points: int) -> np.ndarray:
    """Tilted frontier by independent brentq solves in beta, plain NumPy/SciPy."""
    def kl_of(lam: float) -> float:
        e = np.log(p) + lam * (r - r.max())
        lz = logsumexp(e)
        q = np.exp(e - lz)
        return float(q @ (lam * (r - r.max())) - lz)

    out = []
    for t in np.linspace(1e-6, kl_max, n_points):
        lam = optimize.brentq(lambda x, t=t: kl_of(x) - t, 1e-9, 1e4)
        e = np.log(p) + lam * r
        out.append(float(np.exp(e - logsumexp(e)) @ r))
    return np.array(out)


def main() -> dict:
    rng = np.random.default_rng(0)
    K = 1_000_000
    p = rng.dirichlet(np.ones(K))
    r = rng.normal(size=K)
    res: dict = {"machine": platform.processor() or platform.machine(), "K": K}

    res["load_average_1min"] = os.getloadavg()[0]
    mk.bon.Discrete(p[:10] / p[:10].sum(), r[:10])  # compile / load kernels
    res["construct_s"] = best_time(lambda: mk.bon.Discrete(p, r))
    # what construction cost before: the stable argsort of the reversed rewards alone
    res["stable_argsort_s"] = best_time(lambda: np.argsort(r[::-1], kind="stable"))
    ref = mk.bon.Discrete(p, r)
    mk.bon.kl(mk.bon.best_of_n(ref, 2), ref)  # compile / load kernels
    order = np.argsort(r)
    ps = p[order]
    rows = []
    print(f"K = {K:,} atoms; Discrete construction {res['construct_s'] * 1e3:.0f} ms (target <= 100; "
          f"a stable argsort alone: {res['stable_argsort_s'] * 1e3:.0f} ms); load average "
          f"{res['load_average_1min']:.2f} on {os.cpu_count()} CPUs")
    print(f"{'N':>8} {'ties':>7} {'mdpkit ms':>10} {'numpy ms':>9} {'ratio':>6} {'|dKL|':>9}")
    for n in (2, 16, 1024, 10**6, 10**100):
        for ties in ("random", "first"):
            ours = best_time(lambda n=n, ties=ties: mk.bon.kl(mk.bon.best_of_n(ref, n, ties=ties), ref))
            base = best_time(lambda n=n: numpy_bon_kl(ps, float(n)), reps=3)
            dk = abs(mk.bon.kl(mk.bon.best_of_n(ref, n, ties=ties), ref) - numpy_bon_kl(ps, float(n)))
            rows.append(dict(n=float(n), ties=ties, mdpkit_s=ours, numpy_s=base, kl_abs_diff=dk))
            print(f"{n:>8.0e} {ties:>7} {ours * 1e3:>10.1f} {base * 1e3:>9.1f} {base / ours:>6.2f} {dk:>9.1e}")
    res["max_ms_per_n"] = max(row["mdpkit_s"] for row in rows) * 1e3
    print(f"slowest N: {res['max_ms_per_n']:.1f} ms per best-of-N law + KL (target <= 50)")
    res["bon_law_kl"] = rows

    # tied reference: 1000 levels
    rt = rng.integers(0, 1000, K).astype(float)
    ref_t = mk.bon.Discrete(p, rt)
    mk.bon.best_of_n(ref_t, 2)
    tt = best_time(lambda: mk.bon.kl(mk.bon.best_of_n(ref_t, 1024), ref_t))
    res["tied_1000_levels_n1024_s"] = tt
    print(f"1000 tied levels, N=1024, ties='random': {tt * 1e3:.1f} ms")

    # frontier of 200 points
    frows = []
    for k in (10_000,):
        pk = rng.dirichlet(np.ones(k))
        rk = rng.normal(size=k)
        refk = mk.bon.Discrete(pk, rk)
        ours = best_time(lambda refk=refk: mk.bon.frontier(refk, ["best_of_n", "tilted"], kl_max=4.0,
                                                           n_points=200), reps=2)
        ours_t = best_time(lambda refk=refk: mk.bon.frontier(refk, ["tilted"], kl_max=4.0,
                                                             n_points=200), reps=2)
        base = best_time(lambda pk=pk, rk=rk: numpy_frontier(pk, rk, 4.0, 200), reps=1)
        frows.append(dict(K=k, mdpkit_bon_and_tilted_s=ours, mdpkit_tilted_s=ours_t, numpy_tilted_s=base))
        print(f"frontier, 200 points, K={k:,}: best_of_n+tilted {ours:.2f} s, tilted {ours_t:.2f} s, "
              f"NumPy tilted baseline {base:.2f} s (ratio {base / ours_t:.1f}x)")
    res["frontier_200"] = frows

    out = pathlib.Path(__file__).parent / "results" / "bon.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    print(f"saved {out}")
    return res


if __name__ == "__main__":
    main()
