"""The welding power-source contract: :class:`PowerSource`, :class:`WeldParams`, :class:`PowerSourceStatus`.

A power source is driven by the cell controller (``weldcell.cell``) from its sequencing thread, never
from a motion control loop. Every call that may block takes ``timeout`` in seconds and raises
:class:`~weldcell.errors.DriverTimeoutError` when it expires. Lost links raise
:class:`~weldcell.errors.DriverConnectionError`; faults the power source reports (no ignition, arc
break, wire stick, communication timeout) carry an :class:`ErrorCode` in
:class:`~weldcell.errors.DriverFaultError` ``.error_code`` and in :attr:`PowerSourceStatus.error_code`.

Units are SI: wire feed [m/s], voltage [V], current [A], times [s].
"""

from __future__ import annotations

import enum
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from weldcell.errors import DriverError, DriverTimeoutError, WeldcellError

log = logging.getLogger(__name__)

#: Maximum values the process image and the virtual power source accept (a 500 A class machine).
MAX_WIRE_FEED = 25.0 / 60.0  # [m/s] (25 m/min)
MAX_VOLTAGE = 60.0  # [V]
MAX_CURRENT = 600.0  # [A]
MAX_ARC_LENGTH_CORRECTION = 10.0  # [-] dimensionless, ± (Fronius style -10 … +10)
MAX_JOB = 999


class PowerSourceValueError(WeldcellError, ValueError):
    """A welding parameter or process-image entry outside its valid range."""


class ErrorCode(enum.IntEnum):
    """Error numbers weldcell's process image uses (weldcell's own numbering, not a vendor's).

    Attributes:
        NONE: No error.
        NO_IGNITION: The arc did not ignite within the ignition timeout after weld start.
        ARC_BREAK: The arc was lost during the weld (or the crater fill).
        WIRE_STICK: The wire stuck in the weld pool at arc end.
        COMM_TIMEOUT: The robot heartbeat stopped toggling; the power source ended the weld.
        NOT_READY: Weld start while the robot-ready signal was low.
        INVALID_COMMAND: A command value outside the machine's range, or an unknown job.
        EXTERNAL: The power source's discrete error input is set (I/O interface, no number).
    """

    NONE = 0
    NO_IGNITION = 1
    ARC_BREAK = 2
    WIRE_STICK = 3
    COMM_TIMEOUT = 4
    NOT_READY = 5
    INVALID_COMMAND = 6
    EXTERNAL = 7

    @classmethod
    def describe(cls, code: int) -> str:
        """A welder-readable text for an error number (unknown numbers are named as such)."""
        texts = {
            0: "no error",
            1: "no arc ignition",
            2: "arc break during the weld",
            3: "wire stuck in the weld pool",
            4: "communication timeout (robot heartbeat lost)",
            5: "weld start without robot ready",
            6: "command value out of range or unknown job",
            7: "power source error input set",
        }
        return texts.get(int(code), f"power-source error {int(code)}")


class WireDirection(enum.Enum):
    """Wire inching direction."""

    FORWARD = "forward"
    BACKWARD = "backward"


@dataclass(frozen=True, slots=True)
class WeldParams:
    """Welding parameters sent to the power source.

    With ``job > 0`` the power source uses the stored job of that number and ignores the command
    values; with ``job == 0`` it welds with the command values (parameter mode). A command value of 0
    lets the power source derive it from the others (synergic line).

    Attributes:
        wire_feed: Wire feed speed command [m/s], 0 … 25 m/min.
        voltage: Welding voltage command [V], 0 … 60 V.
        current: Welding current command [A], 0 … 600 A.
        arc_length_correction: Arc-length correction [-], -10 … +10 (0 = synergic default).
        job: Job number 0 … 999 (0 = parameter mode).
    """

    wire_feed: float = 0.0
    voltage: float = 0.0
    current: float = 0.0
    arc_length_correction: float = 0.0
    job: int = 0

    def __post_init__(self) -> None:
        checks = (
            ("wire_feed", self.wire_feed, 0.0, MAX_WIRE_FEED, "m/s"),
            ("voltage", self.voltage, 0.0, MAX_VOLTAGE, "V"),
            ("current", self.current, 0.0, MAX_CURRENT, "A"),
            (
                "arc_length_correction",
                self.arc_length_correction,
                -MAX_ARC_LENGTH_CORRECTION,
                MAX_ARC_LENGTH_CORRECTION,
                "",
            ),
        )
        for name, value, lo, hi, unit in checks:
            if not (math.isfinite(value) and lo <= value <= hi):
                raise PowerSourceValueError(
                    f"WeldParams.{name} = {value} {unit} is outside {lo} … {hi} {unit}".strip()
                )
        if not (isinstance(self.job, int) and 0 <= self.job <= MAX_JOB):
            raise PowerSourceValueError(f"WeldParams.job = {self.job!r} must be an integer 0 … {MAX_JOB}")


