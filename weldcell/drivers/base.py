"""The robot driver contract: :class:`RobotDriver`, its state and execution-handle types.

A driver moves a robot along a validated :class:`~weldcell.trajectory.JointTrajectory`.
Following python-can's ``BusABC``, the public methods here do the checks, timeouts and logging; a
subclass implements the ``_underscore`` hooks. Motion commands never block: ``execute`` returns an
:class:`ExecutionHandle` whose ``progress`` tells which sample the robot has reached, ``stop()``
decelerates along the path without waiting, and ``wait_until_done(timeout)`` is the explicit
blocking wait. Every blocking call takes ``timeout`` in seconds, measured with ``time.monotonic``.

Safety checks before anything moves (H10): the trajectory must carry a matching validation stamp
(``weldcell.trajectory.stamp.verify_stamp``) unless ``force_unvalidated=True`` (simulation only),
and it is always checked against the robot model's joint position and speed limits.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from weldcell.errors import (
    DriverError,
    DriverFaultError,
    DriverTimeoutError,
    InputShapeError,
    InvalidValueError,
    StampError,
)
from weldcell.trajectory import JointTrajectory
from weldcell.trajectory.moves import joint_move
from weldcell.trajectory.stamp import FROM_ENVIRONMENT, KeySource, StampKey, verify_stamp

if TYPE_CHECKING:
    from weldcell.drivers.url import RobotUrl

log = logging.getLogger(__name__)


def default_cell_options(url: RobotUrl, robot: str) -> dict[str, Any]:
    """``{"robot": robot}`` unless the URL names the model (``?robot=…``), which must be ``robot``.

    The cell's options for a driver without a :meth:`RobotDriver.cell_options` of its own (a plug-in's
    factory function, or a driver class that keeps the base method).

    Raises:
        DriverError: the URL names another robot model than the job's.
    """
    named = url.query.get("robot")
    if named is not None and named != robot:
        raise DriverError(
            f"robot address {url.url!r} names robot {named!r}, but the job was planned for {robot!r}"
        )
    return {} if named is not None else {"robot": robot}


NDArrayF = npt.NDArray[np.float64]


class RobotMode(Enum):
    """Power/brake state of the arm."""

    DISCONNECTED = "disconnected"
    POWER_OFF = "power_off"
    IDLE = "idle"  # powered, brakes engaged
    RUNNING = "running"  # powered, brakes released, ready to move
    BOOTING = "booting"
    OTHER = "other"


class SafetyStatus(Enum):
    """Safety state of the controller."""

    NORMAL = "normal"
    REDUCED = "reduced"
    PROTECTIVE_STOP = "protective_stop"
    SAFEGUARD_STOP = "safeguard_stop"
    EMERGENCY_STOP = "emergency_stop"
    FAULT = "fault"  # violation, fault, recovery


_IO_WORDS = {
    "digital_out": "digital output",
    "digital_in": "digital input",
    "analog_out": "analog output",
    "analog_in": "analog input",
}


@dataclass(frozen=True, slots=True)
class IoCounts:
    """The I/O a driver addresses through :class:`RobotDriver`'s I/O methods, numbered 0 … count-1
    (bit n of ``RobotState.digital_out`` / ``digital_in`` is signal n).

    Each driver declares its own (its protocol and the I/O map weldcell configures on the controller):
    :attr:`RobotDriver.IO` or, when the count depends on the driver's configuration, the
    :attr:`RobotDriver.io_counts` property; the base class checks every I/O number against it.

    Attributes:
        digital_out: Digital outputs the driver can set.
        digital_in: Digital inputs the driver reads.
        analog_out: Analog outputs the driver can set.
        analog_in: Analog inputs the driver reads.
    """

    digital_out: int = 0
    digital_in: int = 0
    analog_out: int = 0
    analog_in: int = 0

    def __post_init__(self) -> None:
        for name in _IO_WORDS:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InvalidValueError(f"IoCounts.{name} = {v!r}: expected a whole number ≥ 0")

    def check(self, kind: str, n: int, owner: str) -> None:
        """Raise unless ``n`` numbers an existing I/O of ``kind`` (``"digital_out"``, ``"digital_in"``,
        ``"analog_out"``, ``"analog_in"``); ``owner`` names the driver in the message.

        Raises:
            DriverError: ``n`` out of range (the message gives the valid range), or no I/O of that kind.
        """
        count = getattr(self, kind)
        word = _IO_WORDS[kind]
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise DriverError(f"{owner}: {word} {n!r} is not an I/O number")
        if not 0 <= n < count:
            where = f"{word}s are 0 … {count - 1}" if count else f"it has no {word}s"
            raise DriverError(f"{owner}: {word} {n} does not exist; {where}")


@dataclass(frozen=True, slots=True)
class RobotState:
    """One snapshot of the robot.

    Attributes:
        t: Controller time [s].
        q: Joint positions [rad], shape (n,).
        qd: Joint velocities [rad/s], shape (n,).
        T_base_flange: Flange pose in the base frame, shape (4, 4).
        mode: Power/brake state.
        safety: Safety state.
        program_running: A controller program (e.g. the streaming servo program) is running.
        digital_in: Digital input bits (bit n = input n).
        digital_out: Digital output bits (bit n = output n).
        analog_in: Analog inputs [V or A], shape (2,).
        analog_out: Analog outputs [V or A], shape (2,).
        speed_fraction: Speed slider / override in [0, 1].
    """

    t: float
    q: NDArrayF
    qd: NDArrayF
    T_base_flange: NDArrayF
    mode: RobotMode
    safety: SafetyStatus
    program_running: bool
    digital_in: int
    digital_out: int
    analog_in: NDArrayF
    analog_out: NDArrayF
    speed_fraction: float = 1.0

    def __post_init__(self) -> None:
        for name in ("q", "qd", "T_base_flange", "analog_in", "analog_out"):
            arr = np.array(getattr(self, name), dtype=np.float64, copy=True)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    def digital_input(self, n: int) -> bool:
        """Digital input ``n`` as a bool."""
        return bool(self.digital_in >> n & 1)

    def digital_output(self, n: int) -> bool:
        """Digital output ``n`` as a bool."""
        return bool(self.digital_out >> n & 1)


class ExecutionOutcome(Enum):
    """How an execution ended."""

    COMPLETED = "completed"  # reached the last sample of the slice
    STOPPED = "stopped"  # stop() decelerated the robot along the path
    FAULTED = "faulted"  # protective stop, e-stop, lost connection, controller program error


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an execution is.

    Attributes:
        index: Last trajectory sample index the robot has reached (absolute index into the trajectory).
        position: Path position as a fractional sample index (between ``index`` and ``index + 1``).
        t: Trajectory time [s] of ``position``.
    """

    index: int
    position: float
    t: float


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """Result of one execution.

    Attributes:
        outcome: Completed, stopped or faulted.
        reached_index: Last trajectory sample index reached (absolute index).
        position: Final path position as a fractional sample index.
        reason: Why it stopped or faulted ("" when completed).
        error_code: Controller error code or safety mode name, if any.
        underruns: Controller cycles without a fresh set-point (streaming drivers; 0 is the goal).
    """

    outcome: ExecutionOutcome
    reached_index: int
    position: float
    reason: str = ""
    error_code: int | str | None = None
    underruns: int = 0


