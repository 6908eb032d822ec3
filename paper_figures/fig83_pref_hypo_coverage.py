"""Figure 83: HyPO's coverage counterexample: offline DPO keeps mass on an uncovered response, HyPO does not.

Draws the figure of the ``pref_hypo_coverage`` theorem check (which also prints its
measured vs predicted table) under the mdpkit plotting style, and writes PDF and PNG.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "pref_hypo_coverage"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
