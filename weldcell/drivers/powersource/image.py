"""Modbus process image of a welding power source: which signal lives at which address, and scalings.

The default map is *modelled on* the robot-interface signal sets of common power sources (Fronius
RI FB PRO/i "standard image": heartbeat, power source ready, process active, current flow, arc
stable, robot motion release, wire stick in status word 0, see ``docs/powersource.md``); it does not
claim byte-exactness with any product. Every address and scaling is configurable
(:meth:`ProcessImage.from_mapping`, YAML via :func:`load_process_image`).

Tables (Modbus data model, 0-based protocol addresses):

- coils (robot → power source bits): heartbeat, robot ready, welding start, gas test, wire
  forward/backward, error reset;
- holding registers (robot → power source values): job, wire feed / voltage / current command,
  arc-length correction; plus the virtual power source's test registers;
- discrete inputs (power source → robot bits): heartbeat, ready, warning, process active, current
  flow, arc stable, main current, motion release, wire stick, error;
- input registers (power source → robot values): status word (the discrete-input bits packed,
  bit n = discrete input n), actual voltage / current / wire feed, error number.

Register values are unsigned 16-bit words on the wire; a :class:`RegisterSignal` maps a word to an SI
value by ``value = raw * scale`` (two's complement first when ``signed``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from weldcell.drivers.powersource.base import (
    MAX_ARC_LENGTH_CORRECTION,
    MAX_CURRENT,
    MAX_JOB,
    MAX_VOLTAGE,
    MAX_WIRE_FEED,
    PowerSourceStatus,
    PowerSourceValueError,
    WeldParams,
)
from weldcell.errors import ProtocolError

WIRE_FEED_SCALE = 0.01 / 60.0  # [m/s per count]: 0.01 m/min resolution
VOLTAGE_SCALE = 0.01  # [V per count]
CURRENT_SCALE = 0.1  # [A per count]
CORRECTION_SCALE = 0.1  # [- per count]


@dataclass(frozen=True, slots=True)
class RegisterSignal:
    """One 16-bit register carrying a scaled value.

    Attributes:
        address: Register address (0-based protocol address).
        scale: SI units per count, e.g. 0.1 for a current in 0.1 A steps.
        signed: Two's-complement int16 instead of uint16.
    """

    address: int
    scale: float = 1.0
    signed: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.address, int) and 0 <= self.address <= 0xFFFF):
            raise PowerSourceValueError(f"register address {self.address!r} is not 0 … 65535")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise PowerSourceValueError(f"register scale {self.scale!r} must be a positive number")

    @property
    def raw_min(self) -> int:
        """Smallest raw value as an integer (-32768 signed, 0 unsigned)."""
        return -0x8000 if self.signed else 0

    @property
    def raw_max(self) -> int:
        """Largest raw value as an integer (32767 signed, 65535 unsigned)."""
        return 0x7FFF if self.signed else 0xFFFF

    def encode(self, value: float) -> int:
        """SI value → register word 0 … 65535 (rounded to the nearest count).

        Raises:
            PowerSourceValueError: ``value`` is not finite or does not fit the register.
        """
        if not math.isfinite(value):
            raise PowerSourceValueError(f"register {self.address}: value {value} is not finite")
        raw = round(value / self.scale)
        if not self.raw_min <= raw <= self.raw_max:
            raise PowerSourceValueError(
                f"register {self.address}: {value} does not fit "
                f"{self.raw_min * self.scale:g} … {self.raw_max * self.scale:g}"
            )
        return raw & 0xFFFF

    def decode(self, word: int) -> float:
        """Register word (0 … 65535) → SI value."""
        word &= 0xFFFF
        if self.signed and word >= 0x8000:
            word -= 0x10000
        return word * self.scale


# Names of the bit signals per table, in the order of the dataclass fields below.
COIL_SIGNALS = (
    "heartbeat_robot",
    "robot_ready",
    "welding_start",
    "gas_test",
    "wire_forward",
    "wire_backward",
    "error_reset",
    "touch_sensing",
)
DISCRETE_INPUT_SIGNALS = (
    "heartbeat",
    "ready",
    "warning",
    "process_active",
    "current_flow",
    "arc_stable",
    "main_current",
    "motion_release",
    "wire_stick",
    "error",
    "touch_contact",
)
HOLDING_SIGNALS = ("job", "wire_feed_command", "voltage_command", "current_command", "arc_length_correction")
INPUT_REGISTER_SIGNALS = ("status_word", "voltage", "current", "wire_feed", "error_number")


@dataclass(frozen=True, slots=True)
class ProcessImage:
    """Addresses and scalings of every signal (defaults: the weldcell standard image).

    Bit fields hold coil / discrete-input addresses; register fields are :class:`RegisterSignal`.
    ``test_base`` is the first of the virtual power source's test registers (holding registers, see
    :mod:`weldcell.drivers.powersource.virtual`); real power sources do not have them.
    """

    # coils: robot → power source
    heartbeat_robot: int = 0
    robot_ready: int = 1
    welding_start: int = 2
    gas_test: int = 3
    wire_forward: int = 4
    wire_backward: int = 5
    error_reset: int = 6
    touch_sensing: int = 7  # sensing voltage on the wire (touch sensing), no weld at the same time
    # discrete inputs: power source → robot (bit positions of RI FB PRO/i status word 0)
    heartbeat: int = 0
    ready: int = 1
    warning: int = 2
    process_active: int = 3
    current_flow: int = 4
    arc_stable: int = 5
    main_current: int = 6
    motion_release: int = 9
    wire_stick: int = 10
    error: int = 11
    touch_contact: int = 12  # touch sensing: the wire touches the part
    # holding registers: command values
    job: RegisterSignal = RegisterSignal(0)
    wire_feed_command: RegisterSignal = RegisterSignal(1, WIRE_FEED_SCALE)
    voltage_command: RegisterSignal = RegisterSignal(2, VOLTAGE_SCALE)
    current_command: RegisterSignal = RegisterSignal(3, CURRENT_SCALE)
    arc_length_correction: RegisterSignal = RegisterSignal(4, CORRECTION_SCALE, signed=True)
    # input registers: actual values
    status_word: RegisterSignal = RegisterSignal(0)
    voltage: RegisterSignal = RegisterSignal(1, VOLTAGE_SCALE)
    current: RegisterSignal = RegisterSignal(2, CURRENT_SCALE)
    wire_feed: RegisterSignal = RegisterSignal(3, WIRE_FEED_SCALE)
    error_number: RegisterSignal = RegisterSignal(4)
    # holding register: the power source's robot-communication (heartbeat) timeout, written by the
    # cell before a job so that the arc goes off before the robot stops when the PC dies; None on
    # machines where it is only set on the machine itself (then it is stated in the cell config)
    comm_timeout: RegisterSignal | None = RegisterSignal(10, 0.001)
    # virtual power source only
    test_base: int = 900

    def __post_init__(self) -> None:
        bit_groups: tuple[tuple[str, ...], ...] = (COIL_SIGNALS, DISCRETE_INPUT_SIGNALS)
        for names in bit_groups:
            addrs = [getattr(self, n) for n in names]
            for n, a in zip(names, addrs, strict=True):
                if not (isinstance(a, int) and 0 <= a <= 0xFFFF):
                    raise PowerSourceValueError(f"process image: {n} address {a!r} is not 0 … 65535")
            if len(set(addrs)) != len(addrs):
                raise PowerSourceValueError(f"process image: two signals share an address among {names}")
        reg_groups: tuple[tuple[str, ...], ...] = (HOLDING_SIGNALS, INPUT_REGISTER_SIGNALS)
        for names in reg_groups:
            addrs = [getattr(self, n).address for n in names]
            if len(set(addrs)) != len(addrs):
                raise PowerSourceValueError(f"process image: two registers share an address among {names}")
        if max(self.discrete_input_addresses()) > 15:
            # the status word mirrors the discrete inputs bit by bit, so they must fit in 16 bits
            raise PowerSourceValueError("process image: discrete inputs must use addresses 0 … 15")
        hold = [getattr(self, n).address for n in HOLDING_SIGNALS]
        if self.comm_timeout is not None:
            lo, count = self.holding_span()
            if lo <= self.comm_timeout.address < lo + count:
                raise PowerSourceValueError(
                    f"process image: comm_timeout register {self.comm_timeout.address} lies inside the "
                    f"command registers {lo} … {lo + count - 1}"
                )
            hold.append(self.comm_timeout.address)
        if any(self.test_base <= a < self.test_base + 16 for a in hold):
            raise PowerSourceValueError("process image: test registers overlap a command register")

    # --- address ranges ----------------------------------------------------------------------
    def coil_addresses(self) -> tuple[int, ...]:
        """Coil addresses in :data:`COIL_SIGNALS` order."""
        return tuple(getattr(self, n) for n in COIL_SIGNALS)

    def discrete_input_addresses(self) -> tuple[int, ...]:
        """Discrete-input addresses in :data:`DISCRETE_INPUT_SIGNALS` order."""
        return tuple(getattr(self, n) for n in DISCRETE_INPUT_SIGNALS)

    def holding_span(self) -> tuple[int, int]:
        """(first address, count) covering all command registers."""
        return _span([getattr(self, n).address for n in HOLDING_SIGNALS])

    def input_span(self) -> tuple[int, int]:
        """(first address, count) covering all actual-value registers."""
        return _span([getattr(self, n).address for n in INPUT_REGISTER_SIGNALS])

    def coil_span(self) -> tuple[int, int]:
        """(first address, count) covering all coils."""
        return _span(list(self.coil_addresses()))

    def discrete_input_span(self) -> tuple[int, int]:
        """(first address, count) covering all discrete inputs."""
        return _span(list(self.discrete_input_addresses()))

    # --- (de)serialisation -------------------------------------------------------------------
    def to_mapping(self) -> dict[str, Any]:
        """Plain dict (YAML/JSON-able) of this image."""
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ProcessImage:
        """Build from a dict as written by :meth:`to_mapping`; missing keys keep their defaults.

        Raises:
            PowerSourceValueError: unknown keys or invalid addresses/scalings.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PowerSourceValueError(f"process image: unknown signal(s) {unknown}; known: {sorted(known)}")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key == "comm_timeout" and value is None:
                kwargs[key] = None
            elif key in HOLDING_SIGNALS or key in INPUT_REGISTER_SIGNALS or key == "comm_timeout":
                if isinstance(value, Mapping):
                    extra = sorted(set(value) - {"address", "scale", "signed"})
                    if extra or "address" not in value:
                        raise PowerSourceValueError(
                            f"process image: {key}: expected a mapping with address (and optional scale, "
                            f"signed), got keys {sorted(value)}"
                        )
                    kwargs[key] = RegisterSignal(**dict(value))
                elif isinstance(value, int):
                    default = getattr(cls(), key) or RegisterSignal(0, 0.001)
                    kwargs[key] = RegisterSignal(value, default.scale, default.signed)
                else:
                    raise PowerSourceValueError(f"process image: {key} must be an address or a mapping")
            else:
                kwargs[key] = value
        return cls(**kwargs)


