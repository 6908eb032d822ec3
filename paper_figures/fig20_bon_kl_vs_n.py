"""Figure 20: Best-of-N KL against log N - (N-1)/N (CLAIMS C2).

Drawn by the registered check `bon_kl_upper_bound`, which also verifies the numbers it plots.
"""

from __future__ import annotations

import argparse
import pathlib

from mdpkit import plotting
from mdpkit.checks import run_check


def main(out_dir: pathlib.Path, quick: bool = False) -> list[pathlib.Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    out_dir = pathlib.Path(out_dir)
    with plotting.style():
        res = run_check("bon_kl_upper_bound", quick=quick, out_dir=out_dir)
    if res.status != "PASS":
        raise RuntimeError(f"check bon_kl_upper_bound did not pass: {res.status}\n{res.message}")
    return [p for png in res.figures for p in (png, png.with_suffix(".pdf"))]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("figures"))
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    for p in main(a.out, a.quick):
        print(p)
