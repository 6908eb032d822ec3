"""Figure 34: R2PVI suboptimality on the paper's instance at lambda 0.1 against the bound's K^{-1/2} instance term (CLAIMS C7 ii).

Drawn by the registered check `r2pvi_suboptimality_rate`, which also verifies the numbers it plots.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "r2pvi_suboptimality_rate"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
