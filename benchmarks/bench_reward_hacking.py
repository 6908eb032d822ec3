"""Benchmark: exact gold-reward curves on a reference with 1e5 atoms.

Target (issue "Reward hacking and overoptimization"): an exact gold-reward curve over
200 KL values on a reference with 10^5 atoms in under 1 s, for the proxy-tilted policy
and for best-of-N. Baselines, timed in the same process: the tilt by a NumPy softmax per
point (``logsumexp`` over all atoms), and best-of-N through the public ``mk.bon`` objects
(``best_of_n`` + ``kl`` + a dot product per N); the curves are compared for accuracy.

Run: ``PYTHONPATH=. python benchmarks/bench_reward_hacking.py [--quick]``.
"""

from __future__ import annotations

import json
import pathlib
import platform
import sys
import time

import numpy as np
from scipy.special import logsumexp

import mdpkit as mk

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import best_time  # noqa: E402


def cpu_time(fn, repeat: int = 3) -> float:
    """Best process CPU time of ``fn`` (what an idle core would take on a shared machine)."""
    out = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        out = min(out, time.process_time() - t0)
    return out


def numpy_tilt_curve(p, proxy, gold, betas):
    out = np.empty((len(betas), 2))
    lp = np.log(p)
    for j, b in enumerate(betas):
        a = lp + proxy / b if np.isfinite(b) else lp.copy()
        lq = a - logsumexp(a)
        q = np.exp(lq)
        out[j] = (q @ (lq - lp), q @ gold)
    return out


def bon_objects_curve(p, proxy, gold, ns):
    ref = mk.bon.Discrete(p, proxy)
    out = np.empty((len(ns), 2))
    for j, n in enumerate(ns):
        q = mk.bon.best_of_n(ref, int(n))
        out[j] = (mk.bon.kl(q, ref), q.probs @ gold)
    return out


def main(quick: bool = False) -> dict:
    rh = mk.reward_hacking
    k = 10_000 if quick else 100_000
    rng = np.random.default_rng(0)
    gold = rng.normal(size=k)
    law = rh.JointLaw(rng.dirichlet(np.full(k, 5.0)), gold, gold + rng.standard_t(3.0, size=k))
    res: dict = {"n_atoms": k, "machine": platform.machine(), "python": platform.python_version()}

    t_tilt = best_time(lambda: rh.gold_reward_curve(law, "tilted", n_points=200), repeat=3, min_time=0.0)
    c = rh.gold_reward_curve(law, "tilted", n_points=200)
    cpu_tilt = cpu_time(lambda: rh.gold_reward_curve(law, "tilted", n_points=200))
    t_np = best_time(lambda: numpy_tilt_curve(law.probs, law.proxy, law.gold, c.param), repeat=1, min_time=0.0)
    base = numpy_tilt_curve(law.probs, law.proxy, law.gold, c.param)
    err = float(np.max(np.abs(base - np.c_[c.kl, c.gold])))
    res["tilted"] = {"points": 200, "mdpkit_s": t_tilt, "mdpkit_cpu_s": cpu_tilt, "numpy_s": t_np, "max_abs_diff": err}
    print(f"K = {k:,}: tilted curve, 200 points: mdpkit {t_tilt:.3f} s (CPU {cpu_tilt:.3f} s), NumPy softmax {t_np:.3f} s "
          f"(x{t_np / t_tilt:.1f}), max |diff| {err:.1e}")

    ns = np.unique(np.round(np.geomspace(1, 10**6, 200)))
    t_bon = best_time(lambda: rh.gold_reward_curve(law, "best_of_n", n=ns), repeat=3, min_time=0.0)
    cb = rh.gold_reward_curve(law, "best_of_n", n=ns)
    cpu_bon = cpu_time(lambda: rh.gold_reward_curve(law, "best_of_n", n=ns))
    sub = ns[:: max(1, len(ns) // 20)]
    t_obj = best_time(lambda: bon_objects_curve(law.probs, law.proxy, law.gold, sub), repeat=1,
                      min_time=0.0) * len(ns) / len(sub)
    base = bon_objects_curve(law.probs, law.proxy, law.gold, sub)
    idx = np.searchsorted(ns, sub)
    err = float(np.max(np.abs(base - np.c_[cb.kl[idx], cb.gold[idx]])))
    res["best_of_n"] = {"points": int(len(ns)), "mdpkit_s": t_bon, "mdpkit_cpu_s": cpu_bon, "bon_objects_s": t_obj,
                        "max_abs_diff": err}
    print(f"K = {k:,}: best-of-N curve, {len(ns)} values of N: mdpkit {t_bon:.3f} s (CPU {cpu_bon:.3f} s), mk.bon objects "
          f"{t_obj:.3f} s (x{t_obj / t_bon:.1f}, extrapolated from {len(sub)}), max |diff| {err:.1e}")
    ok = max(t_tilt, t_bon) < 1.0
    ok_cpu = max(cpu_tilt, cpu_bon) < 1.0
    print("target (< 1 s per 200-point curve): wall", "met" if ok else "not met (shared machine?)",
          "| CPU time", "met" if ok_cpu else "NOT met")
    out = pathlib.Path(__file__).parent / "results" / "reward_hacking.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    print(f"saved {out}")
    return res


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
