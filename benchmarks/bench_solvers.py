"""Solver speed against plain NumPy, QuantEcon's DiscreteDP and the memory-bandwidth floor.

Run ``python benchmarks/bench_solvers.py [--quick] [--out benchmarks/results/solvers.json]``.

Printed, per instance, in one process:

* per-sweep time of a standard and a soft (log-sum-exp) Bellman sweep, the NumPy
  sweep (``P @ V`` then max / logsumexp) and the floor = bytes of P read per sweep /
  streaming bandwidth measured in this run (``numpy.sum`` over a 400 MB array);
* total time to ``tol = 1e-8`` for mdpkit's VI / PI / MPI and QuantEcon's VI / PI /
  MPI, with each answer's error against a reference solution. QuantEcon is run with
  ``max_iter = 10**6``: with its default (250) it stops early on slow-mixing chains
  and returns values off by several units, which is not a fair time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from numba import njit, prange

import mdpkit as mk
from mdpkit.solvers import _bellman_kernels as BK

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_time  # noqa: E402


@njit(parallel=True, fastmath=True)
def _stream_sum(a):
    acc = 0.0
    for i in prange(a.shape[0]):
        acc += a[i]
    return acc


def bandwidth():
    """Streaming read bandwidth: a parallel sum over 400 MB with the sweep's thread count."""
    a = np.ones(50_000_000)
    t = best_time(lambda: _stream_sum(a), repeat=5)
    return a.nbytes / t


def sweep_times(mdp, bw):
    S, A = mdp.n_states, mdp.n_actions
    V = np.random.default_rng(0).normal(size=S)
    Q2 = np.empty(S * A)
    Vn, pi = np.empty(S), np.empty((S, A))
    log_ref = np.full((S, A), -np.log(A))
    r2 = np.ascontiguousarray(mdp.r.ravel())
    par = mk.get_num_threads() > 1
    if mdp.is_sparse:
        csr = mdp.P_csr
        ip, ix, d = csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data
        q = (BK.q_csr_into_par if par else BK.q_csr_into)
        qf = lambda: q(ip, ix, d, r2, 0.99, V, Q2)  # noqa: E731
        nbytes = d.nbytes + ix.nbytes + ip.nbytes
        np_q = lambda: r2 + 0.99 * (csr @ V)  # noqa: E731
    else:
        P2 = np.ascontiguousarray(mdp.P.reshape(S * A, S))
        q = (BK.q_dense_into_par if par else BK.q_dense_into)
        qf = lambda: q(P2, r2, 0.99, V, Q2)  # noqa: E731
        nbytes = P2.nbytes
        np_q = lambda: r2 + 0.99 * (P2 @ V)  # noqa: E731
    Q = Q2.reshape(S, A)
    act = BK.action_into_par if par else BK.action_into

    def hard():
        qf()
        act(BK.ACT_MAX, Q, log_ref, 1.0, Vn, pi, False)

    def soft():
        qf()
        act(BK.ACT_KL, Q, log_ref, 0.1, Vn, pi, False)

    def numpy_hard():
        np_q().reshape(S, A).max(axis=1)

    def numpy_soft():
        z = np_q().reshape(S, A) / 0.1 + log_ref
        m = z.max(axis=1, keepdims=True)
        0.1 * (m[:, 0] + np.log(np.exp(z - m).sum(axis=1)))

    out = {k: best_time(f) for k, f in
           [("hard", hard), ("soft", soft), ("numpy_hard", numpy_hard), ("numpy_soft", numpy_soft)]}
    out["floor"] = nbytes / bw
    return out


def quantecon_ddp(mdp, gamma):
    import quantecon as qe

    S, A = mdp.n_states, mdp.n_actions
    if mdp.is_sparse:
        return qe.markov.DiscreteDP(mdp.r.ravel(), mdp.P_csr, gamma, np.repeat(np.arange(S), A),
                                    np.tile(np.arange(A), S))
    return qe.markov.DiscreteDP(mdp.r, mdp.P, gamma)