@dataclass(frozen=True, slots=True)
class PowerSourceStatus:
    """One snapshot of the power source's outputs.

    Attributes:
        ready: Power source ready: no error pending, a weld start will be accepted.
        process_active: Welding process running, from gas pre-flow to the end of gas post-flow.
        current_flow: Welding current is flowing.
        arc_stable: The arc is established and stable.
        motion_release: The robot may move (arc stable during a weld).
        wire_stick: The wire is stuck in the workpiece.
        warning: A warning is active (the weld continues).
        error_code: :class:`ErrorCode` number, 0 = no error.
        current: Actual welding current [A] (NaN when the interface cannot measure it).
        voltage: Actual welding voltage [V] (NaN when not measured).
        wire_feed: Actual wire feed speed [m/s] (NaN when not measured).
        heartbeat: The power source's heartbeat bit (toggles at 1 Hz; False on interfaces without one).
        touch_contact: Touch sensing: the wire (at sensing voltage) touches the part (False while
            sensing is off and on interfaces without touch sensing).
        timestamp: ``time.monotonic()`` [s] when the snapshot was read.
    """

    ready: bool = False
    process_active: bool = False
    current_flow: bool = False
    arc_stable: bool = False
    motion_release: bool = False
    wire_stick: bool = False
    warning: bool = False
    error_code: int = 0
    current: float = 0.0
    voltage: float = 0.0
    wire_feed: float = 0.0
    heartbeat: bool = False
    timestamp: float = 0.0
    touch_contact: bool = False

    @property
    def error(self) -> bool:
        """True when the power source reports an error."""
        return self.error_code != 0


