"""Matplotlib style for mdpkit figures, applied explicitly (never at import).

>>> from mdpkit import plotting
>>> sorted(plotting.STYLE)[:2]
['axes.grid', 'axes.spines.right']
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

STYLE: dict[str, Any] = {
    "axes.grid": True,
    "axes.spines.right": False,
    "axes.spines.top": False,
    "grid.alpha": 0.3,
    "figure.figsize": (5.0, 3.4),
    "figure.dpi": 120,
    "font.size": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "savefig.bbox": "tight",
}


@contextmanager
def style():
    """Context manager applying :data:`STYLE` (uses the Agg backend if none is set)."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        yield plt


def subplots(*args: Any, **kwargs: Any):
    """``plt.subplots`` under the mdpkit style; returns ``(fig, ax)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):  # type: ignore[arg-type]  # rc keys typed as a Literal union; STYLE keys are valid rcParams
        return plt.subplots(*args, **kwargs)


__all__ = ["STYLE", "style", "subplots"]
