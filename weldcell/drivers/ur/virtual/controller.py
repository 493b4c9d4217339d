"""Virtual UR controller: RTDE, Dashboard and URScript servers around a simulated arm, in its own process.

Start it with :func:`start_virtual_controller` (tests, demo) or ``weldcell controller ur`` (CLI). It
binds 127.0.0.1 by default; any loopback alias 127.0.0.N works, which lets several controllers use
the fixed ports ur_rtde needs (RTDE 30004, Dashboard 29999) at the same time. Ports can be changed
(0 = ephemeral) when only weldcell's own clients talk to it.

Servers:

* RTDE (30004): protocol v1 and v2, the full field table of the advertised version (unknown fields
  are ``NOT_FOUND``, inputs owned by another connection ``IN_USE``), input recipe ids from 1 per
  connection, input packages applied even before START, output packages at the requested
  frequency (decimated from 500 Hz e-Series / 125 Hz CB3), controller messages as TEXT_MESSAGE
  packages to started v2 clients.
* Dashboard (29999): the e-Series command set with the controller's exact reply strings, plus
  test commands prefixed ``weldcell`` (fault injection, see :data:`TEST_COMMANDS`).
* Script ports (30001 primary, 30002 secondary, 30003 real-time): URScript text; ``def`` programs
  replace the running program, ``sec`` programs run at once without motion, single lines run as
  one-line programs. Errors go out as RTDE text messages. (The ports accept scripts only; they do
  not stream primary/real-time state packages.)

The controller's state lives in :class:`~weldcell.drivers.ur.virtual.core.ControllerCore`.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import logging
import math
import multiprocessing as mp
import os
import re
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from weldcell.drivers.bind import check_bind_address
from weldcell.drivers.realtime import PROCESS_REALTIME, RealtimeConfig, configure_thread
from weldcell.drivers.ur.client import rtde_protocol as rp
from weldcell.drivers.ur.virtual.urscript import Program, URScriptError
from weldcell.drivers.ur.virtual.urscript.syntax import warm_parser
from weldcell.drivers.ur.virtual.core import (
    LARGE_PROGRAM_CHARS,
    ControllerCore,
    CoreConfig,
    RobotMode,
    RuntimeState,
    SafetyMode,
    compile_program,
)
from weldcell.errors import DriverConnectionError, DriverTimeoutError
from weldcell.kinematics.safety import SafetyLimits

log = logging.getLogger(__name__)

#: Process settings while a controller runs: only the GIL switch interval (see VirtualController.start).
_SWITCH_ONLY = RealtimeConfig(
    fifo_priority=None, reader_fifo_priority=None, gc="on", switch_interval=0.0005, timer_slack=None
)

TEST_COMMANDS = {
    "weldcell protective_stop <reason>": "trigger a protective stop",
    "weldcell estop": "press the robot emergency stop",
    "weldcell estop release": "release the emergency stop (arm stays powered off)",
    "weldcell set_digital_in <n> <0|1>": "set standard (0-7) / configurable (8-15) digital input n",
    "weldcell set_analog_in <n> <value>": "set standard analog input n (0, 1)",
    "weldcell speed_slider <fraction>": "move the pendant's speed slider (0 … 1)",
    "weldcell state": "one-line JSON snapshot of the controller",
    "weldcell cycle_timing reset": "restart the cycle timing statistics (cycle_timing in the state)",
}


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

_MSG_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class CycleTiming:
    """Lateness of the controller's cycles: how long after its due time each cycle started.

    The cycle thread records one value per cycle (preallocated ring, no allocation); any thread
    may read :meth:`summary` (a torn read of the ring only mixes two neighbouring samples).

    Args:
        cycle: Controller cycle [s].
        history: Number of cycles kept for the percentiles (65,536: 131 s at 500 Hz).
    """

    def __init__(self, cycle: float, history: int = 1 << 16) -> None:
        self.cycle = cycle
        self._late = np.zeros(history)
        self.n = 0
        #: cycles that started more than one cycle after their due time
        self.late_cycles = 0
        #: largest lateness since start [s]
        self.max_late = 0.0
        self._reset = False

    def reset(self) -> None:
        """Restart the statistics (applied by the cycle thread at its next cycle)."""
        self._reset = True

    def record(self, late: float) -> None:
        """Record the lateness [s] of the cycle starting now."""
        if self._reset:  # the recording thread is the only writer
            self._reset = False
            self.n = self.late_cycles = 0
            self.max_late = 0.0
        self._late[self.n % self._late.shape[0]] = late
        self.n += 1
        if late > self.cycle:
            self.late_cycles += 1
        if late > self.max_late:
            self.max_late = late

    def summary(self) -> dict[str, float | int]:
        """Cycle count, late cycles and lateness percentiles [s] of the last ``history`` cycles."""
        n = min(self.n, self._late.shape[0])
        window = self._late[:n] if n else np.zeros(1)
        p50, p99, p999 = (float(v) for v in np.percentile(window, [50.0, 99.0, 99.9]))
        return {
            "cycles": self.n,
            "late_cycles": self.late_cycles,
            "lateness_p50_s": p50,
            "lateness_p99_s": p99,
            "lateness_p99_9_s": p999,
            "lateness_max_s": self.max_late,
        }


class _RateLimitedLog:
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


def _send_bounded(sock: socket.socket, data: bytes, timeout: float = REPLY_SEND_TIMEOUT) -> None:
    """Send all of ``data`` within ``timeout`` [s] without ever blocking longer.

    Raises:
        TimeoutError: the peer did not take the data in time (it does not read).
        OSError: the connection failed.
    """
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    while view:
        try:
            n = sock.send(view, _MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            n = 0
        if n:
            view = view[n:]
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"peer did not take {len(view)} bytes within {timeout} s")
        select.select([], [sock], [], remaining)


class _ConnectionSet:
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


def _server_thread_setup(priority: int | None) -> None:
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
def _ordinary_scheduling(program_chars: int) -> Iterator[None]:
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


def _accept_loop(
    listener: socket.socket,
    conns: _ConnectionSet,
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
    _server_thread_setup(priority)
    full_log = _RateLimitedLog()
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
            _server_thread_setup(priority)
            try:
                serve(sock, peer)
            except Exception:  # a bug in one connection must not go unnoticed, nor spread
                log.exception("%s: connection %s failed", what, peer)
            finally:
                conns.discard(sock)
                with contextlib.suppress(OSError):
                    sock.close()

        threading.Thread(target=run, name=f"{what}-{peer}", daemon=True).start()


@dataclass(frozen=True)
class Ports:
    """TCP ports of the virtual controller (0 = pick a free port)."""

    rtde: int = 30004
    dashboard: int = 29999
    primary: int = 30001
    secondary: int = 30002
    realtime: int = 30003


# --- RTDE server ---------------------------------------------------------------------------------


def _vec(a: Any) -> tuple[float, ...]:
    return tuple(float(x) for x in a)


def _output_getter(name: str) -> Callable[[ControllerCore], Any] | None:
    """Function computing output field ``name`` from the core, or None if it is unknown."""
    z6 = (0.0,) * 6
    simple: dict[str, Callable[[ControllerCore], Any]] = {
        "timestamp": lambda c: c.time,
        "target_q": lambda c: _vec(c.target_q),
        "target_qd": lambda c: _vec(c.target_qd),
        "target_qdd": lambda c: _vec(c.target_qdd),
        "actual_q": lambda c: _vec(c.actual_q),
        "actual_qd": lambda c: _vec(c.actual_qd),
        "actual_TCP_pose": lambda c: _vec(c.tcp_pose(c.actual_q)),
        "target_TCP_pose": lambda c: _vec(c.tcp_pose(c.target_q)),
        "actual_digital_input_bits": lambda c: c.digital_in,
        "actual_digital_output_bits": lambda c: c.digital_out,
        "robot_mode": lambda c: int(c.robot_mode),
        "safety_mode": lambda c: int(c.safety_mode),
        "safety_status": lambda c: int(c.safety_mode),
        "runtime_state": lambda c: int(c.runtime_state),
        "robot_status_bits": lambda c: c.robot_status_bits(),
        "safety_status_bits": lambda c: c.safety_status_bits(),
        "speed_scaling": lambda c: c.speed_slider if c.ready else 0.0,
        "target_speed_fraction": lambda c: c.speed_slider,
        "joint_mode": lambda c: (253,) * 6 if c.robot_mode == RobotMode.RUNNING else (236,) * 6,
        "joint_temperatures": lambda c: (35.0,) * 6,
        "actual_main_voltage": lambda c: 48.0,
        "actual_robot_voltage": lambda c: 48.0 if c.robot_mode >= RobotMode.POWER_ON else 0.0,
        "actual_joint_voltage": lambda c: (48.0,) * 6 if c.robot_mode >= RobotMode.POWER_ON else z6,
        "standard_analog_input0": lambda c: c.analog_in[0],
        "standard_analog_input1": lambda c: c.analog_in[1],
        "standard_analog_output0": lambda c: c.analog_out_physical(0),
        "standard_analog_output1": lambda c: c.analog_out_physical(1),
        "analog_io_types": lambda c: c.analog_out_type << 2,
        "actual_tool_accelerometer": lambda c: (0.0, 0.0, -9.81),
        "payload": lambda c: c.payload,
        "payload_cog": lambda c: c.payload_cog,
        "tcp_offset": lambda c: _vec(c.tcp_offset),
        "output_bit_registers0_to_31": lambda c: sum(1 << i for i in range(32) if c.out_bits[i]),
        "output_bit_registers32_to_63": lambda c: sum(1 << i for i in range(32) if c.out_bits[32 + i]),
        "input_bit_registers0_to_31": lambda c: sum(1 << i for i in range(32) if c.in_bits[i]),
        "input_bit_registers32_to_63": lambda c: sum(1 << i for i in range(32) if c.in_bits[32 + i]),
        "tool_output_voltage": lambda c: 0,
        "elbow_position": lambda c: (0.0, 0.0, 0.0),
        "elbow_velocity": lambda c: (0.0, 0.0, 0.0),
    }
    if name in simple:
        return simple[name]
    for prefix, attr in (
        ("output_int_register_", "out_int"),
        ("output_double_register_", "out_double"),
        ("input_int_register_", "in_int"),
        ("input_double_register_", "in_double"),
        ("output_bit_register_", "out_bits"),
        ("input_bit_register_", "in_bits"),
    ):
        if name.startswith(prefix):
            idx = int(name[len(prefix) :])
            return lambda c, a=attr, i=idx: getattr(c, a)[i]  # type: ignore[misc]
    spec = rp.OUTPUT_FIELDS.get(name)
    if spec is None:
        return None
    # physically meaningful zeros for fields the plant does not model (currents, forces, ...)
    zero: Any = {
        "VECTOR6D": z6,
        "VECTOR3D": (0.0,) * 3,
        "VECTOR6INT32": (0,) * 6,
        "VECTOR6UINT32": (0,) * 6,
        "DOUBLE": 0.0,
        "BOOL": False,
    }.get(spec.type, 0)
    return lambda c: zero


class _RTDEConnection:
    """One RTDE client: its recipes, its output queue and the thread that reads its requests.

    Output never blocks the caller: packages go into a bounded byte queue that is pushed to the
    socket with non-blocking sends (by the caller and by the controller cycle); a client whose queue
    exceeds :data:`RTDE_MAX_QUEUED_BYTES` has stopped reading and is dropped, like the real
    controller drops an RTDE client that falls behind.
    """

    def __init__(self, server: RTDEServer, sock: socket.socket, peer: Any) -> None:
        self.server = server
        self.sock = sock
        self.peer = peer
        self.protocol = 1
        self.output: rp.Recipe | None = None
        self.getters: list[Callable[[ControllerCore], Any]] = []
        self.every = 1
        self.started = False
        self.inputs: dict[int, rp.Recipe] = {}
        self.next_input_id = 1
        self.owned: set[str] = set()
        self.alive = True
        self._out = bytearray()
        self._out_lock = threading.Lock()
        self._warn = _RateLimitedLog()

    # --- output (never blocks) ------------------------------------------------------------------
    def queue(self, data: bytes) -> None:
        """Queue ``data`` for the client and push what its socket takes now."""
        with self._out_lock:
            if not self.alive:
                return
            self._out += data
            failed = self._push_locked()
            backlog = len(self._out)
        if failed:
            self.abort(f"send failed ({failed})")
        elif backlog > RTDE_MAX_QUEUED_BYTES:
            self.abort(f"client fell behind: {backlog} bytes not taken")

    def send(self, ptype: int, payload: bytes) -> None:
        """Queue one package (see :meth:`queue`)."""
        self.queue(rp.pack_package(ptype, payload))

    def flush(self) -> None:
        """Push queued output the socket can take now (non-blocking)."""
        with self._out_lock:
            failed = self._push_locked() if self._out and self.alive else ""
        if failed:
            self.abort(f"send failed ({failed})")

    def _push_locked(self) -> str:
        """One non-blocking send of the queue; returns an error text if the connection failed."""
        try:
            n = self.sock.send(self._out, _MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return ""
        except OSError as err:
            return str(err)
        del self._out[:n]
        return ""

    @property
    def backlog(self) -> int:
        """Bytes queued for the client but not yet taken by its socket."""
        return len(self._out)

    def abort(self, reason: str) -> None:
        """Drop the client (from any thread): the reader thread wakes up and closes the socket."""
        if not self.alive:
            return
        log.warning("RTDE client %s dropped: %s", self.peer, reason)
        self.alive = False
        self.server.drop(self)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    # --- input ----------------------------------------------------------------------------------
    def run(self) -> None:
        """Read and answer requests until the client leaves or is dropped (reader thread)."""
        reader = rp.PackageReader(max_size=RTDE_MAX_CLIENT_PACKAGE)
        try:
            while self.alive:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                reader.feed(chunk)
                while self.alive and (pkg := reader.next_package()) is not None:
                    self.handle(*pkg)
        except (OSError, rp.ProtocolError) as err:
            log.debug("RTDE connection %s closed: %s", self.peer, err)
        finally:
            self.alive = False
            self.server.drop(self)

    def handle(self, ptype: int, payload: bytes) -> None:
        """Answer one client package."""
        core = self.server.core
        version = core.config.version[:2]
        if ptype == rp.REQUEST_PROTOCOL_VERSION:
            requested = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 0
            ok = requested in (1, 2) and not self.started
            if ok:
                self.protocol = requested
            self.send(ptype, bytes([1 if ok else 0]))
        elif ptype == rp.GET_URCONTROL_VERSION:
            self.send(ptype, b"".join(int(v).to_bytes(4, "big") for v in core.config.version))
        elif ptype == rp.CONTROL_PACKAGE_SETUP_OUTPUTS:
            self._setup_outputs(payload, version)
        elif ptype == rp.CONTROL_PACKAGE_SETUP_INPUTS:
            self._setup_inputs(payload, version)
        elif ptype == rp.CONTROL_PACKAGE_START:
            ok = self.output is not None
            self.started = ok
            self.send(ptype, bytes([1 if ok else 0]))
        elif ptype == rp.CONTROL_PACKAGE_PAUSE:
            self.started = False
            self.send(ptype, bytes([1]))
        elif ptype == rp.DATA_PACKAGE:
            self._input_package(payload)
        elif ptype == rp.TEXT_MESSAGE:
            try:
                msg, src, level = rp.decode_text_message(payload, self.protocol)
            except rp.ProtocolError as err:
                self._warn(logging.WARNING, "RTDE %s: %s", self.peer, err)
                return
            log.info("RTDE client message (%s, level %d): %s", src, level, msg[:200])
        else:
            self._warn(logging.WARNING, "RTDE: ignoring unknown package type %d from %s", ptype, self.peer)

    def _input_package(self, payload: bytes) -> None:
        if not payload:
            return
        recipe = self.inputs.get(payload[0])
        if recipe is None:
            self._warn(
                logging.WARNING, "RTDE input package for unknown recipe %d from %s", payload[0], self.peer
            )
            return
        try:
            values = recipe.unpack(payload)
        except rp.ProtocolError as err:
            self._warn(logging.WARNING, "RTDE input package from %s ignored: %s", self.peer, err)
            return
        core = self.server.core
        with core.lock:
            core.apply_inputs(values)

    def _setup_outputs(self, payload: bytes, version: rp.Version) -> None:
        if self.protocol >= 2:
            if len(payload) < 8:
                self.send(rp.CONTROL_PACKAGE_SETUP_OUTPUTS, bytes([0]))
                return
            freq = float(struct.unpack(">d", payload[:8])[0])
            names = rp.split_names(payload[8:].decode(errors="replace"))
        else:
            freq = self.server.base_hz
            names = rp.split_names(payload.decode(errors="replace"))
        types = rp.field_types(names, rp.OUTPUT_FIELDS, version)
        log.debug("RTDE output setup from %s at %g Hz: %d names", self.peer, freq, len(names))
        with_id = self.protocol >= 2
        size = rp.data_package_size(types, with_id)
        ok = (
            bool(names)
            and rp.NOT_FOUND not in types
            and size <= RTDE_MAX_DATA_PACKAGE
            and 1.0 <= freq <= self.server.base_hz + 1e-9
            and not self.started
        )
        if bool(names) and rp.NOT_FOUND not in types and size > RTDE_MAX_DATA_PACKAGE:
            log.warning(
                "RTDE output recipe from %s refused: %d fields make %d-byte packages (limit %d)",
                self.peer,
                len(names),
                size,
                RTDE_MAX_DATA_PACKAGE,
            )
        csv = ",".join(types).encode()
        if ok:
            self.output = rp.Recipe(names, types, 1 if with_id else 0, with_id=with_id)
            self.getters = [g for g in (_output_getter(n) for n in names) if g is not None]
            self.every = max(1, round(self.server.base_hz / freq))
        if with_id:
            self.send(rp.CONTROL_PACKAGE_SETUP_OUTPUTS, bytes([1 if ok else 0]) + csv)
        else:
            self.send(rp.CONTROL_PACKAGE_SETUP_OUTPUTS, csv)

    def _setup_inputs(self, payload: bytes, version: rp.Version) -> None:
        names = rp.split_names(payload.decode(errors="replace"))
        types = rp.field_types(names, rp.INPUT_FIELDS, version)
        log.debug("RTDE input setup from %s: %d names", self.peer, len(names))
        with self.server.owner_lock:
            for i, n in enumerate(names):
                owner = self.server.owners.get(n)
                if types[i] != rp.NOT_FOUND and owner is not None and owner is not self:
                    types[i] = rp.IN_USE
            ok = (
                bool(names)
                and all(t in rp.TYPE_FORMATS for t in types)
                and rp.data_package_size(types, True) <= RTDE_MAX_DATA_PACKAGE
                and self.next_input_id <= 255
            )
            rid = 0
            if ok:
                rid = self.next_input_id
                self.next_input_id += 1
                self.inputs[rid] = rp.Recipe(names, types, rid, with_id=True)
                for n in names:
                    self.server.owners[n] = self
                    self.owned.add(n)
        self.send(rp.CONTROL_PACKAGE_SETUP_INPUTS, bytes([rid]) + ",".join(types).encode())


class RTDEServer:
    """RTDE server on ``host:port`` serving ``core``."""

    def __init__(self, core: ControllerCore, host: str, port: int, priority: int | None = None) -> None:
        self.core = core
        self.base_hz = 1.0 / core.cycle
        self.listener = _listen(host, port)
        self.port = self.listener.getsockname()[1]
        self.conns: list[_RTDEConnection] = []
        self.conns_lock = threading.Lock()
        self.owners: dict[str, _RTDEConnection] = {}
        self.owner_lock = threading.Lock()
        self._socks = _ConnectionSet(MAX_CONNECTIONS["rtde"])
        self._closed = threading.Event()
        self._pack_warn = _RateLimitedLog()
        self._thread = threading.Thread(
            target=_accept_loop,
            args=(self.listener, self._socks, self._closed, self._serve, "rtde", priority),
            name="rtde-accept",
            daemon=True,
        )
        self._thread.start()

    def _serve(self, sock: socket.socket, peer: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, RTDE_SEND_BUFFER)
        conn = _RTDEConnection(self, sock, peer)
        with self.conns_lock:
            self.conns.append(conn)
        conn.run()

    def drop(self, conn: _RTDEConnection) -> None:
        """Forget ``conn`` and release the inputs it owned (idempotent)."""
        with self.conns_lock:
            if conn in self.conns:
                self.conns.remove(conn)
        with self.owner_lock:
            for n in conn.owned:
                if self.owners.get(n) is conn:
                    del self.owners[n]

    @property
    def n_clients(self) -> int:
        """Connected RTDE clients."""
        with self.conns_lock:
            return len(self.conns)

    def queue_message(self, text: str, source: str, level: int) -> None:
        """Send a controller message as TEXT_MESSAGE to every started v2 client (never blocks)."""
        data = rp.pack_package(rp.TEXT_MESSAGE, rp.encode_text_message(text, source, level, 2))
        with self.conns_lock:
            conns = [c for c in self.conns if c.started and c.protocol >= 2]
        for c in conns:
            c.queue(data)

    def collect(self, cycle: int) -> list[tuple[_RTDEConnection, bytes]]:
        """Data packages due this cycle (call with the core lock held; sends nothing)."""
        out = []
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            if not c.started or c.output is None or cycle % c.every:
                continue
            try:
                data = rp.pack_package(rp.DATA_PACKAGE, c.output.pack([g(self.core) for g in c.getters]))
            except (rp.ProtocolError, TypeError, ValueError, OverflowError) as err:
                # a value the recipe's type cannot carry (e.g. a script wrote an out-of-range int)
                self._pack_warn(logging.ERROR, "RTDE: cannot pack the output for %s: %s", c.peer, err)
                continue
            out.append((c, data))
        return out

    def deliver(self, due: list[tuple[_RTDEConnection, bytes]]) -> None:
        """Queue this cycle's packages and push every client's backlog (never blocks)."""
        for conn, data in due:
            conn.queue(data)
        sent = {id(c) for c, _ in due}
        with self.conns_lock:
            rest = [c for c in self.conns if id(c) not in sent and c.backlog]
        for c in rest:
            c.flush()

    def close(self) -> None:
        """Stop accepting and drop every client."""
        self._closed.set()
        _close_listener(self.listener)
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            c.abort("controller shutting down")


def _listen(host: str, port: int) -> socket.socket:
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


# --- Dashboard server ----------------------------------------------------------------------------


def _close_listener(listener: socket.socket) -> None:
    """Close a listening socket so that a thread blocked in ``accept`` on it returns now.

    On Linux, closing the socket alone leaves that ``accept`` blocked (the thread would live on);
    ``shutdown`` wakes it with an error, which the accept loop reads as "closed".
    """
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        listener.close()


def _close_sockets(listener: socket.socket, socks: list[socket.socket]) -> None:
    """Close a server's listening socket and shut down its client connections (errors ignored)."""
    _close_listener(listener)
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()


