"""What the benchmarks share: timing a call as the median of several runs, or a command."""

from __future__ import annotations

import statistics
import subprocess
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


def timed_command(cmd: list[str]) -> float:
    """Wall time in seconds of one run of a command (its output discarded; it must succeed)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start
