"""Fixtures shared by the whole suite: leak checks for every test, and no stamp key from outside.

Every test is checked for what it leaves behind (``_no_leaks``, autouse): threads it started that are
still running 3 s after it ended, sockets it opened and did not close, and pybullet clients it
connected and did not disconnect. A test that needs a long-lived resource gets it from a fixture of
module or session scope (set up before the check's snapshot, torn down after it).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# One terminal width for every test, whatever runs them (a terminal, CI, pytest-xdist workers):
# rich sizes tables and wraps long paths to it, and the CLI tests assert on that text. Set before
# weldcell.cli creates its consoles.
os.environ["COLUMNS"] = "200"

_PYBULLET_IDS = range(64)  # client ids pybullet hands out first; a leak shows up among them


def _socket_fds() -> set[str]:
    """Inodes of the sockets this process holds open (Linux /proc; empty elsewhere)."""
    out: set[str] = set()
    try:
        fds = list(Path("/proc/self/fd").iterdir())
    except OSError:
        return out
    for fd in fds:
        try:
            target = str(fd.readlink())
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:"):
            out.add(target)
    return out


def _pybullet_clients() -> set[int]:
    """Connected pybullet client ids (only when a test has imported pybullet)."""
    p = sys.modules.get("pybullet")
    if p is None:
        return set()
    return {i for i in _PYBULLET_IDS if p.isConnected(physicsClientId=i)}


def _leaked_threads(before: set[threading.Thread], grace: float) -> list[str]:
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    deadline = time.monotonic() + grace
    for t in leaked:
        t.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in leaked if t.is_alive()]


@pytest.fixture(autouse=True)
def _no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if it leaves threads, sockets or pybullet clients behind."""
    threads = set(threading.enumerate())
    sockets = _socket_fds()
    clients = _pybullet_clients()
    yield
    problems = []
    names = _leaked_threads(threads, grace=3.0)
    if names:
        problems.append(f"threads left running: {names}")
    new_sockets = _socket_fds() - sockets
    if new_sockets:  # an unreferenced socket object is closed by the collector: give it the chance
        gc.collect()
        deadline = time.monotonic() + 2.0
        while new_sockets and time.monotonic() < deadline:
            time.sleep(0.05)
            new_sockets = _socket_fds() - sockets
    if new_sockets:
        problems.append(f"{len(new_sockets)} socket(s) left open")
    new_clients = _pybullet_clients() - clients
    if new_clients:
        problems.append(f"pybullet client(s) left connected: {sorted(new_clients)}")
    if problems:
        pytest.fail(f"{request.node.nodeid} leaks: " + "; ".join(problems), pytrace=False)


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    """Kept for the folders that asked for it explicitly; the suite-wide check does the work now."""
    yield


@pytest.fixture(autouse=True)
def _no_stamp_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests stamp unkeyed unless they pass a key; a developer's $WELDCELL_STAMP_KEY is ignored."""
    monkeypatch.delenv("WELDCELL_STAMP_KEY", raising=False)