class DashboardServer:
    """Dashboard server (line protocol, e-Series replies) on ``host:port``.

    Args:
        core: The controller state.
        host: Address to bind.
        port: TCP port (0 = ephemeral).
        program_dir: The controller's program folder: ``load`` reads only files inside it (None: the
            current working directory).
        on_shutdown: Called by the ``shutdown`` command.
    """

    GREETING = "Connected: Universal Robots Dashboard Server"

    def __init__(
        self,
        core: ControllerCore,
        host: str,
        port: int,
        program_dir: Path | None,
        on_shutdown: Callable[[], None],
        priority: int | None = None,
    ) -> None:
        self.core = core
        #: more fields for ``weldcell state`` (set by the controller: server statistics)
        self.extra_state: Callable[[], dict[str, Any]] = dict
        #: ``weldcell cycle_timing reset`` (set by the controller)
        self.reset_timing: Callable[[], None] = lambda: None
        self.program_dir = Path(program_dir if program_dir is not None else Path.cwd()).resolve()
        self.on_shutdown = on_shutdown
        self.compiled: Program | URScriptError | None = None  # the loaded program, compiled at load
        self.listener = _listen(host, port)
        self.port = self.listener.getsockname()[1]
        self._socks = _ConnectionSet(MAX_CONNECTIONS["dashboard"])
        self._closed = threading.Event()
        threading.Thread(
            target=_accept_loop,
            args=(self.listener, self._socks, self._closed, self._serve, "dashboard", priority),
            name="dashboard-accept",
            daemon=True,
        ).start()

    def _serve(self, sock: socket.socket, peer: Any) -> None:
        try:
            _send_bounded(sock, (self.GREETING + "\n").encode())
            partial = bytearray()
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                lines = chunk.split(b"\n")
                if len(partial) + len(lines[0]) > DASHBOARD_MAX_LINE:
                    log.warning("dashboard %s: command line over %d bytes; closing", peer, DASHBOARD_MAX_LINE)
                    return
                if len(lines) == 1:
                    partial += chunk
                    continue
                lines[0] = bytes(partial) + lines[0]
                partial = bytearray(lines.pop())
                for line in lines:
                    if len(line) > DASHBOARD_MAX_LINE:
                        log.warning(
                            "dashboard %s: command line over %d bytes; closing", peer, DASHBOARD_MAX_LINE
                        )
                        return
                    reply = self.reply(line.decode(errors="replace").strip())
                    _send_bounded(sock, (reply + "\n").encode())
                    if reply == "Disconnected":
                        return
        except TimeoutError:
            log.warning("dashboard %s does not read its replies; closing", peer)
        except OSError:
            return

    def reply(self, cmd: str) -> str:
        """The dashboard server's answer to one command line."""
        c = self.core
        low = cmd.lower()
        v = c.config.version
        if low.startswith("load ") and not low.startswith("load installation"):
            return self._load(cmd[5:].strip())  # compiles outside the core lock
        with c.lock:
            if low.startswith("weldcell"):
                return self._test_command(cmd[8:].strip())
            if low.startswith("load installation"):
                return f"Loading installation: {cmd[17:].strip()}"
            if low == "play":
                if c.loaded_text is None or not c.ready:
                    return "Failed to execute: play"
                if c.runtime_state == RuntimeState.PAUSED:
                    c.resume_program()
                    return "Starting program"
                compiled = self.compiled
                if isinstance(compiled, URScriptError):
                    c.compile_failed(compiled)
                    return "Failed to execute: play"
                err = c.start_program(compiled or c.loaded_text, Path(c.loaded_program or "program").stem)
                return "Failed to execute: play" if err else "Starting program"
            if low == "stop":
                if c.program_running:
                    c.stop_program("stopped from the dashboard")
                    return "Stopped"
                return "Failed to execute: stop"
            if low == "pause":
                return "Pausing program" if c.pause_program() else "Failed to execute: pause"
            if low == "quit":
                return "Disconnected"
            if low == "shutdown":
                self.on_shutdown()
                return "Shutting down"
            if low == "running":
                return f"Program running: {'true' if c.runtime_state == RuntimeState.PLAYING else 'false'}"
            if low == "robotmode":
                return f"Robotmode: {c.robot_mode.name}"
            if low == "get loaded program":
                return f"Loaded program: {c.loaded_program}" if c.loaded_program else "No program loaded"
            if low.startswith("popup "):
                c.popup = cmd[6:]
                return "showing popup"
            if low == "close popup":
                c.popup = ""
                return "closing popup"
            if low.startswith("addtolog"):
                text = cmd[8:].strip()
                if not text:
                    return "No log message to add"
                c.message(text, "Dashboard", 3)
                return "Added log message"
            if low == "isprogramsaved":
                return f"true {Path(c.loaded_program).name if c.loaded_program else '<unnamed>'}"
            if low == "programstate":
                state = {RuntimeState.PLAYING: "PLAYING", RuntimeState.PAUSED: "PAUSED"}.get(
                    c.runtime_state, "STOPPED"
                )
                name = Path(c.loaded_program).name if c.loaded_program else (c.program_name or "<unnamed>")
                return f"{state} {name}"
            if low == "polyscopeversion":
                return f"URSoftware {v[0]}.{v[1]}.{v[2]}.{v[3]} (Jan 01 2024)"
            if low == "version":
                return f"{v[0]}.{v[1]}.{v[2]}.{v[3]}"
            if low.startswith("setuserrole"):
                return f"Setting user role: {cmd[11:].strip()}"
            if low == "power on":
                if c.safety_mode not in (SafetyMode.NORMAL, SafetyMode.REDUCED):
                    return "Failed to execute: power on"
                if c.robot_mode in (RobotMode.POWER_OFF, RobotMode.IDLE, RobotMode.POWER_ON):
                    c.robot_mode = RobotMode.IDLE
                return "Powering on"
            if low == "power off":
                c.stop_program("power off")
                c.robot_mode = RobotMode.POWER_OFF
                return "Powering off"
            if low == "brake release":
                if c.robot_mode in (RobotMode.IDLE, RobotMode.POWER_ON):
                    c.robot_mode = RobotMode.RUNNING
                    return "Brake releasing"
                return (
                    "Brake releasing"
                    if c.robot_mode == RobotMode.RUNNING
                    else "Failed to execute: brake release"
                )
            if low == "safetymode":
                return f"Safetymode: {c.safety_mode.name}"
            if low == "safetystatus":
                return f"Safetystatus: {c.safety_mode.name}"
            if low == "unlock protective stop":
                if c.unlock_protective_stop():
                    return "Protective stop releasing"
                return (
                    "Cannot unlock protective stop until 5s after occurrence. "
                    "Always inspect cause of protective stop before unlocking"
                )
            if low == "close safety popup":
                return "closing safety popup"
            if low == "restart safety":
                if c.safety_mode in (SafetyMode.VIOLATION, SafetyMode.FAULT, SafetyMode.PROTECTIVE_STOP):
                    c.safety_mode = SafetyMode.NORMAL
                    c.robot_mode = RobotMode.POWER_OFF
                return "Restarting safety"
            if low == "get serial number":
                return c.config.serial
            if low == "get robot model":
                return c.arm.model
            if low == "is in remote control":
                return "true"
            if low == "get operational mode":
                return "AUTOMATIC"
            if low == "clear operational mode":
                return "No longer controlling the operational mode. Current operational mode: 'AUTOMATIC'."
            return f"could not understand: '{cmd}'"

    def _load(self, name: str) -> str:
        """``load <program>``: only files inside the program folder (like /programs on a real robot).

        Absolute paths, ``..`` components and symbolic links that lead out of the folder are refused
        with the controller's ``File not found`` reply, without telling whether the target exists.
        """
        c = self.core
        path = self._confined(name)
        if path is None or not path.is_file():
            return f"File not found: {name}"
        try:
            if path.stat().st_size > SCRIPT_MAX_PROGRAM:
                return f"Error while loading program: {name}"
            data = path.read_bytes()
        except OSError:
            return f"File not found: {name}"
        if data[:2] == b"\x1f\x8b":  # a PolyScope .urp (gzip XML) cannot run here
            return f"Error while loading program: {name}"
        text = data.decode(errors="replace")
        compiled: Program | URScriptError
        try:  # outside the core lock: parsing a long program must not hold up the cycle
            with _ordinary_scheduling(len(text)):
                compiled = compile_program(text, path.stem)
        except URScriptError as err:
            compiled = err  # reported on play, as the pendant reports it when the program starts
        with c.lock:
            c.stop_program("new program loaded")
            c.loaded_program = str(path)
            c.loaded_text = text
            self.compiled = compiled
        return f"Loading program: {name}"

    def _confined(self, name: str) -> Path | None:
        """``name`` resolved inside the program folder, or None if it points (or links) outside it."""
        if not name or "\x00" in name:
            return None
        rel = Path(name)
        if rel.is_absolute() or rel.drive or ".." in rel.parts:
            log.warning("dashboard load %r refused: outside the program folder %s", name, self.program_dir)
            return None
        try:
            path = (self.program_dir / rel).resolve()
        except (OSError, RuntimeError):  # symlink loop
            return None
        if not path.is_relative_to(self.program_dir):
            log.warning(
                "dashboard load %r refused: leads out of the program folder %s", name, self.program_dir
            )
            return None
        return path

    def _test_command(self, rest: str) -> str:
        c = self.core
        parts = rest.split()
        try:
            if parts[:1] == ["protective_stop"]:
                c.protective_stop(" ".join(parts[1:]) or "injected by a test")
                return "ok"
            if parts == ["estop"]:
                c.emergency_stop()
                return "ok"
            if parts == ["estop", "release"]:
                c.release_emergency_stop()
                return "ok"
            if parts[:1] == ["set_digital_in"] and len(parts) == 3:
                n = int(parts[1])
                if not 0 <= n < 16:
                    return "error: digital input must be 0..15"
                c.digital_in = (
                    (c.digital_in | (1 << n))
                    if parts[2] in ("1", "true", "True")
                    else (c.digital_in & ~(1 << n))
                )
                return "ok"
            if parts[:1] == ["speed_slider"] and len(parts) == 2:
                f = float(parts[1])
                if not 0.0 <= f <= 1.0:
                    return "error: speed slider fraction must be 0..1"
                c.speed_slider = f
                return "ok"
            if parts[:1] == ["set_analog_in"] and len(parts) == 3:
                c.analog_in[int(parts[1])] = float(parts[2])
                return "ok"
            if parts == ["state"]:
                return json.dumps({**_snapshot(c), **self.extra_state()})
            if parts == ["cycle_timing", "reset"]:
                self.reset_timing()
                return "ok"
        except (ValueError, IndexError) as err:
            return f"error: {err}"
        return f"could not understand: 'weldcell {rest}'"

    def close(self) -> None:
        """Stop accepting and disconnect every client."""
        self._closed.set()
        _close_sockets(self.listener, self._socks.snapshot())


