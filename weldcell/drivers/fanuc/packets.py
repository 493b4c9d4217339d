"""FANUC Stream Motion (option J519) packets, version 3/4: our encoder and decoder.

Wire facts (FANUC's ``stream_motion/packets.hpp`` and ``stream.cpp`` of FANUC-CORPORATION/fanuc_driver,
Apache-2.0; FANUC manual B-84904EN; see ``docs/drivers.md``):

* UDP, the robot listens on port 60015. Every multi-byte field is big-endian. The 256-byte I/O
  arrays are raw bytes; values packed inside them are little-endian (least significant byte first).
* External device -> robot: stop (type 2), get capability (7), start (200), command (201), GPIO
  configuration (203). Robot -> external device: capability result (7), status (202 in version 3,
  388 bytes; 204 in version 4, 416 bytes with force/moment), GPIO configuration result (203).
* Command (344 bytes): type, version, sequence (u32); ``is_last_command`` (u8); ``do_motn_ctrl`` (u8,
  1 = motion); a u16 that FANUC's header calls ``unused`` and that FANUC's own client writes as
  0xFFFF: it selects joint data, and 0 makes the controller read the positions as Cartesian XYZWPR
  (airo-fanuc ``controller_facts.py`` records the arm slewing into an e-stop); 9 × f64 positions
  [deg]; 256 bytes of I/O.
* Status: type, version, sequence (u32); status bits (u8: 0 = waiting for commands / motion
  possible, 1 = command received, 2 = SYSRDY, 3 = robot moving); robot_status (u8: 0 = in error,
  1 = teach pendant enabled, 2 = e-stop); contact-stop status (u8); unused (u8); time stamp [ms]
  (u32); 9 × f32 Cartesian position [mm, deg]; 9 × f32 joint angles [deg]; 9 × f32 motor current;
  f32 safety scale; (v4: 6 × f32 force/moment, u32 sensor type); 256 bytes of I/O.
* GPIO configuration (520 bytes): type, version, then 32 entries of (command type: 0 none, 1 I/O
  command, 2 I/O state, 3/4 numeric register; I/O type: 0 DO, 1 DI, 2 RO, 3 RI, ...; first index,
  1-based; count), each u32. Result: type, result (0 = accepted), process time factor.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from weldcell.errors import ProtocolError

NDArrayF = npt.NDArray[np.float64]

DEFAULT_PORT = 60015
MAX_AXES = 9
IO_BYTES = 256
MAX_GPIO_CONFIGS = 32
BASE_VERSION = 3

#: The command's data-style word: joint angles. Never 0 (0 = Cartesian XYZWPR).
DATA_STYLE_JOINT = 0xFFFF


class PacketType(IntEnum):
    """Stream Motion packet types."""

    STOP = 2
    THRESHOLD = 3
    GET_CAPABILITY = 7
    SET_CAPABILITY = 8
    START = 200
    COMMAND = 201
    STATUS_V3 = 202
    GPIO_CONFIG = 203
    STATUS_V4 = 204
    FORCE_SENSOR_CONFIG = 205


class GpioCommandType(IntEnum):
    """Role of one GPIO configuration entry."""

    NONE = 0
    IO_COMMAND = 1
    IO_STATE = 2


class IoType(IntEnum):
    """FANUC I/O kinds (the subset weldcell maps)."""

    DO = 0
    DI = 1
    RO = 2
    RI = 3


_START_STOP = struct.Struct(">II")
_CAPABILITY = struct.Struct(">7I")
_COMMAND = struct.Struct(">IIIBBH9d256s")
_STATUS_HEAD = struct.Struct(">IIIBBBBI9f9f9ff")
_STATUS_V4_FORCE = struct.Struct(">6fI")
_GPIO_ENTRY = struct.Struct(">4I")
_GPIO_RESULT = struct.Struct(">III")

START_SIZE = _START_STOP.size  # 8
CAPABILITY_SIZE = _CAPABILITY.size  # 28
COMMAND_SIZE = _COMMAND.size  # 344
STATUS_V3_SIZE = _STATUS_HEAD.size + IO_BYTES  # 388
STATUS_V4_SIZE = _STATUS_HEAD.size + _STATUS_V4_FORCE.size + IO_BYTES  # 416
GPIO_CONFIG_SIZE = 8 + MAX_GPIO_CONFIGS * _GPIO_ENTRY.size  # 520
GPIO_RESULT_SIZE = _GPIO_RESULT.size  # 12

STATUS_MOTION_POSSIBLE = 0x01
STATUS_COMMAND_RECEIVED = 0x02
STATUS_SYSRDY = 0x04
STATUS_MOVING = 0x08
ROBOT_IN_ERROR = 0x01
ROBOT_TP_ENABLED = 0x02
ROBOT_ESTOP = 0x04


def packet_type(data: bytes) -> int:
    """Type field of a datagram (-1 when shorter than 4 bytes)."""
    return struct.unpack_from(">I", data)[0] if len(data) >= 4 else -1


def encode_start(version: int) -> bytes:
    """Start packet (type 200): the robot starts sending status packets."""
    return _START_STOP.pack(PacketType.START, version)


def encode_stop(version: int) -> bytes:
    """Stop packet (type 2): the robot stops sending status packets."""
    return _START_STOP.pack(PacketType.STOP, version)


def decode_start_stop(data: bytes) -> tuple[int, int]:
    """(type, version) of a start or stop packet."""
    if len(data) != START_SIZE:
        raise ProtocolError(f"start/stop packet of {len(data)} bytes, expected {START_SIZE}")
    t, v = _START_STOP.unpack(data)
    return int(t), int(v)


@dataclass(frozen=True, slots=True)
class Capability:
    """Get/set capability packet (request or result).

    Attributes:
        packet_type: 7 (get) or 8 (set).
        version: Protocol version of the packet.
        id: Request id (1).
        sampling_rate_ms: Status/command cycle [ms] (result only).
        start_move: Commands buffered before the robot moves (0-9).
        available_version: Highest protocol version the controller speaks (result only).
        rob_status_use_tcp: 0: status position is the faceplate, 1: the TCP.
    """

    packet_type: int = PacketType.GET_CAPABILITY
    version: int = BASE_VERSION
    id: int = 1
    sampling_rate_ms: int = 0
    start_move: int = 0
    available_version: int = 0
    rob_status_use_tcp: int = 0

    def encode(self) -> bytes:
        """The 28-byte packet."""
        return _CAPABILITY.pack(
            self.packet_type,
            self.version,
            self.id,
            self.sampling_rate_ms,
            self.start_move,
            self.available_version,
            self.rob_status_use_tcp,
        )

    @classmethod
    def decode(cls, data: bytes) -> Capability:
        """Parse a capability packet; raises :class:`ProtocolError` on a wrong size or type."""
        if len(data) != CAPABILITY_SIZE:
            raise ProtocolError(f"capability packet of {len(data)} bytes, expected {CAPABILITY_SIZE}")
        f = _CAPABILITY.unpack(data)
        if f[0] not in (PacketType.GET_CAPABILITY, PacketType.SET_CAPABILITY):
            raise ProtocolError(f"capability packet has type {f[0]}, expected 7 or 8")
        return cls(*(int(x) for x in f))


@dataclass(frozen=True, slots=True)
class Command:
    """Command packet (type 201).

    Attributes:
        version: Negotiated protocol version.
        seq: Sequence number (the sequence number of the status packet it answers).
        positions_deg: Joint set-points [deg], shape (9,) (unused axes 0).
        is_last: Last command of the stream (the robot's ``IBGN end`` then completes).
        motion: ``do_motn_ctrl``: 1 = move, 0 = I/O only.
        data_style: The data-style word (0xFFFF = joint angles).
        io: The 256 I/O bytes (values laid out as the GPIO configuration's I/O-command entries).
    """

    version: int
    seq: int
    positions_deg: NDArrayF
    is_last: bool = False
    motion: bool = True
    data_style: int = DATA_STYLE_JOINT
    io: bytes = bytes(IO_BYTES)

    def encode(self) -> bytes:
        """The 344-byte packet."""
        pos = np.zeros(MAX_AXES)
        p = np.asarray(self.positions_deg, dtype=np.float64).ravel()
        if p.shape[0] > MAX_AXES or not np.all(np.isfinite(p)):
            raise ProtocolError(f"command positions must be ≤ {MAX_AXES} finite values, got {p}")
        pos[: p.shape[0]] = p
        if len(self.io) > IO_BYTES:
            raise ProtocolError(f"command I/O of {len(self.io)} bytes, at most {IO_BYTES}")
        return _COMMAND.pack(
            PacketType.COMMAND,
            self.version,
            self.seq & 0xFFFFFFFF,
            1 if self.is_last else 0,
            1 if self.motion else 0,
            self.data_style,
            *pos.tolist(),
            self.io.ljust(IO_BYTES, b"\0"),
        )

    @classmethod
    def decode(cls, data: bytes) -> Command:
        """Parse a command packet; raises :class:`ProtocolError` on a wrong size or type."""
        if len(data) != COMMAND_SIZE:
            raise ProtocolError(f"command packet of {len(data)} bytes, expected {COMMAND_SIZE}")
        f = _COMMAND.unpack(data)
        if f[0] != PacketType.COMMAND:
            raise ProtocolError(f"command packet has type {f[0]}, expected 201")
        return cls(
            version=int(f[1]),
            seq=int(f[2]),
            positions_deg=np.array(f[6:15], dtype=np.float64),
            is_last=bool(f[3]),
            motion=bool(f[4]),
            data_style=int(f[5]),
            io=bytes(f[15]),
        )


@dataclass(frozen=True, slots=True)
class Status:
    """Status packet (type 202, version 3, or 204, version 4).

    Attributes:
        version: Protocol version.
        seq: Sequence number (rises by one per packet).
        status: Status bits (``STATUS_*``).
        robot_status: Robot status bits (``ROBOT_*``).
        contact_stop: Contact-stop status (0 none, 1 safe, 2 stop, 3 disabled, 4 escape).
        time_stamp_ms: Controller time [ms] (u32, wraps).
        position: Faceplate (or TCP) X, Y, Z [mm], W, P, R [deg] and extended axes, shape (9,).
        joints_deg: Joint angles [deg], shape (9,).
        current: Motor currents [A], shape (9,).
        safety_scale: Speed scale applied by the safety function (1 = none).
        io: The 256 I/O bytes (values laid out as the GPIO configuration's I/O-state entries).
        force: Force [N] and moment [N·m], shape (6,), version 4 only (else None).
        fs_type: Force sensor type, version 4 only (else None).
    """

    version: int
    seq: int
    status: int
    robot_status: int
    contact_stop: int
    time_stamp_ms: int
    position: NDArrayF
    joints_deg: NDArrayF
    current: NDArrayF
    safety_scale: float = 1.0
    io: bytes = bytes(IO_BYTES)
    force: NDArrayF | None = None
    fs_type: int | None = None

    @property
    def motion_possible(self) -> bool:
        """Status bit 0: the robot waits for commands (``IBGN start`` active) and may move."""
        return bool(self.status & STATUS_MOTION_POSSIBLE)

    @property
    def e_stopped(self) -> bool:
        """Robot status bit 2: emergency stop."""
        return bool(self.robot_status & ROBOT_ESTOP)

    @property
    def in_error(self) -> bool:
        """Robot status bit 0: an alarm is active."""
        return bool(self.robot_status & ROBOT_IN_ERROR)

    def encode(self) -> bytes:
        """The 388-byte (v3) or 416-byte (v4) packet."""
        head = _STATUS_HEAD.pack(
            PacketType.STATUS_V4 if self.version >= 4 else PacketType.STATUS_V3,
            self.version,
            self.seq & 0xFFFFFFFF,
            self.status,
            self.robot_status,
            self.contact_stop,
            0,
            self.time_stamp_ms & 0xFFFFFFFF,
            *_nine(self.position),
            *_nine(self.joints_deg),
            *_nine(self.current),
            self.safety_scale,
        )
        io = self.io.ljust(IO_BYTES, b"\0")[:IO_BYTES]
        if self.version >= 4:
            force = np.zeros(6) if self.force is None else np.asarray(self.force, dtype=np.float64)
            fs = 0xFFFFFFFF if self.fs_type is None else self.fs_type
            return head + _STATUS_V4_FORCE.pack(*force.tolist(), fs) + io
        return head + io

    @classmethod
    def decode(cls, data: bytes) -> Status:
        """Parse a status packet; raises :class:`ProtocolError` on a wrong size or type."""
        t = packet_type(data)
        if t == PacketType.STATUS_V3:
            size = STATUS_V3_SIZE
        elif t == PacketType.STATUS_V4:
            size = STATUS_V4_SIZE
        else:
            raise ProtocolError(f"status packet has type {t}, expected 202 or 204")
        if len(data) != size:
            raise ProtocolError(f"status packet (type {t}) of {len(data)} bytes, expected {size}")
        f = _STATUS_HEAD.unpack_from(data)
        force: NDArrayF | None = None
        fs_type: int | None = None
        off = _STATUS_HEAD.size
        if t == PacketType.STATUS_V4:
            g = _STATUS_V4_FORCE.unpack_from(data, off)
            force = np.array(g[:6], dtype=np.float64)
            fs_type = int(g[6])
            off += _STATUS_V4_FORCE.size
        return cls(
            version=int(f[1]),
            seq=int(f[2]),
            status=int(f[3]),
            robot_status=int(f[4]),
            contact_stop=int(f[5]),
            time_stamp_ms=int(f[7]),
            position=np.array(f[8:17], dtype=np.float64),
            joints_deg=np.array(f[17:26], dtype=np.float64),
            current=np.array(f[26:35], dtype=np.float64),
            safety_scale=float(f[35]),
            io=bytes(data[off : off + IO_BYTES]),
            force=force,
            fs_type=fs_type,
        )


def _nine(a: NDArrayF | None) -> list[float]:
    out = np.zeros(MAX_AXES)
    if a is not None:
        v = np.asarray(a, dtype=np.float64).ravel()[:MAX_AXES]
        out[: v.shape[0]] = v
    return [float(x) for x in out]


@dataclass(frozen=True, slots=True)
class GpioEntry:
    """One GPIO configuration entry: ``count`` signals of ``io_type`` from ``first`` (1-based)."""

    command_type: GpioCommandType
    io_type: IoType
    first: int
    count: int

    @property
    def n_bytes(self) -> int:
        """Bytes the entry takes in the I/O array (digital signals: one bit each, LSB first)."""
        return (self.count + 7) // 8


def encode_gpio_config(version: int, entries: tuple[GpioEntry, ...]) -> bytes:
    """GPIO configuration packet (type 203, 520 bytes); unused entries are zero."""
    if len(entries) > MAX_GPIO_CONFIGS:
        raise ProtocolError(f"{len(entries)} GPIO entries, at most {MAX_GPIO_CONFIGS}")
    out = bytearray(_START_STOP.pack(PacketType.GPIO_CONFIG, version))
    for e in entries:
        out += _GPIO_ENTRY.pack(int(e.command_type), int(e.io_type), e.first, e.count)
    out += bytes(GPIO_CONFIG_SIZE - len(out))
    return bytes(out)


def decode_gpio_config(data: bytes) -> tuple[int, tuple[GpioEntry, ...]]:
    """(version, entries) of a GPIO configuration packet (entries of command type 0 are dropped)."""
    if len(data) != GPIO_CONFIG_SIZE or packet_type(data) != PacketType.GPIO_CONFIG:
        raise ProtocolError(
            f"GPIO configuration of {len(data)} bytes, expected {GPIO_CONFIG_SIZE} (type 203)"
        )
    _, version = _START_STOP.unpack_from(data)
    entries = []
    for k in range(MAX_GPIO_CONFIGS):
        ct, it, first, count = _GPIO_ENTRY.unpack_from(data, 8 + k * _GPIO_ENTRY.size)
        if ct == GpioCommandType.NONE:
            continue
        try:
            entries.append(GpioEntry(GpioCommandType(ct), IoType(it), int(first), int(count)))
        except ValueError as err:
            raise ProtocolError(f"GPIO entry {k}: command type {ct} / I/O type {it} not supported") from err
    return int(version), tuple(entries)


def encode_gpio_result(result: int, ptf: int = 0) -> bytes:
    """GPIO configuration result (type 203, 12 bytes); ``result`` 0 = accepted."""
    return _GPIO_RESULT.pack(PacketType.GPIO_CONFIG, result, ptf)


def decode_gpio_result(data: bytes) -> tuple[int, int]:
    """(result, process time factor) of a GPIO configuration result."""
    if len(data) != GPIO_RESULT_SIZE or packet_type(data) != PacketType.GPIO_CONFIG:
        raise ProtocolError(f"GPIO result of {len(data)} bytes, expected {GPIO_RESULT_SIZE} (type 203)")
    _, result, ptf = _GPIO_RESULT.unpack(data)
    return int(result), int(ptf)


def pack_bits(values: tuple[int, ...], entries: tuple[GpioEntry, ...]) -> bytes:
    """Lay out one bit field per entry (LSB = the entry's first signal) into the I/O array."""
    out = bytearray()
    for v, e in zip(values, entries, strict=True):
        out += (v & ((1 << e.count) - 1)).to_bytes(e.n_bytes, "little")
    if len(out) > IO_BYTES:
        raise ProtocolError(f"I/O map needs {len(out)} bytes, at most {IO_BYTES}")
    return bytes(out)


def unpack_bits(io: bytes, entries: tuple[GpioEntry, ...]) -> tuple[int, ...]:
    """Inverse of :func:`pack_bits`."""
    vals = []
    off = 0
    for e in entries:
        raw = int.from_bytes(io[off : off + e.n_bytes], "little")
        vals.append(raw & ((1 << e.count) - 1))
        off += e.n_bytes
    return tuple(vals)
