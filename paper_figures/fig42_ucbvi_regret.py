"""Figure 42: UCBVI regret: sqrt(K) for mdpkit's Hoeffding bonus on worst-case gaps, and Azar et al.'s UCBVI-CH / -BF against Theorems 1 and 2 (CLAIMS C9 (iv)).

Drawn by the registered check `ucbvi_regret_sqrt_k`, which also verifies the numbers it plots.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "ucbvi_regret_sqrt_k"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