def _snapshot(c: ControllerCore) -> dict[str, Any]:
    return {
        "time": c.time,
        "q": _vec(c.actual_q),
        "target_q": _vec(c.target_q),
        "qd": _vec(c.actual_qd),
        "robot_mode": c.robot_mode.name,
        "safety_mode": c.safety_mode.name,
        "runtime_state": c.runtime_state.name,
        "program": c.program_name,
        "digital_out": c.digital_out,
        "digital_in": c.digital_in,
        "analog_out": list(c.analog_out),
        "speed_slider": c.speed_slider,
        "in_int": c.in_int,
        "in_double": c.in_double,
        "out_int": c.out_int,
        "out_double": c.out_double,
        "watchdogs": sorted(c.watchdogs),
        "last_fault": c.last_fault,
        "log": c.log[-20:],
        "missed_cycles": c.missed_cycles,
        "rejected_inputs": c.rejected_inputs,
        "threads": sorted({t.name.split("-(")[0] for t in threading.enumerate() if t.daemon}),
    }


# --- script ports --------------------------------------------------------------------------------

#: Lines that open a block (their ``end`` closes it): a program is complete when all are closed.
_OPENER = re.compile(r"(def|sec|thread|if|while|for)\b")


class ScriptServer:
    """A URScript port (30001/30002/30003): collects complete programs and starts them.

    A line longer than :data:`SCRIPT_MAX_LINE` or a program larger than :data:`SCRIPT_MAX_PROGRAM`
    closes the connection (nothing of it runs).
    """

    def __init__(
        self, core: ControllerCore, host: str, port: int, name: str, priority: int | None = None
    ) -> None:
        self.core = core
        self.name = name
        self.listener = _listen(host, port)
        self.port = self.listener.getsockname()[1]
        self._socks = _ConnectionSet(MAX_CONNECTIONS["script"])
        self._closed = threading.Event()
        threading.Thread(
            target=_accept_loop,
            args=(self.listener, self._socks, self._closed, self._serve, f"script-{name}", priority),
            name=f"script-{name}-accept",
            daemon=True,
        ).start()

    def _serve(self, sock: socket.socket, peer: Any) -> None:
        partial = bytearray()  # a line whose newline has not arrived yet
        lines: list[str] = []
        size = 0  # bytes of the program collected so far
        depth = 0
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                pieces = chunk.split(b"\n")
                if len(partial) + len(pieces[0]) > SCRIPT_MAX_LINE:
                    log.warning("%s port %s: line over %d bytes; closing", self.name, peer, SCRIPT_MAX_LINE)
                    return
                if len(pieces) == 1:
                    partial += chunk
                    if size + len(partial) > SCRIPT_MAX_PROGRAM:
                        self._too_large(size + len(partial), peer)
                        return
                    continue
                pieces[0] = bytes(partial) + pieces[0]
                partial = bytearray(pieces.pop())
                for raw in pieces:
                    if len(raw) > SCRIPT_MAX_LINE:
                        log.warning(
                            "%s port %s: line over %d bytes; closing", self.name, peer, SCRIPT_MAX_LINE
                        )
                        return
                    line = raw.decode(errors="replace")
                    stripped = line.split("#", 1)[0].strip()
                    if not stripped and not lines:
                        continue
                    lines.append(line)
                    size += len(raw) + 1
                    if size + len(partial) > SCRIPT_MAX_PROGRAM:
                        self._too_large(size + len(partial), peer)
                        return
                    if _OPENER.match(stripped) and stripped.endswith(":"):
                        depth += 1
                    elif stripped == "end":
                        depth -= 1
                    if depth <= 0:
                        text = "\n".join(lines) + "\n"
                        lines, depth, size = [], 0, 0
                        self._start(text)
        except OSError:
            return

    def _too_large(self, n: int, peer: Any) -> None:
        log.warning("%s port %s: program over %d bytes refused; closing", self.name, peer, SCRIPT_MAX_PROGRAM)
        with self.core.lock:
            self.core.compile_failed(
                URScriptError(
                    f"{self.name} script: program of more than {n} bytes; at most {SCRIPT_MAX_PROGRAM} "
                    "are accepted (connection closed)"
                )
            )

    def _start(self, text: str) -> None:
        """Compile outside the core lock (a long program must not hold up the cycle), then start it."""
        name = f"{self.name} script"
        try:
            with _ordinary_scheduling(len(text)):
                prog = compile_program(text, name)
        except URScriptError as err:
            with self.core.lock:
                self.core.compile_failed(err)
            return
        with self.core.lock:
            self.core.start_program(prog, name)

    def close(self) -> None:
        """Stop accepting and disconnect every client."""
        self._closed.set()
        _close_sockets(self.listener, self._socks.snapshot())


