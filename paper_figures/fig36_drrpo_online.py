"""Figure 36: Online DR-RPO: sublinear regret and the robustness curve against the nominal learner (CLAIMS C8 ii, iii).

Drawn by the registered check `drrpo_online_regret_and_robustness`, which also verifies the numbers it plots.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "drrpo_online_regret_and_robustness"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
