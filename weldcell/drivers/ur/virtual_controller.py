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

The controller's state lives in :class:`~weldcell.drivers.ur.virtual_core.ControllerCore`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import multiprocessing as mp
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from weldcell.drivers.realtime import PROCESS_REALTIME, RealtimeConfig
from weldcell.drivers.ur import rtde_protocol as rp
from weldcell.drivers.ur.urscript import Program, URScriptError
from weldcell.drivers.ur.urscript.values import MAX_SOURCE_CHARS
from weldcell.drivers.ur.virtual_core import (
    ControllerCore,
    CoreConfig,
    RobotMode,
    RuntimeState,
    SafetyMode,
    compile_program,
)
from weldcell.errors import DriverConnectionError, DriverTimeoutError

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
    "weldcell state": "one-line JSON snapshot of the controller",
}


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
        "standard_analog_output0": lambda c: c.analog_out[0],
        "standard_analog_output1": lambda c: c.analog_out[1],
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
        self.pending_messages: list[tuple[str, str, int]] = []
        self.send_lock = threading.Lock()
        self.alive = True

    def send(self, ptype: int, payload: bytes) -> None:
        data = rp.pack_package(ptype, payload)
        with self.send_lock:
            self.sock.sendall(data)

    def run(self) -> None:
        reader = rp.PackageReader()
        try:
            while self.alive:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                reader.feed(chunk)
                while (pkg := reader.next_package()) is not None:
                    self.handle(*pkg)
        except (OSError, rp.ProtocolError) as err:
            log.debug("RTDE connection %s closed: %s", self.peer, err)
        finally:
            self.close()

    def close(self) -> None:
        self.alive = False
        self.server.drop(self)
        with contextlib.suppress(OSError):
            self.sock.close()

    def handle(self, ptype: int, payload: bytes) -> None:
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
            if not payload:
                return
            recipe = self.inputs.get(payload[0])
            if recipe is None:
                log.warning("RTDE input package for unknown recipe %d from %s", payload[0], self.peer)
                return
            values = recipe.unpack(payload)
            with core.lock:
                core.apply_inputs(values)
        elif ptype == rp.TEXT_MESSAGE:
            msg, src, level = rp.decode_text_message(payload, self.protocol)
            log.info("RTDE client message (%s, level %d): %s", src, level, msg)
        else:
            log.warning("RTDE: ignoring unknown package type %d from %s", ptype, self.peer)

    def _setup_outputs(self, payload: bytes, version: rp.Version) -> None:
        if self.protocol >= 2:
            if len(payload) < 8:
                self.send(rp.CONTROL_PACKAGE_SETUP_OUTPUTS, bytes([0]))
                return
            freq = _unpack_double(payload[:8])
            names = rp.split_names(payload[8:].decode(errors="replace"))
        else:
            freq = self.server.base_hz
            names = rp.split_names(payload.decode(errors="replace"))
        types = rp.field_types(names, rp.OUTPUT_FIELDS, version)
        log.debug("RTDE output setup from %s at %g Hz: %s -> %s", self.peer, freq, names, types)
        ok = (
            bool(names)
            and rp.NOT_FOUND not in types
            and 1.0 <= freq <= self.server.base_hz + 1e-9
            and not self.started
        )
        csv = ",".join(types).encode()
        if ok:
            self.output = rp.Recipe(names, types, 1 if self.protocol >= 2 else 0, with_id=self.protocol >= 2)
            self.getters = [g for g in (_output_getter(n) for n in names) if g is not None]
            self.every = max(1, round(self.server.base_hz / freq))
        if self.protocol >= 2:
            self.send(rp.CONTROL_PACKAGE_SETUP_OUTPUTS, bytes([1 if ok else 0]) + csv)
        else:
            self.send(rp.CONTROL_PACKAGE_SETUP_OUTPUTS, csv)

    def _setup_inputs(self, payload: bytes, version: rp.Version) -> None:
        names = rp.split_names(payload.decode(errors="replace"))
        types = rp.field_types(names, rp.INPUT_FIELDS, version)
        log.debug("RTDE input setup from %s: %s", self.peer, names)
        with self.server.owner_lock:
            for i, n in enumerate(names):
                owner = self.server.owners.get(n)
                if types[i] != rp.NOT_FOUND and owner is not None and owner is not self:
                    types[i] = rp.IN_USE
            ok = bool(names) and all(t in rp.TYPE_FORMATS for t in types) and self.next_input_id <= 255
            rid = 0
            if ok:
                rid = self.next_input_id
                self.next_input_id += 1
                self.inputs[rid] = rp.Recipe(names, types, rid, with_id=True)
                for n in names:
                    self.server.owners[n] = self
                    self.owned.add(n)
        self.send(rp.CONTROL_PACKAGE_SETUP_INPUTS, bytes([rid]) + ",".join(types).encode())


def _unpack_double(b: bytes) -> float:
    import struct

    return float(struct.unpack(">d", b)[0])


