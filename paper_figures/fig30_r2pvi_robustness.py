"""Figure 30: R2PVI robustness (test reward vs perturbation q, PEVI vs R2PVI-TV/KL/chi2) and consistency (K^{-1/2}) (CLAIMS C7).

Drawn by the registered check `r2pvi_consistency_bound_robustness`, which also verifies
the numbers it plots: the log-log slope -1/2 of the estimation error against the exact
d-rectangular robust regularized Q, and the smaller reward drop of R2PVI than PEVI on
the paper's simulated linear MDP (20 replications, K = 100, lam = 0.1; test rewards are
exact expected returns of the learned policies on the perturbed MDPs).
"""

from __future__ import annotations

import argparse
import pathlib

from mdpkit import plotting
from mdpkit.checks import run_check


def main(out_dir: pathlib.Path, quick: bool = False) -> list[pathlib.Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    out_dir = pathlib.Path(out_dir)
    with plotting.style():
        res = run_check("r2pvi_consistency_bound_robustness", quick=quick, out_dir=out_dir)
    if res.status != "PASS":
        raise RuntimeError(f"check r2pvi_consistency_bound_robustness did not pass: {res.status}\n{res.message}")
    return [p for png in res.figures for p in (png, png.with_suffix(".pdf"))]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("figures"))
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    for p in main(a.out, a.quick):
        print(p)