# --- the controller ------------------------------------------------------------------------------


class VirtualController:
    """All servers plus the cycle thread, in the current process (see :func:`start_virtual_controller`).

    Args:
        host: Address to bind (127.0.0.1 or another 127.0.0.N).
        config: Controller configuration.
        ports: TCP ports (0 = ephemeral).
        program_dir: The controller's program folder: dashboard ``load`` reads only files inside it
            (default: the current working directory).
        allow_remote: Allow a non-loopback ``host`` (anyone who reaches it can run programs).
        cycle_priority: ``SCHED_FIFO`` priority of the cycle thread (None: ordinary scheduling;
            without permission it silently stays ordinary).
        server_priority: ``SCHED_FIFO`` priority of the server threads (accept loops and one
            thread per connection), below ``cycle_priority``; None (default in-process) keeps them
            ordinary. :func:`start_virtual_controller` runs the controller in its own process with
            :data:`CYCLE_PRIORITY` and :data:`SERVER_PRIORITY`, so that no thread holding the
            process's GIL is preempted by ordinary load while the cycle waits for it.

    Raises:
        DriverConnectionError: a non-loopback ``host`` without ``allow_remote``, a missing program
            folder, or a port that cannot be bound.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        config: CoreConfig | None = None,
        ports: Ports | None = None,
        program_dir: Path | None = None,
        allow_remote: bool = False,
        cycle_priority: int | None = 5,
        server_priority: int | None = None,
    ) -> None:
        check_bind_address(host, allow_remote, "virtual UR controller", option="host")
        self.cycle_priority = cycle_priority
        self.server_priority = server_priority
        if program_dir is not None and not Path(program_dir).is_dir():
            raise DriverConnectionError(
                f"virtual UR controller program folder {program_dir}: not found or not a folder"
            )
        self.host = host
        self.config = config or CoreConfig()
        ports = ports or Ports()
        self._stop = threading.Event()
        self.core = ControllerCore(self.config, message_sink=self._on_message)
        warm_parser()  # the URScript parser's tables, before the first program arrives
        self.rtde: RTDEServer | None = None
        servers: list[Any] = []
        try:
            self.rtde = RTDEServer(self.core, host, ports.rtde, server_priority)
            servers.append(self.rtde)
            self.dashboard = DashboardServer(
                self.core, host, ports.dashboard, program_dir, self._stop.set, server_priority
            )
            servers.append(self.dashboard)
            self.scripts = []
            for name, port in (
                ("primary", ports.primary),
                ("secondary", ports.secondary),
                ("realtime", ports.realtime),
            ):
                s = ScriptServer(self.core, host, port, name, server_priority)
                servers.append(s)
                self.scripts.append(s)
        except Exception:
            for s in servers:
                s.close()
            raise
        self.ports = Ports(self.rtde.port, self.dashboard.port, *(s.port for s in self.scripts))
        rtde = self.rtde
        #: lateness of every cycle (``weldcell state``: ``cycle_timing``)
        self.timing = CycleTiming(self.core.cycle)
        timing = self.timing
        self.dashboard.extra_state = lambda: {
            "rtde_clients": rtde.n_clients,
            "cycle_timing": timing.summary(),
        }
        self.dashboard.reset_timing = timing.reset
        self._thread = threading.Thread(target=self._loop, name="controller-cycle", daemon=True)
        self._realtime = False

    def _on_message(self, text: str, source: str, level: int) -> None:
        if self.rtde is not None:
            self.rtde.queue_message(text, source, level)

    def start(self) -> None:
        """Start the cycle thread.

        While the controller runs, the interpreter's thread switch interval is 0.5 ms (CPython's
        default 5 ms would let a busy thread of this process, e.g. one compiling an uploaded program,
        hold the GIL for 5 ms while the 2 ms cycle waits for it).
        """
        PROCESS_REALTIME.acquire(_SWITCH_ONLY)
        self._realtime = True
        self._thread.start()

    def _loop(self) -> None:
        """The controller cycle: step the core, hand the RTDE packages to the clients' queues.

        Each cycle's lateness (start after its due time) goes to :attr:`timing`. Nothing here
        blocks on a client. When the thread falls more than :data:`MAX_LAG_CYCLES`
        behind (overloaded machine), the missed cycles are skipped the way a real controller skips
        RTDE packages: the clock (``timestamp``) jumps to real time, ``missed_cycles`` counts them
        (Dashboard ``weldcell state``) and a log line reports them (at most once per second).
        """
        core = self.core
        cycle = core.cycle
        rtde = self.rtde
        assert rtde is not None  # mypy
        if self.cycle_priority is not None:
            # like the real controller's real-time task: ahead of ordinary processes where permitted
            for note in configure_thread(self.cycle_priority, timer_slack=1e-6):
                log.debug("virtual UR controller cycle thread: %s", note)
        next_t = time.monotonic()
        skipped_log = _RateLimitedLog()
        error_log = _RateLimitedLog()
        timing = self.timing
        while not self._stop.is_set():
            due_at = next_t
            next_t += cycle
            try:
                with core.lock:
                    timing.record(time.monotonic() - due_at)  # when the cycle really runs
                    core.step()
                    due = rtde.collect(core.cycles)
                rtde.deliver(due)
            except Exception:  # the cycle must go on whatever one step did (the error is logged)
                error_log(logging.ERROR, "virtual UR controller cycle failed:\n%s", _format_exc())
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                time.sleep(5e-5)  # behind: still yield the CPU and the GIL once per cycle
            if delay < -MAX_LAG_CYCLES * cycle:
                lost = int(-delay / cycle)
                next_t += lost * cycle
                with core.lock:
                    core.time += lost * cycle
                    core.missed_cycles += lost
                    total = core.missed_cycles
                skipped_log(
                    logging.WARNING,
                    "virtual UR controller %.1f ms behind: skipped %d cycles (%d in total); "
                    "timestamp kept on real time",
                    -delay * 1e3,
                    lost,
                    total,
                )

    def wait(self, timeout: float | None = None) -> bool:
        """Block until shut down (dashboard ``shutdown`` or :meth:`close`); True if it stopped."""
        return self._stop.wait(timeout)

    def close(self) -> None:
        """Stop the cycle thread and close every server socket."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        if self._realtime:
            self._realtime = False
            PROCESS_REALTIME.release()
        if self.rtde is not None:
            self.rtde.close()
        self.dashboard.close()
        for s in self.scripts:
            s.close()

    def __enter__(self) -> VirtualController:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _format_exc() -> str:
    import traceback

    return traceback.format_exc(limit=8)