class RTDEServer:
    """RTDE server on ``host:port`` serving ``core``."""

    def __init__(self, core: ControllerCore, host: str, port: int) -> None:
        self.core = core
        self.base_hz = 1.0 / core.cycle
        self.listener = _listen(host, port)
        self.port = self.listener.getsockname()[1]
        self.conns: list[_RTDEConnection] = []
        self.conns_lock = threading.Lock()
        self.owners: dict[str, _RTDEConnection] = {}
        self.owner_lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="rtde-accept", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, peer = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _RTDEConnection(self, sock, peer)
            with self.conns_lock:
                self.conns.append(conn)
            threading.Thread(target=conn.run, name=f"rtde-{peer}", daemon=True).start()

    def drop(self, conn: _RTDEConnection) -> None:
        with self.conns_lock:
            if conn in self.conns:
                self.conns.remove(conn)
        with self.owner_lock:
            for n in conn.owned:
                if self.owners.get(n) is conn:
                    del self.owners[n]

    def queue_message(self, text: str, source: str, level: int) -> None:
        with self.conns_lock:
            for c in self.conns:
                if c.started and c.protocol >= 2:
                    c.pending_messages.append((text, source, level))

    def collect(self, cycle: int) -> list[tuple[_RTDEConnection, bytes]]:
        """Packages due this cycle (call with the core lock held)."""
        out = []
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            if not c.started or c.output is None:
                continue
            data = b""
            while c.pending_messages:
                m, s, lvl = c.pending_messages.pop(0)
                data += rp.pack_package(rp.TEXT_MESSAGE, rp.encode_text_message(m, s, lvl, 2))
            if cycle % c.every == 0:
                data += rp.pack_package(rp.DATA_PACKAGE, c.output.pack([g(self.core) for g in c.getters]))
            if data:
                out.append((c, data))
        return out

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            c.alive = False
            with contextlib.suppress(OSError):
                c.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.sock.close()


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
    s.listen(8)
    return s


# --- Dashboard server ----------------------------------------------------------------------------


def _close_sockets(listener: socket.socket, socks: list[socket.socket]) -> None:
    """Close a server's listening socket and shut down its client connections (errors ignored)."""
    with contextlib.suppress(OSError):
        listener.close()
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()


class DashboardServer:
    """Dashboard server (line protocol, e-Series replies) on ``host:port``."""

    GREETING = "Connected: Universal Robots Dashboard Server"

    def __init__(
        self,
        core: ControllerCore,
        host: str,
        port: int,
        program_dir: Path | None,
        on_shutdown: Callable[[], None],
    ) -> None:
        self.core = core
        self.program_dir = program_dir
        self.on_shutdown = on_shutdown
        self.compiled: Program | URScriptError | None = None  # the loaded program, compiled at load
        self.listener = _listen(host, port)
        self.port = self.listener.getsockname()[1]
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, name="dashboard-accept", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), name="dashboard", daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            sock.sendall((self.GREETING + "\n").encode())
            buf = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    cmd = line.decode(errors="replace").strip()
                    reply = self.reply(cmd)
                    sock.sendall((reply + "\n").encode())
                    if reply == "Disconnected":
                        return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                sock.close()

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
        c = self.core
        path = Path(name)
        if not path.is_absolute() and self.program_dir is not None:
            path = self.program_dir / path
        if not path.is_file():
            return f"File not found: {name}"
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":  # a PolyScope .urp (gzip XML) cannot run here
            return f"Error while loading program: {name}"
        text = data.decode(errors="replace")
        compiled: Program | URScriptError
        try:  # outside the core lock: parsing a long program must not hold up the cycle
            compiled = compile_program(text, path.stem)
        except URScriptError as err:
            compiled = err  # reported on play, as the pendant reports it when the program starts
        with c.lock:
            c.stop_program("new program loaded")
            c.loaded_program = str(path)
            c.loaded_text = text
            self.compiled = compiled
        return f"Loading program: {name}"

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
            if parts[:1] == ["set_analog_in"] and len(parts) == 3:
                c.analog_in[int(parts[1])] = float(parts[2])
                return "ok"
            if parts == ["state"]:
                return json.dumps(_snapshot(c))
        except (ValueError, IndexError) as err:
            return f"error: {err}"
        return f"could not understand: 'weldcell {rest}'"

    def close(self) -> None:
        _close_sockets(self.listener, self.socks)


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
    }


# --- script ports --------------------------------------------------------------------------------

#: Lines that open a block (their ``end`` closes it): a program is complete when all are closed.
_OPENER = re.compile(r"(def|sec|thread|if|while|for)\b")