class PowerSource(ABC):
    """A welding power source (python-can ``BusABC`` style: public methods here, I/O in subclasses).

    Lifecycle: :meth:`connect` (also done by ``with``), :meth:`close` (idempotent). Commands return
    once the power source has been sent the command (or raise on timeout); they do not wait for the
    process to react: use :meth:`wait_arc_stable` / :meth:`wait_for` for that.
    """

    def __init__(self) -> None:
        self._connected = False

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True between :meth:`connect` and :meth:`close`."""
        return self._connected

    def connect(self, timeout: float | None = 5.0) -> None:
        """Open the link to the power source.

        Args:
            timeout: Connection timeout [s] (None = wait forever).

        Raises:
            DriverConnectionError: The power source cannot be reached.
        """
        if self._connected:
            return
        self._connect_internal(timeout)
        self._connected = True

    def close(self) -> None:
        """Switch the arc off (best effort) and close the link. Safe to call more than once."""
        if not self._connected:
            return
        try:
            self._close_internal()
        finally:
            self._connected = False

    def __enter__(self) -> PowerSource:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_connected", False):
            log.warning("%s was not properly closed", type(self).__name__)

    # --- commands ----------------------------------------------------------------------------
    @abstractmethod
    def select_job(self, job: int, timeout: float | None = 1.0) -> None:
        """Select a stored job (1 … 999), or parameter mode with 0."""

    @abstractmethod
    def set_parameters(self, params: WeldParams, timeout: float | None = 1.0) -> None:
        """Send job number and command values."""

    @abstractmethod
    def start_weld(self, timeout: float | None = 1.0) -> None:
        """Raise the weld-start signal (gas pre-flow, ignition follow on the power source).

        Raises:
            DriverFaultError: The power source reports an error and cannot start.
        """

    @abstractmethod
    def stop_weld(self, timeout: float | None = 1.0) -> None:
        """Drop the weld-start signal (crater fill, burn-back and gas post-flow follow)."""

    @abstractmethod
    def gas_test(self, on: bool, timeout: float | None = 1.0) -> None:
        """Switch the gas test (purge) on or off."""

    @abstractmethod
    def wire_inch(self, direction: WireDirection | str, on: bool, timeout: float | None = 1.0) -> None:
        """Start or stop wire inching forward or backward."""

    @abstractmethod
    def reset_error(self, timeout: float | None = 1.0) -> None:
        """Acknowledge an error (a rising edge on the error-reset signal)."""

    def set_comm_timeout(self, seconds: float, timeout: float | None = 1.0) -> None:
        """Set the power source's own robot-communication timeout [s]: when the robot's heartbeat
        stops for this long the power source ends the weld by itself (0 = supervision off).

        Raises:
            DriverError: the interface cannot set it (then it is set on the machine).
        """
        raise DriverError(
            f"{type(self).__name__} cannot set the power source's communication timeout over its "
            "interface; set it on the machine, and power_source.comm_timeout_s: null in the cell "
            "configuration (CellConfig.power_source_comm_timeout = None)"
        )

    def set_touch_sensing(self, on: bool, timeout: float | None = 1.0) -> None:
        """Switch touch sensing on or off: the power source puts a sensing voltage on the wire and
        reports contact with the part in :attr:`PowerSourceStatus.touch_contact`.

        Only while no weld runs; the cell switches it off again before every arc start.

        Raises:
            DriverError: the interface has no touch sensing.
        """
        raise DriverError(
            f"{type(self).__name__} has no touch-sensing signal; touch patterns need a power source "
            "with touch sensing (ModbusPowerSource: coil touch_sensing, discrete input touch_contact)"
        )

    @abstractmethod
    def status(self) -> PowerSourceStatus:
        """The latest status snapshot (non-blocking on the Modbus implementation)."""

    # --- waits -------------------------------------------------------------------------------
    def wait_for(
        self,
        predicate: Callable[[PowerSourceStatus], bool],
        timeout: float,
        poll: float = 0.005,
    ) -> PowerSourceStatus | None:
        """Poll :meth:`status` until ``predicate`` holds.

        Args:
            predicate: Condition on a status snapshot.
            timeout: Longest wait [s].
            poll: Poll period [s].

        Returns:
            The first status that satisfied ``predicate``, or None on timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if predicate(st):
                return st
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._wait_status_change(min(poll, remaining))

    def wait_arc_stable(self, timeout: float) -> bool:
        """Wait until the arc is stable and motion is released.

        Returns early with False when the power source reports an error (for example
        :attr:`ErrorCode.NO_IGNITION`) or the process ends without an arc: read
        :meth:`status` ``.error_code`` for the reason.

        Args:
            timeout: Longest wait [s].

        Returns:
            True when arc stable and motion release are both set; False on error or timeout.

        Raises:
            DriverConnectionError: The link to the power source was lost.
        """
        started = time.monotonic()

        def done(st: PowerSourceStatus) -> bool:
            if st.arc_stable and st.motion_release:
                return True
            if st.error_code != 0:
                return True
            # the process ended (or never began) after a grace period: no arc is coming
            return not st.process_active and time.monotonic() - started > self._process_start_grace

        st = self.wait_for(done, timeout)
        return bool(st is not None and st.arc_stable and st.motion_release and st.error_code == 0)

    #: Time [s] ``wait_arc_stable`` allows for "process active" to appear after weld start.
    _process_start_grace: float = 0.5

    def _wait_status_change(self, timeout: float) -> None:
        """Block up to ``timeout`` [s] for a new status (subclasses with a worker override this)."""
        time.sleep(timeout)

    # --- subclass hooks ----------------------------------------------------------------------
    @abstractmethod
    def _connect_internal(self, timeout: float | None) -> None: ...

    @abstractmethod
    def _close_internal(self) -> None: ...


def check_timeout(deadline: float | None, what: str) -> None:
    """Raise :class:`DriverTimeoutError` naming ``what`` when ``deadline`` (monotonic [s]) has passed."""
    if deadline is not None and time.monotonic() > deadline:
        raise DriverTimeoutError(f"power source: {what} did not complete in time")


def deadline_from(timeout: float | None) -> float | None:
    """Monotonic deadline [s] for ``timeout`` [s] (None = no deadline)."""
    return None if timeout is None else time.monotonic() + timeout


def wire_direction(direction: WireDirection | str) -> WireDirection:
    """Parse a wire direction given as enum or text ("forward"/"backward")."""
    if isinstance(direction, WireDirection):
        return direction
    try:
        return WireDirection(str(direction).lower())
    except ValueError:
        raise PowerSourceValueError(f"wire direction {direction!r} is not 'forward' or 'backward'") from None