#: Reports an execution handle keeps for :meth:`ExecutionHandle.take_reports` (2 min at 500 Hz).
_MAX_REPORTS = 65536


class ExecutionHandle:
    """Tracks one non-blocking execution of a trajectory slice ``[start_index, end_index)``.

    The driver updates it from its I/O thread; callers read ``progress``/``done``/``result``, call
    ``stop()`` (non-blocking) and ``wait_until_done(timeout)``.
    """

    def __init__(
        self, traj: JointTrajectory, start_index: int, end_index: int, stop_hook: Any = None
    ) -> None:
        self.traj = traj
        self.start_index = start_index
        self.end_index = end_index
        self._stop_hook = stop_hook
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._position = float(start_index)
        self._stamp = time.monotonic()
        self._reports: list[tuple[float, float]] = []  # (device time, position) not yet taken
        self._result: ExecutionResult | None = None
        self.stop_requested = False
        #: ``time.monotonic()`` [s] of the first :meth:`stop` (inf: none)
        self.stop_requested_at = math.inf

    # --- driver side ----------------------------------------------------------------------
    def _update(self, position: float, device_time: float | None = None) -> None:
        """Publish the path position (fractional sample index) the robot executed at ``device_time``.

        Args:
            position: Path position [samples].
            device_time: When the controller executed it, on this host's ``time.monotonic()`` clock
                [s] (its own cycle clock mapped onto ours); None: now (the report's arrival).
        """
        stamp = time.monotonic() if device_time is None else float(device_time)
        with self._lock:
            self._position = float(min(max(position, self.start_index), self.end_index - 1))
            self._stamp = stamp
            if len(self._reports) < _MAX_REPORTS:  # nobody takes them: keep memory bounded
                self._reports.append((stamp, self._position))

    def _finish(self, result: ExecutionResult) -> None:
        with self._lock:
            if self._result is not None:
                return
            self._position = result.position
            self._result = result
        self._done.set()

    # --- caller side ----------------------------------------------------------------------
    @property
    def progress(self) -> Progress:
        """Current path position (absolute trajectory indices)."""
        with self._lock:
            pos = self._position
        idx = int(np.floor(pos + 1e-9))
        return Progress(index=idx, position=pos, t=float(pos * self.traj.dt))

    def stamped_position(self) -> tuple[float, float]:
        """(path position as a fractional sample index, ``time.monotonic()`` [s] when the robot
        executed it, from the controller's own clock where the driver has it, else the report's
        arrival): lets a follower (a positioner streamed in sync) place the robot's path in time."""
        with self._lock:
            return self._position, self._stamp

    def take_reports(self) -> list[tuple[float, float]]:
        """The (device time [s] on ``time.monotonic()``, path position [samples]) reports since the
        last call, oldest first (at most the last ~65 000 are kept). For one follower only."""
        with self._lock:
            out, self._reports = self._reports, []
        return out

    @property
    def done(self) -> bool:
        """True once the execution completed, stopped or faulted."""
        return self._done.is_set()

    @property
    def result(self) -> ExecutionResult | None:
        """The result once done, else None."""
        with self._lock:
            return self._result

    def stop(self) -> None:
        """Ask the robot to decelerate along the path and stop. Returns at once."""
        if not self.stop_requested:
            self.stop_requested_at = time.monotonic()
        self.stop_requested = True
        if self._stop_hook is not None and not self.done:
            self._stop_hook(self)

    def wait_until_done(self, timeout: float | None) -> ExecutionResult:
        """Block until the execution ends.

        Args:
            timeout: Maximum wait [s]; None waits forever.

        Returns:
            The result (completed or stopped).

        Raises:
            DriverTimeoutError: still running after ``timeout``.
            DriverTimeoutError: the driver gave up on a controller that stopped answering
                (result error code ``"timeout"``).
            DriverFaultError: the execution faulted; the message carries the controller's reason.
        """
        if not self._done.wait(timeout):
            p = self.progress
            raise DriverTimeoutError(
                f"trajectory slice [{self.start_index}, {self.end_index}) still running after {timeout} s "
                f"(at sample {p.index})"
            )
        res = self.result
        assert res is not None  # mypy
        if res.outcome is ExecutionOutcome.FAULTED and res.error_code == "timeout":
            # the controller stopped answering (no acknowledgement, no progress): a timeout, not a fault
            raise DriverTimeoutError(f"execution timed out at sample {res.reached_index}: {res.reason}")
        if res.outcome is ExecutionOutcome.FAULTED:
            raise DriverFaultError(
                f"execution faulted at sample {res.reached_index}: {res.reason}", error_code=res.error_code
            )
        return res


