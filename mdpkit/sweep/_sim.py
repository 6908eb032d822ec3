"""Sim definitions: loading, plain-data validation, grid expansion, hashing and seeds.

A *sim* is a Python module (usually a file in ``sims/``) with

``GRID``
    The settings, either a dict of lists (expanded to the Cartesian product, first key
    varying slowest) or an explicit list of dicts.
``QUICK_GRID`` (optional)
    A reduced grid used with ``quick=True`` / ``--quick``.
``N_SEEDS``, ``QUICK_N_SEEDS`` (optional, default 1 and ``N_SEEDS``)
    Independent replicates per settings point.
``ROOT_SEED`` (optional, default 0)
    Root of the seed tree.
``run_cell(settings, seed) -> dict``
    Runs one replicate of one settings point and returns a flat dict of numbers.

Every value in the settings must be plain data (``None``, ``bool``, ``int``, ``float``,
``str``, and lists, tuples or str-keyed dicts of those), so that a settings point has a
canonical JSON form, a stable hash and a faithful row in the results table.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import numbers
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_int

_SCALARS = (type(None), bool, int, float, str)

#: Columns the runner adds to every row; settings and outputs may not use these names.
RESERVED_COLUMNS = ("seed_index", "seed", "settings_hash", "mdpkit_version", "row_hash")


def _check_plain(name: str, value: Any, where: str) -> Any:
    """Return ``value`` converted to JSON-native plain data, or raise ``TypeError``."""
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"`{name}` must hold finite numbers; {where} = {value!r}.")
        return value
    if isinstance(value, np.generic) and isinstance(value, (np.bool_, np.integer, np.floating)):
        return _check_plain(name, value.item(), where)
    if isinstance(value, (list, tuple)):
        return [_check_plain(name, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"`{name}` must use string keys; {where} has key {k!r}.")
            out[k] = _check_plain(name, v, f"{where}[{k!r}]")
        return out
    raise TypeError(
        f"`{name}` must be plain data (None, bool, int, float, str, and lists or dicts of "
        f"those); {where} is a {type(value).__name__}: {value!r}."
    )


def canonical_json(obj: Any) -> str:
    """Canonical JSON text of plain data (sorted keys, no spaces).

    >>> canonical_json({"b": 1, "a": [0.5, None]})
    '{"a":[0.5,null],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def settings_hash(settings: Mapping[str, Any]) -> str:
    """Stable hash (hex, 16 digits) of one settings point; identifies its cell.

    It depends only on the canonical JSON of the settings, so it is the same in every
    process, on every machine and in every Python session.

    >>> settings_hash({"n": 1, "x": 0.5}) == settings_hash({"x": 0.5, "n": 1})
    True
    >>> settings_hash({"n": 1})
    '2bfd14f43d17fc7c'
    """
    return _sha256(canonical_json(_check_plain("settings", dict(settings), "settings")))[:16]


