"""What the benchmarks share: timing a call as the median of several runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], runs: int, *, warmup: bool = False) -> float:
    """Median wall time of ``runs`` calls of ``fn``, seconds (after one untimed call if
    ``warmup``: caches, lazy imports, compiled tables)."""
    if warmup:
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
