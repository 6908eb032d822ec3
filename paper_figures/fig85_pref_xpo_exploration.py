"""Figure 85: online DPO vs XPO rounds against pi_ref(y*), from the registered check (median over seeds, slopes in the legend).

Draws the figure of the ``pref_xpo_exploration`` theorem check (which also prints its
measured vs predicted table) under the mdpkit plotting style, and writes PDF and PNG.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "pref_xpo_exploration"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
