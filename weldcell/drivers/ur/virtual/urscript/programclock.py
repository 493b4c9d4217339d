"""CPU time of the calling thread without the garbage collector's pauses: what a program itself used.

The interpreter's per-cycle CPU budget ("Runtime is too much behind") judges the *program*. A full
collection of the cyclic garbage collector runs in whichever thread allocates when it is due and
can take a few 0.1 s in a process with a large heap (a test worker, a cell with big programs), so
plain ``time.thread_time()`` would charge that pause to whatever URScript statement happened to
allocate and stop a healthy program. :func:`program_cpu_time` subtracts the collector's CPU time
in this thread, measured by a ``gc.callbacks`` hook that :func:`install` adds once per process.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

_state = threading.local()
_install_lock = threading.Lock()
_installed = False


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    """``gc.callbacks`` hook: adds the CPU time of each collection to this thread's total."""
    if phase == "start":
        _state.t0 = time.thread_time()
    else:
        t0 = getattr(_state, "t0", None)
        if t0 is not None:
            _state.gc_cpu = getattr(_state, "gc_cpu", 0.0) + (time.thread_time() - t0)
            _state.t0 = None


def install() -> None:
    """Start measuring the collector's CPU time per thread (idempotent; cheap per collection).

    The hook goes first in ``gc.callbacks`` so that other hooks' work counts as collector time too.
    """
    global _installed
    with _install_lock:
        if not _installed:
            gc.callbacks.insert(0, _on_collection)
            _installed = True


def gc_cpu_time() -> float:
    """CPU time [s] the garbage collector has used in the calling thread since :func:`install`."""
    return float(getattr(_state, "gc_cpu", 0.0))


def program_cpu_time() -> float:
    """CPU time [s] of the calling thread minus its garbage-collection time (only differences count)."""
    return time.thread_time() - gc_cpu_time()
