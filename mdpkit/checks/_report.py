"""Text table and Markdown report for check results."""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ._registry import CheckResult, Comparison


def _fmt(x: float | tuple[float, float]) -> str:
    if isinstance(x, tuple):
        return f"[{x[0]:.4g}, {x[1]:.4g}]"
    return f"{x:.6g}"


def _row(c: Comparison) -> tuple[str, str, str, str, str, str]:
    return (c.quantity, _fmt(c.measured), f"{c.relation} {_fmt(c.predicted)}",
            f"{c.tolerance:.2g}", c.route, "PASS" if c.passed else "FAIL")


def format_table(results: Sequence[CheckResult]) -> str:
    """Plain-text table: one line per comparison, grouped by check."""
    head = ("check / quantity", "measured", "predicted", "tol", "route", "")
    lines: list[tuple[str, ...]] = [head]
    for r in results:
        lines.append((f"{r.name}  [{r.status}, {r.seconds:.1f}s]", "", "", "", "", r.status))
        for c in r.comparisons:
            q, *rest = _row(c)
            lines.append(("  " + q, *rest))
        if r.status in ("SKIP", "ERROR") and r.message:
            lines.append(("  " + r.message.strip().splitlines()[-1][:100], "", "", "", "", ""))
    widths = [min(60, max(len(row[i]) for row in lines)) for i in range(len(head))]
    out = []
    for row in lines:
        out.append("  ".join(cell[:60].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    n_pass = sum(r.status == "PASS" for r in results)
    n_fail = sum(r.status in ("FAIL", "ERROR") for r in results)
    n_skip = sum(r.status == "SKIP" for r in results)
    out.append(f"{n_pass} passed, {n_fail} failed, {n_skip} skipped")
    return "\n".join(out)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_report(results: Sequence[CheckResult], out_dir: Path | str) -> Path:
    """Write ``report.md`` (tables and figure links) into ``out_dir``; return its path."""
    out = Path(out_dir)
    from mdpkit import __version__

    md = ["# mdpkit theorem-check report\n",
          f"mdpkit {__version__}, {_dt.datetime.now().isoformat(timespec='seconds')}\n",
          "| check | status | seconds | paper |", "|---|---|---|---|"]
    for r in results:
        md.append(f"| `{r.name}` | {r.status} | {r.seconds:.2f} | {r.paper} |")
    for r in results:
        md += ["", f"## `{r.name}`: {r.status}", "", f"*{r.paper}*", "", r.statement, ""]
        if r.comparisons:
            md += ["| quantity | measured | predicted | tol | independent route | verdict |",
                   "|---|---|---|---|---|---|"]
            md += ["| " + " | ".join(_row(c)) + " |" for c in r.comparisons]
        if r.message:
            md += ["", "```", r.message.strip(), "```"]
        for fig in r.figures:
            md += ["", f"![{fig.stem}]({os.path.relpath(fig, out)})"]
    path = out / "report.md"
    _atomic_write(path, "\n".join(md) + "\n")
    return path
