"""Episodes per second of the compiled UCBVI loop against a plain NumPy implementation.

Both run the same algorithm on the same MDP (S=20, A=5, H=10, stage-dependent): optimistic
and pessimistic backward induction with the Hoeffding bonus, exact evaluation of the
played policy (the regret trace), the certainty-equivalent recommended policy and its
exact value, one sampled episode, count updates. The NumPy
baseline vectorizes every stage over (s, a) and samples with ``Generator.choice``-free
inverse-CDF draws, i.e. what a careful pure-Python/NumPy implementation does.

Each side is timed ``repeats`` times and the best time kept (contention on shared machines
only ever adds time). The compiled side runs 10x more episodes, whose later episodes are
the expensive ones (every pair visited), so the ratio is conservative.

Run: ``PYTHONPATH=. python benchmarks/bench_online.py [--episodes K] [--repeats R]``; writes
``benchmarks/results/online.json``.
"""

from __future__ import annotations

import os

# One thread for BLAS too: the compiled loop is serial, so the baseline gets one core as well
# (set before NumPy is imported; this is a script, not library code).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import mdpkit as mk  # noqa: E402


def numpy_ucbvi(mdp: mk.TabularMDP, K: int, seed: int, delta: float = 0.05) -> np.ndarray:
    """Plain NumPy UCBVI (Hoeffding bonus), the same work per episode as the compiled kernel."""
    S, A, H = mdp.n_states, mdp.n_actions, mdp.horizon
    P = mdp.P if mdp.P.ndim == 4 else np.broadcast_to(mdp.P, (H, S, A, S))
    r = mdp.r if mdp.r.ndim == 3 else np.broadcast_to(mdp.r, (H, S, A))
    mu0 = mdp.mu0
    cumP = np.cumsum(P, axis=-1)
    v_star = float(mu0 @ mk.solve(mdp).V[0])
    L = np.log(2 * S * A * H * K / delta)
    N = np.zeros((H, S, A))
    Nsas = np.zeros((H, S, A, S))
    Rsum = np.zeros((H, S, A))
    gen = np.random.default_rng(seed)
    subopt = np.empty(K)
    def value(greedy: np.ndarray) -> float:
        V = np.zeros(S)
        for h in range(H - 1, -1, -1):
            idx = np.arange(S), greedy[h]
            V = r[h][idx] + P[h][idx] @ V
        return float(mu0 @ V)

    rec_subopt = np.empty(K)
    for k in range(K):
        # recommended policy: certainty-equivalent greedy plan, Q = 0 on unvisited pairs
        V_rec = np.zeros((H + 1, S))
        rec = np.empty((H, S), dtype=np.int64)
        for h in range(H - 1, -1, -1):
            n = N[h]
            safe = np.maximum(n, 1.0)
            q = np.where(n > 0, (Rsum[h] + Nsas[h] @ V_rec[h + 1]) / safe, 0.0)
            rec[h] = q.argmax(axis=1)
            V_rec[h] = q.max(axis=1)
        rec_subopt[k] = v_star - value(rec)
        V_up = np.zeros((H + 1, S))
        V_lo = np.zeros((H + 1, S))
        greedy = np.empty((H, S), dtype=np.int64)
        for h in range(H - 1, -1, -1):
            n = N[h]
            safe = np.maximum(n, 1.0)
            Phat = Nsas[h] / safe[..., None]
            b = (H - h - 1) * np.sqrt(0.5 * L / safe)
            rhat = Rsum[h] / safe
            q_up = np.where(n > 0, np.minimum(H - h, rhat + Phat @ V_up[h + 1] + b), H - h)
            q_lo = np.where(n > 0, np.maximum(0.0, rhat + Phat @ V_lo[h + 1] - b), 0.0)
            greedy[h] = q_up.argmax(axis=1)
            V_up[h] = q_up.max(axis=1)
            V_lo[h] = q_lo.max(axis=1)
        subopt[k] = v_star - value(greedy)
        s = int(np.searchsorted(np.cumsum(mu0), gen.random(), side="right"))
        for h in range(H):
            a = greedy[h, s]
            s2 = min(int(np.searchsorted(cumP[h, s, a], gen.random(), side="right")), S - 1)
            N[h, s, a] += 1
            Nsas[h, s, a, s2] += 1
            Rsum[h, s, a] += r[h, s, a]
            s = s2
    return subopt


def main(episodes: int = 2000, repeats: int = 5) -> dict:
    mdp = mk.random_mdp(n_states=20, n_actions=5, horizon=10, rng=0, stationary=False)
    agent = mk.learners.UCBVI(bonus="hoeffding")
    mk.learners.run_online(agent, mdp, n_episodes=5, rng=0)                 # compile / load the cache
    # best of `repeats` timings of each: the machines are shared, contention only adds time.
    # Wall clock and process CPU time are both reported; CPU time is what the code costs when
    # other processes hold the cores (BLAS is single-threaded here, so it is one core's time).
    t_numba = t_numpy = c_numba = c_numpy = np.inf
    n_np = max(episodes // 10, 50)
    # compiled side first: NumPy's BLAS worker threads keep spinning after a call and would
    # steal the second core from the compiled loop if the two were interleaved
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run = mk.learners.run_online(agent, mdp, n_episodes=episodes, rng=0)
        t_numba = min(t_numba, time.perf_counter() - t0)
        c_numba = min(c_numba, time.process_time() - c0)
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        sub_np = numpy_ucbvi(mdp, n_np, seed=0)
        t_numpy = min(t_numpy, time.perf_counter() - t0)
        c_numpy = min(c_numpy, time.process_time() - c0)
    eps_numba, eps_numpy = episodes / t_numba, n_np / t_numpy
    cpu_ratio = (c_numpy / n_np) / (c_numba / episodes)
    out = {
        "instance": "random_mdp S=20 A=5 H=10 stage-dependent, UCBVI hoeffding",
        "episodes_per_s_numba": eps_numba,
        "episodes_per_s_numpy": eps_numpy,
        "speedup": eps_numba / eps_numpy,
        "speedup_cpu_time": cpu_ratio,
        "numba_episodes": episodes,
        "numpy_episodes": n_np,
        "repeats": repeats,
        "final_regret_numba": float(run.regret[-1]),
        "mean_subopt_numpy_first": float(sub_np.mean()),
        "mean_subopt_numba_first": float(run.suboptimality[:n_np].mean()),
    }
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    (res_dir / "online.json").write_text(json.dumps(out, indent=2))
    print(f"compiled UCBVI : {eps_numba:10.0f} episodes/s ({episodes} episodes)")
    print(f"NumPy UCBVI    : {eps_numpy:10.0f} episodes/s ({n_np} episodes)")
    print(f"speedup        : {eps_numba / eps_numpy:10.1f}x wall clock, {cpu_ratio:.1f}x CPU time  (target >= 50x)")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    main(args.episodes, args.repeats)
