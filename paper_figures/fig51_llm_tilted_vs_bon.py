"""Figure 51: Tilted (KL-regularized) policy vs best-of-N on a trained tiny LM: the exact reward-KL frontier, best-of-N points (exact and sampled) and soft-Q samples.

Draws the figure of the ``llm_tilted_softq`` theorem check (LLM bridge; needs the ``[llm]``
extra) under the mdpkit plotting style and writes PDF and PNG. The tiny model is trained
on CPython's pydoc_data help texts in seconds; runs on a GPU when present.
"""

from __future__ import annotations

import argparse
import pathlib

CHECK = "llm_tilted_softq"


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
