"""Socket plumbing shared by the virtual controller's servers: resource bounds, bounded sends, capped
connection sets, accept loops with real-time server threads, listening sockets."""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from weldcell.drivers.realtime import configure_thread
from weldcell.drivers.ur.virtual.core import (
    LARGE_PROGRAM_CHARS,
)
from weldcell.errors import DriverConnectionError

log = logging.getLogger(__name__)


# --- resource bounds (a client must never be able to stop the controller) ----------------------

#: Largest RTDE data package [bytes, header included] a recipe may produce. UR's RTDE guide: "the
#: maximum package size is 2048 bytes"; larger output/input recipes are refused at setup.
RTDE_MAX_DATA_PACKAGE = 2048
#: Largest RTDE package accepted from a client [bytes]; bigger length fields close the connection.
RTDE_MAX_CLIENT_PACKAGE = 16384
#: Output not yet taken by a client's socket [bytes]; a client that falls further behind is dropped.
RTDE_MAX_QUEUED_BYTES = 256 * 1024
#: Kernel send buffer of an RTDE connection [bytes] (fixed, so a stalled reader is noticed in time).
RTDE_SEND_BUFFER = 256 * 1024
#: Longest dashboard command line [bytes]; a longer line (or one without newline) closes the connection.
DASHBOARD_MAX_LINE = 4096
#: Longest URScript line [bytes] and largest program [bytes] accepted on a script port.
SCRIPT_MAX_LINE = 64 * 1024
SCRIPT_MAX_PROGRAM = 4 * 1024 * 1024
#: Time a dashboard/script client gets to take a reply before it is disconnected [s].
REPLY_SEND_TIMEOUT = 2.0
#: Concurrent connections per server; more are accepted and closed at once.
MAX_CONNECTIONS = {"rtde": 32, "dashboard": 32, "script": 16}
#: Cycles the controller may fall behind before it skips them (and says so) [cycles].
MAX_LAG_CYCLES = 10
#: ``SCHED_FIFO`` priorities of the controller process started by :func:`start_virtual_controller`
#: (and ``weldcell controller ur``): the cycle thread, and every server thread below it. Both are
#: above the UR driver's control loop (10): the virtual controller stands for the robot, whose
#: cycle never waits for the PC, and a server thread holding the GIL must not be preempted by the
#: driver or by ordinary load while the cycle waits for the GIL.
CYCLE_PRIORITY = 20
SERVER_PRIORITY = 15

MSG_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class RateLimitedLog:
    """At most one log line per ``interval`` [s] for a recurring condition; counts what it held back."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._last = -math.inf
        self.suppressed = 0
        self._lock = threading.Lock()

    def __call__(self, level: int, msg: str, *args: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.interval:
                self.suppressed += 1
                return
            self._last = now
            held, self.suppressed = self.suppressed, 0
        if held:
            msg += f" ({held} similar messages suppressed)"
        log.log(level, msg, *args)


def send_bounded(sock: socket.socket, data: bytes, timeout: float = REPLY_SEND_TIMEOUT) -> None:
    """Send all of ``data`` within ``timeout`` [s] without ever blocking longer.

    Raises:
        TimeoutError: the peer did not take the data in time (it does not read).
        OSError: the connection failed.
    """
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    while view:
        try:
            n = sock.send(view, MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            n = 0
        if n:
            view = view[n:]
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"peer did not take {len(view)} bytes within {timeout} s")
        select.select([], [sock], [], remaining)


class ConnectionSet:
    """The live client sockets of one server, capped at ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()

    def add(self, sock: socket.socket) -> bool:
        """Register ``sock``; False (nothing registered) when the server is full."""
        with self._lock:
            if len(self._socks) >= self.limit:
                return False
            self._socks.add(sock)
            return True

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.discard(sock)

    def snapshot(self) -> list[socket.socket]:
        with self._lock:
            return list(self._socks)

    def __len__(self) -> int:
        with self._lock:
            return len(self._socks)


