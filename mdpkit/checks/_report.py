"""Text table and Markdown report for check results."""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .._comparison import HEADER, cells, render
from ._registry import CheckResult

_row = cells


def format_table(results: Sequence[CheckResult]) -> str:
    """Plain-text table: one line per comparison, grouped by check."""
    lines: list[tuple[str, ...]] = [HEADER]
    for r in results:
        lines.append((f"{r.name}  [{r.status}, {r.seconds:.1f}s]", "", "", "", "", r.status))
        for c in r.comparisons:
            q, *rest = _row(c)
            lines.append(("  " + q, *rest))
        if r.status in ("SKIP", "ERROR") and r.message:
            lines.append(("  " + r.message.strip().splitlines()[-1][:100], "", "", "", "", ""))
    n_pass = sum(r.status == "PASS" for r in results)
    n_fail = sum(r.status in ("FAIL", "ERROR") for r in results)
    n_skip = sum(r.status == "SKIP" for r in results)
    return render(lines, f"{n_pass} passed, {n_fail} failed, {n_skip} skipped")


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
