"""The online learners' speed against another checkout of mdpkit (a regression check).

Issue "One action part, one vocabulary" asks that the learners show no slowdown over 5%
against the tree before the change. This script times each learner in the tree given by
``--old`` (e.g. a ``git worktree add --detach ../old 357b7e2``) and in this tree, in
subprocesses that alternate old and new, and prints new/old of the best process-CPU time
(CPU time, not wall time: other processes on a shared machine only ever add to it).

Instances: ``mk.random_mdp(n_states=20, n_actions=5, horizon=10, rng=0, stationary=False)``
for UCBVI, KL-regularized UCBVI toward the uniform policy (UCBVI-Ent) and toward a random
reference (KL-UCBVI), demonstration-regularized UCBVI, all at ``beta = 0.1``;
``mk.random_linear_mdp(20, 5, 8, 10, rng=0)`` for LSVI-UCB and its KL form. The final
cumulative regret is printed for both trees (equal where the random streams agree).

Run: ``python benchmarks/bench_learners_vs_tree.py --old ../old [--episodes 2000] [--rounds 4]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

LEARNERS = ("ucbvi", "ent", "kl", "demo", "lsvi", "kllsvi")


def worker(tree: str, name: str, K: int, repeats: int) -> None:
    """Time one learner with the mdpkit found in ``tree``; print best CPU seconds and the final regret."""
    sys.path.insert(0, tree)
    import numpy as np

    import mdpkit as mk

    L = mk.learners
    # the vocabulary changed in between: 0.1 called the policy-KL strength ``lam``
    import inspect
    kw = "beta" if "beta" in inspect.signature(L.KLRegularizedUCBVI).parameters else "lam"
    keyword_runner = "n_runs" in inspect.signature(L.run_online).parameters
    mdp = mk.random_mdp(n_states=20, n_actions=5, horizon=10, rng=0, stationary=False)
    pi_ref = np.random.default_rng(1).dirichlet(np.ones(5), size=(10, 20))
    lin = mk.random_linear_mdp(20, 5, 8, 10, rng=0)
    agent, model = {
        "ucbvi": (lambda: L.UCBVI(), mdp),
        "ent": (lambda: L.KLRegularizedUCBVI(**{kw: 0.1}), mdp),
        "kl": (lambda: L.KLRegularizedUCBVI(**{kw: 0.1}, pi_ref=pi_ref), mdp),
        "demo": (lambda: L.DemoRegularizedUCBVI(**{kw: 0.1}, pi_bc=pi_ref), mdp),
        "lsvi": (lambda: L.LSVIUCB(bonus_scale=0.1), lin),
        "kllsvi": (lambda: L.KLRegularizedLSVIUCB(**{kw: 0.1}, bonus_scale=0.1), lin),
    }[name]
    learner = agent()

    def go(k: int):
        if keyword_runner:
            return L.run_online(learner, model, n_episodes=k, rng=0)
        return L.run_online(learner, model, k, rng=0)

    go(5)  # compile / load the cache
    best = np.inf
    for _ in range(repeats):
        t = time.process_time()
        run = go(K)
        best = min(best, time.process_time() - t)
    print(f"{best:.6f} {float(np.asarray(run.regret).ravel()[-1]):.10g}")


def main() -> None:
    """Alternate the two trees per learner and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="path of the other mdpkit checkout")
    ap.add_argument("--episodes", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--learners", default=",".join(LEARNERS))
    ap.add_argument("--worker", nargs=2, metavar=("TREE", "NAME"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.episodes, 3)
        return
    new = str(Path(__file__).resolve().parents[1])
    print(f"{'learner':8s} {'old ms':>9s} {'new ms':>9s} {'new/old':>8s}  final regret old / new")
    for name in args.learners.split(","):
        best = {"old": float("inf"), "new": float("inf")}
        reg = {}
        for _ in range(args.rounds):
            for tag, tree in (("old", args.old), ("new", new)):
                out = subprocess.run([sys.executable, __file__, "--worker", tree, name, "--old", args.old,
                                      "--episodes", str(args.episodes)], capture_output=True, text=True,
                                     cwd="/", check=True)
                t, r = out.stdout.split()
                best[tag] = min(best[tag], float(t))
                reg[tag] = r
        print(f"{name:8s} {best['old'] * 1e3:9.1f} {best['new'] * 1e3:9.1f} {best['new'] / best['old']:8.3f}"
              f"  {reg['old']} / {reg['new']}", flush=True)


if __name__ == "__main__":
    main()
