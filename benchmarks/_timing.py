"""Timing helper shared by the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(f: Callable[[], object], repeat: int = 3, min_time: float = 0.05, max_calls: int = 1 << 16) -> float:
    """Best of ``repeat`` timings (seconds per call), each averaged over enough calls to last ``min_time``."""
    f()
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            f()
        dt = time.perf_counter() - t
        if dt >= min_time or n >= max_calls:
            break
        n *= 2
    ts = [dt / n]
    for _ in range(repeat - 1):
        t = time.perf_counter()
        for _ in range(n):
            f()
        ts.append((time.perf_counter() - t) / n)
    return min(ts)