def cell_seed(root_seed: int, settings: Mapping[str, Any], seed_index: int) -> int:
    """Return the integer seed of replicate ``seed_index`` of a settings point.

    The seed is drawn from the child ``np.random.SeedSequence(root_seed).spawn``
    would produce at the spawn key ``(h0, h1, seed_index)``, where ``(h0, h1)`` are
    the two 32-bit words of :func:`settings_hash`. Keying the spawn by the cell, not by
    the order in which cells are scheduled, makes every result independent of the
    executor, the number of workers and of interruptions.

    Returns
    -------
    int
        A non-negative 63-bit integer, suitable for ``np.random.default_rng(seed)``.

    Examples
    --------
    >>> s = cell_seed(0, {"n": 1}, 0)
    >>> s == cell_seed(0, {"n": 1}, 0), s == cell_seed(0, {"n": 1}, 1)
    (True, False)
    """
    root_seed = check_int("root_seed", root_seed, lo=0)
    seed_index = check_int("seed_index", seed_index, lo=0)
    h = int(settings_hash(settings), 16)
    ss = np.random.SeedSequence(root_seed, spawn_key=(h >> 32, h & 0xFFFFFFFF, seed_index))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def expand_grid(grid: Any, *, name: str = "GRID") -> list[dict[str, Any]]:
    """Expand a grid to its list of settings points (plain dicts).

    A dict of lists gives the Cartesian product, first key varying slowest; a list of
    dicts is taken as is. Scalars in a dict grid are treated as one-element lists.

    >>> expand_grid({"n": [1, 2], "x": [0.5]})
    [{'n': 1, 'x': 0.5}, {'n': 2, 'x': 0.5}]
    """
    if isinstance(grid, Mapping):
        keys = list(grid)
        for k in keys:
            if not isinstance(k, str):
                raise TypeError(f"`{name}` must use string keys; got key {k!r}.")
        axes = []
        for k in keys:
            v = grid[k]
            vals = list(v) if isinstance(v, (list, tuple, range)) else [v]
            if not vals:
                raise ValueError(f"`{name}[{k!r}]` must not be empty.")
            axes.append(vals)
        cells = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes)]
    elif isinstance(grid, (list, tuple)):
        cells = []
        for i, c in enumerate(grid):
            if not isinstance(c, Mapping):
                raise TypeError(
                    f"`{name}` must be a dict of lists or a list of dicts; "
                    f"{name}[{i}] is a {type(c).__name__}: {c!r}."
                )
            cells.append(dict(c))
    else:
        raise TypeError(
            f"`{name}` must be a dict of lists or a list of dicts; got {type(grid).__name__}."
        )
    if not cells:
        raise ValueError(f"`{name}` must contain at least one settings point.")
    out = []
    for i, c in enumerate(cells):
        plain = _check_plain(name, c, f"settings point {i} {c!r}")
        bad = sorted(set(plain) & set(RESERVED_COLUMNS))
        if bad:
            raise ValueError(
                f"`{name}` may not use the reserved column names {list(RESERVED_COLUMNS)}; "
                f"settings point {i} uses {bad}."
            )
        out.append(plain)
    hashes = [settings_hash(c) for c in out]
    if len(set(hashes)) != len(hashes):
        dup = next(c for c, h in zip(out, hashes, strict=True) if hashes.count(h) > 1)
        raise ValueError(f"`{name}` lists the settings point {dup!r} more than once.")
    return out


@dataclass(frozen=True)
class Sim:
    """A loaded sim: its grid expanded to settings points, plus the cell function.

    Build one with :func:`load_sim`. Attributes are read-only.

    Attributes
    ----------
    name : str
        Sim name (the module's ``NAME`` or its file stem).
    cells : tuple of dict
        The settings points, in grid order.
    n_seeds : int
        Replicates per settings point.
    root_seed : int
        Root of the seed tree (see :func:`cell_seed`).
    quick : bool
        Whether the reduced ``QUICK_GRID`` was selected.
    source : str
        The module's source text; workers rebuild the module from it, so a sim runs
        on a remote Dask worker without being installed there.
    path : str
        Where the source came from (used in tracebacks).
    run_cell : callable
        ``run_cell(settings, seed) -> dict`` in this process.
    """

    name: str
    cells: tuple[dict[str, Any], ...]
    n_seeds: int
    root_seed: int
    quick: bool
    source: str
    path: str
    run_cell: Callable[[dict[str, Any], int], Mapping[str, Any]]

    @property
    def n_tasks(self) -> int:
        """Number of ``run_cell`` calls in the full sweep (points times seeds)."""
        return len(self.cells) * self.n_seeds

    @property
    def grid_hash(self) -> str:
        """Hash of everything that defines the sweep's rows: cells, seeds and root."""
        ident = {"cells": list(self.cells), "n_seeds": self.n_seeds, "root_seed": self.root_seed}
        return _sha256(canonical_json(ident))[:16]

    def tasks(self) -> list[tuple[dict[str, Any], int, int, str]]:
        """All ``(settings, seed_index, seed, settings_hash)`` in grid order."""
        out = []
        for c in self.cells:
            h = settings_hash(c)
            for r in range(self.n_seeds):
                out.append((c, r, cell_seed(self.root_seed, c, r), h))
        return out

    def __repr__(self) -> str:
        q = ", quick" if self.quick else ""
        return (f"Sim({self.name!r}, {len(self.cells)} settings x {self.n_seeds} seeds"
                f"{q}, root_seed={self.root_seed})")

    def summary(self) -> str:
        """One line: name, grid size, seeds and root seed."""
        keys = sorted({k for c in self.cells for k in c})
        return (f"Sim {self.name!r}: {len(self.cells)} settings x {self.n_seeds} seeds = "
                f"{len(self.cells) * self.n_seeds} cells over {keys}{' (quick grid)' if self.quick else ''}, "
                f"root_seed={self.root_seed}")

    def to_frame(self) -> Any:
        """Return the cells to run, in grid order, as a pandas DataFrame.

        Columns: the settings (lists and dicts as canonical JSON), ``seed_index``, ``seed``,
        ``settings_hash``.
        """
        from .._results import as_frame

        tasks = self.tasks()
        keys = list(dict.fromkeys(k for c in self.cells for k in c))
        cols: dict[str, Any] = {
            k: [v if isinstance(v, (int, float, str, bool)) or v is None else canonical_json(v)
                for v in (t[0].get(k) for t in tasks)] for k in keys}
        cols.update(seed_index=[t[1] for t in tasks], seed=[t[2] for t in tasks],
                    settings_hash=[t[3] for t in tasks])
        return as_frame(cols)