def server_thread_setup(priority: int | None) -> None:
    """Put the calling server thread under ``SCHED_FIFO`` ``priority`` (None: leave it ordinary).

    A server thread holds the GIL while it handles a package; if an ordinary process (a CPU hog)
    preempted it then, the cycle thread would wait for the GIL until the scheduler ran the server
    thread again (several ms): a real-time server thread is only ever preempted by higher real-time
    priorities. Without permission the thread silently stays ordinary.
    """
    if priority is not None:
        for note in configure_thread(priority):
            log.debug("virtual UR controller %s: %s", threading.current_thread().name, note)


@contextlib.contextmanager
def ordinary_scheduling(program_chars: int) -> Iterator[None]:
    """Run the body with ordinary scheduling if the program is large and the thread real-time.

    Compiling a program of several MB takes seconds of CPU; on a ``SCHED_FIFO`` server thread it
    would starve every ordinary process on that CPU. Small programs (the servo program) compile
    in a few ms and keep the thread's priority.
    """
    policy = -1
    if program_chars >= LARGE_PROGRAM_CHARS:
        with contextlib.suppress(AttributeError, OSError):
            policy = os.sched_getscheduler(0)
            param = os.sched_getparam(0)
            if policy == os.SCHED_FIFO:
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    try:
        yield
    finally:
        if policy == os.SCHED_FIFO:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, policy, param)


def accept_loop(
    listener: socket.socket,
    conns: ConnectionSet,
    closed: threading.Event,
    serve: Callable[[socket.socket, Any], None],
    what: str,
    priority: int | None = None,
) -> None:
    """Accept clients until ``closed``; each gets a daemon thread running ``serve(sock, peer)``.

    Transient accept errors (out of file descriptors, aborted handshakes) never end the loop.
    ``priority``: ``SCHED_FIFO`` priority of this thread and of every connection thread (None:
    ordinary scheduling; see :class:`VirtualController` ``server_priority``).
    """
    server_thread_setup(priority)
    full_log = RateLimitedLog()
    while not closed.is_set():
        try:
            sock, peer = listener.accept()
        except OSError as err:
            if closed.is_set():
                return
            full_log(logging.WARNING, "%s: accept failed (%s); retrying", what, err)
            time.sleep(0.05)
            continue
        if not conns.add(sock):
            full_log(logging.WARNING, "%s: %d connections open; refusing %s", what, conns.limit, peer)
            with contextlib.suppress(OSError):
                sock.close()
            continue

        def run(sock: socket.socket = sock, peer: Any = peer) -> None:
            server_thread_setup(priority)
            try:
                serve(sock, peer)
            except Exception:  # a bug in one connection must not go unnoticed, nor spread
                log.exception("%s: connection %s failed", what, peer)
            finally:
                conns.discard(sock)
                with contextlib.suppress(OSError):
                    sock.close()

        threading.Thread(target=run, name=f"{what}-{peer}", daemon=True).start()


def listen(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise DriverConnectionError(f"virtual UR controller port {port}: expected a TCP port 0 … 65535")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
    except (OSError, OverflowError) as err:
        s.close()
        why = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        if isinstance(err, OSError) and err.errno == errno.EADDRINUSE:
            why += " (another controller running? choose other ports)"
        raise DriverConnectionError(f"virtual UR controller cannot listen on {host}:{port}: {why}") from err
    s.listen(128)  # a burst of connects must not overflow the backlog (SYN retries cost 1 s)
    return s


def close_listener(listener: socket.socket) -> None:
    """Close a listening socket so that a thread blocked in ``accept`` on it returns now.

    On Linux, closing the socket alone leaves that ``accept`` blocked (the thread would live on);
    ``shutdown`` wakes it with an error, which the accept loop reads as "closed".
    """
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        listener.close()


def close_sockets(listener: socket.socket, socks: list[socket.socket]) -> None:
    """Close a server's listening socket and shut down its client connections (errors ignored)."""
    close_listener(listener)
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()
