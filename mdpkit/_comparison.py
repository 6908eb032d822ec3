"""The one measured-vs-predicted record of mdpkit: rows, verdicts and their text table.

Used by the theorem-check registry (:mod:`mdpkit.checks`) and by the LLM validation
report (:func:`mdpkit.llm.validate`), so ``mdpkit check`` and ``mdpkit llm validate``
decide and print a comparison the same way. It lives below both (no module under
``checks`` imports ``checks``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._results import as_frame

Relation = Literal["==", "<=", ">=", "in"]
RELATIONS = ("==", "<=", ">=", "in")


@dataclass(frozen=True)
class Comparison:
    """One measured-vs-predicted row.

    Attributes
    ----------
    quantity : str
    measured : float
    predicted : float or (float, float)
        A value, or an interval for ``relation == "in"``.
    tolerance : float
    relation : {"==", "<=", ">=", "in"}
    route : str
        The independent route that produced ``predicted``.
    passed : bool
    note : str
    section, param : str
        Grouping and parameter of the row (the LLM report: ``"best-of-N"``, ``"N=4"``).
    se : float
        Standard error of ``measured`` (0 for an exact value).
    """

    quantity: str
    measured: float
    predicted: float | tuple[float, float]
    tolerance: float
    relation: str
    route: str
    passed: bool
    note: str = ""
    section: str = ""
    param: str = ""
    se: float = 0.0


COLUMNS = ("section", "quantity", "param", "measured", "se", "predicted", "tolerance", "relation", "route",
           "passed")


def comparison_frame(rows: Sequence[Comparison]) -> Any:
    """Return one row per comparison with the columns of :data:`COLUMNS` (a pandas DataFrame).

    ``predicted`` is a float column, or an object column holding ``(lo, hi)`` tuples where some
    row has ``relation == "in"``.
    """
    cols: dict[str, Any] = {k: [getattr(r, k) for r in rows] for k in COLUMNS}
    if any(isinstance(p, tuple) for p in cols["predicted"]):
        predicted = np.empty(len(rows), dtype=object)
        predicted[:] = cols["predicted"]
        cols["predicted"] = predicted
    return as_frame(cols)


def verdict(measured: float, predicted: float | tuple[float, float], tol: float, relation: str) -> bool:
    """``measured <relation> predicted`` within ``tol``; a NaN or infinity on either side fails.

    ``"=="``: ``|m - p| <= tol``; ``"<="``: ``m <= p + tol``; ``">="``: ``m >= p - tol``;
    ``"in"``: ``p = (lo, hi)`` and ``lo - tol <= m <= hi + tol``.

    >>> verdict(1.0, 2.0, 0.5, "<="), verdict(1.0, (1.5, 2.0), 0.4, "in")
    (True, False)
    """
    if relation not in RELATIONS:
        raise ValueError(f"`relation` must be one of {list(RELATIONS)}; got {relation!r}.")
    m = float(measured)
    if relation == "in":
        lo, hi = (float(v) for v in predicted)  # type: ignore[union-attr]
        return math.isfinite(m) and lo - tol <= m <= hi + tol
    p = float(predicted)  # type: ignore[arg-type]
    if not (math.isfinite(m) and math.isfinite(p)):
        return False
    if relation == "==":
        return abs(m - p) <= tol
    if relation == "<=":
        return m <= p + tol
    return m >= p - tol


def fmt(x: float | tuple[float, float]) -> str:
    """Return a value or an interval, 6 significant digits."""
    if isinstance(x, tuple):
        return f"[{x[0]:.4g}, {x[1]:.4g}]"
    return f"{x:.6g}"


def cells(c: Comparison) -> tuple[str, str, str, str, str, str]:
    """Return the six cells of a row: quantity, measured (± se), predicted, tol, route, verdict."""
    name = " ".join(x for x in (f"[{c.section}]" if c.section else "", c.quantity, c.param) if x)
    meas = fmt(c.measured) + (f" ± {c.se:.2g}" if c.se > 0 else "")
    return (name, meas, f"{c.relation} {fmt(c.predicted)}", f"{c.tolerance:.2g}", c.route,
            "PASS" if c.passed else "FAIL")


HEADER = ("check / quantity", "measured", "predicted", "tol", "route", "")


def render(lines: Sequence[tuple[str, ...]], footer: str) -> str:
    """Left-aligned columns (each at most 60 characters), then ``footer``."""
    widths = [min(60, max(len(row[i]) for row in lines)) for i in range(len(lines[0]))]
    out = ["  ".join(cell[:60].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
           for row in lines]
    return "\n".join([*out, footer])
