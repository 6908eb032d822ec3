"""Figure 01: time to solve a discounted MDP (tol = 1e-8) against the number of states S, log-log.

mdpkit's default ``solve`` against QuantEcon's best converged method (the fastest of
its value, policy and modified policy iteration whose answer is within 1e-6 of the
reference) and the memory floor of one Bellman sweep: one read of the transition
arrays at the streaming bandwidth measured in the same run. A solver that sweeps all
of ``P`` even once cannot be faster; on the dense models mdpkit's modified policy
iteration reads only the rows that action elimination cannot rule out (about one per
state per sweep, see ``mdpkit.solvers._methods``), so it can go below that line. Left: dense random MDPs (A = 10, gamma = 0.99). Right: the banded slow-mixing
chain ``mk.banded_chain`` (A = 4, band 7, gamma = 0.99, sparse). Each point is the best
of a few runs; QuantEcon's value iteration is left out of the dense panel beyond
S = 500 and in quick mode (its sup-norm stopping takes thousands of sweeps; it is
never QuantEcon's fastest method there, see ``benchmarks/bench_solvers.py``).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

import mdpkit as mk
from mdpkit import plotting

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_time, cli, save  # noqa: E402


def _bandwidth() -> float:
    a = np.ones(5_000_000)
    return a.nbytes / best_time(lambda: a.sum(), 3)


def _qe_best(mdp, ref, repeat, methods):
    import quantecon as qe

    S, A = mdp.n_states, mdp.n_actions
    if mdp.is_sparse:
        ddp = qe.markov.DiscreteDP(mdp.r.ravel(), mdp.P_csr, mdp.gamma, np.repeat(np.arange(S), A),
                                   np.tile(np.arange(A), S))
    else:
        ddp = qe.markov.DiscreteDP(mdp.r, mdp.P, mdp.gamma)
    best = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in methods:
            res = ddp.solve(method=m, epsilon=1e-8, max_iter=10**6)
            if np.abs(res.v - ref).max() <= 1e-6:
                best = min(best, best_time(lambda m=m: ddp.solve(method=m, epsilon=1e-8, max_iter=10**6), repeat))
    return best


def _curve(make, sizes, repeat, bw, qe_methods):
    ours, theirs, floor = [], [], []
    for S in sizes:
        mdp = make(S)
        ref = mk.solve(mdp, tol=1e-11).V
        ours.append(best_time(lambda mdp=mdp: mk.solve(mdp), repeat))
        theirs.append(_qe_best(mdp, ref, repeat, qe_methods(S)))
        nbytes = mdp.P_csr.nnz * 12 if mdp.is_sparse else mdp.n_states**2 * mdp.n_actions * 8
        floor.append(nbytes / bw)
    return np.array(ours), np.array(theirs), np.array(floor)


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    dense_S = [100, 200, 400] if quick else [250, 500, 1000, 2000]
    chain_S = [200, 400, 800] if quick else [500, 1000, 2000, 4000]
    repeat = 1 if quick else 3
    bw = _bandwidth()
    all_qe = ("value_iteration", "policy_iteration", "modified_policy_iteration")
    dense = _curve(lambda S: mk.random_mdp(S, 10, gamma=0.99, rng=0), dense_S, repeat, bw,
                   lambda S: all_qe if S <= 500 and not quick else all_qe[1:])
    chain = _curve(lambda S: mk.banded_chain(S, gamma=0.99), chain_S, repeat, bw,
                   lambda S: all_qe[1:] if quick else all_qe)
    with plotting.style():
        fig, axes = plotting.subplots(1, 2, figsize=(9.0, 3.4))
        for ax, sizes, (ours, theirs, floor), title in (
            (axes[0], dense_S, dense, "dense random, A = 10"),
            (axes[1], chain_S, chain, "banded chain, A = 4 (sparse)"),
        ):
            ax.loglog(sizes, theirs * 1e3, marker="s", label="QuantEcon, best converged method")
            ax.loglog(sizes, ours * 1e3, marker="o", label="mdpkit default solve")
            ax.loglog(sizes, floor * 1e3, ls="--", color="0.4", label="one full read of P (one sweep) at memory bandwidth")
            ax.set(xlabel="states S", ylabel="time to tol 1e-8 (ms)", title=title + ", gamma = 0.99")
            ax.set_xticks(sizes, labels=[f"{s:g}" for s in sizes])
        axes[0].legend(fontsize=7)
        return save(fig, out_dir, "fig01_solver_scaling")


if __name__ == "__main__":
    cli(main, __doc__)