@dataclass(frozen=True, slots=True)
class JointLimits:
    """Joint limits used for the pre-send check: positions [rad] and speeds [rad/s], shape (n,)."""

    q_lower: NDArrayF
    q_upper: NDArrayF
    qd_max: NDArrayF


def joint_limits(robot: str) -> JointLimits:
    """Limits of ``robot`` from weldcell's kinematic models (``weldcell.kinematics.load_robot``)."""
    from weldcell.kinematics import load_robot

    r = load_robot(robot)
    return JointLimits(np.asarray(r.q_lower), np.asarray(r.q_upper), np.asarray(r.qd_max))


def check_trajectory_limits(
    traj: JointTrajectory, limits: JointLimits, start: int, end: int, speed_tolerance: float = 1e-3
) -> None:
    """Raise :class:`DriverError` if samples ``[start, end)`` leave the joint limits.

    Checks positions, the stored velocities and the velocities implied by consecutive samples.
    """
    q = traj.q[start:end]
    n = q.shape[1]
    if limits.q_lower.shape != (n,):
        raise InputShapeError(f"trajectory has {n} joints but the limits have {limits.q_lower.shape[0]}")
    lo = q < limits.q_lower - 1e-9
    hi = q > limits.q_upper + 1e-9
    if np.any(lo | hi):
        i, j = np.argwhere(lo | hi)[0]
        raise DriverError(
            f"trajectory sample {start + i}: joint {traj.joint_names[j]} at {q[i, j]:.4f} rad is outside its "
            f"limits [{limits.q_lower[j]:.4f}, {limits.q_upper[j]:.4f}] rad; not sent to the robot"
        )
    vmax = limits.qd_max * (1.0 + speed_tolerance)
    speeds = np.abs(traj.qd[start:end])
    first = start
    if end - start > 1:  # speed into sample k from k-1
        speeds = np.maximum(speeds[1:], np.abs(np.diff(q, axis=0)) / traj.dt)
        first = start + 1
    over = speeds > vmax
    if np.any(over):
        i, j = np.argwhere(over)[0]
        raise DriverError(
            f"trajectory sample {first + i}: joint {traj.joint_names[j]} moves at {speeds[i, j]:.3f} rad/s, "
            f"above "
            f"its limit {limits.qd_max[j]:.3f} rad/s; not sent to the robot"
        )


