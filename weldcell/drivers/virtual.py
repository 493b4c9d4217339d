"""In-process simulated robot implementing :class:`~weldcell.drivers.base.RobotDriver`.

``VirtualRobot`` is a joint-space plant, not a mock: a thread advances the robot along the commanded
trajectory slice in (optionally accelerated) real time, decelerates along the path on ``stop()``
(path speed ramps from 1 to 0 over ``stop_time``), keeps digital/analog I/O, and can be faulted
(protective stop, e-stop) from a test. Like python-can's ``VirtualBus`` it lets the cell controller
be tested fast without sockets or processes; the protocol-level twin is the virtual UR controller.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from weldcell.drivers.base import (
    ExecutionHandle,
    ExecutionOutcome,
    ExecutionResult,
    IoCounts,
    RobotDriver,
    RobotMode,
    RobotState,
    SafetyStatus,
)
from weldcell.errors import DriverError, InputShapeError

if TYPE_CHECKING:
    from weldcell.drivers.url import RobotUrl

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ArcLoopback:
    """Wire an output to an input with a delay (a power source answering "arc on" with "arc established").

    Attributes:
        output: Digital output that switches the arc on.
        input: Digital input that reports the arc established.
        delay: Ignition delay [s] (simulated time).
    """

    output: int = 0
    input: int = 0
    delay: float = 0.1


class VirtualRobot(RobotDriver):
    """A simulated robot (see module docstring).

    Args:
        robot: Robot model name (``weldcell.kinematics.load_robot``), e.g. ``"ur5e"``.
        q0: Initial joint positions [rad], shape (n,); default all zeros.
        dt: Control cycle [s] (the trajectories it executes are sampled with any dt).
        time_scale: Simulated seconds per wall-clock second (10 = ten times faster than real time).
        stop_time: Deceleration time of ``stop()`` [s] (path speed 1 -> 0).
        arc: Optional output -> input loopback for arc tests.
        tick: Wall-clock period of the simulation thread [s].
    """

    simulation_only = True
    #: A UR-like controller's I/O: 16 digital outputs and inputs (8 standard + 8 configurable), two
    #: analog outputs and inputs.
    IO: ClassVar[IoCounts] = IoCounts(digital_out=16, digital_in=16, analog_out=2, analog_in=2)

    def __init__(
        self,
        robot: str = "ur5e",
        q0: npt.ArrayLike | None = None,
        *,
        dt: float = 0.002,
        time_scale: float = 1.0,
        stop_time: float = 0.15,
        arc: ArcLoopback | None = None,
        tick: float = 0.002,
    ) -> None:
        super().__init__()
        from weldcell.kinematics import load_robot

        self.robot = robot
        self._model = load_robot(robot)
        n = self._model.n_joints
        self._q = np.zeros(n) if q0 is None else np.asarray(q0, dtype=np.float64).copy()
        if self._q.shape != (n,):
            raise InputShapeError(f"q0 must have {n} joint positions, got shape {self._q.shape}")
        self._qd = np.zeros(n)
        self.dt = dt
        self.time_scale = time_scale
        self.stop_time = stop_time
        self.arc = arc
        self.tick = tick
        self._lock = threading.RLock()
        self._t = 0.0
        self._clock: float | None = None  # monotonic time of the tick being simulated (real time only)
        self._dout = 0
        self._din = 0
        self._aout = np.zeros(2)
        self._ain = np.zeros(2)
        self._safety = SafetyStatus.NORMAL
        self._fault_reason = ""
        self._handle: ExecutionHandle | None = None
        self._pos = 0.0
        self._rate = 1.0
        self._stopping = False
        self._arc_since: float | None = None
        self._thread: threading.Thread | None = None
        self._quit = threading.Event()
        self._tick_event = threading.Event()

    @classmethod
    def from_url(cls, url: RobotUrl, /, **options: Any) -> VirtualRobot:
        """``virtual://MODEL`` -> an in-process virtual robot of ``MODEL`` (default ``robot=`` or ur5e).

        Options are the keyword arguments of ``VirtualRobot`` (``q0``, ``time_scale``, ...).
        """
        named = str(options.pop("robot", "ur5e"))
        return cls(url.host or named, **options)

    @classmethod
    def cell_options(cls, url: RobotUrl, robot: str, settings: Mapping[str, Any], /) -> dict[str, Any]:
        """The job's robot model standing at the setting ``q0`` [rad] (the trajectory's first sample).

        Raises:
            DriverError: the URL names another robot model than the job's.
        """
        if url.host and url.host != robot:
            raise DriverError(
                f"robot address {url.url!r} names robot {url.host!r}, but the job was planned for {robot!r}"
            )
        return {"robot": robot, "q0": settings.get("q0")}

    def __repr__(self) -> str:
        return f"VirtualRobot({self.robot!r})"

    # --- lifecycle ------------------------------------------------------------------------
    def _connect(self, timeout: float | None) -> None:
        self._quit.clear()
        self._thread = threading.Thread(target=self._loop, name="virtual-robot", daemon=True)
        self._thread.start()

    def _close(self) -> None:
        with self._lock:
            if self._handle is not None and not self._handle.done:
                self._finish(ExecutionOutcome.FAULTED, "driver closed during execution")
        self._quit.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self._thread = None

    # --- plant ----------------------------------------------------------------------------
    def _loop(self) -> None:
        last = time.monotonic()
        while not self._quit.wait(self.tick):
            now = time.monotonic()
            # the plant's own clock: its path positions are stamped with the tick that made them
            self._clock = now if self.time_scale == 1.0 else None
            self.advance((now - last) * self.time_scale)
            last = now
            self._tick_event.set()

    def advance(self, sim_dt: float) -> None:
        """Advance the simulation by ``sim_dt`` simulated seconds (the thread calls this)."""
        with self._lock:
            self._t += sim_dt
            h = self._handle
            if h is not None and not h.done:
                traj = h.traj
                steps = sim_dt / traj.dt
                if self._stopping:
                    dec = sim_dt / self.stop_time
                    # path distance covered while the rate ramps down (trapezoid area)
                    new_rate = max(0.0, self._rate - dec)
                    used = min(sim_dt, self._rate * self.stop_time)
                    steps = (self._rate + new_rate) / 2 * used / traj.dt
                    self._rate = new_rate
                q_prev = self._q
                self._pos = min(self._pos + steps, h.end_index - 1)
                self._q = self._sample(traj, self._pos)
                self._qd = (self._q - q_prev) / sim_dt if sim_dt > 0 else self._qd * 0
                h._update(self._pos, self._clock)
                if self._pos >= h.end_index - 1 - 1e-9:
                    self._qd = np.zeros_like(self._q)
                    self._finish(ExecutionOutcome.COMPLETED, "")
                elif self._stopping and self._rate <= 0:
                    self._qd = np.zeros_like(self._q)
                    self._finish(ExecutionOutcome.STOPPED, "stop requested")
            else:
                self._qd = np.zeros_like(self._q)
            self._update_arc()

    @staticmethod
    def _sample(traj: object, pos: float) -> NDArrayF:
        q = traj.q  # type: ignore[attr-defined]
        i = int(np.floor(pos))
        a = pos - i
        if i + 1 >= q.shape[0] or a <= 0:
            return np.array(q[min(i, q.shape[0] - 1)], dtype=np.float64)
        return np.asarray((1 - a) * q[i] + a * q[i + 1], dtype=np.float64)

    def _update_arc(self) -> None:
        if self.arc is None:
            return
        if self._dout >> self.arc.output & 1:
            if self._arc_since is None:
                self._arc_since = self._t
            if self._t - self._arc_since >= self.arc.delay:
                self._din |= 1 << self.arc.input
        else:
            self._arc_since = None
            self._din &= ~(1 << self.arc.input)

    def _finish(self, outcome: ExecutionOutcome, reason: str, code: str | None = None) -> None:
        h = self._handle
        if h is None:
            return
        idx = int(np.floor(self._pos + 1e-9))
        h._finish(ExecutionResult(outcome, idx, self._pos, reason, code))

    # --- driver hooks ---------------------------------------------------------------------
    def _state(self, timeout: float | None) -> RobotState:
        with self._lock:
            mode = RobotMode.RUNNING if self._safety != SafetyStatus.EMERGENCY_STOP else RobotMode.POWER_OFF
            return RobotState(
                t=self._t,
                q=self._q,
                qd=self._qd,
                T_base_flange=self._model.fk(self._q),
                mode=mode,
                safety=self._safety,
                program_running=self._handle is not None and not self._handle.done,
                digital_in=self._din,
                digital_out=self._dout,
                analog_in=self._ain,
                analog_out=self._aout,
            )

    def _execute(self, handle: ExecutionHandle) -> None:
        with self._lock:
            if self._safety != SafetyStatus.NORMAL:
                handle._finish(
                    ExecutionResult(
                        ExecutionOutcome.FAULTED,
                        handle.start_index,
                        handle.start_index,
                        f"robot is in {self._safety.value}",
                        self._safety.value,
                    )
                )
                return
            self._handle = handle
            self._pos = float(handle.start_index)
            self._rate = 1.0
            self._stopping = False

    def _stop(self, handle: ExecutionHandle) -> None:
        with self._lock:
            if handle is self._handle and not handle.done:
                self._stopping = True

    def _set_digital_out(self, n: int, value: bool) -> None:
        with self._lock:
            self._dout = (self._dout | (1 << n)) if value else (self._dout & ~(1 << n))

    def _set_analog_out(self, n: int, value: float) -> None:
        with self._lock:
            self._aout[n] = value

    # --- test hooks -----------------------------------------------------------------------
    def set_digital_in(self, n: int, value: bool) -> None:
        """Set digital input ``n`` (what a sensor or the power source would do).

        Raises:
            DriverError: no such input (:attr:`IO`).
        """
        self._check_io("digital_in", n)
        with self._lock:
            self._din = (self._din | (1 << n)) if value else (self._din & ~(1 << n))

    def set_analog_in(self, n: int, value: float) -> None:
        """Set analog input ``n`` (0, 1).

        Raises:
            DriverError: no such input (:attr:`IO`).
        """
        self._check_io("analog_in", n)
        with self._lock:
            self._ain[n] = value

    def inject_fault(self, reason: str = "protective stop injected", *, emergency: bool = False) -> None:
        """Protective stop (or e-stop): motion halts at once, the running execution faults."""
        with self._lock:
            self._safety = SafetyStatus.EMERGENCY_STOP if emergency else SafetyStatus.PROTECTIVE_STOP
            self._fault_reason = reason
            self._dout &= ~(1 << self.arc.output) if self.arc is not None else ~0
            if self._handle is not None and not self._handle.done:
                self._finish(ExecutionOutcome.FAULTED, reason, self._safety.value)
            self._qd = np.zeros_like(self._q)

    def reset_fault(self) -> None:
        """Clear a protective stop / e-stop."""
        with self._lock:
            self._safety = SafetyStatus.NORMAL
            self._fault_reason = ""

    def wait_ticks(self, n: int = 1, timeout: float = 1.0) -> None:
        """Wait until the simulation thread has ticked ``n`` times (for tests)."""
        for _ in range(n):
            self._tick_event.clear()
            if not self._tick_event.wait(timeout):
                raise DriverError("virtual robot thread is not running")
