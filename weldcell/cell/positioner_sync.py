"""Stream a positioner (or track) in sync with the robot, measure the skew, fault when it lags.

:class:`PositionerSync` runs one thread for the job. While a robot motion runs, every cycle (default
2 ms) it takes the robot's path position from the driver's execution handle (the sample index the
driver last reported and when, extrapolated at the trajectory's own rate to now), adds the link's
one-way latency (half the running median of the round trip), and sends the positioner the
external-axis positions interpolated from the *same* trajectory at that path time, stamped with it.
Between motions it re-sends the position it holds (the device's watchdog stays fed).

**Skew.** For each cycle, skew = (path time of the set-point) − (the robot's path time at the moment
the device applied it), the device applying it at the middle of the exchange. It is what keeps robot
and positioner on the same sample; on the virtual cell it is below 1 ms except on a loaded PC
(statistics per motion: :class:`SyncStats`).

**Lag.** The actual positions the device reports are compared with the planned ones at the robot's
path time; beyond ``lag_tolerance_rad`` / ``lag_tolerance_m`` (or on any device fault or a lost link)
the sync latches a fault, asks the robot to stop at once, and the cell's supervision stops the arc
and ends the job with the message (``fault`` property).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.drivers.positioner.base import PositionerFault, PositionerPort, check_axes_match
from weldcell.errors import DriverError, InvalidValueError
from weldcell.trajectory import ExternalAxes, JointTrajectory

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]

#: Event kind of a job's synchronisation figures in the weld log (per motion: ``positioner_sync``).
SYNC_EVENT = "positioner_sync_job"


@dataclass(frozen=True, slots=True)
class PositionerSyncConfig:
    """Settings of the positioner stream.

    Attributes:
        period: Cycle of the stream while a motion runs [s].
        idle_period: Cycle while holding between motions [s].
        lag_tolerance_rad: Largest accepted distance of a revolute axis from its planned position at
            the robot's path time [rad].
        lag_tolerance_m: The same for prismatic axes [m].
        lag_time: Following allowance [s]: the tolerance grows by the largest planned axis speed of
            the last ``lag_time`` times this (a drive that follows 50 ms late is healthy; a stalled
            one is not).
        extrapolation_cap: Longest time [s] the robot's last reported path position is extrapolated.
    """

    period: float = 0.002
    idle_period: float = 0.01
    lag_tolerance_rad: float = 0.01
    lag_tolerance_m: float = 0.002
    lag_time: float = 0.05
    extrapolation_cap: float = 0.02

    def __post_init__(self) -> None:
        for name in (
            "period",
            "idle_period",
            "lag_tolerance_rad",
            "lag_tolerance_m",
            "lag_time",
            "extrapolation_cap",
        ):
            if not getattr(self, name) > 0:
                raise InvalidValueError(f"PositionerSyncConfig.{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class SyncStats:
    """Synchronisation figures of one motion (or a whole job).

    Attributes:
        cycles: Set-points streamed while the robot moved.
        skew_mean: Mean absolute skew [s].
        skew_p50: Median absolute skew [s].
        skew_p99: 99th percentile of the absolute skew [s].
        skew_max: Largest absolute skew [s].
        lag_max: Largest distance of an axis from its planned position [rad or m].
        rtt_median: Median round trip of a set-point exchange [s].
    """

    cycles: int
    skew_mean: float
    skew_p50: float
    skew_p99: float
    skew_max: float
    lag_max: float
    rtt_median: float

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready, times in ms (for the weld log and the job result)."""
        return {
            "cycles": self.cycles,
            "skew_mean_ms": round(self.skew_mean * 1e3, 4),
            "skew_p50_ms": round(self.skew_p50 * 1e3, 4),
            "skew_p99_ms": round(self.skew_p99 * 1e3, 4),
            "skew_max_ms": round(self.skew_max * 1e3, 4),
            "lag_max": round(self.lag_max, 7),
            "rtt_median_ms": round(self.rtt_median * 1e3, 4),
        }

    def describe(self) -> str:
        """One line for the progress output."""
        ms = 1e3
        return (
            f"positioner sync: skew median {self.skew_p50 * ms:.3f} ms, mean {self.skew_mean * ms:.3f} ms, "
            f"p99 {self.skew_p99 * ms:.3f} ms, max {self.skew_max * ms:.3f} ms over {self.cycles} cycles; "
            f"largest lag {self.lag_max:.5f}; round trip {self.rtt_median * ms:.2f} ms"
        )


