"""Policy-gradient dynamics speed: mdpkit.pg vs plain NumPy implementations, in one process.

Instances (issue 17): exact natural-PG dynamics of 1e4 steps on a 1000-arm bandit
(target < 0.1 s, >= 10x NumPy); sampled GRPO on M = 1000 binary prompts (8 responses
each), G = 16, 1000 steps, 100 runs (target < 10 s on 2 cores, >= 10x NumPy). The NumPy
baselines are vectorised (over arms; over prompts and group members). Exact: the NumPy
loop produces the same outputs (final logits, per-step entropy change and covariance
prediction, checkpoint reward and entropy), checked equal, timed interleaved with
mdpkit (best of several). GRPO: both run 20 steps interleaved (mdpkit: all 100 runs on
the available threads; NumPy: one run), compared per sampled response, the baseline's
mean success checked against mdpkit's runs; then the full case is timed once (wall and
CPU). The two GRPO implementations compute the same update in law but are formulated
differently: the NumPy baseline is the straightforward one (every step: softmax of every
row, G inverse-CDF draws and a Bernoulli reward per response, advantages, scatter-add),
while mdpkit draws the G responses of a prompt with one uniform each over its
(response, reward) cells, counts them per cell, and recomputes a row's softmax only
after the row moved (a group whose advantages are all 0, e.g. an all-correct GRPO group,
leaves it bit-for-bit unchanged). Besides the wall-clock ratio (the target) the CPU-time
ratio is printed: on a shared machine, where the threads of mdpkit do not get whole
cores, it is the load-independent one (it counts all of mdpkit's threads, so it omits
the parallel speed-up). The load average is printed: on these shared machines absolute
times grow with it. Results go to ``benchmarks/results/pg.json``.

Run: ``python benchmarks/bench_pg.py [--quick]`` from the repository root (with
``PYTHONPATH=.`` to time this checkout rather than an installed mdpkit).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np

import mdpkit as mk


def numpy_exact_npg(q, z0, eta, n_steps, ck):
    """Natural PG on one softmax row with the outputs of ``exact_dynamics``, in plain NumPy.

    z += eta (q - <pi, q>); every step: the entropy change and its covariance prediction
    -Cov_pi(log pi, dz); at the checkpoints ``ck``: reward and entropy.
    """
    z = z0.copy()
    reward, ent = np.empty(ck.size), np.empty(ck.size)
    dh, dh_pred = np.empty(n_steps), np.empty(n_steps)
    j, h_prev = 0, 0.0
    for t in range(n_steps + 1):
        x = z - z.max()
        e = np.exp(x)
        s0 = e.sum()
        pi = e / s0
        lp = x - np.log(s0)
        h = -(pi @ lp)
        if t > 0:
            dh[t - 1] = h - h_prev
        h_prev = h
        v = pi @ q
        if j < ck.size and ck[j] == t:
            reward[j], ent[j] = v, h
            j += 1
        if t == n_steps:
            break
        dz = eta * (q - v)
        dh_pred[t] = -((pi * lp) @ dz - (pi @ lp) * (pi @ dz))
        z += dz
    return z, reward, ent, dh, dh_pred


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


def interleaved(fns, repeat, cpu=None):
    """Best wall time of each callable over ``repeat`` interleaved rounds (load affects all alike).

    ``cpu``, a list, receives the best CPU time (all threads) of each callable.
    """
    best = [np.inf] * len(fns)
    best_cpu = [np.inf] * len(fns)
    for _ in range(repeat):
        for i, f in enumerate(fns):
            t0, c0 = time.perf_counter(), time.process_time()
            f()
            best[i] = min(best[i], time.perf_counter() - t0)
            best_cpu[i] = min(best_cpu[i], time.process_time() - c0)
    if cpu is not None:
        cpu[:] = best_cpu
    return best


def bench_exact(quick: bool) -> dict:
    """Exact NPG, 1000 arms, 1e4 steps: mdpkit vs the NumPy loop, same outputs checked equal."""
    K, n_exact, eta = 1000, (2_000 if quick else 10_000), 0.1
    q = np.random.default_rng(0).random(K)
    prob = mk.pg.k_armed(q)
    tr = mk.pg.exact_dynamics(prob, eta=eta, n_steps=n_exact, natural=True, checkpoints=101)
    ref = numpy_exact_npg(q, np.zeros(K), eta, n_exact, tr.steps)
    for name, got, want in (("z", tr.z[0, 0], ref[0]), ("reward", tr.reward[0], ref[1]),
                            ("entropy", tr.entropy[0], ref[2]), ("dH", tr.dH[0], ref[3]),
                            ("dH_pred", tr.dH_pred[0], ref[4])):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=name)
    t_mk, t_np = interleaved(
        [lambda: mk.pg.exact_dynamics(prob, eta=eta, n_steps=n_exact, natural=True, checkpoints=101),
         lambda: numpy_exact_npg(q, np.zeros(K), eta, n_exact, tr.steps)], repeat=3 if quick else 5)
    return {"steps": n_exact, "arms": K, "mdpkit_s": t_mk, "numpy_s": t_np, "ratio": t_np / t_mk}


def numpy_success(q, z):
    """Mean over prompts of <softmax(z_m), q_m>."""
    pi = np.exp(z - z.max(1, keepdims=True))
    return float((pi / pi.sum(1, keepdims=True) * q).sum(1).mean())


def bench_grpo(quick: bool) -> dict:
    """Sampled GRPO: throughput ratio (interleaved, short horizon) and the full case, timed once."""
    M, G, steps, runs = (200, 16, 200, 8) if quick else (1000, 16, 1000, 100)
    short = 10 if quick else 20
    gprob = mk.pg.beta_prompts(M, 8, 1.0, 2.0, n_correct=2, rng=0)
    kw = dict(eta=0.2, G=G, checkpoints=2)
    mk.pg.sample_dynamics(gprob, n_steps=2, n_runs=1, rng=0, **kw)
    mk.pg.sample_dynamics(gprob, n_steps=200, n_runs=12, rng=0, **kw)  # parallel path compiled
    res = {}

    def run_mk():
        res["mk"] = mk.pg.sample_dynamics(gprob, n_steps=short, n_runs=runs, rng=1, **kw)

    def run_np():
        res["np"] = numpy_grpo(gprob.reward, np.array(gprob.z0), 0.2, G, short,
                               np.random.default_rng(1))

    cpu = []
    t_mk, t_np = interleaved([run_mk, run_np], repeat=5, cpu=cpu)
    # the baseline is GRPO too: its mean success after `short` steps agrees with mdpkit's runs
    r_mk = res["mk"].reward[:, -1]
    r_np = numpy_success(gprob.reward, res["np"])
    tol = 5 * r_mk.std(ddof=1) * np.sqrt(1 + 1 / runs)
    if abs(r_np - r_mk.mean()) > tol:
        raise AssertionError(f"NumPy GRPO success {r_np:.4f} vs mdpkit {r_mk.mean():.4f} +- {tol:.4f}")
    per_mk, per_np = t_mk / (short * runs * M * G), t_np / (short * M * G)
    cpu_mk, cpu_np = cpu[0] / (short * runs * M * G), cpu[1] / (short * M * G)
    cpu0 = time.process_time()
    full = mk.pg.sample_dynamics(gprob, n_steps=steps, n_runs=runs, rng=1, **kw)
    cpu = time.process_time() - cpu0   # all threads: on idle cores, wall ~ cpu / threads
    return {"prompts": M, "G": G, "steps": steps, "runs": runs, "full_case_s": full.seconds,
            "full_case_cpu_s": cpu,
            "mdpkit_s_per_sample": per_mk, "numpy_s_per_sample": per_np, "ratio": per_np / per_mk,
            "mdpkit_cpu_s_per_sample": cpu_mk, "numpy_cpu_s_per_sample": cpu_np,
            "cpu_ratio": cpu_np / cpu_mk,
            "success_mdpkit": float(r_mk.mean()), "success_numpy": r_np}


def main(quick: bool = False) -> dict:
    load0 = os.getloadavg()
    exact = bench_exact(quick)
    grpo = bench_grpo(quick)
    out = {"machine": platform.processor() or platform.machine(), "threads": numba.get_num_threads(),
           "load_average": [load0, os.getloadavg()], "exact_npg": exact, "sampled_grpo": grpo}
    print(f"exact NPG, {exact['arms']} arms, {exact['steps']} steps: mdpkit {exact['mdpkit_s']:.3f} s; "
          f"NumPy {exact['numpy_s']:.3f} s; ratio {exact['ratio']:.1f}x")
    print(f"sampled GRPO, M={grpo['prompts']}, G={grpo['G']}: per sampled response mdpkit "
          f"{grpo['mdpkit_s_per_sample'] * 1e9:.1f} ns ({out['threads']} threads, all runs), NumPy "
          f"{grpo['numpy_s_per_sample'] * 1e9:.1f} ns; ratio {grpo['ratio']:.1f}x (CPU time: "
          f"{grpo['mdpkit_cpu_s_per_sample'] * 1e9:.1f} vs {grpo['numpy_cpu_s_per_sample'] * 1e9:.1f} ns, "
          f"{grpo['cpu_ratio']:.1f}x; mdpkit counts draws per cell and skips unmoved rows, NumPy "
          "draws each response)")
    print(f"sampled GRPO full case, {grpo['steps']} steps x {grpo['runs']} runs: "
          f"{grpo['full_case_s']:.2f} s wall, {grpo['full_case_cpu_s']:.1f} s CPU over all threads")
    print(f"load average (1, 5, 15 min) before {np.round(load0, 2).tolist()}, after "
          f"{np.round(os.getloadavg(), 2).tolist()}")
    path = Path(__file__).parent / "results" / "pg.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
