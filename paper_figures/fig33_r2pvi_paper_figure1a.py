"""Figure 33: R2PVI paper Figure 1(a) reproduced on the paper's instance (official-code settings), with the published points, the exact chi-square dual and the KL curve at lambda 0.1 (CLAIMS C7).

Drawn by the registered check `r2pvi_paper_figure1a`, which also verifies the numbers it plots.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "r2pvi_paper_figure1a"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
