"""Policy-gradient dynamics speed: mdpkit.pg vs plain NumPy implementations, in one process.

Instances (issue 17): exact natural-PG dynamics of 1e4 steps on a 1000-arm bandit
(target < 0.1 s); sampled GRPO on M = 1000 binary prompts (8 responses each), G = 16,
1000 steps, 100 runs (target < 10 s on 2 cores). The NumPy baselines are vectorised
(over arms; over prompts and group members) and run a shorter horizon: both costs are
linear in the number of steps, so they are compared per step (exact) and per sampled
response (GRPO). Results go to ``benchmarks/results/pg.json``.

Run: ``python benchmarks/bench_pg.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numba
import numpy as np

import mdpkit as mk

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_time  # noqa: E402


def numpy_exact_npg(q, z0, eta, n_steps):
    """Natural PG on one softmax row: z += eta (q - <pi, q>), recording reward and entropy."""
    z = z0.copy()
    reward = np.empty(n_steps + 1)
    ent = np.empty(n_steps + 1)
    for t in range(n_steps + 1):
        lp = z - z.max()
        lp -= np.log(np.exp(lp).sum())
        pi = np.exp(lp)
        reward[t] = pi @ q
        ent[t] = -(pi * lp).sum()
        if t < n_steps:
            z += eta * (q - reward[t])
    return z, reward, ent


def numpy_grpo(q, z0, eta, G, n_steps, rng):
    """GRPO (one epoch, binary rewards) on M separate prompts, vectorised over prompts and samples."""
    z = z0.copy()
    M, K = z.shape
    rows = np.arange(M)[:, None]
    for _ in range(n_steps):
        pi = np.exp(z - z.max(1, keepdims=True))
        pi /= pi.sum(1, keepdims=True)
        cdf = np.cumsum(pi, axis=1)
        u = rng.random((M, G)) * cdf[:, -1:]
        a = np.minimum((u[:, :, None] >= cdf[:, None, :]).sum(2), K - 1)
        r = (rng.random((M, G)) < q[rows, a]).astype(float)
        adv = (r - r.mean(1, keepdims=True)) / (r.std(1, keepdims=True) + 1e-6)
        g = np.zeros((M, K))
        np.add.at(g, (np.repeat(np.arange(M), G), a.ravel()), adv.ravel() / G)
        g -= adv.mean(1, keepdims=True) * pi
        z += eta * g
    return z


def main(quick: bool = False) -> dict:
    rng = np.random.default_rng(0)
    K = 1000
    q = rng.random(K)
    n_exact = 2_000 if quick else 10_000
    prob = mk.pg.k_armed(q)
    mk.pg.exact_dynamics(prob, eta=0.1, n_steps=10, natural=True)  # compile / load the cache
    t_mk = best_time(lambda: mk.pg.exact_dynamics(prob, eta=0.1, n_steps=n_exact, natural=True,
                                                  checkpoints=101), repeat=3, min_time=0.0)
    n_np = n_exact // 4
    t_np = best_time(lambda: numpy_exact_npg(q, np.zeros(K), 0.1, n_np), repeat=3, min_time=0.0)
    exact = {"steps": n_exact, "arms": K, "mdpkit_s": t_mk, "numpy_s_per_step": t_np / n_np,
             "ratio": (t_np / n_np) / (t_mk / n_exact)}
    M, G, steps, runs = (200, 16, 200, 8) if quick else (1000, 16, 1000, 100)
    gprob = mk.pg.beta_prompts(M, 8, 1.0, 2.0, n_correct=2, rng=0)
    mk.pg.sample_dynamics(gprob, eta=0.2, n_steps=2, G=G, n_runs=1, rng=0)
    mk.pg.sample_dynamics(gprob, eta=0.2, n_steps=200, G=G, n_runs=12, rng=0)  # parallel path
    run = mk.pg.sample_dynamics(gprob, eta=0.2, n_steps=steps, G=G, n_runs=runs, rng=1)
    n_samples = steps * runs * M * G
    np_steps = 20 if quick else 50
    t0 = time.perf_counter()
    numpy_grpo(gprob.reward, np.array(gprob.z0), 0.2, G, np_steps, np.random.default_rng(1))
    t_np = time.perf_counter() - t0
    grpo = {"prompts": M, "G": G, "steps": steps, "runs": runs, "mdpkit_s": run.seconds,
            "numpy_s_per_sample": t_np / (np_steps * M * G),
            "ratio": (t_np / (np_steps * M * G)) / (run.seconds / n_samples)}
    out = {"machine": platform.processor() or platform.machine(), "threads": numba.get_num_threads(),
           "exact_npg": exact, "sampled_grpo": grpo}
    print(f"exact NPG, {K} arms, {n_exact} steps: mdpkit {t_mk:.3f} s; NumPy {t_np / n_np * n_exact:.3f} s "
          f"(extrapolated); ratio {exact['ratio']:.1f}x")
    print(f"sampled GRPO, M={M}, G={G}, {steps} steps, {runs} runs: mdpkit {run.seconds:.2f} s; "
          f"NumPy {grpo['numpy_s_per_sample'] * n_samples:.1f} s (extrapolated); ratio {grpo['ratio']:.1f}x")
    path = Path(__file__).parent / "results" / "pg.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
