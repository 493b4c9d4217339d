"""Stream a positioner (or track) in sync with the robot, measure the skew, fault when it lags.

:class:`PositionerSync` runs one thread for the job. While a robot motion runs, it streams the
motion's external-axis samples to the device **ahead of time** (``lookahead``, every ``stride`` of
trajectory time) as a timed, buffered stream: each set-point carries its trajectory time, and the
stream carries a time base, the instant on the host's ``CLOCK_MONOTONIC`` at which the robot executes
trajectory time 0. The device executes trajectory time ``now - time base`` on its own clock by
interpolating its buffer (``docs/drivers.md``, positioner timed mode), so when this Python thread
runs, and how late, does not move the axes: a stall shorter than the look-ahead changes nothing.

**Time base.** The robot driver reports its path position stamped with the controller's own clock,
mapped onto ``time.monotonic()`` (:meth:`~weldcell.drivers.base.ExecutionHandle.take_reports`); each
report gives ``time base = stamp - path time``. It is fixed while the robot runs at its planned rate
and follows it when the robot's path slows (a stop's deceleration, a controller that skipped cycles).
Before the robot has moved the device holds the motion's first sample.

**Skew.** For each exchange the device reports the trajectory time it executes and its clock then;
the robot's reports give its trajectory time at the same instant (linear between reports). Skew is
their difference, from the devices' own states, over the motion from the robot's first move to its
last report (:class:`SyncStats`: p50/p99/max). It includes the start (the device learns the time
base from the robot's first moving report, a few ms after it started). It does not include an error
of the clock mapping itself (the robot driver's offset estimate: the shortest transport delay,
under 0.1 ms on one host).

**Lag.** The actual positions the device reports are compared with the planned ones at the robot's
path time; beyond ``lag_tolerance_rad`` / ``lag_tolerance_m`` (or on any device fault or a lost link)
the sync latches a fault, asks the robot to stop at once, and the cell's supervision stops the arc
and ends the job with the message (``fault`` property).

**Scheduling and look-ahead.** The stream thread runs under ``SCHED_FIFO``
(``PositionerSyncConfig.fifo_priority``, below the robot driver's threads and the power source's
I/O worker) where the OS permits, ordinary scheduling otherwise (a debug line says why): on a loaded
machine an ordinary thread waits for a CPU behind every ordinary process. Each cycle's lateness
(wake-up after its due time) is measured; the look-ahead grows from the configured one to cover
twice the worst lateness seen so far (:func:`~weldcell.drivers.realtime.lookahead_from_lateness`,
the rule of the robot's streaming look-ahead), within the device's buffer. The figures
(``send_late_p99``/``send_late_max``, the smallest lead of the newest set-point over the robot's
path time ``lead_min``, the look-ahead used) are in :class:`SyncStats` and the job record.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.drivers.positioner import registers as reg
from weldcell.drivers.positioner.base import (
    PositionerFault,
    PositionerPort,
    PositionerStatus,
    check_axes_match,
)
from weldcell.drivers.realtime import configure_thread, lookahead_from_lateness
from weldcell.errors import DriverError, InvalidValueError
from weldcell.trajectory import ExternalAxes, JointTrajectory

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]

#: Event kind of a job's synchronisation figures in the weld log (per motion: ``positioner_sync``).
SYNC_EVENT = "positioner_sync_job"


#: Most set-points streamed ahead of the robot (the device buffers ``registers.BUFFER_SIZE`` = 512;
#: the rest is room for the executed ones it drops as it goes).
_MAX_AHEAD = 400


@dataclass(frozen=True, slots=True)
class PositionerSyncConfig:
    """Settings of the positioner stream.

    Attributes:
        period: Cycle of the stream while a motion runs [s] (each cycle is one Modbus exchange
            at least, ~0.5 ms of CPU under ``SCHED_FIFO``: 5 ms keeps the thread near 10 % of a
            core; the set-points run on the device's clock, so the cycle does not move the axes).
        idle_period: Cycle while holding between motions [s].
        lag_tolerance_rad: Largest accepted distance of a revolute axis from its planned position at
            the robot's path time [rad].
        lag_tolerance_m: The same for prismatic axes [m].
        lag_time: Following allowance [s]: the tolerance grows by the largest planned axis speed of
            the last ``lag_time`` times this (a drive that follows 50 ms late is healthy; a stalled
            one is not).
        extrapolation_cap: Longest time [s] the robot's last reported path position is extrapolated
            (for the look-ahead horizon and the lag check; a silent robot is not streamed past).
        lookahead: How far ahead of the robot's path time set-points are streamed [s] (a stall of the
            stream shorter than this does not reach the axes; the device buffers 512 set-points).
        stride: Trajectory time between two streamed set-points [s] (the device interpolates
            linearly between them; the trajectory's own ``dt`` if that is longer).
        max_lookahead: Largest look-ahead [s] the measured lateness may grow ``lookahead`` to
            (the device buffers 512 set-points; at most 400 strides).
        fifo_priority: ``SCHED_FIFO`` priority (1-99) of the stream thread (None: ordinary
            scheduling). Below the robot driver's control thread (10), its RTDE reader (5) and the
            power source's I/O worker (4): the look-ahead lets this thread be late, they cannot.
    """

    period: float = 0.005
    idle_period: float = 0.01
    lag_tolerance_rad: float = 0.01
    lag_tolerance_m: float = 0.002
    lag_time: float = 0.05
    extrapolation_cap: float = 0.02
    lookahead: float = 0.25
    stride: float = 0.004
    max_lookahead: float = 1.0
    fifo_priority: int | None = 3

    def __post_init__(self) -> None:
        for name in (
            "period",
            "idle_period",
            "lag_tolerance_rad",
            "lag_tolerance_m",
            "lag_time",
            "extrapolation_cap",
            "lookahead",
            "stride",
            "max_lookahead",
        ):
            if not getattr(self, name) > 0:
                raise InvalidValueError(f"PositionerSyncConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.fifo_priority is not None and not 1 <= self.fifo_priority <= 99:
            raise InvalidValueError(
                f"PositionerSyncConfig.fifo_priority must be 1-99 or None, got {self.fifo_priority}"
            )
        if self.max_lookahead < self.lookahead:
            raise InvalidValueError(
                f"PositionerSyncConfig.max_lookahead {self.max_lookahead} s must be ≥ lookahead "
                f"{self.lookahead} s"
            )
        if max(self.lookahead, self.max_lookahead) / self.stride > _MAX_AHEAD:
            raise InvalidValueError(
                f"PositionerSyncConfig: max_lookahead {self.max_lookahead} s / stride {self.stride} s is "
                f"more than {_MAX_AHEAD} set-points ahead (the device buffers {reg.BUFFER_SIZE})"
            )

    def lookahead_for(self, worst_lateness: float) -> float:
        """Look-ahead [s] for a stream thread whose worst lateness so far is ``worst_lateness`` [s]:
        the configured ``lookahead``, grown to twice the lateness plus a margin of strides
        (:func:`~weldcell.drivers.realtime.lookahead_from_lateness`, the robot stream's rule), at
        most ``max_lookahead``; a whole number of strides."""
        cycles, _ = lookahead_from_lateness(
            math.ceil(self.lookahead / self.stride - 1e-9),
            worst_lateness,
            self.stride,
            math.floor(self.max_lookahead / self.stride + 1e-9),
        )
        return cycles * self.stride


@dataclass(frozen=True, slots=True)
class SyncStats:
    """Synchronisation figures of one motion (or a whole job).

    Attributes:
        cycles: Device states compared with the robot's while it moved.
        skew_mean: Mean absolute skew [s] (trajectory time executed by the positioner minus the
            robot's, at the same instant, from the devices' reported states).
        skew_p50: Median absolute skew [s].
        skew_p99: 99th percentile of the absolute skew [s].
        skew_max: Largest absolute skew [s].
        lag_max: Largest distance of an axis from its planned position [rad or m].
        rtt_median: Median round trip of a set-point exchange [s] (does not enter the skew).
        start_delay_max: Longest time [s] from the robot's first move in a motion until the device ran
            on the time base (it holds the first sample meanwhile; not in the skew figures).
        stop_skew_max: Largest absolute skew [s] while the robot decelerated after a stop request
            (followed from its reports: not in the skew figures).
        send_late_p99: 99th percentile of the stream thread's lateness [s] (cycle start after its
            due time) while it followed a motion.
        send_late_max: Its largest lateness [s].
        lead_min: Smallest lead [s] of the newest streamed set-point over the robot's path time at
            the end of a cycle, while samples were left to stream (≤ 0: the device ran out of
            buffer); NaN when the whole motion fitted in the look-ahead at once.
        lookahead_max: Largest look-ahead [s] used (the configured one, grown from the lateness).
    """

    cycles: int
    skew_mean: float
    skew_p50: float
    skew_p99: float
    skew_max: float
    lag_max: float
    rtt_median: float
    start_delay_max: float = 0.0
    stop_skew_max: float = 0.0
    send_late_p99: float = 0.0
    send_late_max: float = 0.0
    lead_min: float = math.nan
    lookahead_max: float = 0.0

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-ready, times in ms (for the weld log and the job result)."""
        return {
            "cycles": self.cycles,
            "skew_mean_ms": round(self.skew_mean * 1e3, 4),
            "skew_p50_ms": round(self.skew_p50 * 1e3, 4),
            "skew_p99_ms": round(self.skew_p99 * 1e3, 4),
            "skew_max_ms": round(self.skew_max * 1e3, 4),
            "lag_max": round(self.lag_max, 7),
            "rtt_median_ms": round(self.rtt_median * 1e3, 4),
            "start_delay_max_ms": round(self.start_delay_max * 1e3, 4),
            "stop_skew_max_ms": round(self.stop_skew_max * 1e3, 4),
            "send_late_p99_ms": round(self.send_late_p99 * 1e3, 4),
            "send_late_max_ms": round(self.send_late_max * 1e3, 4),
            "lead_min_ms": None if math.isnan(self.lead_min) else round(self.lead_min * 1e3, 4),
            "lookahead_max_ms": round(self.lookahead_max * 1e3, 4),
        }

    def describe(self) -> str:
        """One line for the progress output."""
        ms = 1e3
        return (
            f"positioner sync: skew median {self.skew_p50 * ms:.3f} ms, mean {self.skew_mean * ms:.3f} ms, "
            f"p99 {self.skew_p99 * ms:.3f} ms, max {self.skew_max * ms:.3f} ms over {self.cycles} cycles; "
            f"largest lag {self.lag_max:.5f}; round trip {self.rtt_median * ms:.2f} ms; "
            f"time base at most {self.start_delay_max * ms:.2f} ms after the robot's start; "
            f"largest skew while stopping {self.stop_skew_max * ms:.2f} ms; "
            f"stream lateness p99 {self.send_late_p99 * ms:.2f} ms, max {self.send_late_max * ms:.2f} ms, "
            + (
                "whole motion within the look-ahead"
                if math.isnan(self.lead_min)
                else f"smallest lead {self.lead_min * ms:.1f} ms"
            )
            + f", look-ahead {self.lookahead_max * ms:.0f} ms"
        )


@dataclass(slots=True)
class _Timing:
    """The stream thread's timing figures of one motion (or a job): cycle lateness [s], leads [s],
    largest look-ahead [s]."""

    late: list[float]
    lead: list[float]
    lookahead: float = 0.0

    def add(self, other: _Timing) -> None:
        self.late += other.late
        self.lead += other.lead
        self.lookahead = max(self.lookahead, other.lookahead)


def _stats(
    skew: list[float],
    lag: list[float],
    rtt: list[float],
    start: list[float],
    stopping: list[float],
    timing: _Timing,
) -> SyncStats | None:
    if not skew:
        return None
    s = np.abs(np.asarray(skew))
    late = np.asarray(timing.late) if timing.late else np.zeros(1)
    return SyncStats(
        cycles=len(s),
        skew_mean=float(s.mean()),
        skew_p50=float(np.median(s)),
        skew_p99=float(np.percentile(s, 99)),
        skew_max=float(s.max()),
        lag_max=float(max(lag, default=0.0)),
        rtt_median=float(np.median(rtt)) if rtt else 0.0,
        start_delay_max=float(max(start, default=0.0)),
        stop_skew_max=float(np.max(np.abs(stopping))) if stopping else 0.0,
        send_late_p99=float(np.percentile(late, 99)),
        send_late_max=float(late.max()),
        lead_min=float(min(timing.lead)) if timing.lead else math.nan,
        lookahead_max=timing.lookahead,
    )


#: Timed batches streamed in one cycle at most (each is a round trip of up to ``batch_size``
#: set-points; the look-ahead fills over cycles).
_BURST = 8


class _Follow:
    """The loop thread's state for one followed motion."""

    def __init__(self, traj: JointTrajectory, handle: Any, stride: float) -> None:
        assert traj.external is not None  # mypy: checked in attach
        self.traj = traj
        self.handle = handle
        self.q_ext = traj.external.q
        self.dt = traj.dt
        self.start: int = handle.start_index
        self.last: int = handle.end_index - 1
        self.step = max(1, round(stride / traj.dt))
        self.k_next = self.start  # next sample to stream
        self.sent: tuple[NDArrayF, float] | None = None  # last streamed (q, trajectory time)
        self.t_base = 0.0  # instant of trajectory time 0 on time.monotonic() (0: robot not moving yet)
        self.moved_at: float | None = None  # device time of the robot's first report off its start
        self.robot_t: list[float] = []  # robot reports: device time [s]
        self.robot_p: list[float] = []  # ... and trajectory time executed [s]
        self.dev_t: list[float] = []  # positioner states: device time [s]
        self.dev_p: list[float] = []  # ... and trajectory time executed [s]
        self.dev_on: list[bool] = []  # ... and whether it ran on the time base
        self.rtt: list[float] = []
        self.lag: list[float] = []
        self.timing = _Timing([], [])

    def take_reports(self) -> None:
        """Collect the robot's new reports; set the time base from the newest."""
        reports = self.handle.take_reports()
        if not reports:
            return
        for t, pos in reports:
            if self.robot_t and t <= self.robot_t[-1]:
                continue  # the same controller cycle reported again
            if self.moved_at is None and pos > self.start + 1e-9:
                # the robot left its start between the previous report and this one
                self.moved_at = self.robot_t[-1] if self.robot_t else t
            self.robot_t.append(t)
            self.robot_p.append(pos * self.dt)
        if self.moved_at is not None:
            base = self.robot_t[-1] - self.robot_p[-1]
            if abs(base - self.t_base) > 2e-5:  # the robot runs at another rate than planned
                self.t_base = base

    def robot_time_at(self, t: float, running: bool, cap: float) -> float:
        """The robot's trajectory time [s] at device time ``t``: between its reports, or run on at
        the planned rate from the newest (while running) for at most ``cap`` [s]."""
        if not self.robot_t:
            return self.start * self.dt
        if t <= self.robot_t[-1]:
            # bisect the report lists (O(log n)): np.interp would copy every report of the motion
            # into arrays each cycle, O(n) with the GIL held: milliseconds per cycle late in a long
            # weld, taken from the robot's control thread and the power source's heartbeat
            ts, ps = self.robot_t, self.robot_p
            i = bisect.bisect_right(ts, t)
            if i == 0:
                return ps[0]
            t0, t1 = ts[i - 1], ts[min(i, len(ts) - 1)]
            p0, p1 = ps[i - 1], ps[min(i, len(ps) - 1)]
            return p0 if t1 <= t0 else p0 + (p1 - p0) * (t - t0) / (t1 - t0)
        ahead = min(t - self.robot_t[-1], cap) if running and self.moved_at is not None else 0.0
        return min(self.robot_p[-1] + ahead, self.last * self.dt)

    def next_setpoint(self) -> tuple[NDArrayF, float]:
        """The next sample to stream (and advance the cursor; the slice's last sample included)."""
        k = self.k_next
        self.k_next = self.last + 1 if k >= self.last else min(k + self.step, self.last)
        return np.asarray(self.q_ext[k], dtype=np.float64), k * self.dt

    def skew(self) -> tuple[list[float], list[float], list[float]]:
        """Positioner minus robot trajectory time [s] at the positioner's reported instants while it
        ran on the time base, up to the robot's last report: (before a stop request, after it); and
        the start delay (robot's first move to the device's first state on the time base) [s] as a
        list of at most one."""
        if self.moved_at is None or len(self.robot_t) < 2 or not self.dev_t:
            return [], [], []
        t = np.asarray(self.dev_t)
        on = np.asarray(self.dev_on, dtype=bool)
        keep = on & (t >= self.moved_at) & (t <= self.robot_t[-1])
        diff = np.asarray(self.dev_p)[keep] - np.interp(t[keep], self.robot_t, self.robot_p)
        stopping = t[keep] >= float(getattr(self.handle, "stop_requested_at", math.inf))
        first = np.flatnonzero(on & (t >= self.moved_at))
        start = [float(t[first[0]] - self.moved_at)] if first.size else []
        return diff[~stopping].tolist(), diff[stopping].tolist(), start


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
        self._motion: tuple[JointTrajectory, Any] | None = None
        self._follow: _Follow | None = None  # the followed motion's samples (loop thread fills them)
        self._hold: NDArrayF | None = None
        self._fault = ""
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._origin = time.monotonic()
        self._counter = 0
        self._all_skew: list[float] = []
        self._all_lag: list[float] = []
        self._all_rtt: list[float] = []
        self._all_start: list[float] = []
        self._all_stop: list[float] = []
        self._all_timing = _Timing([], [])
        self._worst_late = 0.0  # the stream thread's worst lateness so far [s] (sizes the look-ahead)
        self._detached = threading.Event()
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
            self._motion = (traj, handle)
            self._detached.clear()

    def _detach_locked(self) -> None:
        f, self._follow = self._follow, None
        self._motion = None
        if f is not None:
            if f.robot_p:  # hold where the robot's path left the axes (a motion cut short included)
                self._hold = _interp(f.q_ext, f.robot_p[-1] / f.dt)
            skew, stopping, start = f.skew()
            self._last_stats = _stats(skew, f.lag, f.rtt, start, stopping, f.timing)
            self._all_timing.add(f.timing)
            self._all_skew += skew
            self._all_stop += stopping
            self._all_start += start
            self._all_lag += f.lag
            self._all_rtt += f.rtt
        else:
            self._last_stats = None
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
            return _stats(
                self._all_skew,
                self._all_lag,
                self._all_rtt,
                self._all_start,
                self._all_stop,
                self._all_timing,
            )

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

    def _exchange(
        self,
        q: NDArrayF,
        stamp: float | NDArrayF,
        t_base: float | None,
        handle: object | None,
    ) -> tuple[PositionerStatus, float] | None:
        """One exchange: a direct set-point (``t_base`` None) or a timed batch (``q`` shape (n, k),
        ``stamp`` shape (n,)); None (and the fault latched) when the link or the device failed."""
        self._counter = (self._counter + 1) & 0xFFFF
        w0 = time.monotonic()
        try:
            if t_base is None:
                st = self.port.send_setpoint(q, float(stamp), self._counter)
            else:
                st = self.port.send_timed(q, np.atleast_1d(stamp), self._counter, t_base)
        except DriverError as err:
            self._trip(f"positioner {self.name}: link lost ({err}); robot and arc stopped", handle)
            return None
        rtt = time.monotonic() - w0
        if st.fault is not PositionerFault.NONE or not st.enabled:
            why = st.describe_fault(self.port.axes) if st.fault else "the device dropped servo control"
            self._trip(f"positioner {self.name}: {why}; robot and arc stopped", handle)
            return None
        return st, rtt

    def lookahead(self) -> float:
        """The look-ahead [s] the stream uses now (:meth:`PositionerSyncConfig.lookahead_for` the
        stream thread's worst lateness so far)."""
        return self.config.lookahead_for(self._worst_late)

    def _loop(self) -> None:
        if self.config.fifo_priority is not None:
            for note in configure_thread(self.config.fifo_priority):
                log.debug("positioner stream thread: %s", note)
        next_wake = time.monotonic()
        timed = False  # the device's last exchange was a timed one
        while not self._quit.is_set():
            with self._lock:
                motion = self._motion
                f = self._follow
            period = self.config.period if motion is not None else self.config.idle_period
            next_wake += period
            delay = next_wake - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            late = time.monotonic() - next_wake  # this cycle's start after its due time
            if delay <= 0:
                next_wake = time.monotonic()
            if self._fault:
                continue  # latched: the device is faulted or gone; the cell ends the job
            if motion is not None and (f is None or f.handle is not motion[1]):
                if timed:  # leave the previous motion's timed stream (the next one starts afresh)
                    assert self._hold is not None  # mypy: set by start()
                    if self._exchange(self._hold, time.monotonic() - self._origin, None, motion[1]) is None:
                        continue
                    timed = False
                f = _Follow(motion[0], motion[1], self.config.stride)
                with self._lock:
                    if self._motion is motion:
                        self._follow = f
            if motion is None or f is None:
                assert self._hold is not None  # mypy: set by start()
                timed = False
                self._exchange(self._hold, time.monotonic() - self._origin, None, None)
                continue
            if late > self._worst_late:
                self._worst_late = late
            f.timing.late.append(late)
            self._follow_cycle(f, motion)
            timed = True

    def _follow_cycle(self, f: _Follow, motion: tuple[JointTrajectory, Any]) -> None:
        """One cycle of a followed motion: stream up to the look-ahead, check the lag, detach at its end."""
        handle = f.handle
        ended = bool(handle.done)
        running = not ended and not handle.stop_requested
        f.take_reports()
        now = time.monotonic()
        lookahead = self.lookahead()
        f.timing.lookahead = max(f.timing.lookahead, lookahead)
        horizon = f.robot_time_at(now, running, self.config.extrapolation_cap) + lookahead
        results: list[tuple[PositionerStatus, float]] = []
        size = max(1, int(self.port.batch_size))
        for _ in range(_BURST):  # batches catch up after a stall (bounded: the cycle must end)
            if f.k_next > f.last or f.k_next * f.dt > horizon:
                break
            f.take_reports()  # the time base as fresh as the robot's reports
            batch = [f.next_setpoint()]
            while len(batch) < size and f.k_next <= f.last and f.k_next * f.dt <= horizon:
                batch.append(f.next_setpoint())
            f.sent = batch[-1]
            q = np.array([b[0] for b in batch])
            r = self._exchange(q, np.array([b[1] for b in batch]), f.t_base, handle)
            if r is None:
                return
            results.append(r)
        if not results:  # all streamed ahead: a keep-alive (not buffered twice) reads the status
            assert f.sent is not None  # mypy: the first cycle streams the first sample
            r = self._exchange(f.sent[0][None], np.array([f.sent[1]]), f.t_base, handle)
            if r is None:
                return
            results.append(r)
        for st, rtt in results:
            f.rtt.append(rtt)
            if st.timed:
                f.dev_t.append(st.device_time)
                f.dev_p.append(st.t_exec)
                f.dev_on.append(st.running)
        st = results[-1][0]
        f.take_reports()
        t_robot = f.robot_time_at(st.device_time, running, self.config.extrapolation_cap)
        if running and f.moved_at is not None and f.k_next <= f.last and f.sent is not None:
            f.timing.lead.append(f.sent[1] - t_robot)  # how far ahead the device's buffer reaches
        planned = _interp(f.q_ext, t_robot / f.dt)
        lt = self.config.lag_time
        speed = np.max(  # the planned speed over the last lag_time (a drive catching up at a stop)
            [np.abs(_interp(f.traj.external.qd, (t_robot - x * lt) / f.dt)) for x in (0.0, 0.5, 1.0)],  # type: ignore[union-attr]
            axis=0,
        )
        dev = np.abs(np.asarray(st.q) - planned)
        tol = self._tol + speed * lt
        f.lag.append(float(np.max(dev)))
        over = np.flatnonzero(dev > tol)
        if over.size:
            i = int(over[0])
            self._trip(
                f"positioner {self.name} lags: axis {self._names[i]!r} is {dev[i]:.5f} from its planned "
                f"position at path time {t_robot:.3f} s (tolerance {tol[i]:.5f}); "
                "robot and arc stopped",
                handle,
            )
            return
        if ended:  # the robot's final position: hold there from now on
            self._hold = _interp(f.q_ext, float(handle.progress.position))
            with self._lock:
                if self._motion is motion:
                    self._detach_locked()


def _interp(q: NDArrayF, pos: float) -> NDArrayF:
    """Row ``pos`` (fractional index) of ``q`` by linear interpolation, clamped to the ends."""
    n = q.shape[0]
    pos = min(max(pos, 0.0), n - 1.0)
    i = min(int(pos), n - 2) if n > 1 else 0
    f = pos - i
    return np.asarray(q[i] if n == 1 else q[i] * (1 - f) + q[i + 1] * f, dtype=np.float64)
