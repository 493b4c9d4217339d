"""The virtual controller's RTDE server (port 30004): protocol v1 and v2, recipes, output packages at the
requested frequency, controller messages as TEXT_MESSAGE packages."""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from weldcell.drivers.ur.client import rtde_protocol as rp
from weldcell.drivers.ur.virtual.core import (
    ControllerCore,
    RobotMode,
)
from weldcell.drivers.ur.virtual.net import (
    MAX_CONNECTIONS,
    MSG_DONTWAIT,
    RTDE_MAX_CLIENT_PACKAGE,
    RTDE_MAX_DATA_PACKAGE,
    RTDE_MAX_QUEUED_BYTES,
    RTDE_SEND_BUFFER,
    ConnectionSet,
    RateLimitedLog,
    accept_loop,
    close_listener,
    listen,
)
from weldcell.errors import ProtocolError

log = logging.getLogger(__name__)


def floats_tuple(a: Any) -> tuple[float, ...]:
    return tuple(float(x) for x in a)


def _output_getter(name: str) -> Callable[[ControllerCore], Any] | None:
    """Function computing output field ``name`` from the core, or None if it is unknown."""
    z6 = (0.0,) * 6
    simple: dict[str, Callable[[ControllerCore], Any]] = {
        "timestamp": lambda c: c.time,
        "target_q": lambda c: floats_tuple(c.target_q),
        "target_qd": lambda c: floats_tuple(c.target_qd),
        "target_qdd": lambda c: floats_tuple(c.target_qdd),
        "actual_q": lambda c: floats_tuple(c.actual_q),
        "actual_qd": lambda c: floats_tuple(c.actual_qd),
        "actual_TCP_pose": lambda c: floats_tuple(c.tcp_pose(c.actual_q)),
        "target_TCP_pose": lambda c: floats_tuple(c.tcp_pose(c.target_q)),
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
        "tcp_offset": lambda c: floats_tuple(c.tcp_offset),
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
        self._warn = RateLimitedLog()

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
            n = self.sock.send(self._out, MSG_DONTWAIT)
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
        except (OSError, ProtocolError) as err:
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
            except ProtocolError as err:
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
        except ProtocolError as err:
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
        self.listener = listen(host, port)
        self.port = self.listener.getsockname()[1]
        self.conns: list[_RTDEConnection] = []
        self.conns_lock = threading.Lock()
        self.owners: dict[str, _RTDEConnection] = {}
        self.owner_lock = threading.Lock()
        self._socks = ConnectionSet(MAX_CONNECTIONS["rtde"])
        self._closed = threading.Event()
        self._pack_warn = RateLimitedLog()
        self._thread = threading.Thread(
            target=accept_loop,
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
            except (ProtocolError, TypeError, ValueError, OverflowError) as err:
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
        close_listener(self.listener)
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            c.abort("controller shutting down")
