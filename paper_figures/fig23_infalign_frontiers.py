"""Figure 23: InfAlign calibrated (KL, BoN win rate) frontiers, tuned exp(tu) vs identity (CLAIMS C5).

Drawn by the registered check `infalign_calibrated_frontier`, which also verifies the numbers it plots.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "infalign_calibrated_frontier"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
