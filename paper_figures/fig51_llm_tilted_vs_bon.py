"""Figure 51: Tilted (KL-regularized) policy vs best-of-N on a trained tiny LM: the exact reward-KL frontier, best-of-N points (exact and sampled) and soft-Q samples.

Draws the figure of the ``llm_tilted_softq`` theorem check (LLM bridge; needs the ``[llm]``
extra) under the mdpkit plotting style and writes PDF and PNG. The tiny model is trained
on CPython's pydoc_data help texts in seconds; runs on a GPU when present.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check_figure, cli  # noqa: E402

CHECK = "llm_tilted_softq"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    return check_figure(CHECK, out_dir, quick)


if __name__ == "__main__":
    cli(main, __doc__)