def total_times(mdp, gamma, with_qe, repeat, skip_pi=False):
    ref = mk.solve(mdp, tol=1e-11, max_iter=10**6).V
    rows = {}
    for m in ("value_iteration", "policy_iteration", "modified_policy_iteration"):
        if m == "policy_iteration" and (skip_pi or mdp.n_states > 20_000):
            continue
        t = best_time(lambda m=m: mk.solve(mdp, method=m, tol=1e-8, max_iter=10**6), repeat=repeat, min_time=0)
        err = float(np.abs(mk.solve(mdp, method=m, tol=1e-8, max_iter=10**6).V - ref).max())
        rows[f"mdpkit_{m}"] = (t, err)
    if with_qe:
        ddp = quantecon_ddp(mdp, gamma)
        for m in ("value_iteration", "policy_iteration", "modified_policy_iteration"):
            if m == "policy_iteration" and (skip_pi or mdp.n_states > 5_000):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = best_time(lambda m=m: ddp.solve(method=m, epsilon=1e-8, max_iter=10**6), repeat=repeat,
                              min_time=0)
                err = float(np.abs(ddp.solve(method=m, epsilon=1e-8, max_iter=10**6).v - ref).max())
            rows[f"quantecon_{m}"] = (t, err)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-quantecon", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/solvers.json"))
    args = ap.parse_args(argv)
    bw = bandwidth()
    print(f"streaming bandwidth: {bw / 1e9:.1f} GB/s, threads: {mk.get_num_threads()}")
    if args.quick:
        sweep_inst = [("dense S=1000 A=10", mk.random_mdp(n_states=1000, n_actions=10, gamma=0.99, rng=0))]
        total_inst = [("chain S=1500 sparse", mk.chain_mdp(1500, gamma=0.99), 0.99),
                      ("dense S=1000 A=10", sweep_inst[0][1], 0.99)]
    else:
        sweep_inst = [(f"dense S={S} A={A}", mk.random_mdp(n_states=S, n_actions=A, gamma=0.99, rng=0))
                      for S in (500, 1000, 2000) for A in (4, 10)]
        sweep_inst += [("gridworld S=1e5 sparse", mk.gridworld(316, 316, gamma=0.99))]
        total_inst = []
        for g in (0.9, 0.99):
            total_inst += [(f"dense S={S} A={A} g={g}", mk.random_mdp(n_states=S, n_actions=A, gamma=g, rng=0), g)
                           for S, A in ((500, 4), (1000, 10), (2000, 10))]
            total_inst += [(f"chain S=1500 sparse g={g}", mk.chain_mdp(1500, gamma=g), g),
                           (f"chain S=1500 dense g={g}", mk.chain_mdp(1500, gamma=g, sparse=False), g),
                           (f"gridworld S=1e4 sparse g={g}", mk.gridworld(100, 100, gamma=g), g),
                           (f"gridworld S=1e5 sparse g={g}", mk.gridworld(316, 316, gamma=g), g)]
    results = {"bandwidth_GBps": bw / 1e9, "sweeps": {}, "totals": {}}
    print("\n== per sweep (ms); ratios: /floor, soft/hard, numpy/mdpkit ==")
    for name, mdp in sweep_inst:
        t = sweep_times(mdp, bw)
        results["sweeps"][name] = t
        print(f"{name:26s} hard {t['hard'] * 1e3:7.3f}  soft {t['soft'] * 1e3:7.3f}  floor {t['floor'] * 1e3:7.3f}"
              f"  | hard/floor {t['hard'] / t['floor']:5.2f}  soft/hard {t['soft'] / t['hard']:5.2f}"
              f"  numpy/mdpkit {t['numpy_hard'] / t['hard']:5.2f} (soft {t['numpy_soft'] / t['soft']:5.2f})", flush=True)
    print("\n== total time to tol=1e-8 (ms) [max error vs reference] ==")
    for name, mdp, g in total_inst:
        # Howard PI needs ~S/2 improvements on the chain (each one exact solve): both
        # libraries' PI take minutes there, so it is left out of the chain rows.
        rows = total_times(mdp, g, not args.no_quantecon, repeat=1 if mdp.n_states > 5_000 else 3,
                           skip_pi="chain" in name and not args.quick)
        results["totals"][name] = rows
        ours = min(v[0] for k, v in rows.items() if k.startswith("mdpkit_value"))
        qe_best = min((v[0] for k, v in rows.items() if k.startswith("quantecon") and v[1] < 1e-6), default=np.nan)
        cells = "  ".join(f"{k.replace('_iteration', '')}={v[0] * 1e3:.1f}[{v[1]:.0e}]" for k, v in rows.items())
        print(f"{name:30s} {cells}\n{'':30s} quantecon best (converged) / mdpkit default: {qe_best / ours:.1f}x",
              flush=True)
    soft = mk.gridworld(316, 316, gamma=0.99)
    t0 = time.perf_counter()
    res = mk.solve_kl_regularized(soft, mk.uniform_policy(soft), 0.1, tol=1e-8, max_iter=10**6)
    results["soft_gridworld_1e5_seconds"] = time.perf_counter() - t0
    print(f"\nsoft VI, sparse gridworld S=1e5 A=4, gamma=0.99, tol=1e-8: "
          f"{results['soft_gridworld_1e5_seconds']:.2f} s ({res.n_iter} sweeps)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=float))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
