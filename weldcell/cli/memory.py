"""Memory policy of ``weldcell plan``: freed planning arrays are handed back between planning stages.

glibc's ``malloc`` serves a block larger than its *mmap threshold* with its own ``mmap`` and unmaps
it on ``free``, but raises that threshold (up to 32 MB) each time such a block is freed, so from
then on the planner's arrays (a few MB each, allocated and freed by the hundred) come from the
heap, whose freed pages stay resident until ``malloc_trim``. Trimming at every progress report
(each seam, each planning stage) lowers the peak resident set of planning
``programs/box_frame.yaml`` by about 20 MB at no measurable cost. Fixing the threshold instead
(``mallopt``) saves about 40 MB but costs a quarter more planning CPU time (a ``mmap`` and page
faults for every array above it), so it is not done (issue #14; measured with
``benchmarks/bench_memory_startup.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

ProgressFn = Callable[[float, str], None]


def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` (None without glibc: macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return None
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return trim


def trim_freed_memory() -> bool:
    """Return the heap's free pages to the system now.

    Returns:
        True when glibc released memory; False when there was none to release or the C library is
        not glibc (then the allocator keeps its own policy: a memory figure changes, no result).
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


def trimming(progress: ProgressFn) -> ProgressFn:
    """``progress`` (fraction in [0, 1], message) that first returns freed memory to the system."""
    trim = _malloc_trim()
    if trim is None:
        return progress

    def report(fraction: float, message: str) -> None:
        trim(0)
        progress(fraction, message)

    return report
