"""Figure 22: Per-token reward of best-of-e^{n Delta} converging to x_Delta, and gap*n against log n with the Bahadur-Rao slope 1/(2 t*) (CLAIMS C4).

Drawn by the registered check `bon_tilt_asymptotic_equivalence`, which also verifies the numbers it plots.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "bon_tilt_asymptotic_equivalence"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
