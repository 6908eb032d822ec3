"""Thread configuration for the compiled kernels.

Small problems run serially regardless: on 2-core machines a parallel region costs
4-8 ms when another process holds the other core (DESIGN.md section 4).
"""

from __future__ import annotations

import os
from typing import Any

import numba

from ._validation import check_int

#: Problems whose work per sweep (entries of P touched) is below this run serially.
#: A parallel region costs 4-8 ms to wake a thread whose core another process holds, and
#: the busy core then does its half of the sweep at half speed: with a CPU-bound process
#: on the other core, a dense S=2000, A=10 solve (4e7 entries per sweep) took 1.64x
#: longer on 2 threads than on 1 (benchmarks/bench_solvers.py), so only sweeps of
#: 1e8 entries (800 MB, tens of ms) and more are split.
PARALLEL_MIN_WORK = 100_000_000
#: Dense modified policy iteration with action elimination times its rounds and runs
#: them on all threads only while that is measured faster per row of ``P`` read
#: (``mdpkit.solvers._solve._mpi_timed``), from this many entries per policy pass
#: (``S^2``, 16 MB): below it the policy's rows stay in cache and one thread keeps up
#: (dense random S=1200, A=10: 0.42 ms serial, 0.28 ms on 2 threads per pass; S=2000:
#: 2.8 ms against 1.1-1.5 ms).
TIMED_THREADS_MIN_WORK = 2_000_000


def set_num_threads(n: int) -> None:
    """Set the number of threads used by parallel kernels (also ``NUMBA_NUM_THREADS``).

    >>> import mdpkit
    >>> mdpkit.set_num_threads(1); mdpkit.get_num_threads()
    1
    """
    n = check_int("n", n, lo=1, hi=int(numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    numba.set_num_threads(n)


def get_num_threads() -> int:
    """Return the number of threads parallel kernels currently use."""
    return int(numba.get_num_threads())


def idle_cores() -> int:
    """Return how many of this process's CPUs have nothing else to run right now.

    The CPUs in the affinity mask minus the kernel's instantaneous count of runnable
    tasks (the fourth field of Linux's ``/proc/loadavg``, which counts the caller);
    ``0`` where that file is missing. A thread woken on a core another process holds
    waits for that process's time slice (about 20 ms measured on 2 cores), so parallel
    sections that may be short start only on idle cores.

    >>> from mdpkit._config import idle_cores
    >>> idle_cores() >= 0
    True
    """
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
        cpus = len(os.sched_getaffinity(0))
    except (OSError, ValueError, IndexError, AttributeError):
        return 0
    return max(0, cpus - running)


def _no_nrt_options() -> dict[str, Any]:
    """Return the njit option that compiles a kernel without Numba's reference counting.

    Helpers that allocate nothing, called once per draw in the bandit loops, pay an atomic
    reference-count update per array argument under the NRT; ``_nrt=False`` removes it.
    The option is private to Numba, so it is used only where this Numba version has it;
    elsewhere the kernels compile as usual (same results, slower).
    """
    from numba.core.cpu import CPUTargetOptions

    return {"_nrt": False} if hasattr(CPUTargetOptions, "_nrt") else {}


#: ``njit`` keyword options for kernels that allocate nothing (see :func:`_no_nrt_options`).
NO_NRT: dict[str, Any] = _no_nrt_options()
