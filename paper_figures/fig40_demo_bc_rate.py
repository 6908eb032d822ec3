"""Figure 40: Behaviour cloning: N^E E[KL_traj] converging to its exact constant sum (k-1)/2 + kappa (A-k), and the pre-asymptotic regime (CLAIMS C9 i).

Drawn by the registered check `demo_reg_bc_rate`, which also verifies the numbers it plots.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "demo_reg_bc_rate"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