def load_process_image(path: str | Path) -> ProcessImage:
    """Read a process image from a YAML file (keys as in :meth:`ProcessImage.to_mapping`)."""
    import yaml

    from weldcell.program.yamlio import safe_load_yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise PowerSourceValueError(
            f"{p}: not a process image (not UTF-8 text at byte {err.start}); expected a YAML mapping"
        ) from err
    except OSError as err:
        raise PowerSourceValueError(f"{p}: cannot read process image ({err.strerror or err})") from err
    try:
        data = safe_load_yaml(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise PowerSourceValueError(f"{p}{where}: YAML syntax error in the process image: {problem}") from err
    if data is None:
        raise PowerSourceValueError(
            f"{p}: the file is empty; expected a mapping of signal names to addresses"
        )
    if not isinstance(data, Mapping):
        raise PowerSourceValueError(f"{p}: a process image must be a mapping of signal names to addresses")
    try:
        return ProcessImage.from_mapping(data)
    except PowerSourceValueError as err:
        raise PowerSourceValueError(f"{p}: {err}") from err
    except (TypeError, ValueError) as err:
        raise PowerSourceValueError(f"{p}: invalid process image ({err})") from err


def _span(addresses: Sequence[int]) -> tuple[int, int]:
    lo = min(addresses)
    return lo, max(addresses) - lo + 1


# --- encoding / decoding -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RobotOutputs:
    """Robot → power source bits (what the coils hold)."""

    heartbeat_robot: bool = False
    robot_ready: bool = False
    welding_start: bool = False
    gas_test: bool = False
    wire_forward: bool = False
    wire_backward: bool = False
    error_reset: bool = False
    touch_sensing: bool = False


def encode_coils(image: ProcessImage, outputs: RobotOutputs) -> tuple[int, list[bool]]:
    """Robot outputs → (first coil address, values for one write-multiple-coils request)."""
    start, count = image.coil_span()
    values = [False] * count
    for name in COIL_SIGNALS:
        values[getattr(image, name) - start] = bool(getattr(outputs, name))
    return start, values


def decode_coils(image: ProcessImage, start: int, values: Sequence[bool]) -> RobotOutputs:
    """Coil values read from ``start`` → robot outputs."""
    return RobotOutputs(**{n: bool(values[getattr(image, n) - start]) for n in COIL_SIGNALS})


def encode_commands(image: ProcessImage, params: WeldParams) -> tuple[int, list[int]]:
    """Weld parameters → (first holding register, words for one write-multiple-registers request).

    Raises:
        PowerSourceValueError: a value that does not fit its register.
    """
    start, count = image.holding_span()
    words = [0] * count
    values = {
        "job": float(params.job),
        "wire_feed_command": params.wire_feed,
        "voltage_command": params.voltage,
        "current_command": params.current,
        "arc_length_correction": params.arc_length_correction,
    }
    for name, value in values.items():
        sig: RegisterSignal = getattr(image, name)
        words[sig.address - start] = sig.encode(value)
    return start, words


#: Documented range and display unit of every command register (``docs/powersource.md``):
#: signal → (lowest, highest SI value, factor from SI to the display unit, display unit).
COMMAND_RANGES: dict[str, tuple[float, float, float, str]] = {
    "job": (0.0, float(MAX_JOB), 1.0, ""),
    "wire_feed_command": (0.0, MAX_WIRE_FEED, 60.0, "m/min"),  # SI: m/s
    "voltage_command": (0.0, MAX_VOLTAGE, 1.0, "V"),
    "current_command": (0.0, MAX_CURRENT, 1.0, "A"),
    "arc_length_correction": (-MAX_ARC_LENGTH_CORRECTION, MAX_ARC_LENGTH_CORRECTION, 1.0, ""),
}


def decode_commands(image: ProcessImage, start: int, words: Sequence[int]) -> WeldParams:
    """Holding-register words read from ``start`` → weld parameters.

    Every command value is checked against its documented range (:data:`COMMAND_RANGES`); a value
    outside it is an invalid command, never clamped (a power source that welded 650 m/min as
    25 m/min would weld something nobody asked for).

    Raises:
        PowerSourceValueError: a command outside its range, naming register, value and range.
    """
    values: dict[str, float] = {}
    for name, (lo, hi, factor, shown_unit) in COMMAND_RANGES.items():
        sig: RegisterSignal = getattr(image, name)
        value = sig.decode(words[sig.address - start])
        half_count = sig.scale / 2  # rounding of the register, not an out-of-range command
        if not lo - half_count <= value <= hi + half_count:
            shown = f"{value * factor:g} {shown_unit}".strip()
            raise PowerSourceValueError(
                f"holding register {sig.address} ({name}): {shown} is outside "
                f"{lo * factor:g} … {hi * factor:g} {shown_unit}".strip()
            )
        values[name] = min(max(value, lo), hi)
    return WeldParams(
        wire_feed=values["wire_feed_command"],
        voltage=values["voltage_command"],
        current=values["current_command"],
        arc_length_correction=values["arc_length_correction"],
        job=round(values["job"]),
    )


_STATUS_BITS = (
    ("heartbeat", "heartbeat"),
    ("ready", "ready"),
    ("warning", "warning"),
    ("process_active", "process_active"),
    ("current_flow", "current_flow"),
    ("arc_stable", "arc_stable"),
    ("motion_release", "motion_release"),
    ("wire_stick", "wire_stick"),
    ("touch_contact", "touch_contact"),
)


def saturate_word(sig: RegisterSignal, value: float) -> int:
    """SI value → register word, saturating at the register's range instead of raising.

    For measurements only (commands use :meth:`RegisterSignal.encode`, which refuses): NaN → 0,
    -inf and values below the range → the lowest raw value, +inf and values above → the highest.
    The comparison happens in SI units before any division, so no intermediate overflows.
    """
    if math.isnan(value):
        return 0
    if value <= sig.raw_min * sig.scale:
        raw = sig.raw_min
    elif value >= sig.raw_max * sig.scale:
        raw = sig.raw_max
    else:
        raw = min(max(round(value / sig.scale), sig.raw_min), sig.raw_max)
    return raw & 0xFFFF


def encode_status(
    image: ProcessImage, status: PowerSourceStatus, main_current: bool = False
) -> tuple[list[bool], list[int]]:
    """Status → (discrete inputs from address 0, input registers from the input span start).

    Actual values outside a register's range saturate at the register's limits (a measurement, not
    a command): any float, however large, and ±inf encode to the nearest representable word; NaN
    (not measured) encodes as 0. An error number that does not fit the register is sent as its
    largest value (65535 unsigned), so it stays an error.
    """
    bits = [False] * (max(image.discrete_input_addresses()) + 1)
    for field_name, sig_name in _STATUS_BITS:
        bits[getattr(image, sig_name)] = bool(getattr(status, field_name))
    bits[image.main_current] = bool(main_current)
    bits[image.error] = status.error_code != 0
    word = sum(1 << i for i, b in enumerate(bits) if b)
    ir_start, ir_count = image.input_span()
    regs = [0] * ir_count

    def put(name: str, value: float) -> None:
        sig: RegisterSignal = getattr(image, name)
        regs[sig.address - ir_start] = saturate_word(sig, value)

    regs[image.status_word.address - ir_start] = word
    put("voltage", status.voltage)
    put("current", status.current)
    put("wire_feed", status.wire_feed)
    code = int(status.error_code)
    if not 0 <= code <= image.error_number.raw_max:
        code = image.error_number.raw_max  # still an error (the error bit is set), of an unknown number
    put("error_number", float(code))
    return bits, regs


def decode_status(
    image: ProcessImage,
    bits: Sequence[bool],
    regs: Sequence[int],
    timestamp: float = 0.0,
) -> PowerSourceStatus:
    """Discrete inputs (from address 0) and input registers (from the input span start) → status.

    Raises:
        ProtocolError: too few bits, or not exactly the input span's registers.
    """
    ir_start, ir_count = image.input_span()
    check_words(regs, ir_count, f"input registers {ir_start} … {ir_start + ir_count - 1}")
    n_bits = max(image.discrete_input_addresses()) + 1
    if len(bits) < n_bits:
        raise ProtocolError(
            f"reply to the read of the discrete inputs: expected {n_bits} bits, got {len(bits)}"
        )

    def reg(name: str) -> float:
        sig: RegisterSignal = getattr(image, name)
        return sig.decode(regs[sig.address - ir_start])

    flags = {f: bool(bits[getattr(image, s)]) for f, s in _STATUS_BITS}
    return PowerSourceStatus(
        **flags,
        error_code=round(reg("error_number")),
        current=reg("current"),
        voltage=reg("voltage"),
        wire_feed=reg("wire_feed"),
        timestamp=timestamp,
    )


def decode_status_registers(
    image: ProcessImage, regs: Sequence[int], timestamp: float = 0.0
) -> PowerSourceStatus:
    """Status from the input registers alone (flags from the status word): one atomic read.

    Reading discrete inputs and input registers in two requests can tear (the process changes in
    between); the status word carries the same bits in the same request as the actual values.

    Raises:
        ProtocolError: ``regs`` is not exactly the input span of ``image`` (a short or long reply)
            or holds a value that is not a 16-bit word.
    """
    ir_start, ir_count = image.input_span()
    check_words(regs, ir_count, f"input registers {ir_start} … {ir_start + ir_count - 1}")
    word = regs[image.status_word.address - ir_start]
    return decode_status(image, unpack_bits([word], 16), regs, timestamp)


def check_words(words: Sequence[int], count: int, what: str) -> None:
    """Check a register reply: exactly ``count`` integers 0 … 65535.

    Raises:
        ProtocolError: naming ``what``, the expected count and what arrived.
    """
    if len(words) != count:
        raise ProtocolError(f"reply to the read of {what}: expected {count} registers, got {len(words)}")
    bad = [w for w in words if not (isinstance(w, int) and 0 <= w <= 0xFFFF)]
    if bad:
        raise ProtocolError(f"reply to the read of {what}: {bad[0]!r} is not a 16-bit register value")


def pack_bits(bits: Sequence[bool]) -> list[int]:
    """Bits → 16-bit words, bit i in word i // 16 at bit position i % 16 (LSB first)."""
    words = [0] * ((len(bits) + 15) // 16)
    for i, b in enumerate(bits):
        if b:
            words[i // 16] |= 1 << (i % 16)
    return words


def unpack_bits(words: Sequence[int], count: int) -> list[bool]:
    """Inverse of :func:`pack_bits` for the first ``count`` bits."""
    return [bool((words[i // 16] >> (i % 16)) & 1) for i in range(count)]