def _stats(skew: list[float], lag: list[float], rtt: list[float]) -> SyncStats | None:
    if not skew:
        return None
    s = np.abs(np.asarray(skew))
    return SyncStats(
        cycles=len(s),
        skew_mean=float(s.mean()),
        skew_p50=float(np.median(s)),
        skew_p99=float(np.percentile(s, 99)),
        skew_max=float(s.max()),
        lag_max=float(max(lag, default=0.0)),
        rtt_median=float(np.median(rtt)) if rtt else 0.0,
    )


class PositionerSync:
    """The job's positioner stream (see module docstring).

    Args:
        port: A connected positioner device.
        external: The job trajectory's external axes (checked against the device).
        config: Stream settings.

    Raises:
        DriverError: the device's axes do not match the trajectory's.
    """

    def __init__(
        self, port: PositionerPort, external: ExternalAxes, config: PositionerSyncConfig | None = None
    ) -> None:
        self.port = port
        self.config = config or PositionerSyncConfig()
        self.name = str(getattr(port, "name", type(port).__name__))
        check_axes_match(external, port.axes, self.name)
        self._tol = np.array(
            [
                self.config.lag_tolerance_rad if k == "revolute" else self.config.lag_tolerance_m
                for k in external.kinds
            ]
        )
        self._names = external.names
        self._lock = threading.Lock()
        self._motion: tuple[JointTrajectory, object] | None = None
        self._hold: NDArrayF | None = None
        self._fault = ""
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._stamp = 0.0  # device time stamp: path time, continued across motions and holds
        self._counter = 0
        self._skew: list[float] = []
        self._lag: list[float] = []
        self._rtt: list[float] = []
        self._all_skew: list[float] = []
        self._all_lag: list[float] = []
        self._all_rtt: list[float] = []
        self._detached = threading.Event()
        self._last_report: tuple[float, float, object] | None = None  # robot position, its time, handle
        self._rate = -1.0  # path time per wall time, measured (-1: not yet)
        self._last_stats: SyncStats | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Enable the device and start holding where it stands.

        Raises:
            DriverError: the device faults or does not enable.
        """
        st = self.port.enable()  # also resets a fault the device latched (the operator cleared it)
        self._fault = ""
        self._hold = np.array(st.q, dtype=np.float64)
        self._quit.clear()
        self._thread = threading.Thread(target=self._loop, name="positioner-sync", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop streaming and disable the device (idempotent)."""
        self._quit.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        with self._lock:
            if self._motion is not None:
                self._detach_locked()
        try:
            if self.port.connected:
                self.port.disable()
        except DriverError as err:
            log.error("positioner disable failed: %s", err)

    @property
    def fault(self) -> str:
        """The latched fault message ("" while healthy)."""
        return self._fault

    def actual(self) -> NDArrayF:
        """The device's actual positions now [rad or m].

        Raises:
            DriverError: the link is down.
        """
        return np.array(self.port.status().q, dtype=np.float64)

    def off_by(self, q: NDArrayF, q_ref: NDArrayF) -> bool:
        """True when positions ``q`` are farther from ``q_ref`` than the lag tolerance on some axis."""
        return bool(np.any(np.abs(np.asarray(q) - np.asarray(q_ref)) > self._tol))

    def check_motion(self, traj: JointTrajectory, start: int, end: int) -> None:
        """Refuse a motion the device cannot follow: not at its first sample, or faster than its axes.

        Raises:
            DriverError: faulted device, an axis away from sample ``start`` by more than the lag
                tolerance, or a planned speed above the device's maximum.
        """
        ext = traj.external
        if ext is None:
            raise DriverError("a trajectory without external axes cannot drive the positioner")
        if self._fault:
            raise DriverError(self._fault)
        q = self.actual()
        off = np.abs(q - ext.q[start])
        bad = np.flatnonzero(off > self._tol)
        if bad.size:
            i = int(bad[0])
            raise DriverError(
                f"positioner {self.name}: axis {self._names[i]!r} is at {q[i]:.5f}, the motion starts at "
                f"{ext.q[start, i]:.5f} (tolerance {self._tol[i]:.5f}); move it there first"
            )
        vmax = np.array([a.max_speed for a in self.port.axes])
        v = (
            np.max(np.abs(np.diff(ext.q[start:end], axis=0)), axis=0) / traj.dt
            if end - start > 1
            else 0 * vmax
        )
        fast = np.flatnonzero(v > vmax * (1 + 1e-6))
        if fast.size:
            i = int(fast[0])
            raise DriverError(
                f"positioner {self.name}: the motion asks axis {self._names[i]!r} for {v[i]:.4f}/s, "
                f"more than its maximum speed {vmax[i]:.4f}/s"
            )

    def attach(self, traj: JointTrajectory, handle: object) -> None:
        """Follow ``handle`` (the robot driver's ``ExecutionHandle`` running ``traj``) from now on,
        until it is done (including a stop's deceleration along the path)."""
        if traj.external is None:
            raise DriverError("a trajectory without external axes cannot drive the positioner")
        with self._lock:
            if self._motion is not None:  # a stopped motion still decelerating: keep its figures
                self._detach_locked()
            self._skew, self._lag, self._rtt = [], [], []
            self._motion = (traj, handle)
            self._detached.clear()
            self._rate = -1.0  # not measured yet

    def _detach_locked(self) -> None:
        self._motion = None
        self._last_stats = _stats(self._skew, self._lag, self._rtt)
        self._all_skew += self._skew
        self._all_lag += self._lag
        self._all_rtt += self._rtt
        self._skew, self._lag, self._rtt = [], [], []
        self._detached.set()

    def finish(self, timeout: float = 2.0) -> SyncStats | None:
        """Wait until the followed motion has ended and its last set-point went out (at most
        ``timeout`` [s], less when faulted), then hold there; returns the motion's figures."""
        if not self._fault:
            self._detached.wait(timeout)
        with self._lock:
            if self._motion is not None:
                self._detach_locked()
            return self._last_stats

    def job_stats(self) -> SyncStats | None:
        """Figures over every motion so far."""
        with self._lock:
            return _stats(self._all_skew, self._all_lag, self._all_rtt)

    # --- the stream --------------------------------------------------------------------------------
    def _trip(self, message: str, handle: object | None) -> None:
        if not self._fault:
            self._fault = message
            log.error("%s", message)
        if handle is not None:
            try:
                handle.stop()  # type: ignore[attr-defined]
            except DriverError as err:
                log.error("robot stop after a positioner fault not delivered: %s", err)

    def _robot_time(self, traj: JointTrajectory, handle: object, now: float) -> float:
        """The robot's path time [s] at ``now``: its last reported position, extrapolated at the path
        rate measured between its reports (a speed override or a faster simulation changes it)."""
        pos, stamp = handle.stamped_position()  # type: ignore[attr-defined]
        prev = self._last_report
        if prev is not None and prev[2] is handle and stamp > prev[1] + 1e-4:
            rate = min(max((pos - prev[0]) * traj.dt / (stamp - prev[1]), 0.0), 3.0)
            self._rate = rate if self._rate < 0 else 0.7 * self._rate + 0.3 * rate
        if prev is None or prev[2] is not handle or stamp > prev[1] + 1e-4:
            self._last_report = (pos, stamp, handle)
        ahead = 0.0
        # extrapolate only once the robot has reported moving (rate measured): not before it starts
        if self._rate >= 0 and not handle.done and not handle.stop_requested:  # type: ignore[attr-defined]
            ahead = min(max(now - stamp, 0.0), self.config.extrapolation_cap) * self._rate
        end = (handle.end_index - 1) * traj.dt  # type: ignore[attr-defined]
        return float(min(pos * traj.dt + ahead, end))

    def _loop(self) -> None:
        rtt_est = 0.0
        last_t: float | None = None  # path time of the last set-point of the followed motion
        followed: tuple[JointTrajectory, object] | None = None
        next_wake = last_send = time.perf_counter()
        while not self._quit.is_set():
            with self._lock:
                motion = self._motion
            period = self.config.period if motion is not None else self.config.idle_period
            next_wake += period
            delay = next_wake - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                next_wake = time.perf_counter()
            if self._fault:
                continue  # latched: the device is faulted or gone; the cell ends the job
            traj = handle = None
            ended = False
            t_sp = 0.0
            w0 = time.perf_counter()
            if motion is not followed:  # another motion (its own time base) or none: start afresh
                last_t, followed = None, motion
            if motion is not None:
                traj, handle = motion
                assert traj.external is not None  # mypy: checked in attach
                ended = bool(handle.done)  # type: ignore[attr-defined]
                t_sp = self._robot_time(traj, handle, w0) + rtt_est / 2
                t_sp = min(t_sp, (handle.end_index - 1) * traj.dt)  # type: ignore[attr-defined]
                if last_t is not None and t_sp < last_t:
                    t_sp = last_t  # never back along the path
                q = _interp(traj.external.q, t_sp / traj.dt)
                self._stamp += w0 - last_send if last_t is None else t_sp - last_t
                last_t = t_sp
                self._hold = q
            else:
                self._stamp += w0 - last_send
                assert self._hold is not None  # mypy: set by start()
                q = self._hold
            self._counter = (self._counter + 1) & 0xFFFF
            try:
                st = self.port.send_setpoint(q, self._stamp, self._counter)
            except DriverError as err:
                self._trip(f"positioner {self.name}: link lost ({err}); robot and arc stopped", handle)
                continue
            w1 = time.perf_counter()
            last_send, rtt = w0, w1 - w0
            if st.fault is not PositionerFault.NONE or not st.enabled:
                why = st.describe_fault(self.port.axes) if st.fault else "the device dropped servo control"
                self._trip(f"positioner {self.name}: {why}; robot and arc stopped", handle)
                continue
            if traj is None:
                continue
            if ended:  # the motion's final position went out: hold there from now on
                with self._lock:
                    if self._motion is motion:
                        self._detach_locked()
            assert traj.external is not None  # mypy
            t_robot = self._robot_time(traj, handle, (w0 + w1) / 2)
            planned = _interp(traj.external.q, t_robot / traj.dt)
            lt = self.config.lag_time
            speed = np.max(  # the planned speed over the last lag_time (a drive catching up at a stop)
                [np.abs(_interp(traj.external.qd, (t_robot - f * lt) / traj.dt)) for f in (0.0, 0.5, 1.0)],
                axis=0,
            )
            dev = np.abs(np.asarray(st.q) - planned)
            tol = self._tol + speed * self.config.lag_time
            lag = float(np.max(dev))
            recent: list[float] = []
            with self._lock:
                if self._motion is not None:
                    self._skew.append(t_sp - t_robot)
                    self._lag.append(lag)
                    self._rtt.append(rtt)
                    recent = self._rtt[-50:]
            rtt_est = float(np.median(recent)) if recent else rtt
            over = np.flatnonzero(dev > tol)
            if over.size:
                i = int(over[0])
                self._trip(
                    f"positioner {self.name} lags: axis {self._names[i]!r} is {dev[i]:.5f} from its planned "
                    f"position at path time {t_robot:.3f} s (tolerance {tol[i]:.5f}); "
                    "robot and arc stopped",
                    handle,
                )


def _interp(q: NDArrayF, pos: float) -> NDArrayF:
    """Row ``pos`` (fractional index) of ``q`` by linear interpolation, clamped to the ends."""
    n = q.shape[0]
    pos = min(max(pos, 0.0), n - 1.0)
    i = min(int(pos), n - 2) if n > 1 else 0
    f = pos - i
    return np.asarray(q[i] if n == 1 else q[i] * (1 - f) + q[i + 1] * f, dtype=np.float64)
