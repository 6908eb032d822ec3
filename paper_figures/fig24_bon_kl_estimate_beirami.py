"""Figure 24: Beirami et al. Eq. 25, the top-mass KL estimate d_N(eps), against log N - (N-1)/N and the two-outcome KL (CLAIMS C2).

Drawn by the registered check `bon_kl_estimate_beirami`, which also verifies the numbers it plots.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "bon_kl_estimate_beirami"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
