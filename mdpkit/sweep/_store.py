"""Sweep result folders: a manifest plus atomically written Parquet part files.

Layout of a folder::

    manifest.json                  identifies the sweep (sim, grid hash, version, ...)
    part-000000-<token>.parquet    rows, one per (settings point, replicate)
    ...

Every file is written to a temporary name in the same folder and moved into place
with :func:`os.replace`, so a reader (or a resumed run) sees either a whole file or no
file. A run killed at any moment leaves only complete parts behind, plus perhaps a
stray ``.tmp-*`` file that the next run removes. Each row stores a content hash
(``row_hash``) over its settings, seed and outputs, verified when the folder is read.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._sim import Sim, _sha256, canonical_json

FORMAT = "mdpkit-sweep"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FAILURES = "failures.json"
LOCK = ".lock"
_REQUIRED = ("settings_hash", "seed_index", "seed", "mdpkit_version", "row_hash")


class ResultsError(ValueError):
    """A results folder that cannot be used: foreign, of another sweep, or corrupted.

    The folder is never modified when this is raised.
    """


def _norm(v: Any) -> Any:
    # Numbers hash as floats, so that an int column that Parquet/pandas widened to float
    # (e.g. next to a missing value) keeps its hash; bools and strings hash as themselves.
    # +-inf (stored faithfully by Parquet) hash as a tagged string: JSON has no infinity.
    if isinstance(v, (bool, str)) or v is None:
        return v
    x = float(v)
    return x if x - x == 0.0 else {"nonfinite": repr(x)}


def row_hash(row: dict[str, Any], settings_keys: list[str], output_keys: list[str]) -> str:
    """Content hash of one row: its settings, seed and outputs (hex, 16 digits).

    Missing values (``None``/NaN) are left out of the hash, on writing and on reading.
    """
    payload = {
        "settings": {k: _norm(row[k]) for k in settings_keys},
        "seed": int(row["seed"]),
        "seed_index": int(row["seed_index"]),
        "outputs": {k: _norm(row[k]) for k in output_keys},
    }
    return _sha256(canonical_json(payload))[:16]


def manifest_for(sim: Sim, version: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sim": sim.name,
        "grid_hash": sim.grid_hash,
        "mdpkit_version": version,
        "n_settings": len(sim.cells),
        "n_seeds": sim.n_seeds,
        "root_seed": sim.root_seed,
        "quick": sim.quick,
        "settings_keys": _settings_keys(sim),
    }


def _settings_keys(sim: Sim) -> list[str]:
    keys: list[str] = []
    for c in sim.cells:
        keys += [k for k in c if k not in keys]
    return keys


def read_manifest(folder: Path) -> dict[str, Any]:
    """Return the manifest of a sweep folder; raise :class:`ResultsError` if absent or damaged."""
    mpath = folder / MANIFEST
    if not mpath.exists():
        raise ResultsError(f"{str(folder)!r} is not an mdpkit sweep folder (no {MANIFEST}).")
    try:
        stored = json.loads(mpath.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultsError(
            f"the manifest {str(mpath)!r} is corrupted ({e}); the folder was left untouched. "
            "Delete the folder to start the sweep afresh."
        ) from None
    if (not isinstance(stored, dict) or stored.get("format") != FORMAT
            or not isinstance(stored.get("settings_keys"), list)):
        raise ResultsError(
            f"{str(mpath)!r} is not an mdpkit sweep manifest; refusing to use "
            f"{str(folder)!r}. Choose another folder."
        )
    return stored


def read_results(folder: str | os.PathLike[str]):
    """Read a sweep's results folder without its sim (e.g. to draw a figure).

    Rows are verified against their content hashes and sorted by settings and
    ``seed_index``; ``df.attrs["sweep"]`` holds the manifest.

    Parameters
    ----------
    folder : str or Path
        A folder written by :func:`run` (``out=``) or by ``mdpkit sweep``.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ResultsError
        Not a sweep folder, a damaged manifest or part file, or a row whose content
        hash does not match.
    """
    import pandas as pd

    f = Path(folder)
    manifest = read_manifest(f)
    df = ResultStore(f, manifest).read_frame()
    if df is None:
        df = pd.DataFrame()
    else:
        keys = [k for k in manifest["settings_keys"] if k in df.columns]
        df = df.sort_values([*keys, "seed_index"], kind="stable").reset_index(drop=True)
    df.attrs["sweep"] = {**manifest, "folder": str(f)}
    return df


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.parent / f".tmp-{secrets.token_hex(6)}-{path.name}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _describe(m: dict[str, Any]) -> str:
    return (f"sim {m.get('sim')!r}, grid {m.get('grid_hash')}, {m.get('n_settings')} settings x "
            f"{m.get('n_seeds')} seeds, root_seed {m.get('root_seed')}, mdpkit "
            f"{m.get('mdpkit_version')}")


class ResultStore:
    """Reader/writer of one sweep's results folder (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike[str], manifest: dict[str, Any]):
        self.folder = Path(folder)
        self.manifest = manifest
        self.settings_keys = self.manifest["settings_keys"]
        self._n_parts = 0

    # -- validation (read-only) ----------------------------------------------------
    def validate(self) -> bool:
        """Check that the folder is absent, empty, or holds this very sweep.

        Returns whether results already exist. Raises :class:`ResultsError` otherwise;
        nothing is written.
        """
        f = self.folder
        if not f.exists():
            return False
        if not f.is_dir():
            raise ResultsError(f"`out` must be a folder; {str(f)!r} is a file.")
        visible = [p for p in f.iterdir() if not p.name.startswith(".tmp-") and p.name != LOCK]
        if not (f / MANIFEST).exists():
            if visible:
                raise ResultsError(
                    f"`out` folder {str(f)!r} is not empty and holds no mdpkit sweep manifest "
                    f"({MANIFEST}); refusing to write into it. Choose an empty or new folder."
                )
            return False
        stored = read_manifest(f)
        keys = ("sim", "grid_hash", "n_seeds", "root_seed", "mdpkit_version", "format_version")
        if any(stored.get(k) != self.manifest[k] for k in keys):
            raise ResultsError(
                f"`out` folder {str(f)!r} holds the results of a different sweep "
                f"({_describe(stored)}); this sweep is ({_describe(self.manifest)}). "
                "It was left untouched: choose another `out` folder, or delete that one to "
                "recompute."
            )
        parts = self.part_files()
        self._n_parts = len(parts)
        return bool(parts)

    def part_files(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.parquet"))

    # -- one writer at a time ------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold ``out/.lock`` (created exclusively) while this process writes the folder.

        A second sweep into the same folder gets a :class:`ResultsError` naming the
        holder; a lock left by a process that no longer runs (same host) is taken over.
        """
        created = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / LOCK
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read_lock(path)
                if holder is not None and _stale(holder):
                    path.unlink(missing_ok=True)
                    continue
                who = (f"process {holder.get('pid')} on {holder.get('host')!r}" if holder
                       else "another process")
                raise ResultsError(
                    f"the results folder {str(self.folder)!r} is in use by {who} (lock file "
                    f"{str(path)!r}). Wait for that sweep to finish, or choose another `out`; if no "
                    "sweep is running there, delete the lock file."
                ) from None
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            break
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
            if created and not any(self.folder.iterdir()):  # a sweep that wrote nothing leaves nothing
                self.folder.rmdir()

    # -- failed cells ----------------------------------------------------------------
    def read_failures(self) -> dict[str, dict[str, Any]]:
        """Failed cells recorded by earlier runs: ``"<settings_hash>/<seed_index>"`` -> record."""
        path = self.folder / FAILURES
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ResultsError(f"{str(path)!r} is corrupted ({e}); delete it to retry every "
                               "failed cell.") from None
        return data if isinstance(data, dict) else {}

    def write_failures(self, failures: dict[str, dict[str, Any]]) -> None:
        """Record the failed cells (with their tracebacks), atomically; none: no file."""
        path = self.folder / FAILURES
        if not failures:
            path.unlink(missing_ok=True)
            return
        _atomic_write_bytes(path, (json.dumps(failures, indent=1, sort_keys=True) + "\n").encode())

    # -- writing ---------------------------------------------------------------------
    def create(self) -> None:
        """Create the folder and write the manifest (if absent); drop stray temp files."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for t in self.folder.glob(".tmp-*"):
            t.unlink(missing_ok=True)
        mpath = self.folder / MANIFEST
        if not mpath.exists():
            text = json.dumps(self.manifest, indent=2, sort_keys=True) + "\n"
            _atomic_write_bytes(mpath, text.encode())

    def append(self, rows: list[dict[str, Any]]) -> Path:
        """Write ``rows`` as one new part file, atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows)
        name = f"part-{self._n_parts:06d}-{secrets.token_hex(4)}.parquet"
        self._n_parts += 1
        path = self.folder / name
        tmp = self.folder / f".tmp-{name}"
        pq.write_table(table, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def compact(self) -> None:
        """Merge all part files into one (atomic; duplicates are dropped on reading)."""
        parts = self.part_files()
        if len(parts) <= 1:
            return
        import pyarrow.parquet as pq

        df = self.read_frame()
        path = self.folder / f"part-{self._n_parts:06d}-{secrets.token_hex(4)}.parquet"
        tmp = self.folder / f".tmp-{path.name}"
        import pyarrow as pa

        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
        os.replace(tmp, path)
        self._n_parts += 1
        # A crash here leaves both the merged file and some old parts: the rows are
        # identical and de-duplicated by (settings_hash, seed_index) when read.
        for p in parts:
            p.unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------
    def read_frame(self):
        """All stored rows of this sweep as a DataFrame, verified, de-duplicated."""
        import pandas as pd
        import pyarrow.parquet as pq

        frames = []
        for p in self.part_files():
            try:
                frame = pq.read_table(p).to_pandas()
            except Exception as e:  # pyarrow raises several types for damaged files
                raise ResultsError(
                    f"result file {str(p)!r} is corrupted and cannot be read ({type(e).__name__}: "
                    f"{e}). It was left untouched; delete it to recompute its cells."
                ) from None
            missing = [c for c in _REQUIRED if c not in frame.columns]
            if missing:
                raise ResultsError(
                    f"result file {str(p)!r} lacks the columns {missing}; it was not written by "
                    "mdpkit.sweep. The folder was left untouched."
                )
            frames.append(frame)
        if not frames:
            return None
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        self._verify(df)
        df = df.drop_duplicates(subset=["settings_hash", "seed_index"], keep="first")
        return df.reset_index(drop=True)

    def _verify(self, df) -> None:
        skeys = [k for k in self.settings_keys if k in df.columns]
        fixed = set(skeys) | {"seed", "seed_index", "settings_hash", "mdpkit_version", "row_hash"}
        okeys = [c for c in df.columns if c not in fixed]
        for i, rec in enumerate(df.to_dict("records")):
            row = {k: _plain(rec[k]) for k in (*skeys, *okeys, "seed", "seed_index")}
            h = row_hash(row, [k for k in skeys if not _isna(row[k])],
                         [k for k in okeys if not _isna(row[k])])
            if h != rec["row_hash"]:
                raise ResultsError(
                    f"a row in {str(self.folder)!r} fails its content check (row {i}, "
                    f"settings_hash {rec['settings_hash']}, seed_index {rec['seed_index']}): the "
                    "results were modified or damaged. The folder was left untouched; delete the "
                    "damaged part file to recompute its cells."
                )


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _stale(holder: dict[str, Any]) -> bool:
    """Whether a lock's holder (same host) is gone; locks of other hosts are never stale."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def _isna(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float):
        return v != v
    return type(v).__name__ in ("NAType", "NaTType")  # pandas' missing-value scalars


def _plain(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    return v


def encode_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Flatten settings into table columns: scalars stay, lists and dicts become canonical JSON."""
    return {k: (canonical_json(v) if isinstance(v, (list, dict)) else v) for k, v in settings.items()}


def make_row(
    settings: dict[str, Any], seed_index: int, seed: int, shash: str, outputs: dict[str, Any],
    version: str,
) -> dict[str, Any]:
    """One table row with its content hash."""
    cols = encode_settings(settings)
    row: dict[str, Any] = {**cols, "seed_index": seed_index, "seed": seed, **outputs}
    row["settings_hash"] = shash
    row["mdpkit_version"] = version
    row["row_hash"] = row_hash(row, [k for k, v in cols.items() if not _isna(v)],
                               [k for k, v in outputs.items() if not _isna(v)])
    return row