@dataclass
class _Connection:
    connected: bool = False
    closed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class RobotDriver(ABC):
    """Base class of robot drivers (see module docstring).

    Subclasses implement ``_connect``, ``_close``, ``_state``, ``_execute``, ``_stop``,
    ``_set_digital_out``, ``_set_analog_out`` and provide ``robot`` (model name) and ``dt``
    (controller cycle [s]).
    """

    robot: str = ""
    #: The address form for messages (``"ur://HOST[:RTDE_PORT]"``; "" when the driver does not say).
    url_form: ClassVar[str] = ""
    #: The connection options this driver takes from the cell (name -> what it does; the per-driver
    #: part of ``RunOptions.driver_options``, :func:`weldcell.drivers.registry.driver_options`). The
    #: generic ones (robot model, ``q0``, timeout) are not listed. None by default.
    driver_options: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: The I/O this driver addresses (:class:`IoCounts`; none by default). A driver whose counts
    #: depend on its configuration overrides :attr:`io_counts` instead.
    IO: ClassVar[IoCounts] = IoCounts()
    #: Drivers that only simulate (VirtualRobot) accept ``force_unvalidated=True``.
    simulation_only: bool = False

    #: The cell's stamp key every stamp must be signed with: a ``StampKey``, a key file, None (this
    #: robot accepts unkeyed stamps only) or ``FROM_ENVIRONMENT`` (``$WELDCELL_STAMP_KEY`` if set).
    stamp_key: StampKey | str | Path | KeySource | None = FROM_ENVIRONMENT

    def __init__(self) -> None:
        self._conn = _Connection()
        self._active: ExecutionHandle | None = None

    # --- how the cell connects the driver (hooks the driver registry calls) -----------------------
    @classmethod
    def cell_options(cls, url: RobotUrl, robot: str, settings: Mapping[str, Any], /) -> dict[str, Any]:
        """The driver options the cell connects ``url`` with, for a job planned for ``robot``.

        ``settings`` are ``q0`` (a virtual robot's start) and the job's driver options (the names
        this driver declares in :attr:`driver_options`; None means "the driver's default"; the
        application refuses other names before it connects). This default gives the driver the job's
        robot model unless the URL names one (``?robot=…``), which must then be the job's.

        Raises:
            DriverError: the URL names another robot model than the job's.
        """
        return default_cell_options(url, robot)

    # --- lifecycle ------------------------------------------------------------------------
    def connect(self, timeout: float | None = 10.0) -> None:
        """Connect to the robot (no-op if connected).

        Raises:
            DriverConnectionError: unreachable or refused.
            DriverTimeoutError: not connected within ``timeout`` [s].
        """
        if self.connected:
            return
        if self._conn.connected:  # the link dropped: clean up before connecting again
            try:
                self._close()
            except DriverError as err:
                log.debug("cleanup of a dropped connection: %s", err)
            self._conn.connected = False
        self._conn.closed = False
        self._connect(timeout)
        self._conn.connected = True
        log.info("%s connected", self)

    def close(self) -> None:
        """Disconnect (idempotent). A running execution is stopped first."""
        if not self._conn.connected:
            self._conn.closed = True
            return
        try:
            self._close()
        finally:
            self._conn.connected = False
            self._conn.closed = True
            log.info("%s closed", self)

    @property
    def connected(self) -> bool:
        """True between ``connect()`` and ``close()`` while the link is up."""
        return self._conn.connected

    def __enter__(self) -> RobotDriver:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._conn.connected:
                log.warning("%s was not properly closed", type(self).__name__)
        except AttributeError:
            pass

    def _require_connected(self) -> None:
        if not self._conn.connected:
            raise DriverError(f"{type(self).__name__} is not connected; call connect() first")

    # --- state and I/O --------------------------------------------------------------------
    def state(self, timeout: float | None = 1.0) -> RobotState:
        """Latest robot state (waits up to ``timeout`` [s] for the first one)."""
        self._require_connected()
        return self._state(timeout)

    @property
    def io_counts(self) -> IoCounts:
        """The digital and analog outputs and inputs this driver addresses (default: :attr:`IO`)."""
        return self.IO

    def _check_io(self, kind: str, n: int) -> None:
        self.io_counts.check(kind, n, type(self).__name__)

    def set_digital_out(self, n: int, value: bool, timeout: float | None = 1.0) -> None:
        """Set digital output ``n`` (0 … ``io_counts.digital_out`` - 1) and wait until the controller
        reports it.

        Raises:
            DriverError: no such output (see :attr:`io_counts`), or not connected.
            DriverTimeoutError: the controller did not report the output within ``timeout`` [s].
        """
        self._require_connected()
        self._check_io("digital_out", n)
        self._set_digital_out(n, bool(value))
        self._wait_for(lambda s: s.digital_output(n) == bool(value), timeout, f"digital output {n} = {value}")

    def get_digital_in(self, n: int, timeout: float | None = 1.0) -> bool:
        """Digital input ``n`` (0 … ``io_counts.digital_in`` - 1).

        Raises:
            DriverError: no such input (see :attr:`io_counts`), or not connected.
        """
        self._check_io("digital_in", n)
        return self.state(timeout).digital_input(n)

    def get_digital_out(self, n: int, timeout: float | None = 1.0) -> bool:
        """Digital output ``n`` as the controller reports it.

        Raises:
            DriverError: no such output (see :attr:`io_counts`), or not connected.
        """
        self._check_io("digital_out", n)
        return self.state(timeout).digital_output(n)

    def set_analog_out(self, n: int, value: float, timeout: float | None = 1.0) -> None:
        """Set analog output ``n`` (0 … ``io_counts.analog_out`` - 1) [V or A per the controller's
        domain setting] and wait until the controller reports it.

        Raises:
            DriverError: no such output (see :attr:`io_counts`), a value the driver refuses, or not
                connected.
            DriverTimeoutError: the controller did not report the output within ``timeout`` [s].
        """
        self._require_connected()
        self._check_io("analog_out", n)
        self._set_analog_out(n, float(value))
        self._wait_for(lambda s: abs(s.analog_out[n] - value) < 1e-9, timeout, f"analog output {n} = {value}")

    def wait_for_digital_in(self, n: int, value: bool, timeout: float | None) -> None:
        """Block until digital input ``n`` equals ``value`` (e.g. "arc established").

        Raises:
            DriverError: no such input (see :attr:`io_counts`).
            DriverTimeoutError: not reached within ``timeout`` [s].
        """
        self._check_io("digital_in", n)
        self._wait_for(lambda s: s.digital_input(n) == bool(value), timeout, f"digital input {n} = {value}")

    def _wait_for(self, cond: Any, timeout: float | None, what: str) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if cond(self.state(remaining if remaining is not None else 1.0)):
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise DriverTimeoutError(f"{type(self).__name__}: {what} not reached within {timeout} s")
            time.sleep(0.002)

    # --- motion ---------------------------------------------------------------------------
    def execute(
        self,
        traj: JointTrajectory,
        *,
        start_index: int = 0,
        end_index: int | None = None,
        force_unvalidated: bool = False,
        traj_path: str | Path | None = None,
        start_tolerance: float = 1e-3,
    ) -> ExecutionHandle:
        """Start executing samples ``[start_index, end_index)`` of ``traj``; returns at once.

        Args:
            traj: The planned trajectory (robot must match the driver's).
            start_index: First sample to execute; the robot must be at it (within ``start_tolerance``).
            end_index: One past the last sample; None = to the end.
            force_unvalidated: Skip the validation stamp (only for simulation drivers).
            traj_path: The trajectory file whose stamp (``<file>.stamp.json``) certifies ``traj``.
            start_tolerance: Largest joint deviation [rad] between the robot and sample ``start_index``.

        Raises:
            StampError: no matching validation stamp.
            DriverError: limits violated, robot not at the start sample, another execution running.
        """
        self._require_connected()
        end = traj.n_samples if end_index is None else int(end_index)
        if not 0 <= start_index < end <= traj.n_samples:
            raise DriverError(
                f"slice [{start_index}, {end}) is not inside the trajectory's {traj.n_samples} samples"
            )
        if traj.robot != self.robot:
            raise DriverError(
                f"trajectory was planned for robot {traj.robot!r} but the driver controls {self.robot!r}"
            )
        if force_unvalidated:
            if not self.simulation_only:
                raise StampError(
                    f"{type(self).__name__} drives real hardware: force_unvalidated is only allowed in "
                    "simulation; "
                    "validate the trajectory (weldcell simulate) and pass traj_path"
                )
            log.warning("executing an unvalidated trajectory on %s (simulation only)", type(self).__name__)
        else:
            if traj_path is None:
                raise StampError("trajectory has no validation stamp: pass traj_path of the validated file")
            verify_stamp(traj_path, traj, key=self.stamp_key)
        check_trajectory_limits(traj, joint_limits(traj.robot), start_index, end)
        if self._active is not None and not self._active.done:
            raise DriverError("another trajectory is still executing; stop it or wait until it is done")
        q_now = self.state(1.0).q
        dev = np.abs(q_now - traj.q[start_index])
        if float(np.max(dev)) > start_tolerance:
            j = int(np.argmax(dev))
            raise DriverError(
                f"robot is not at trajectory sample {start_index}: joint {traj.joint_names[j]} is "
                f"{q_now[j]:.4f} rad, the sample wants {traj.q[start_index, j]:.4f} rad; move there first"
            )
        handle = ExecutionHandle(traj, start_index, end, stop_hook=self._stop)
        self._active = handle
        self._execute(handle)
        return handle

    def move_to(
        self, q: npt.ArrayLike, *, speed_fraction: float = 0.2, force_unvalidated: bool = False
    ) -> ExecutionHandle:
        """Joint-space move to ``q`` [rad] (n,) with a smooth (quintic) profile; returns a handle.

        The move is not collision checked: on real hardware it requires ``force_unvalidated=True``
        to acknowledge that (use a planned, validated transit otherwise).

        Args:
            q: Goal joint positions [rad].
            speed_fraction: Fraction (0, 1] of the slowest joint's speed limit used at peak.
            force_unvalidated: Acknowledge an unchecked move on real hardware.
        """
        self._require_connected()
        if not self.simulation_only and not force_unvalidated:
            raise StampError("move_to() is not collision checked; pass force_unvalidated=True to accept that")
        traj = joint_move(
            self.robot,
            self.state(1.0).q,
            np.asarray(q, dtype=np.float64),
            self.dt,
            speed_fraction=speed_fraction,
            joint_names=self._joint_names(),
        )
        limits = joint_limits(self.robot)
        check_trajectory_limits(traj, limits, 0, traj.n_samples)
        if self._active is not None and not self._active.done:
            raise DriverError("another trajectory is still executing; stop it or wait until it is done")
        handle = ExecutionHandle(traj, 0, traj.n_samples, stop_hook=self._stop)
        self._active = handle
        self._execute(handle)
        return handle

    def _joint_names(self) -> tuple[str, ...]:
        from weldcell.kinematics import load_robot

        return tuple(load_robot(self.robot).joint_names)

    # --- hooks ----------------------------------------------------------------------------
    dt: float = 0.002

    @abstractmethod
    def _connect(self, timeout: float | None) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _state(self, timeout: float | None) -> RobotState: ...

    @abstractmethod
    def _execute(self, handle: ExecutionHandle) -> None: ...

    @abstractmethod
    def _stop(self, handle: ExecutionHandle) -> None: ...

    @abstractmethod
    def _set_digital_out(self, n: int, value: bool) -> None: ...

    @abstractmethod
    def _set_analog_out(self, n: int, value: float) -> None: ...