def _child_main(
    host: str,
    config: dict[str, Any],
    ports: dict[str, int],
    program_dir: str | None,
    ready: Any,
    stop: Any,
    log_level: int,
    allow_remote: bool = False,
) -> None:
    logging.basicConfig(level=log_level)
    # this process is the controller: let the cycle thread get the GIL back quickly from busy
    # connection threads (CPython's default switch interval is 5 ms, 2.5 controller cycles)
    sys.setswitchinterval(0.0005)
    try:
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
        if isinstance(kwargs.get("safety"), dict):
            limits = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs["safety"].items()}
            kwargs["safety"] = SafetyLimits(**limits)  # type: ignore[arg-type]
        cfg = CoreConfig(**kwargs)
        vc = VirtualController(
            host,
            cfg,
            Ports(**ports),
            Path(program_dir) if program_dir else None,
            allow_remote=allow_remote,
            cycle_priority=CYCLE_PRIORITY,
            server_priority=SERVER_PRIORITY,
        )
    except Exception as err:
        ready.put(("error", f"{err}"))
        return
    # the main thread wakes up every 0.1 s: it must not hold the GIL preempted either
    _server_thread_setup(SERVER_PRIORITY)
    # everything built so far (numpy, the kinematics, the URScript parser tables) lives as long as
    # the process: out of the collector's sight, a full collection no longer walks it while the
    # cycle waits for the GIL (the collector still runs over what is made from now on)
    gc.freeze()
    vc.start()
    ready.put(("ok", asdict(vc.ports)))
    try:
        while not stop.wait(0.1) and not vc.wait(0.0):
            pass
    finally:
        vc.close()


