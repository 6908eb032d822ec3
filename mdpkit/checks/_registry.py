"""The theorem-check registry.

A check is a function ``fn(ctx: CheckContext) -> None`` registered with
:func:`register`. It computes a quantity with the package, computes the predicted value
or bound by an *independent* route (closed form, cvxpy program, brute-force enumeration,
Monte-Carlo estimate with its standard error) and records each comparison with
:meth:`CheckContext.compare`. A check passes when every comparison does.

Check modules are the non-underscore modules of ``mdpkit.checks``; they are discovered
and imported by :func:`load_all`, so adding a check is adding a file.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._comparison import RELATIONS as _RELATIONS
from .._comparison import Comparison, Relation, comparison_frame, verdict


@dataclass(frozen=True)
class Check:
    """Metadata of a registered check."""

    name: str
    paper: str
    statement: str
    func: Callable[[CheckContext], None]
    slow: bool = False
    requires: tuple[str, ...] = ()
    module: str = ""

    def missing_requirements(self) -> list[str]:
        """Import names in ``requires`` that are not installed."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]


@dataclass
class CheckResult:
    """Outcome of running one check."""

    name: str
    paper: str
    statement: str
    status: Literal["PASS", "FAIL", "SKIP", "ERROR"]
    comparisons: list[Comparison] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status in ("PASS", "SKIP")

    def summary(self) -> str:
        """Return one line: name, status, passed comparisons and wall time."""
        n_ok = sum(c.passed for c in self.comparisons)
        return (f"{self.name}: {self.status} ({n_ok}/{len(self.comparisons)} comparisons passed, "
                f"{self.seconds:.2f} s)")

    def to_frame(self) -> Any:
        """Return one row per measured-vs-predicted comparison (a pandas DataFrame)."""
        return comparison_frame(self.comparisons)


class CheckContext:
    """What a check function receives: size, seed, output folder, and the recorder.

    Parameters
    ----------
    quick : bool
        Run a reduced instance (the test suite uses ``quick=True``).
    seed : int
        Root seed; checks derive every random stream from it.
    out_dir : Path or None
        Where figures go; ``None`` means figures are not drawn.
    """

    def __init__(self, *, quick: bool = False, seed: int = 0, out_dir: Path | None = None):
        self.quick = quick
        self.seed = seed
        self.out_dir = out_dir
        self.comparisons: list[Comparison] = []
        self.figures: list[Path] = []

    @property
    def figures_enabled(self) -> bool:
        return self.out_dir is not None

    def compare(
        self,
        quantity: str,
        measured: float,
        predicted: float | tuple[float, float],
        *,
        tol: float = 0.0,
        relation: Relation = "==",
        route: str,
        note: str = "",
    ) -> bool:
        """Record ``measured <relation> predicted`` within ``tol``; return whether it held.

        ``"=="``: ``|measured - predicted| <= tol``; ``"<="``: ``measured <= predicted + tol``;
        ``">="``: ``measured >= predicted - tol``; ``"in"``: ``predicted = (lo, hi)`` and
        ``lo - tol <= measured <= hi + tol``. ``route`` names the independent route that
        produced ``predicted`` (e.g. ``"cvxpy"``, ``"closed form"``, ``"Monte-Carlo, 3 SE"``).
        A NaN on either side fails.
        """
        if relation not in _RELATIONS:
            raise ValueError(f"`relation` must be one of {list(_RELATIONS)}; got {relation!r}.")
        m = float(measured)
        if relation == "in":
            pred: float | tuple[float, float] = tuple(float(v) for v in predicted)  # type: ignore[union-attr,assignment]
        else:
            pred = float(predicted)  # type: ignore[arg-type]
        ok = verdict(m, pred, float(tol), relation)
        self.comparisons.append(
            Comparison(quantity, m, pred, float(tol), relation, route, ok, note)
        )
        return ok

    def savefig(self, fig: Any, slug: str) -> Path | None:
        """Save a matplotlib figure as PNG (and PDF) under ``out_dir``; closes it."""
        if self.out_dir is None:
            return None
        import matplotlib.pyplot as plt

        self.out_dir.mkdir(parents=True, exist_ok=True)
        png = self.out_dir / f"{slug}.png"
        fig.savefig(png, dpi=120, bbox_inches="tight")
        fig.savefig(self.out_dir / f"{slug}.pdf", bbox_inches="tight")
        plt.close(fig)
        self.figures.append(png)
        return png


_REGISTRY: dict[str, Check] = {}
_LOADED = False


def register(
    name: str,
    *,
    paper: str,
    statement: str,
    slow: bool = False,
    requires: tuple[str, ...] = (),
) -> Callable[[Callable[[CheckContext], None]], Callable[[CheckContext], None]]:
    """Register the decorated check function under ``name`` (a decorator factory).

    Parameters
    ----------
    name : str
        Registry key, snake_case (e.g. ``"gibbs_identity"``).
    paper : str
        The paper and the theorem/equation the check reproduces.
    statement : str
        The statement, in one or two sentences with the formula.
    slow : bool
        Excluded from the default test run (pytest marker ``slow``).
    requires : tuple of str
        Import names of optional dependencies; the check is skipped without them.
    """

    def deco(fn: Callable[[CheckContext], None]) -> Callable[[CheckContext], None]:
        if name in _REGISTRY and _REGISTRY[name].module != fn.__module__:
            raise ValueError(f"check {name!r} is registered twice ({fn.__module__}).")
        _REGISTRY[name] = Check(name, paper, statement, fn, slow, tuple(requires), fn.__module__)
        return fn

    return deco


def load_all() -> dict[str, Check]:
    """Import every check module of :mod:`mdpkit.checks` and return the registry."""
    global _LOADED
    if not _LOADED:
        import mdpkit.checks as pkg

        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
            if not info.name.startswith("_"):
                importlib.import_module(f"mdpkit.checks.{info.name}")
        _LOADED = True
    return dict(sorted(_REGISTRY.items()))


def get(name: str) -> Check:
    """Return the registered check called ``name`` (exact match)."""
    reg = load_all()
    if name not in reg:
        raise ValueError(f"`name` must be a registered check, one of {sorted(reg)}; got {name!r}.")
    return reg[name]


def run_check(
    name: str, *, quick: bool = False, seed: int = 0, out_dir: Path | str | None = None
) -> CheckResult:
    """Run one check and return its :class:`CheckResult` (never raises for a failure).

    >>> r = run_check("token_level_identity", quick=True)
    >>> r.status
    'PASS'
    """
    chk = get(name)
    missing = chk.missing_requirements()
    if missing:
        return CheckResult(
            chk.name, chk.paper, chk.statement, "SKIP",
            message=f"needs {', '.join(missing)} (install the matching mdpkit extra)",
        )
    ctx = CheckContext(quick=quick, seed=seed, out_dir=Path(out_dir) if out_dir else None)
    t0 = time.perf_counter()
    try:
        chk.func(ctx)
    except Exception:  # a crashing check is reported, not propagated
        return CheckResult(
            chk.name, chk.paper, chk.statement, "ERROR", ctx.comparisons, ctx.figures,
            time.perf_counter() - t0, traceback.format_exc(limit=6),
        )
    dt = time.perf_counter() - t0
    if not ctx.comparisons:
        return CheckResult(chk.name, chk.paper, chk.statement, "ERROR", [], ctx.figures, dt,
                           "the check recorded no comparison")
    status: Literal["PASS", "FAIL"] = "PASS" if all(c.passed for c in ctx.comparisons) else "FAIL"
    return CheckResult(chk.name, chk.paper, chk.statement, status, ctx.comparisons,
                       ctx.figures, dt)
