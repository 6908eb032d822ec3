"""The sweep runner: schedule cells on an executor, stream rows to Parquet, resume."""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from .._validation import check_choice, check_int, check_positive
from ._sim import Sim, load_sim
from ._store import ResultStore, make_row, manifest_for
from ._worker import THREAD_ENV, pin_threads, pool_worker_init, run_batch, run_task

_EXECUTORS = ("local", "serial", "dask")

#: Seconds to wait for a Dask scheduler before giving up.
CONNECT_TIMEOUT = 5.0


class CellError(RuntimeError):
    """``run_cell`` raised (or returned something other than a dict of numbers) for some cells.

    Raised after every other cell has run and been stored. ``failures`` lists the failed
    cells (settings, seed index, seed, traceback), also recorded in ``out/failures.json``;
    ``run(..., retry_failed=True)`` (``mdpkit sweep --retry-failed``) reruns only those.
    """

    def __init__(self, message: str, failures: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.failures = failures or []


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: finished rows are stored; the message says how to resume."""


# ----------------------------------------------------------------------------------
# progress bar
class Progress:
    """Cells done, rate and ETA on one stderr line (no dependency).

    On a terminal the line is redrawn at most 5 times a second; otherwise (logs, CI)
    a line is printed at most every 10 seconds and at the end.
    """

    def __init__(self, name: str, total: int, done: int, *, enabled: bool = True, stream=None):
        self.name, self.total, self.done0, self.done = name, total, done, done
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.t0 = self.t_last = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._dirty = False

    def line(self) -> str:
        dt = time.perf_counter() - self.t0
        new = self.done - self.done0
        rate = new / dt if dt > 0 else 0.0
        left = self.total - self.done
        eta = _fmt_time(left / rate) if rate > 0 else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        resumed = f", {self.done0} stored" if self.done0 else ""
        return (f"{self.name}: {self.done}/{self.total} cells ({pct:3.0f}%{resumed}) "
                f"| {rate:.1f} cells/s | elapsed {_fmt_time(dt)} | ETA {eta}")

    def update(self, n: int = 1) -> None:
        self.done += n
        self._dirty = True
        now = time.perf_counter()
        if self.enabled and now - self.t_last >= (0.2 if self.tty else 10.0):
            self._draw()
            self.t_last = now

    def _draw(self) -> None:
        end = "\r" if self.tty else "\n"
        print(self.line().ljust(80 if self.tty else 0), end=end, file=self.stream, flush=True)
        self._dirty = False

    def close(self) -> None:
        if self.enabled:
            if self._dirty or not self.tty:
                self._draw()
            if self.tty:
                print(file=self.stream, flush=True)


def _fmt_time(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


# ----------------------------------------------------------------------------------
# executors: each yields (task index, status, value) as cells finish
def _payload(sim: Sim) -> tuple:
    if sim.source:
        return ("source", sim.name, sim.source, sim.path)
    return ("func", sim.name, sim.run_cell)


class _Batcher:
    """Groups cells into tasks of about ``target`` seconds (adaptive).

    Short cells are batched so that per-task costs (IPC, Dask scheduling) are paid once
    per batch; the first tasks hold one cell each, then the size follows the measured
    cell time. Near the end batches shrink so that every worker stays busy.
    """

    def __init__(self, tasks: list[tuple[int, dict, int]], n_slots: int, *,
                 target: float = 0.1, max_size: int = 256):
        self.tasks, self.n_slots, self.target, self.max_size = tasks, n_slots, target, max_size
        self.pos = 0
        self.size = 1
        self.cells = 0
        self.seconds = 0.0

    def next(self) -> list[tuple[int, dict, int]] | None:
        left = len(self.tasks) - self.pos
        if left <= 0:
            return None
        n = max(1, min(self.size, -(-left // (2 * self.n_slots))))
        batch = self.tasks[self.pos:self.pos + n]
        self.pos += n
        return batch

    def record(self, n_cells: int, seconds: float) -> None:
        self.cells += n_cells
        self.seconds += seconds
        per_cell = self.seconds / max(self.cells, 1)
        self.size = int(min(self.max_size, max(1, self.target / max(per_cell, 1e-6))))


class _Serial:
    n_slots = 1

    def __init__(self, sim: Sim):
        self.payload = ("func", sim.name, sim.run_cell)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, batcher: _Batcher) -> Iterator[tuple[int, str, Any]]:
        while (batch := batcher.next()) is not None:
            for i, settings, seed in batch:
                status, val = run_task(self.payload, settings, seed, pin=False)
                yield i, status, val


class _LocalPool:
    """A process pool; workers pin BLAS/Numba to one thread and rebuild the sim once."""

    GRACE = 2.0  # seconds the cells in flight get to finish after Ctrl-C

    def __init__(self, sim: Sim, n_workers: int):
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        if main_file is not None and not os.path.exists(main_file):
            # spawn/forkserver workers re-import the main script by its path
            raise RuntimeError(
                f"executor='local' starts worker processes that re-import the main script, "
                f"but it is not a file ({main_file!r}, e.g. a script read from stdin). Run "
                "it from a .py file, or use executor='serial' or 'dask'."
            )
        self.payload = _payload(sim)
        self.n_slots = n_workers
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self.pool = ProcessPoolExecutor(
            max_workers=n_workers, mp_context=mp.get_context(method), initializer=pool_worker_init,
            initargs=(os.getpid(),),
        )
        self.exitcodes: dict[int, Any] = {}

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.pool.shutdown(wait=True)
        else:  # interrupted: cancel what has not started; cells in flight get GRACE seconds
            procs = list((getattr(self.pool, "_processes", None) or {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            deadline = time.monotonic() + self.GRACE
            for p in procs:
                with contextlib.suppress(Exception):
                    p.join(timeout=max(0.0, deadline - time.monotonic()))
            for p in procs:
                with contextlib.suppress(Exception):
                    p.terminate()
            # let the pool's manager thread release its queues (no leaked-semaphore warnings)
            with contextlib.suppress(Exception):
                self.pool.shutdown(wait=True)
        return False

    def imap(self, batcher: _Batcher) -> Iterator[tuple[int, str, Any]]:
        window = 2 * self.n_slots
        pending: set[Any] = set()

        def fill():
            while len(pending) < window and (batch := batcher.next()) is not None:
                pending.add(self.pool.submit(run_batch, self.payload, batch))
            self.procs = list((getattr(self.pool, "_processes", None) or {}).values())

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                pending.discard(f)
                try:
                    results, seconds = f.result()
                except BrokenProcessPool as e:  # a worker died: a signal, the OOM killer
                    raise CellError(_dead_worker_message(self.procs)) from e
                except Exception as e:  # the task never ran: pickling
                    raise CellError(
                        f"a worker process could not run the sim ({type(e).__name__}: {e}). A "
                        "sim defined interactively (not in a file) cannot be sent to worker "
                        "processes: save it to a .py file or use executor='serial'."
                    ) from e
                batcher.record(len(results), seconds)
                fill()
                yield from results


def _dead_worker_message(procs: list[Any]) -> str:
    """Why the pool broke, from the exit codes of its worker processes."""
    causes = []
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=1.0)
        code = getattr(p, "exitcode", None)
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = " (often the out-of-memory killer)" if name == "SIGKILL" else ""
            causes.append(f"worker pid {p.pid} was killed by {name}{hint}")
        elif code == 255:  # the forkserver could not report the status (it races a killed child)
            causes.append(f"worker pid {p.pid} died and its exit status was not reported; a signal "
                          "(e.g. SIGKILL from the out-of-memory killer) is the usual cause")
        elif code not in (None, 0):
            causes.append(f"worker pid {p.pid} exited with status {code}")
    what = "; ".join(causes) if causes else "a worker process terminated abruptly"
    return (f"{what}. The cells it was running are lost; finished rows were kept, so rerunning "
            "resumes. If memory is the cause, use fewer workers (`n_workers`/`--workers`).")


class _Dask:
    """Dask distributed: a LocalCluster we start, or a scheduler we connect to."""

    def __init__(self, sim: Sim, *, n_workers: int | None, scheduler: str | None, client=None):
        try:
            import distributed
        except ImportError as e:  # pragma: no cover - part of the [sweep] extra
            raise ImportError("executor='dask' needs dask.distributed; install "
                              "`mdpkit[sweep]`.") from e
        import logging

        self.payload = _payload(sim)
        self.cluster = None
        self.own_client = client is None
        if client is not None:
            self.client = client
        elif scheduler is not None:
            try:
                self.client = distributed.Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s",
                                                 set_as_default=False)
            except (OSError, TimeoutError) as e:
                raise ConnectionError(
                    f"could not reach the Dask scheduler at `scheduler`={scheduler!r} within "
                    f"{CONNECT_TIMEOUT:g} s ({type(e).__name__}: {e}). Is it running and "
                    "reachable from here? Nothing was written."
                ) from None
        else:
            self.cluster = distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
                env=dict(THREAD_ENV),
            )
            self.client = distributed.Client(self.cluster, set_as_default=False)
        try:
            self.client.run(pin_threads)
            n_threads = sum(self.client.nthreads().values())
            self.n_slots = max(n_threads, 1)
            self.payload_future = self.client.scatter(self.payload, broadcast=True, hash=False)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.own_client:
            with contextlib.suppress(Exception):
                self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def imap(self, batcher: _Batcher) -> Iterator[tuple[int, str, Any]]:
        from distributed import as_completed

        window = 2 * self.n_slots

        def submit(batch):
            return self.client.submit(run_batch, self.payload_future, batch, pure=False)

        first: list[Any] = []
        while len(first) < window and (batch := batcher.next()) is not None:
            first.append(submit(batch))
        ac = as_completed(first, loop=self.client.loop)
        try:
            for f in ac:
                try:
                    results, seconds = f.result()
                except Exception as e:  # the task never ran: lost workers, serialization
                    raise CellError(
                        f"the Dask cluster could not run a batch of cells ({type(e).__name__}: "
                        f"{e}); the finished rows were kept."
                    ) from e
                f.release()
                batcher.record(len(results), seconds)
                batch = batcher.next()
                if batch is not None:
                    ac.add(submit(batch))
                yield from results
        finally:
            for f in list(ac.futures):
                with contextlib.suppress(Exception):
                    f.cancel()


# ----------------------------------------------------------------------------------
class _Writer:
    """Buffers finished rows and writes them as a part file every ``flush_seconds``."""

    def __init__(self, store: ResultStore | None, flush_seconds: float, sim_name: str):
        self.store, self.flush_seconds, self.sim_name = store, flush_seconds, sim_name
        self.buf: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.t_last = time.monotonic()
        self.kinds: dict[str, bool] = {}

    def add(self, row: dict[str, Any], outputs: dict[str, Any]) -> None:
        for k, v in outputs.items():  # a column must stay bool or stay numeric
            is_bool = isinstance(v, bool)
            if self.kinds.setdefault(k, is_bool) != is_bool:
                raise TypeError(
                    f"`run_cell` of sim {self.sim_name!r} returned output {k!r} as a bool in "
                    "one cell and as a number in another; keep one type per output."
                )
        self.buf.append(row)
        if self.store is not None and time.monotonic() - self.t_last >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            if self.store is not None:
                self.store.append(self.buf)
            self.rows += self.buf
            self.buf = []
        self.t_last = time.monotonic()


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so that finished rows are flushed before exiting."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run(sim: Any, *, executor: Any = "local", n_workers: int | None = None, scheduler: str | None = None,
        out: str | os.PathLike[str] | None = None, quick: bool | None = None, root_seed: int | None = None,
        progress: bool = True, flush_seconds: float = 0.5, retry_failed: bool = False):
    r"""Run a sim's grid and return the results table (one row per cell and seed).

    A *cell* is one call ``run_cell(settings, seed)`` for a settings point and a replicate
    :math:`r < N_{seeds}`, seeded from ``SeedSequence(root_seed)`` at a key of the settings
    hash and :math:`r` (:func:`cell_seed`): no row depends on the executor, the workers, the
    order or interruptions. With ``out``, finished rows stream atomically to Parquet parts
    (every ``flush_seconds``; at once on Ctrl-C or SIGTERM) beside a ``manifest.json``, and
    the same call again resumes (stored rows are verified, never recomputed): :doc:`/sweeps`.

    Parameters
    ----------
    sim : str, Path, module or Sim
        A sim file, the name of a sim in ``./sims/``, a module, or a :class:`Sim` (:func:`load_sim`).
    executor : {"local", "serial", "dask"} or distributed.Client
        ``"local"``: ``n_workers`` processes (default: all cores), one BLAS/Numba thread each;
        ``"serial"``: this process; ``"dask"``: the Dask scheduler at ``scheduler`` (an address,
        ``"tcp://10.0.0.5:8786"``, which implies ``"dask"``), else a new loopback
        ``LocalCluster`` of ``n_workers`` single-threaded workers. A Client is used as is.
    n_workers, scheduler : int, str, optional
        Worker processes for ``"local"`` and for a new ``LocalCluster``; see ``executor``.
    out : str or Path, optional
        Results folder of this sweep; ``None`` keeps results in memory only.
    quick, root_seed : bool, int, optional
        Use the sim's ``QUICK_GRID`` (default: as loaded for a :class:`Sim`, else False);
        override the sim's ``ROOT_SEED``.
    progress, flush_seconds, retry_failed : bool, float, bool
        Progress bar on stderr; longest wait of a finished row before it is written; rerun
        the cells recorded as failed in ``out/failures.json`` (by default skipped, reported).

    Returns
    -------
    pandas.DataFrame
        Settings columns (lists and dicts as canonical JSON), ``seed_index``, ``seed``, the
        outputs of ``run_cell``, ``settings_hash``, ``mdpkit_version``, ``row_hash``, in grid
        order; ``df.attrs["sweep"]``: the manifest, ``folder``, ``n_computed``, ``n_stored_before``.

    Raises
    ------
    ValueError, TypeError
        Unknown sim, settings that are not plain data, bad executor arguments.
    ResultsError, ConnectionError, CellError, SweepInterrupted
        ``out`` holds another sweep, is corrupted or in use; the scheduler is unreachable
        (after :data:`CONNECT_TIMEOUT` s); ``run_cell`` failed for some cells (after all
        others ran and were stored); Ctrl-C (finished rows are stored).

    Examples
    --------
    >>> import types, numpy as np
    >>> m = types.ModuleType("coin")
    >>> m.GRID, m.N_SEEDS = {"p": [0.25, 0.75]}, 2
    >>> m.run_cell = lambda settings, seed: {"mean": (np.random.default_rng(seed).random(2000) < settings["p"]).mean()}
    >>> df = run(m, executor="serial", progress=False)
    >>> df["p"].tolist(), df["seed_index"].tolist(), bool((abs(df["mean"] - df["p"]) < 0.05).all())
    ([0.25, 0.25, 0.75, 0.75], [0, 1, 0, 1], True)
    """
    executor, is_client, n_workers, flush_seconds = _check_run_args(executor, scheduler, n_workers, flush_seconds,
                                                                    retry_failed)
    s = load_sim(sim, quick=(sim.quick if isinstance(sim, Sim) else False) if quick is None else quick,
                 root_seed=root_seed)
    version = _version()
    store = ResultStore(out, manifest_for(s, version)) if out is not None else None
    exists = store.validate() if store is not None else False  # read-only: refusals write nothing
    with store.lock() if store is not None else contextlib.nullcontext():
        tasks = s.tasks()
        key_to_pos = {(h, r): i for i, (_, r, _, h) in enumerate(tasks)}
        failures, done, todo = _pending(store if exists else None, tasks, key_to_pos, retry_failed)
        writer = _Writer(store, flush_seconds, s.name)
        if todo:
            backend = _backend(s, executor, is_client, scheduler, n_workers, len(todo))
            _execute(s, backend, store, writer, tasks, todo, failures, len(done), progress, version)
        elif store is not None:
            store.create()
        df = _assemble(s, store, writer.rows, tasks, key_to_pos)
    df.attrs["sweep"].update(n_computed=len(writer.rows), n_stored_before=len(done))
    if failures:
        raise _cell_error(s.name, failures, out, len(df), len(tasks))
    return df


def _version() -> str:
    import mdpkit

    return mdpkit.__version__


def _check_run_args(executor: Any, scheduler: str | None, n_workers: int | None, flush_seconds: float,
                    retry_failed: bool) -> tuple[Any, bool, int | None, float]:
    """Validate the arguments of :func:`run`; returns ``(executor, is_client, n_workers, flush_seconds)``."""
    is_client = type(executor).__module__.startswith("distributed") and hasattr(executor, "submit")
    if not is_client:
        check_choice("executor", executor, _EXECUTORS)
    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler.strip():
            raise TypeError(f"`scheduler` must be an address string such as "
                            f"'tcp://host:8786'; got {scheduler!r}.")
        if is_client or executor not in ("local", "dask"):
            raise ValueError(f"`scheduler` needs executor='dask'; got executor={executor!r}.")
        executor = "dask"
    if n_workers is not None:
        n_workers = check_int("n_workers", n_workers, lo=1)
        if scheduler is not None or is_client:
            raise ValueError("`n_workers` applies to a local pool or a new LocalCluster; "
                             "it cannot be combined with `scheduler` or a Client.")
    if not isinstance(retry_failed, bool):
        raise TypeError(f"`retry_failed` must be True or False; got {retry_failed!r}.")
    return executor, is_client, n_workers, check_positive("flush_seconds", flush_seconds)


def _pending(store: ResultStore | None, tasks: list, key_to_pos: dict[tuple[str, int], int],
             retry_failed: bool) -> tuple[dict[str, dict[str, Any]], set[int], list[tuple[int, dict, int]]]:
    """Return what a run still has to do: ``(failures, done, todo)`` from an existing ``store`` (or none).

    ``done``: task positions whose rows are stored; ``failures``: the recorded failed cells;
    ``todo``: ``(position, settings, seed)`` of the cells neither stored nor (unless
    ``retry_failed``) recorded as failed.
    """
    stored = store.read_frame() if store is not None else None
    failures = store.read_failures() if store is not None else {}
    done: set[int] = set()
    if stored is not None:
        for h, r in zip(stored["settings_hash"], stored["seed_index"], strict=True):
            pos = key_to_pos.get((h, int(r)))
            if pos is not None:
                done.add(pos)
    skip = set() if retry_failed else {key_to_pos[k] for k in map(_unkey, failures) if k in key_to_pos}
    todo = [(i, t[0], t[2]) for i, t in enumerate(tasks) if i not in done and i not in skip]
    return failures, done, todo


def _key(settings_hash: str, seed_index: int) -> str:
    return f"{settings_hash}/{seed_index}"


def _unkey(key: str) -> tuple[str, int]:
    h, _, r = key.partition("/")
    return h, int(r) if r.isdigit() else -1


def _backend(s: Sim, executor: Any, is_client: bool, scheduler: str | None, n_workers: int | None,
             n_todo: int) -> Any:
    nw = min(n_workers or os.cpu_count() or 1, n_todo)  # no idle workers
    if is_client:
        return _Dask(s, n_workers=None, scheduler=None, client=executor)
    if executor == "dask":
        return _Dask(s, n_workers=nw if scheduler is None else None, scheduler=scheduler)
    if executor == "serial":
        return _Serial(s)
    return _LocalPool(s, nw)


def _execute(s: Sim, backend: Any, store: ResultStore | None, writer: _Writer, tasks: list, todo: list,
             failures: dict[str, dict[str, Any]], n_done: int, progress: bool, version: str) -> None:
    """Run ``todo``; failed cells go to ``failures`` (with their traceback), the rest are stored."""
    bar = Progress(s.name, len(tasks), n_done, enabled=progress)
    try:
        with backend, _sigterm_as_exit():
            if store is not None:
                store.create()
            for i, status, val in backend.imap(_Batcher(todo, backend.n_slots)):
                settings, r, seed, h = tasks[i]
                if status != "ok":
                    failures[_key(h, r)] = {"settings": settings, "seed_index": r, "seed": seed,
                                            "traceback": val}
                    continue
                failures.pop(_key(h, r), None)
                writer.add(make_row(settings, r, seed, h, val, version), val)
                bar.update()
    except KeyboardInterrupt:
        n = n_done + len(writer.rows) + len(writer.buf)
        where = f" in {str(store.folder)!r}" if store is not None else ""
        resume = "; run the same command again to resume" if store is not None else ""
        raise SweepInterrupted(f"interrupted: {n} of {len(tasks)} cells stored{where}{resume}.") from None
    finally:
        writer.flush()
        bar.close()
        if store is not None:
            store.write_failures(failures)
    if store is not None:
        store.compact()


def _cell_error(name: str, failures: dict[str, dict[str, Any]], out: Any, n_rows: int,
                n_tasks: int) -> CellError:
    recs = list(failures.values())
    lines = [f"  settings {f['settings']!r}, seed_index {f['seed_index']} (seed {f['seed']}): "
             f"{f['traceback'].strip().splitlines()[-1]}" for f in recs[:10]]
    more = f"\n  ... and {len(recs) - 10} more" if len(recs) > 10 else ""
    where = (f" Tracebacks are in {str(Path(out) / 'failures.json')!r}; rerun with retry_failed=True "
             "(mdpkit sweep --retry-failed) to run only the failed cells." if out is not None else "")
    return CellError(
        f"run_cell of sim {name!r} failed for {len(recs)} of {n_tasks} cells; the other {n_rows} "
        f"rows are stored.{where}\nFailed cells:\n" + "\n".join(lines) + more
        + f"\nFirst worker traceback:\n{recs[0]['traceback']}",
        failures=recs,
    )


def _assemble(sim: Sim, store, rows, tasks, key_to_pos):
    import pandas as pd
    import pyarrow as pa

    if store is not None:
        df = store.read_frame()
    else:
        df = pa.Table.from_pylist(rows).to_pandas() if rows else None
    if df is None:
        df = pd.DataFrame()
    else:
        pos = [key_to_pos.get((h, int(r)), -1) for h, r in zip(df["settings_hash"], df["seed_index"], strict=True)]
        df = df.assign(_pos=pos)
        df = df[df["_pos"] >= 0].sort_values("_pos", kind="stable").drop(columns="_pos")
        df = df.reset_index(drop=True)
        skeys = [k for k in manifest_for(sim, "")["settings_keys"] if k in df.columns]
        tail = ["settings_hash", "mdpkit_version", "row_hash"]
        outs = [c for c in df.columns if c not in (*skeys, "seed_index", "seed", *tail)]
        df = df[[*skeys, "seed_index", "seed", *outs, *tail]]
    import mdpkit

    df.attrs["sweep"] = manifest_for(sim, mdpkit.__version__)
    if store is not None:
        df.attrs["sweep"]["folder"] = str(Path(store.folder))
    return df
