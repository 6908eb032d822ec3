"""Figure 71: entropy vs reward along exact PG and sampled GRPO with the fitted empirical law R = -a exp(H) + b (fit on the first third, circled).

Draws the figure of the ``pg_entropy_reward_law`` theorem check (which also prints its measured vs
predicted table) under the mdpkit plotting style, and writes PDF and PNG.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "pg_entropy_reward_law"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
