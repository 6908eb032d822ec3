"""Figure 30: R2PVI robustness (test reward vs perturbation q, PEVI vs R2PVI-TV/KL/chi2) and consistency (K^{-1/2}) (CLAIMS C7).

Drawn by the registered check `r2pvi_consistency_bound_robustness`, which also verifies
the numbers it plots: the log-log slope -1/2 of the estimation error against the exact
d-rectangular robust regularized Q, and the smaller reward drop of R2PVI than PEVI on
the paper's simulated linear MDP (20 replications, K = 100, lam = 0.1; test rewards are
exact expected returns of the learned policies on the perturbed MDPs).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "r2pvi_consistency_bound_robustness"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
