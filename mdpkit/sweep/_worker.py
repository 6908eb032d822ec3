"""What runs inside a worker process: thread pinning and one ``run_cell`` call.

Kept small and free of pandas/pyarrow/dask so that workers start fast.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from typing import Any

from ._sim import check_outputs, module_from_source

#: Environment variables that cap the thread pools of BLAS, OpenMP and Numba.
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}

_pinned = threading.local()
_limiter: Any = None


def pin_threads() -> None:
    """Cap BLAS/OpenMP/Numba at one thread in this process (worker initializer).

    The environment variables reach every library loaded later and every child
    process; libraries already loaded (NumPy's BLAS, Numba) are capped at run time,
    through ``threadpoolctl`` when it is installed and ``numba.set_num_threads``.
    """
    global _limiter
    env = dict(THREAD_ENV)
    if "numba" in sys.modules:
        # Numba re-reads its environment at every compilation and refuses a new
        # NUMBA_NUM_THREADS once its pool exists; it is capped at run time below.
        env.pop("NUMBA_NUM_THREADS")
    os.environ.update(env)
    _pin_numba()  # first: it loads Numba's threading layer (OpenMP), capped below too
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with the [sweep] extra
        pass
    else:
        if _limiter is None:
            _limiter = threadpool_limits(limits=1)


def _pin_numba() -> None:
    # numba's thread count is per calling thread: Dask runs tasks on executor threads.
    if getattr(_pinned, "done", False):
        return
    import numba

    numba.set_num_threads(1)
    _pinned.done = True


def run_task(payload: tuple, settings: dict[str, Any], seed: int, pin: bool = True) -> tuple[str, Any]:
    """Run one cell; return ``("ok", outputs)`` or ``("error", traceback text)``.

    ``payload`` is ``("source", name, source, path)`` (the module is rebuilt from its
    source once per process) or ``("func", name, run_cell)``.
    """
    try:
        if pin:
            _pin_numba()
        if payload[0] == "source":
            _, name, source, path = payload
            fn = module_from_source(source, path).run_cell
        else:
            _, name, fn = payload
        return "ok", check_outputs(name, settings, fn(dict(settings), seed))
    except Exception:
        return "error", traceback.format_exc()


def run_batch(payload: tuple, batch: list[tuple[int, dict[str, Any], int]]
              ) -> tuple[list[tuple[int, str, Any]], float]:
    """Run several cells in order; also return the seconds.

    Run several cells in order (a failed cell is reported, the others still run);
    also return the seconds.
    """
    t0 = time.perf_counter()
    out = [(i, *run_task(payload, settings, seed)) for i, settings, seed in batch]
    return out, time.perf_counter() - t0


def pool_worker_init(parent_pid: int) -> None:
    """Initialize a local pool worker.

    One thread, Ctrl-C left to the parent, and exit
    when the parent is gone (a SIGKILLed parent cannot stop its pool).
    """
    pin_threads()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool cleanly

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except OSError:  # pragma: no cover - exists under another user
                pass
            if os.getppid() == 1:  # re-parented to init: the pool's owner died
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="mdpkit-parent-watch").start()
