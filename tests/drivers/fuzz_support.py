"""Helpers of the socket fuzz campaigns: bounded loops, best-effort sockets, process memory."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path


def bounded(count: int, seconds: float) -> Iterator[int]:
    """0, 1, ... up to ``count`` items or until ``seconds`` of wall time have passed, whichever first."""
    end = time.monotonic() + seconds
    for i in range(count):
        if time.monotonic() > end:
            return
        yield i


def blast(host: str, port: int, payload: bytes, linger: float = 0.0, timeout: float = 1.0) -> None:
    """Connect, send ``payload`` (as much as the peer takes within ``timeout``), optionally wait, close."""
    with contextlib.suppress(OSError):
        s = socket.create_connection((host, port), timeout=timeout)
        try:
            with contextlib.suppress(OSError):
                s.sendall(payload)
            if linger:
                time.sleep(linger)
        finally:
            s.close()


def rss_bytes(pid: int) -> int:
    """Resident set size [bytes] of process ``pid`` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time [s] (user + system) process ``pid`` has used so far (Linux /proc, 10 ms ticks)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def fifo_priority(priority: int = 2) -> Iterator[None]:
    """Run the calling thread under SCHED_FIFO (below the controller's cycle) where permitted.

    A Python loop that polls a peer library for distinct timestamps loses samples whenever the test
    process is descheduled on a loaded machine; this keeps the poller on time. Without permission
    the thread keeps ordinary scheduling.
    """
    import os

    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        changed = True
    except (AttributeError, OSError):
        changed = False
    try:
        yield
    finally:
        if changed:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