_MODULE_CACHE: dict[str, types.ModuleType] = {}


def module_from_source(source: str, path: str) -> types.ModuleType:
    """Build (once per process and source text) a module from a sim's source."""
    key = _sha256(source + "\0" + path)
    mod = _MODULE_CACHE.get(key)
    if mod is None:
        mod = types.ModuleType(f"_mdpkit_sim_{key[:12]}")
        mod.__file__ = path
        # Registered before exec so that dataclasses and pickling inside the sim work.
        sys.modules[mod.__name__] = mod
        try:
            exec(compile(source, path, "exec"), mod.__dict__)
        except BaseException:
            del sys.modules[mod.__name__]
            raise
        _MODULE_CACHE[key] = mod
    return mod


def _find_sim_file(sim: str) -> Path:
    p = Path(sim)
    if p.suffix == ".py" or len(p.parts) > 1:
        if not p.is_file():
            raise ValueError(f"`sim` must be an existing sim file or a sim name; {sim!r} does not exist.")
        return p
    candidates = [Path.cwd() / "sims" / f"{sim}.py"]
    for c in candidates:
        if c.is_file():
            return c
    folder = Path.cwd() / "sims"
    known = sorted(f.stem for f in folder.glob("*.py") if not f.stem.startswith("_")) if folder.is_dir() else []
    raise ValueError(
        f"`sim` must be a sim file (.py) or the name of a sim in ./sims/; unknown sim {sim!r}. "
        f"Known sims: {known}."
    )


def load_sim(
    sim: str | Path | types.ModuleType | Sim,
    *,
    quick: bool = False,
    root_seed: int | None = None,
) -> Sim:
    """Load and validate a sim from a file, a name in ``./sims/``, or a module.

    Parameters
    ----------
    sim : str, Path, module or Sim
        A path to a ``.py`` file, the name of a file in ``./sims/`` (without ``.py``),
        an imported module, or an already loaded :class:`Sim` (returned unchanged
        unless ``quick`` or ``root_seed`` ask for something else).
    quick : bool
        Use ``QUICK_GRID`` (and ``QUICK_N_SEEDS`` if defined).
    root_seed : int, optional
        Override the module's ``ROOT_SEED``.

    Returns
    -------
    Sim

    Raises
    ------
    ValueError
        Unknown sim, empty grid, reserved or duplicated settings, missing ``QUICK_GRID``.
    TypeError
        Settings that are not plain data, or a missing/invalid ``run_cell``.

    Examples
    --------
    >>> import types
    >>> m = types.ModuleType("toy")
    >>> m.GRID = {"n": [10, 100]}
    >>> m.N_SEEDS = 2
    >>> m.run_cell = lambda settings, seed: {"y": settings["n"] + seed % 2}
    >>> load_sim(m)
    Sim('toy', 2 settings x 2 seeds, root_seed=0)
    """
    if isinstance(sim, Sim) and sim.quick == quick and (root_seed is None or root_seed == sim.root_seed):
        return sim
    mod, source, path = _sim_module(sim)
    default_name = Path(path).stem if path and not path.startswith("<") else mod.__name__
    name = getattr(mod, "NAME", default_name)
    if not isinstance(name, str) or not name:
        raise TypeError(f"`NAME` of sim {path} must be a non-empty str; got {name!r}.")
    fn = getattr(mod, "run_cell", None)
    if not callable(fn):
        raise TypeError(f"sim {name!r} ({path}) must define a function `run_cell(settings, seed)`.")
    grid, n_seeds = _sim_grid(mod, name, path, quick)
    rs = getattr(mod, "ROOT_SEED", 0) if root_seed is None else root_seed
    rs = check_int("root_seed", rs, lo=0)
    return Sim(name, tuple(grid), n_seeds, rs, bool(quick), source, path, fn)


