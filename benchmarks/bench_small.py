"""Small problems: the share of input validation in many small constructions and solves.

Run ``python benchmarks/bench_small.py [--n 1000] [--out benchmarks/results/small.json]``.

A property-based test (hypothesis) builds and solves hundreds of tiny random MDPs; their
cost must not be dominated by validation. This script builds ``n`` random MDPs
(``S`` in 2..10, ``A`` in 1..4, ``gamma`` in [0.5, 0.99), seeded) and solves each with the
default method, then the same with a KL regularizer, and reports the time spent inside
the validation functions of :class:`mdpkit.TabularMDP` and :func:`mdpkit.solve` (each
wrapped with a timer that counts only the outermost validation call) over the total.
The wrappers' own cost is counted as validation, so the share is an upper bound.
Target: under 50 %. It also times a 20-state, 4-action solve against QuantEcon's
``DiscreteDP.solve`` (interleaved, best of several repeats).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's mdpkit
import mdpkit as mk  # noqa: E402
from mdpkit.mdp import _tabular  # noqa: E402
from mdpkit.solvers import _solve  # noqa: E402

# (module, name) of every validation step on the path construct -> solve
VALIDATORS = [
    (_tabular, n) for n in ("_check_gamma_horizon", "as_float_array", "_is_transition_reward", "_feasible_rewards",
                            "_check_value_range", "_checked_csr", "_fill_infeasible_rows", "check_simplex",
                            "_check_terminal")
] + [(_solve, n) for n in ("_check_options", "_masked_reference", "as_float_array")]


class Clock:
    """Accumulates the time of the outermost wrapped call."""

    def __init__(self) -> None:
        self.total = 0.0
        self.depth = 0

    def wrap(self, f):
        """Return ``f`` timed into :attr:`total` (outermost call only)."""

        @functools.wraps(f)
        def g(*args, **kwargs):
            if self.depth:
                return f(*args, **kwargs)
            self.depth += 1
            t = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - t
                self.depth -= 1
        return g


def models(n: int, seed: int = 0):
    """``n`` seeded random ``(P, r, gamma)`` with ``S`` in 2..10 and ``A`` in 1..4."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        S, A = int(rng.integers(2, 11)), int(rng.integers(1, 5))
        out.append((rng.dirichlet(np.ones(S), size=(S, A)), rng.normal(size=(S, A)), float(rng.uniform(0.5, 0.99))))
    return out


def run(data, soft: bool) -> None:
    """Construct and solve every model (KL toward uniform, ``beta = 0.5``, if ``soft``)."""
    for P, r, g in data:
        m = mk.TabularMDP(P, r, gamma=g)
        if soft:
            mk.solve_kl_regularized(m, np.full(r.shape, 1.0 / r.shape[1]), 0.5)
        else:
            mk.solve(m)


def validation_share(n: int) -> dict[str, float]:
    """Total and validation seconds of ``n`` small constructions and solves, hard and soft."""
    data = models(n)
    run(data[:20], False)  # compile / load the kernels
    run(data[:20], True)
    out = {}
    for soft in (False, True):
        clock = Clock()
        saved = [(mod, name, getattr(mod, name)) for mod, name in VALIDATORS]
        try:
            for mod, name, f in saved:
                setattr(mod, name, clock.wrap(f))
            t = time.perf_counter()
            run(data, soft)
            total = time.perf_counter() - t
        finally:
            for mod, name, f in saved:
                setattr(mod, name, f)
        key = "soft" if soft else "hard"
        out[f"{key}: total s"] = total
        out[f"{key}: validation s"] = clock.total
        out[f"{key}: validation share"] = clock.total / total
    return out


def versus_quantecon(repeats: int = 5) -> dict[str, float]:
    """Time a 20-state, 4-action solve against ``DiscreteDP.solve`` (best of interleaved repeats)."""
    import quantecon as qe

    mdp = mk.random_mdp(20, 4, gamma=0.95, rng=0)
    ddp = qe.markov.DiscreteDP(mdp.r, mdp.P, 0.95)
    err = float(np.abs(mk.solve(mdp).V - ddp.solve().v).max())
    best = {"mdpkit": np.inf, "quantecon": np.inf}
    for _ in range(repeats):
        for name, f in (("mdpkit", lambda: mk.solve(mdp)), ("quantecon", ddp.solve)):
            f()
            t = time.perf_counter()
            for _ in range(50):
                f()
            best[name] = min(best[name], (time.perf_counter() - t) / 50)
    return {"20x4 mdpkit us": best["mdpkit"] * 1e6, "20x4 quantecon us": best["quantecon"] * 1e6,
            "20x4 quantecon/mdpkit": best["quantecon"] / best["mdpkit"], "20x4 max |V diff|": err}


def main(argv=None) -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="random small MDPs (default 1000)")
    ap.add_argument("--quick", action="store_true", help="200 MDPs instead of --n")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/small.json"))
    args = ap.parse_args(argv)
    res = {**validation_share(200 if args.quick else args.n), **versus_quantecon()}
    for k, v in res.items():
        print(f"{k:28s} {v:.4g}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
