"""The Modbus TCP register map of a weldcell servo positioner (docs/drivers.md, "Positioner").

All registers are holding registers (function codes 3, 6, 16 and 23), 0-based addresses, 16-bit
words; 32-bit values are two words, high word first. Positions are signed 32-bit integers in µrad
(revolute) or µm (prismatic); speeds in µrad/s or µm/s; accelerations in µrad/s² or µm/s²; times
unsigned 32-bit in µs. One cycle is one read/write-multiple (FC 23): the cell writes the command
block (control, counter, time stamp, set-points) and reads the status block in the same exchange.

Command block (written by the cell)::

    0        CONTROL        bit 0 enable, bit 1 fault reset (acts on its rising edge),
                            bit 2 timed (buffered) mode; its rising edge empties the buffer
    1        COUNTER        set-point cycle counter (wraps at 65536), echoed once applied
    2-3      T_SETPOINT_US  trajectory time of the set-point [µs] (u32)
    4        WATCHDOG_MS    watchdog time [ms]; 0: the device's default
    5        reserved
    6+2i     SETPOINT[i]    set-point of axis i (i32)
    18-21    T_BASE_US      timed mode: the instant trajectory time 0 is executed, on the host's
                            CLOCK_MONOTONIC [µs] (u64); 0: not started (hold the first set-point)

Timed batch block (written by the cell; one FC 23 writes it and reads the status block)::

    208      B_CONTROL      as CONTROL; the batch's set-points are timed ones (bit 2 is implied)
    209      B_COUNTER      cycle counter, echoed in COUNTER_ECHO
    210-213  B_T_BASE_US    as T_BASE_US
    214      B_WATCHDOG_MS  as WATCHDOG_MS
    215      B_COUNT        n, the set-points that follow (1 … 121 words in all)
    216+j*(2+2k)            set-point j: trajectory time [µs] (u32), then k axis positions (i32)

Timed mode (``CTRL_TIMED``): set-points are not applied on arrival but buffered (up to
``BUFFER_SIZE``, ahead of time); on each tick the drive executes trajectory time
``now - T_BASE`` by interpolating the buffer linearly, on its own clock. The cell streams ahead
of time (look-ahead), so the moment a set-point arrives does not matter; only the shared time base
does. Past the newest set-point (the stream's end, or an underrun) the drive holds that set-point.

Status block (read)::

    32       STATUS         bit 0 enabled, bit 1 faulted
    33       FAULT_CODE     PositionerFault (0 none)
    34       FAULT_AXIS     index + 1 of the faulted axis (0 none)
    35       COUNTER_ECHO   counter of the last applied set-point
    36-37    T_APPLIED_US   its trajectory time [µs] (u32)
    38+2i    ACTUAL[i]      actual position of axis i (i32)
    38+2N+2i VELOCITY[i]    actual velocity of axis i (i32), N = MAX_AXES
    62-63    T_EXEC_US      trajectory time the drive executes now [µs] (u32; timed mode; else
                            the time stamp of the set-point acting)
    64-67    DEVICE_TIME_US the device clock (CLOCK_MONOTONIC) when this status was taken [µs] (u64)

    STATUS bit 2: timed mode, bit 3: its time base is set (trajectory time running)

Identification block (read-only)::

    80       N_AXES         number of axes k (1 … MAX_AXES)
    81       MAP_VERSION    2 (1: without timed mode, T_BASE, T_EXEC and DEVICE_TIME)
    82+20i   axis i: kind (0 revolute, 1 prismatic), lower (i32), upper (i32), max speed (i32),
             max acceleration (i32), name (8 words, 16 ASCII characters, NUL-padded)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from weldcell.drivers.positioner.base import AxisSpec
from weldcell.errors import ProtocolError

NDArrayF = npt.NDArray[np.float64]

MAX_AXES = 6
MAP_VERSION = 2
SCALE = 1e-6  # one count: 1 µrad, 1 µm, 1 µs

CONTROL = 0
COUNTER = 1
T_SETPOINT_US = 2
WATCHDOG_MS = 4
SETPOINT = 6
T_BASE_US = SETPOINT + 2 * MAX_AXES  # 18
COMMAND_END = T_BASE_US + 4  # 22

STATUS = 32
FAULT_CODE = 33
FAULT_AXIS = 34
COUNTER_ECHO = 35
T_APPLIED_US = 36
ACTUAL = 38
VELOCITY = ACTUAL + 2 * MAX_AXES  # 50
T_EXEC_US = VELOCITY + 2 * MAX_AXES  # 62
DEVICE_TIME_US = T_EXEC_US + 2  # 64
STATUS_END = DEVICE_TIME_US + 4  # 68

BATCH = 208
B_CONTROL = BATCH
B_COUNTER = BATCH + 1
B_T_BASE_US = BATCH + 2
B_WATCHDOG_MS = BATCH + 6
B_COUNT = BATCH + 7
B_ENTRIES = BATCH + 8
#: Longest write of one Modbus request (FC 23: 121 registers).
MAX_WRITE = 121
BATCH_END = BATCH + MAX_WRITE  # 329

N_AXES = 80
VERSION = 81
AXIS_INFO = 82
AXIS_STRIDE = 20
INFO_END = AXIS_INFO + AXIS_STRIDE * MAX_AXES  # 202

CTRL_ENABLE = 1
CTRL_RESET = 2
CTRL_TIMED = 4
ST_ENABLED = 1
ST_FAULT = 2
ST_TIMED = 4
ST_RUNNING = 8

#: Set-points a device buffers in timed mode (≥ 1 s at the cell's 4 ms spacing).
BUFFER_SIZE = 512

KIND_CODES = {"revolute": 0, "prismatic": 1}
KINDS = {v: k for k, v in KIND_CODES.items()}

#: Largest magnitude of a 32-bit value in SI units (2147.48 rad or m).
I32_LIMIT = (2**31 - 1) * SCALE
#: Longest trajectory time a u32 µs stamp carries [s] (71.6 min).
T_LIMIT = (2**32 - 1) * SCALE


def words_from_i32(values: npt.ArrayLike) -> list[int]:
    """SI values -> pairs of 16-bit words (high first) of their i32 counts (1e-6 units).

    Raises:
        ProtocolError: a value outside ±2147.48 or not finite.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(v)) or np.any(np.abs(v) > I32_LIMIT):
        raise ProtocolError(f"values {v.tolist()} do not fit a 32-bit register pair (±{I32_LIMIT:.2f})")
    counts = np.rint(v / SCALE).astype(np.int64) & 0xFFFFFFFF
    words = np.stack([counts >> 16, counts & 0xFFFF], axis=1)
    return [int(w) for w in words.ravel()]


