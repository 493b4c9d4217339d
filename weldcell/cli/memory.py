"""Memory policy of the planning commands: freed arrays go back to the system straight away.

glibc's ``malloc`` serves a block larger than its *mmap threshold* with its own ``mmap`` and
unmaps it on ``free``, but raises that threshold (up to 32 MB) each time such a block is freed,
so that from then on the arrays of a planner (a few MB each, allocated and freed by the hundred)
come from the heap, whose freed pages mostly stay resident. Fixing the threshold (``mallopt``,
which also ends the dynamic adjustment) keeps the resident set close to the live arrays: planning
``programs/box_frame.yaml`` peaks about 35 MB lower, at no measurable cost in time (issue #14;
``benchmarks/bench_planning.py --programs`` prints the figure).
"""

from __future__ import annotations

import sys

M_MMAP_THRESHOLD = -3  # glibc <malloc.h>: the mallopt parameter number of the mmap threshold
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own initial value, kept fixed [bytes]


def release_large_blocks_promptly(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` [bytes] for this process.

    Returns:
        True when set; False on a system without glibc's ``mallopt`` (macOS, Windows, musl),
        where the allocator keeps its own policy (a memory figure, not a result, changes).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)  # the C library the interpreter runs on
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, int(threshold)))