def _sim_module(sim: Any) -> tuple[types.ModuleType, str, str]:
    """Return the module of a sim (a :class:`Sim`, a module, a file or a name), its source and path."""
    if isinstance(sim, Sim):
        return module_from_source(sim.source, sim.path), sim.source, sim.path
    if isinstance(sim, types.ModuleType):
        file = getattr(sim, "__file__", None)
        try:
            source = Path(file).read_text() if file else ""
        except OSError:
            source = ""
        return sim, source, file or f"<{sim.__name__}>"
    if isinstance(sim, (str, Path)):
        f = _find_sim_file(str(sim))
        path = str(f.resolve())
        source = f.read_text()
        return module_from_source(source, path), source, path
    raise TypeError(
        f"`sim` must be a path, a sim name, a module or a Sim; got {type(sim).__name__}."
    )


def _sim_grid(mod: types.ModuleType, name: str, path: str, quick: bool) -> tuple[list[dict[str, Any]], int]:
    """Return the settings grid and the number of seeds of a sim module (``QUICK_*`` when ``quick``)."""
    if quick:
        if not hasattr(mod, "QUICK_GRID"):
            raise ValueError(f"sim {name!r} defines no `QUICK_GRID`, so it cannot run with quick=True.")
        grid = expand_grid(mod.QUICK_GRID, name="QUICK_GRID")
        n_seeds = getattr(mod, "QUICK_N_SEEDS", getattr(mod, "N_SEEDS", 1))
    else:
        if not hasattr(mod, "GRID"):
            raise ValueError(f"sim {name!r} ({path}) must define `GRID`.")
        grid = expand_grid(mod.GRID, name="GRID")
        n_seeds = getattr(mod, "N_SEEDS", 1)
    return grid, check_int("N_SEEDS", n_seeds, lo=1)


def check_outputs(name: str, settings: dict[str, Any], out: Any) -> dict[str, Any]:
    """Validate ``run_cell``'s return value: a flat dict of str -> number."""
    if not isinstance(out, Mapping):
        raise TypeError(
            f"`run_cell` of sim {name!r} must return a dict of numbers; for settings "
            f"{settings!r} it returned a {type(out).__name__}."
        )
    res: dict[str, Any] = {}
    for k, v in out.items():
        if not isinstance(k, str):
            raise TypeError(f"`run_cell` of sim {name!r} returned a non-str key {k!r}.")
        if k in settings or k in RESERVED_COLUMNS:
            raise ValueError(
                f"`run_cell` of sim {name!r} returned the key {k!r}, which is a settings or "
                f"reserved column name ({list(RESERVED_COLUMNS)}); rename the output."
            )
        if isinstance(v, np.ndarray) and v.ndim == 0:
            v = v[()]
        if isinstance(v, (bool, np.bool_)):
            res[k] = bool(v)
        elif isinstance(v, (numbers.Integral, np.integer)):
            if not -(2**63) <= int(v) < 2**63:
                raise ValueError(
                    f"`run_cell` of sim {name!r} returned output {k!r} = {int(v)}, outside the "
                    "64-bit integer range of the results table; return it as a float."
                )
            res[k] = int(v)
        elif isinstance(v, (numbers.Real, np.floating)):
            res[k] = float(v)
        else:
            raise TypeError(
                f"`run_cell` of sim {name!r} must return numbers; for settings {settings!r} "
                f"output {k!r} is a {type(v).__name__}: {v!r}."
            )
    return res