def i32_from_words(words: Sequence[int]) -> NDArrayF:
    """Pairs of 16-bit words (high first) -> SI values of their i32 counts, shape (len/2,)."""
    w = np.asarray(words, dtype=np.int64).reshape(-1, 2)
    counts = (w[:, 0] << 16) | w[:, 1]
    counts = np.where(counts >= 2**31, counts - 2**32, counts)
    return np.asarray(counts * SCALE, dtype=np.float64)


def words_from_time(t: float) -> list[int]:
    """Trajectory time [s] -> two words (high first) of its u32 µs count.

    Raises:
        ProtocolError: a negative time or one beyond 71.6 min.
    """
    if not 0.0 <= t <= T_LIMIT:
        raise ProtocolError(f"trajectory time {t} s is outside the u32 µs range 0 … {T_LIMIT:.0f} s")
    n = round(t / SCALE)
    return [n >> 16 & 0xFFFF, n & 0xFFFF]


def time_from_words(words: Sequence[int]) -> float:
    """Two words (high first) of a u32 µs count -> time [s]."""
    return ((int(words[0]) << 16) | int(words[1])) * SCALE


def batch_capacity(k: int) -> int:
    """Set-points of ``k`` axes one timed batch write carries."""
    return (MAX_WRITE - (B_ENTRIES - BATCH)) // (2 + 2 * k)


def words_from_u64_time(t: float) -> list[int]:
    """A clock reading [s] (≥ 0) -> four words (high first) of its u64 µs count.

    Raises:
        ProtocolError: negative or not finite.
    """
    if not (math.isfinite(t) and t >= 0.0):
        raise ProtocolError(f"clock reading {t} s: expected a finite time ≥ 0")
    n = round(t / SCALE)
    return [n >> 48 & 0xFFFF, n >> 32 & 0xFFFF, n >> 16 & 0xFFFF, n & 0xFFFF]


def u64_time_from_words(words: Sequence[int]) -> float:
    """Four words (high first) of a u64 µs count -> time [s]."""
    n = 0
    for w in words[:4]:
        n = n << 16 | int(w) & 0xFFFF
    return n * SCALE


def words_from_name(name: str) -> list[int]:
    """An axis name (≤ 16 ASCII characters) -> 8 words, two characters per word, NUL-padded."""
    raw = name.encode("ascii").ljust(16, b"\0")
    return [raw[i] << 8 | raw[i + 1] for i in range(0, 16, 2)]


def name_from_words(words: Sequence[int]) -> str:
    """8 words -> the axis name (NULs stripped)."""
    raw = bytes(b for w in words for b in (int(w) >> 8 & 0xFF, int(w) & 0xFF))
    try:
        return raw.rstrip(b"\0").decode("ascii")
    except UnicodeDecodeError as err:
        raise ProtocolError(f"axis name registers {list(words)} are not ASCII") from err


def info_words(specs: Sequence[AxisSpec]) -> list[int]:
    """The identification block (from ``N_AXES``) describing ``specs``."""
    if not 1 <= len(specs) <= MAX_AXES:
        raise ProtocolError(f"{len(specs)} axes: a positioner has 1 … {MAX_AXES}")
    out = [len(specs), MAP_VERSION]
    for s in specs:
        block = [KIND_CODES[s.kind]]
        block += words_from_i32([s.lower, s.upper, s.max_speed, s.max_accel])
        block += words_from_name(s.name)
        out += block + [0] * (AXIS_STRIDE - len(block))
    return out


def specs_from_info(words: Sequence[int]) -> tuple[AxisSpec, ...]:
    """Decode the identification block (from ``N_AXES``).

    Raises:
        ProtocolError: an axis count, map version or kind this client does not know.
    """
    n, version = int(words[0]), int(words[1])
    if version != MAP_VERSION:
        raise ProtocolError(f"positioner register map version {version}; this client speaks {MAP_VERSION}")
    if not 1 <= n <= MAX_AXES:
        raise ProtocolError(f"positioner reports {n} axes; expected 1 … {MAX_AXES}")
    specs = []
    for i in range(n):
        b = words[2 + AXIS_STRIDE * i : 2 + AXIS_STRIDE * (i + 1)]
        kind = KINDS.get(int(b[0]))
        if kind is None:
            raise ProtocolError(f"positioner axis {i}: kind code {b[0]} (expected 0 revolute, 1 prismatic)")
        lo, hi, vmax, amax = i32_from_words(b[1:9])
        try:
            specs.append(AxisSpec(name_from_words(b[9:17]), kind, lo, hi, vmax, amax))
        except ValueError as err:
            raise ProtocolError(f"positioner axis {i}: {err}") from err
    return tuple(specs)
