"""Helpers shared by the sweep-based figure scripts (fig6N_*.py).

The scripts read sweep output: :func:`sweep_table` runs (or resumes) the sim's sweep
into ``results/<sim>`` (``results/<sim>_quick`` with ``quick``) at the repository root,
the folder ``mdpkit sweep`` uses, so a sweep run beforehand is read back, not
recomputed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Where sweeps are stored (the default of ``mdpkit sweep --out``, at the repo root).
RESULTS = ROOT / "results"


def sweep_table(sim: str, quick: bool, *, results: Path | None = None):
    """The results table of ``sims/<sim>.py`` (computed only where not stored)."""
    import mdpkit as mk

    root = RESULTS if results is None else Path(results)
    out = root / (f"{sim}_quick" if quick else sim)
    # Quick grids are tiny: running them in this process beats starting a pool.
    return mk.sweep.run(ROOT / "sims" / f"{sim}.py", quick=quick, out=out,
                        executor="serial" if quick else "local", progress=not quick)


def best_time(f: Callable[[], object], repeat: int, *, warm_up: bool = True) -> float:
    """Return the best wall time of ``repeat`` calls of ``f`` (after one untimed call if ``warm_up``)."""
    if warm_up:
        f()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    """Write ``stem.pdf`` and ``stem.png`` into ``out_dir``; close the figure."""
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.pdf", out_dir / f"{stem}.png"]
    for p in paths:
        fig.savefig(p, dpi=200 if p.suffix == ".png" else None, bbox_inches="tight")
    plt.close(fig)
    return paths


def mean_se(df, by: list[str], col: str):
    """Mean and standard error of ``col`` over seeds, grouped by ``by`` (sorted)."""
    g = df.groupby(by, sort=True)[col]
    mean = g.mean()
    se = (g.std(ddof=1) / g.count() ** 0.5).fillna(0.0)
    return mean, se


def cli(main: Callable[..., list[Path]], doc: str | None) -> None:
    """The ``__main__`` block of a figure script: ``--out DIR`` and ``--quick``."""
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    p.add_argument("--out", type=Path, default=Path("figures"), help="output folder (default ./figures)")
    p.add_argument("--quick", action="store_true", help="reduced sweep (seconds)")
    a = p.parse_args()
    for path in main(a.out, quick=a.quick):
        print(path)


def check_figure(check: str, out_dir: Path, quick: bool = False) -> list[Path]:
    """Draw the figure of the registered theorem check ``check`` into ``out_dir``.

    The check verifies the numbers it plots (measured vs predicted, printed as a
    table); a check that does not pass stops the figure build with its message.
    Returns the PNG and PDF paths.
    """
    from mdpkit import plotting
    from mdpkit.checks import format_table, run_check

    with plotting.style():
        res = run_check(check, out_dir=Path(out_dir), quick=quick)
    print(format_table([res]))
    if res.status not in ("PASS", "SKIP"):
        raise SystemExit(f"{check} did not pass: {res.status}\n{res.message}")
    return [q for p in res.figures for q in (p, p.with_suffix(".pdf"))]
