"""The positioner device contract: axis specifications, status, and the port the cell streams to.

A positioner (turntable, tilt-rotate, headstock/tailstock) or a robot track is a set of servo axes
that take time-stamped position set-points. :class:`PositionerPort` is what the cell needs of one:
connect, read its axis specifications, enable/disable, stream one set-point per cycle (each carrying
the trajectory time of the sample it belongs to) and read back actual positions, status and faults.
Positions are SI: [rad] for revolute axes, [m] for prismatic ones.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from weldcell.errors import DriverError, InvalidValueError

if TYPE_CHECKING:
    from weldcell.trajectory import ExternalAxes

NDArrayF = npt.NDArray[np.float64]

#: Axis kinds and the unit of their positions.
AXIS_UNITS = {"revolute": "rad", "prismatic": "m"}


class PositionerFault(enum.IntEnum):
    """Fault codes a positioner reports (register ``FAULT_CODE``, docs/drivers.md)."""

    NONE = 0
    WATCHDOG = 1  # enabled and no set-point within the watchdog time
    FOLLOWING_ERROR = 2  # actual position too far behind the set-point
    OVERSPEED = 3  # set-points ask for more than the axis's maximum speed
    POSITION_LIMIT = 4  # set-point outside the axis's travel
    OVERACCELERATION = 5  # set-points ask for more than the axis's maximum acceleration
    STALE_SETPOINT = 6  # set-point time stamp not increasing
    BUFFER_OVERFLOW = 7  # timed mode: more set-points ahead than the device buffers

    def describe(self) -> str:
        """A sentence for messages."""
        return {
            0: "no fault",
            1: "watchdog: no set-point within the watchdog time",
            2: "following error: the axis lags too far behind its set-point",
            3: "over-speed: the set-points ask for more than the axis's maximum speed",
            4: "position limit: a set-point outside the axis's travel",
            5: "over-acceleration: the set-points ask for more than the axis's maximum acceleration",
            6: "stale set-point: its time stamp did not advance",
            7: "buffer overflow: more timed set-points ahead than the device holds",
        }[int(self)]


@dataclass(frozen=True, slots=True)
class AxisSpec:
    """One servo axis of a positioner or track.

    Attributes:
        name: Axis (joint) name, as in the trajectory's ``ExternalAxes.names`` (≤ 16 ASCII characters
            on the Modbus device).
        kind: ``"revolute"`` (positions in rad) or ``"prismatic"`` (positions in m).
        lower: Lower travel limit [rad or m].
        upper: Upper travel limit [rad or m].
        max_speed: Maximum speed [rad/s or m/s], > 0.
        max_accel: Maximum acceleration [rad/s² or m/s²], > 0.
    """

    name: str
    kind: str
    lower: float
    upper: float
    max_speed: float
    max_accel: float

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 16 or not self.name.isascii():
            raise InvalidValueError(f"axis name {self.name!r}: expected 1-16 ASCII characters")
        if self.kind not in AXIS_UNITS:
            raise InvalidValueError(f"axis {self.name!r}: kind {self.kind!r} not in {sorted(AXIS_UNITS)}")
        vals = (self.lower, self.upper, self.max_speed, self.max_accel)
        if not all(math.isfinite(v) for v in vals) or not self.lower < self.upper:
            raise InvalidValueError(
                f"axis {self.name!r}: limits [{self.lower}, {self.upper}] must be finite with lower < upper"
            )
        if self.max_speed <= 0 or self.max_accel <= 0:
            raise InvalidValueError(
                f"axis {self.name!r}: max_speed {self.max_speed} and max_accel {self.max_accel} must be > 0"
            )

    @property
    def unit(self) -> str:
        """Unit of the positions: ``"rad"`` or ``"m"``."""
        return AXIS_UNITS[self.kind]


@dataclass(frozen=True, slots=True)
class PositionerStatus:
    """What a positioner reports after each set-point (or on a status read).

    Attributes:
        enabled: The axes are under servo control (brakes released).
        fault: The active fault (``PositionerFault.NONE`` when healthy).
        fault_axis: Index of the axis that faulted, or -1.
        counter: Cycle counter of the last set-point the device applied (16 bit, wraps).
        t_setpoint: Trajectory time [s] stamped on that set-point.
        q: Actual positions [rad or m], shape (k,).
        qd: Actual velocities [rad/s or m/s], shape (k,).
        t_exec: Trajectory time [s] the drive executes at ``device_time`` (timed mode), else the
            time stamp of the set-point acting.
        device_time: The device's clock (the host's ``time.monotonic()`` for the virtual device) when
            the status was taken [s].
        timed: The device runs a timed (buffered) stream.
        running: Timed mode with its time base set (trajectory time advancing).
    """

    enabled: bool
    fault: PositionerFault
    fault_axis: int
    counter: int
    t_setpoint: float
    q: NDArrayF
    qd: NDArrayF
    t_exec: float = 0.0
    device_time: float = 0.0
    timed: bool = False
    running: bool = False

    def describe_fault(self, specs: tuple[AxisSpec, ...]) -> str:
        """The fault as a sentence naming the axis."""
        where = f" on axis {specs[self.fault_axis].name!r}" if 0 <= self.fault_axis < len(specs) else ""
        return f"positioner fault {int(self.fault)}{where}: {self.fault.describe()}"


class PositionerPort(Protocol):
    """The calls the cell makes on a positioner device (Modbus servo axes or a controller's axes).

    Every blocking call takes ``timeout`` [s]. Errors are :class:`~weldcell.errors.DriverError`
    subclasses (connection, time-out, protocol).
    """

    def connect(self, timeout: float | None = 5.0) -> None:
        """Open the link and read the axis specifications."""

    def close(self) -> None:
        """Close the link (idempotent). The device's watchdog stops the axes if they were enabled."""

    @property
    def connected(self) -> bool:
        """True while the link is open."""

    @property
    def axes(self) -> tuple[AxisSpec, ...]:
        """The device's axes (after :meth:`connect`)."""

    def status(self, timeout: float | None = 1.0) -> PositionerStatus:
        """Read status, fault and actual positions."""

    def enable(self, timeout: float | None = 1.0) -> PositionerStatus:
        """Clear a fault and put the axes under servo control, holding where they are."""

    def disable(self, timeout: float | None = 1.0) -> PositionerStatus:
        """Stop servo control (brakes on)."""

    def send_setpoint(
        self, q: NDArrayF, t_traj: float, counter: int, timeout: float | None = 0.05
    ) -> PositionerStatus:
        """Send one direct set-point (applied on arrival) and read the status back in the same
        exchange. Leaves timed mode (the drive holds where its timed stream had brought it).

        Args:
            q: Set-point positions [rad or m], shape (k,).
            t_traj: Trajectory time [s] of the sample the set-point belongs to.
            counter: Cycle counter (16 bit, wraps) the device echoes once it applied the set-point.
            timeout: Longest wait for the answer [s].
        """

    def send_timed(
        self,
        q: NDArrayF,
        t_traj: NDArrayF,
        counter: int,
        t_base: float,
        timeout: float | None = 0.05,
    ) -> PositionerStatus:
        """Send a batch of timed set-points to the device's buffer and read the status back.

        The device executes trajectory time ``now - t_base`` on its own clock, interpolating its
        buffer; the first batch after direct set-points starts a new stream (empty buffer).

        Args:
            q: Set-point positions [rad or m], shape (n, k), n ≤ :attr:`batch_size`.
            t_traj: Their trajectory times [s], shape (n,), increasing (a repeat of the newest is a
                keep-alive, not buffered twice).
            counter: Cycle counter (16 bit, wraps).
            t_base: The instant [s] on ``time.monotonic()`` of trajectory time 0 (0: not known yet:
                hold the stream's first set-point).
            timeout: Longest wait for the answer [s].
        """

    @property
    def batch_size(self) -> int:
        """Most timed set-points one :meth:`send_timed` carries."""


def check_axes_match(external: ExternalAxes, specs: tuple[AxisSpec, ...], device: str) -> None:
    """Refuse a device whose axes do not fit the trajectory's external axes.

    Names, count and kinds must match in order, and every planned position must lie inside the
    device's travel, every planned speed within its maximum speed.

    Args:
        external: The trajectory's external axes.
        specs: The connected device's axes.
        device: The device's address, for messages.

    Raises:
        DriverError: naming the first mismatch.
    """
    want = [(n, k) for n, k in zip(external.names, external.kinds, strict=True)]
    have = [(s.name, s.kind) for s in specs]
    if want != have:
        raise DriverError(
            f"positioner {device}: its axes {have} do not match the trajectory's external axes {want} "
            f"(device {external.device!r}); connect the positioner the trajectory was planned for"
        )
    lo = np.array([s.lower for s in specs])
    hi = np.array([s.upper for s in specs])
    vmax = np.array([s.max_speed for s in specs])
    for i, s in enumerate(specs):
        q = external.q[:, i]
        if float(q.min()) < lo[i] - 1e-9 or float(q.max()) > hi[i] + 1e-9:
            raise DriverError(
                f"positioner {device}: axis {s.name!r} travels {q.min():.4f} … {q.max():.4f} {s.unit} in the "
                f"trajectory, outside the device's limits [{lo[i]:.4f}, {hi[i]:.4f}] {s.unit}"
            )
        v = float(np.max(np.abs(external.qd[:, i])))
        if v > vmax[i] * (1 + 1e-6):
            raise DriverError(
                f"positioner {device}: axis {s.name!r} needs {v:.4f} {s.unit}/s in the trajectory, more than "
                f"the device's maximum speed {vmax[i]:.4f} {s.unit}/s"
            )
