"""Figure 14: Nash gap of no-regret self-play against (R1 + R2)/T (C15 v).

Draws the figure of the ``bandit_no_regret_nash`` theorem check (which also prints its measured vs
predicted table) under the mdpkit plotting style, and writes PDF and PNG.
"""

from __future__ import annotations

import argparse
import pathlib

CHECK = "bandit_no_regret_nash"


def main(out_dir: pathlib.Path, quick: bool = False) -> list[pathlib.Path]:
    """Run the check with figures enabled; return the PNG and PDF paths."""
    from mdpkit import plotting
    from mdpkit.checks import format_table, run_check

    out_dir = pathlib.Path(out_dir)
    with plotting.style():
        res = run_check(CHECK, out_dir=out_dir, quick=quick)
    print(format_table([res]))
    if res.status not in ("PASS", "SKIP"):
        raise SystemExit(f"{CHECK} did not pass: {res.status}\n{res.message}")
    return [q for p in res.figures for q in (p, p.with_suffix(".pdf"))]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("figures"))
    ap.add_argument("--quick", action="store_true", help="reduced instance (seconds)")
    args = ap.parse_args()
    for p in main(args.out, quick=args.quick):
        print(p)