@dataclass
class VirtualControllerHandle:
    """A virtual controller running in a child process. ``stop()`` ends it; ``kill()`` kills it."""

    host: str
    ports: Ports
    process: Any
    _stop: Any = field(repr=False)

    @property
    def pid(self) -> int:
        """Process id of the controller."""
        return int(self.process.pid)

    def is_alive(self) -> bool:
        """True while the controller process runs."""
        return bool(self.process.is_alive())

    def stop(self, timeout: float = 5.0) -> None:
        """Shut the controller down (idempotent); kills it if it does not exit within ``timeout`` [s]."""
        if self.process.is_alive():
            self._stop.set()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)

    def kill(self) -> None:
        """Kill the controller process at once (simulates a controller crash / power loss)."""
        self.process.kill()
        self.process.join(2.0)

    def __enter__(self) -> VirtualControllerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_virtual_controller(
    host: str = "127.0.0.1",
    config: CoreConfig | None = None,
    ports: Ports | None = None,
    program_dir: Path | str | None = None,
    timeout: float = 20.0,
    log_level: int = logging.WARNING,
    allow_remote: bool = False,
) -> VirtualControllerHandle:
    """Start a virtual UR controller in its own process and wait until it listens.

    The process holds nothing but the controller: its cycle thread never shares a GIL with a
    driver, and it runs under ``SCHED_FIFO`` :data:`CYCLE_PRIORITY` with the server threads at
    :data:`SERVER_PRIORITY` (where the OS permits; ordinary scheduling otherwise). Its cycle timing
    is in the Dashboard's ``weldcell state`` (``cycle_timing``, ``missed_cycles``).

    Args:
        host: Loopback address to bind, e.g. ``"127.0.0.1"`` or ``"127.0.0.5"``.
        config: Controller configuration (arm, advertised version, ...).
        ports: TCP ports; 0 picks free ports (see ``handle.ports`` for the chosen ones).
        program_dir: Directory for dashboard ``load``.
        timeout: Start-up timeout [s].
        log_level: Logging level inside the controller process.
        allow_remote: Allow a non-loopback ``host``.

    Raises:
        DriverConnectionError: the ports are taken or the address cannot be bound.
        DriverTimeoutError: the process did not report ready within ``timeout``.
    """
    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    stop = ctx.Event()
    cfg = asdict(config or CoreConfig())
    proc = ctx.Process(
        target=_child_main,
        args=(
            host,
            cfg,
            asdict(ports or Ports()),
            str(program_dir) if program_dir else None,
            ready,
            stop,
            log_level,
            allow_remote,
        ),
        name=f"virtual-ur-{host}",
        daemon=True,
    )
    proc.start()
    try:
        status, info = ready.get(timeout=timeout)
    except Exception as err:
        proc.kill()
        proc.join(1.0)
        raise DriverTimeoutError(f"virtual UR controller on {host} did not start within {timeout} s") from err
    if status != "ok":
        proc.join(2.0)
        raise DriverConnectionError(f"virtual UR controller on {host} failed to start: {info}")
    return VirtualControllerHandle(host, Ports(**info), proc, stop)