class ScriptServer:
    """A URScript port (30001/30002/30003): collects complete programs and starts them."""

    def __init__(self, core: ControllerCore, host: str, port: int, name: str) -> None:
        self.core = core
        self.name = name
        self.listener = _listen(host, port)
        self.port = self.listener.getsockname()[1]
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, name=f"script-{name}", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        partial: list[bytes] = []  # pieces of a line whose newline has not arrived yet
        partial_len = 0
        lines: list[str] = []
        size = 0  # characters of the program collected so far
        depth = 0
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                if b"\n" not in chunk:
                    partial.append(chunk)
                    partial_len += len(chunk)
                    if size + partial_len > MAX_SOURCE_CHARS:
                        self._too_large(size + partial_len)
                        return
                    continue
                *complete, rest = b"".join([*partial, chunk]).split(b"\n")
                partial, partial_len = [rest], len(rest)
                for raw in complete:
                    line = raw.decode(errors="replace")
                    stripped = line.split("#", 1)[0].strip()
                    if not stripped and not lines:
                        continue
                    lines.append(line)
                    size += len(line) + 1
                    if size + partial_len > MAX_SOURCE_CHARS:
                        self._too_large(size + partial_len)
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
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _too_large(self, n: int) -> None:
        with self.core.lock:
            self.core.compile_failed(
                URScriptError(
                    f"{self.name} script: program of more than {n} characters; at most {MAX_SOURCE_CHARS} "
                    "are accepted (connection closed)"
                )
            )

    def _start(self, text: str) -> None:
        """Compile outside the core lock (a long program must not hold up the cycle), then start it."""
        name = f"{self.name} script"
        try:
            prog = compile_program(text, name)
        except URScriptError as err:
            with self.core.lock:
                self.core.compile_failed(err)
            return
        with self.core.lock:
            self.core.start_program(prog, name)

    def close(self) -> None:
        _close_sockets(self.listener, self.socks)


# --- the controller ------------------------------------------------------------------------------


class VirtualController:
    """All servers plus the cycle thread, in the current process (see :func:`start_virtual_controller`).

    Args:
        host: Address to bind (127.0.0.1 or another 127.0.0.N).
        config: Controller configuration.
        ports: TCP ports (0 = ephemeral).
        program_dir: Directory that dashboard ``load`` resolves relative names against.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        config: CoreConfig | None = None,
        ports: Ports | None = None,
        program_dir: Path | None = None,
    ) -> None:
        if program_dir is not None and not Path(program_dir).is_dir():
            raise DriverConnectionError(
                f"virtual UR controller program folder {program_dir}: not found or not a folder"
            )
        self.host = host
        self.config = config or CoreConfig()
        ports = ports or Ports()
        self._stop = threading.Event()
        self.core = ControllerCore(self.config, message_sink=self._on_message)
        self.rtde: RTDEServer | None = None
        servers: list[Any] = []
        try:
            self.rtde = RTDEServer(self.core, host, ports.rtde)
            servers.append(self.rtde)
            self.dashboard = DashboardServer(self.core, host, ports.dashboard, program_dir, self._stop.set)
            servers.append(self.dashboard)
            self.scripts = []
            for name, port in (
                ("primary", ports.primary),
                ("secondary", ports.secondary),
                ("realtime", ports.realtime),
            ):
                s = ScriptServer(self.core, host, port, name)
                servers.append(s)
                self.scripts.append(s)
        except Exception:
            for s in servers:
                s.close()
            raise
        self.ports = Ports(self.rtde.port, self.dashboard.port, *(s.port for s in self.scripts))
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
        core = self.core
        cycle = core.cycle
        next_t = time.monotonic()
        assert self.rtde is not None  # mypy
        while not self._stop.is_set():
            next_t += cycle
            with core.lock:
                core.step()
                due = self.rtde.collect(core.cycles)
            for conn, data in due:
                try:
                    with conn.send_lock:
                        conn.sock.sendall(data)
                except OSError:
                    conn.close()
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.05:  # far behind (machine overloaded): resynchronise, count the loss
                lost = int(-delay / cycle)
                core.missed_cycles += lost
                next_t = time.monotonic()
                log.warning("virtual UR controller %.1f ms behind; skipped %d cycles", -delay * 1e3, lost)

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


def _child_main(
    host: str,
    config: dict[str, Any],
    ports: dict[str, int],
    program_dir: str | None,
    ready: Any,
    stop: Any,
    log_level: int,
) -> None:
    logging.basicConfig(level=log_level)
    try:
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
        cfg = CoreConfig(**kwargs)
        vc = VirtualController(host, cfg, Ports(**ports), Path(program_dir) if program_dir else None)
    except Exception as err:
        ready.put(("error", f"{err}"))
        return
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
) -> VirtualControllerHandle:
    """Start a virtual UR controller in a separate process and wait until it listens.

    Args:
        host: Loopback address to bind, e.g. ``"127.0.0.1"`` or ``"127.0.0.5"``.
        config: Controller configuration (arm, advertised version, ...).
        ports: TCP ports; 0 picks free ports (see ``handle.ports`` for the chosen ones).
        program_dir: Directory for dashboard ``load``.
        timeout: Start-up timeout [s].
        log_level: Logging level inside the controller process.

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
