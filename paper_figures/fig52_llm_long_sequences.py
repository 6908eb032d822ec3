"""Figure 52: Long sequences (no enumeration): importance-weighted KL estimates of best-of-N from the model's own samples against log N - (N-1)/N.

Draws the figure of the ``llm_long_sequence_bound`` theorem check (LLM bridge; needs the ``[llm]``
extra) under the mdpkit plotting style and writes PDF and PNG. The tiny model is trained
on CPython's pydoc_data help texts in seconds; runs on a GPU when present.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "llm_long_sequence_bound"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
