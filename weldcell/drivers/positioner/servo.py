"""Simulated servo axes behind the positioner register map: the virtual positioner's behaviour.

:class:`ServoAxes` is the whole device: it decodes the command block, checks every set-point
(travel limits, over-speed against the previous set-point by their time stamps, stale time stamps),
moves the actual positions on its own tick (velocity feed-forward from the set-points plus a
proportional term, acceleration limited to the axis maximum, an optional response delay), watches
the following error and the watchdog, and encodes the status block. In timed mode (``CTRL_TIMED``)
the set-points are buffered and the drive executes trajectory time ``now - T_BASE`` on its own
clock, interpolating the buffer (so when a set-point arrives does not matter, as long as it arrives
before it is due). Any violation latches a fault,
drops servo control and brakes the axes at their maximum deceleration. Time is given by the caller
(``now`` [s], a monotonic clock), so the model is deterministic under test.

**Own stalls.** A real drive supervises continuously; the virtual one only runs when its process is
scheduled. With ``own_stall`` set (the server sets it; a manual clock leaves it None), a gap longer
than that between two calls is the model's *own* scheduling stall: set-points that arrived meanwhile
were waiting in the socket, so the watchdog resumes where it stopped instead of counting the
unobserved gap against the cell (motion still advances tick by tick over it). The counters report
those stalls, the largest gap, and how early (``lead_min``) or late (``late_setpoints``,
``late_max``) timed set-points arrived against the instant the drive executes them: the figures
that tell a starved stream (set-points late) from a starved device (own stalls).

**Time base ramp (issue 18).** A new ``T_BASE`` is not applied at once: the drive's interpolator
slews its effective time base towards it with a bounded second derivative, as a real drive's
interpolator ramps a change of its master clock. When the robot's path falls behind at once the cell
sends a time base later by that delay; applied as a step, the trajectory clock would stop dead
("never backwards") while the axis runs at speed, which no axis can follow (following-error fault).
The clock rate ``r = d(trajectory time)/dt`` changes by at most
``CLOCK_ACCEL_SHARE · max_accel / |segment speed|`` per second (the path speed times the clock's
acceleration stays within that share of each axis's acceleration), stays in ``[0, 1 + CLOCK_CATCH_UP]``
(never backwards; at most 10 % fast and never above an axis's speed when catching up with an earlier
time base), and lands on the commanded base with rate 1 (time-optimal under that bound). The first
time base of a stream is taken as is (the axes stand at the first sample). The trajectory time
executed (``T_EXEC``) is the ramped one, so the cell measures the skew of the ramp, and a drive that
really lags (a response delay) still shows it.
"""

from __future__ import annotations

import collections
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.drivers.positioner import registers as reg
from weldcell.drivers.positioner.base import AxisSpec, PositionerFault
from weldcell.errors import InvalidValueError

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]

#: Share of each axis's acceleration the time-base ramp may use (the planned path uses the rest).
CLOCK_ACCEL_SHARE = 0.5
#: Most the trajectory clock runs fast (fraction) while catching up with an earlier time base.
CLOCK_CATCH_UP = 0.1
#: Largest clock acceleration [1/s] (an axis standing still: the ramp is then one of a few ticks).
_CLOCK_ACCEL_MAX = 1.0e4


@dataclass(frozen=True, slots=True)
class ServoConfig:
    """Behaviour of the simulated drive.

    Attributes:
        axes: The axes (1 … 6).
        watchdog: Default watchdog time [s] (the cell may write its own in ``WATCHDOG_MS``).
        following_error_rad: Following-error fault limit of revolute axes [rad].
        following_error_m: Following-error fault limit of prismatic axes [m].
        response_delay: Extra delay [s] before a set-point acts on the drive (a sluggish drive;
            0 for a healthy one). Used to test the cell's lag supervision.
        time_constant: Position-loop time constant [s] of the proportional term.
        speed_margin: Over-speed fault above ``max_speed * (1 + speed_margin)``.
        tick: Period of the drive's control loop [s].
    """

    axes: tuple[AxisSpec, ...]
    watchdog: float = 0.1
    following_error_rad: float = 0.05
    following_error_m: float = 0.005
    response_delay: float = 0.0
    time_constant: float = 0.005
    speed_margin: float = 0.1
    tick: float = 0.001

    def __post_init__(self) -> None:
        if not 1 <= len(self.axes) <= reg.MAX_AXES:
            raise InvalidValueError(f"a positioner has 1 … {reg.MAX_AXES} axes, got {len(self.axes)}")
        names = [a.name for a in self.axes]
        if len(set(names)) != len(names):
            raise InvalidValueError(f"axis names must be unique, got {names}")
        for name in ("watchdog", "following_error_rad", "following_error_m", "time_constant", "tick"):
            if not getattr(self, name) > 0:
                raise InvalidValueError(f"ServoConfig.{name} must be > 0, got {getattr(self, name)}")
        if not 0 <= self.response_delay <= 10 or not 0 <= self.speed_margin <= 1:
            raise InvalidValueError(
                f"ServoConfig.response_delay {self.response_delay} s must be in [0, 10], "
                f"speed_margin {self.speed_margin} in [0, 1]"
            )


@dataclass(frozen=True, slots=True)
class ServoCounters:
    """What the drive saw (for tests and the controller's final status).

    Attributes:
        setpoints: Set-points applied.
        fault: Latched fault code (0 none).
        fault_axis: Its axis index, -1 none.
        max_following_error: Largest following error while enabled, per axis [rad or m].
        q: Final actual positions [rad or m].
        max_step_gap: Largest gap between two updates of the model [s] (the device's own lateness:
            with the server ticking every ``tick``, anything far above it is its thread not run).
        stalls: Gaps longer than ``own_stall`` (own scheduling stalls; 0 without ``own_stall``).
        late_setpoints: Timed set-points that arrived after the instant the drive was due to
            execute them (time base + trajectory time): a stream that fell behind its look-ahead.
        late_max: The latest of them [s] after its due instant (0 if none).
        lead_min: Smallest time [s] a timed set-point arrived before its due instant (negative:
            late); None before any set-point ran on a time base.
    """

    setpoints: int
    fault: int
    fault_axis: int
    max_following_error: list[float]
    q: list[float]
    max_step_gap: float = 0.0
    stalls: int = 0
    late_setpoints: int = 0
    late_max: float = 0.0
    lead_min: float | None = None


class ServoAxes:
    """The simulated drive (see module docstring). Not thread-safe: one caller (the server loop).

    Args:
        config: Axes and behaviour.
        q0: Initial positions [rad or m], shape (k,); default: mid-travel clipped to include 0.
        now: Current time [s].
        own_stall: Gap [s] between two calls above which the gap is the model's own scheduling
            stall, not counted by the watchdog (see module docstring); None: every gap counts.
    """

    def __init__(
        self,
        config: ServoConfig,
        q0: npt.ArrayLike | None = None,
        now: float = 0.0,
        own_stall: float | None = None,
    ) -> None:
        self.config = config
        ax = config.axes
        k = len(ax)
        self._lo = np.array([a.lower for a in ax])
        self._hi = np.array([a.upper for a in ax])
        self._vmax = np.array([a.max_speed for a in ax])
        self._amax = np.array([a.max_accel for a in ax])
        self._fe_limit = np.array(
            [config.following_error_rad if a.kind == "revolute" else config.following_error_m for a in ax]
        )
        q = np.clip(np.zeros(k), self._lo, self._hi) if q0 is None else np.asarray(q0, dtype=np.float64)
        if q.shape != (k,) or np.any(q < self._lo) or np.any(q > self._hi):
            raise InvalidValueError(f"initial positions {q.tolist()} outside the axes' travel")
        self.q = q.copy()
        self.qd = np.zeros(k)
        self.enabled = False
        self.fault = PositionerFault.NONE
        self.fault_axis = -1
        self.watchdog = config.watchdog
        self._control = 0
        self._sp = q.copy()  # latest set-point
        self._sp_v = np.zeros(k)  # its velocity (feed-forward) [unit/s]
        self._sp_stamp: float | None = None  # its time stamp [s]
        self._sp_wall = now  # when it arrived
        self._pending: collections.deque[tuple[float, NDArrayF, NDArrayF]] = collections.deque()
        self._act_sp = q.copy()  # the set-point acting on the drive (after the response delay)
        self._act_v = np.zeros(k)
        self._act_wall = now
        self._t_last = now
        self.timed = False
        self.t_base = 0.0  # timed mode: instant of trajectory time 0 [s] on the device clock (0: none)
        self._buf: collections.deque[tuple[float, NDArrayF]] = collections.deque()
        self._base_eff = 0.0  # timed mode: the ramped time base the clock runs on [s] (0: none yet)
        self._base_rate = 0.0  # its rate of change [s/s]: the trajectory clock runs at 1 - this
        self._tau = 0.0  # timed mode: trajectory time of the device clock at the last tick [s]
        self._t_exec = 0.0  # ... and of the position commanded then (the newest set-point's, past it)
        self._seg_v = np.zeros(k)  # its set-point speed (the buffer segment's slope)
        self._target = q.copy()  # the position the drive was last commanded (after the tick)
        self.counter = 0
        self.t_applied = 0.0
        self.setpoints = 0
        self.max_following_error = np.zeros(k)
        self.own_stall = own_stall
        self.max_step_gap = 0.0
        self.stalls = 0
        self.late_setpoints = 0
        self.late_max = 0.0
        self.lead_min: float | None = None
        self._regs = [0] * reg.INFO_END
        self._regs[reg.N_AXES : reg.N_AXES + len(reg.info_words(ax))] = reg.info_words(ax)

    # --- faults -----------------------------------------------------------------------------------
    def _trip(self, fault: PositionerFault, axis: int) -> None:
        if self.fault is PositionerFault.NONE:
            self.fault, self.fault_axis = fault, axis
        self.enabled = False

    # --- register access --------------------------------------------------------------------------
    def write_registers(self, address: int, values: Sequence[int], now: float) -> None:
        """Apply a write of ``values`` at ``address`` (FC 6, 16 or the write half of 23)."""
        self.step(now)
        end = address + len(values)
        if address == reg.BATCH and reg.B_ENTRIES <= end <= reg.BATCH_END:
            self._apply_batch([int(v) & 0xFFFF for v in values], now)
            return
        if address < 0 or end > reg.COMMAND_END:
            raise InvalidValueError(
                f"write {address}..{end - 1}: only the command block 0..{reg.COMMAND_END - 1} "
                f"or a timed batch from {reg.BATCH}"
            )
        self._regs[address:end] = [int(v) & 0xFFFF for v in values]
        if address <= reg.WATCHDOG_MS < end:
            ms = self._regs[reg.WATCHDOG_MS]
            self.watchdog = ms / 1000.0 if ms else self.config.watchdog
        if address <= reg.CONTROL < end:
            self._apply_control(self._regs[reg.CONTROL], now)
        if address <= reg.T_BASE_US and end >= reg.T_BASE_US + 4:
            self.t_base = reg.u64_time_from_words(self._regs[reg.T_BASE_US : reg.T_BASE_US + 4])
        k = len(self.config.axes)
        if address <= reg.COUNTER and end >= reg.SETPOINT + 2 * k:
            self._apply_setpoint(now)
        if self.timed and self.enabled:  # the status pairs the last tick's time with its path time
            self._target = self._timed_target(self._t_last)[0]

    def read_registers(self, address: int, count: int, now: float) -> list[int]:
        """Words ``address .. address + count - 1`` (status refreshed to ``now``)."""
        self.step(now)
        if address < 0 or address + count > reg.INFO_END:
            raise InvalidValueError(f"read {address}..{address + count - 1}: outside 0..{reg.INFO_END - 1}")
        k = len(self.config.axes)
        regs = self._regs
        regs[reg.STATUS] = (
            (reg.ST_ENABLED if self.enabled else 0)
            | (reg.ST_FAULT if self.fault is not PositionerFault.NONE else 0)
            | (reg.ST_TIMED if self.timed else 0)
            | (reg.ST_RUNNING if self.timed and self.t_base > 0 else 0)
        )
        regs[reg.FAULT_CODE] = int(self.fault)
        regs[reg.FAULT_AXIS] = self.fault_axis + 1
        regs[reg.COUNTER_ECHO] = self.counter
        regs[reg.T_APPLIED_US : reg.T_APPLIED_US + 2] = reg.words_from_time(min(self.t_applied, reg.T_LIMIT))
        regs[reg.ACTUAL : reg.ACTUAL + 2 * k] = reg.words_from_i32(self.q)
        regs[reg.VELOCITY : reg.VELOCITY + 2 * k] = reg.words_from_i32(self.qd)
        t_exec = self._t_exec if self.timed else self.t_applied
        regs[reg.T_EXEC_US : reg.T_EXEC_US + 2] = reg.words_from_time(min(max(t_exec, 0.0), reg.T_LIMIT))
        regs[reg.DEVICE_TIME_US : reg.DEVICE_TIME_US + 4] = reg.words_from_u64_time(max(self._t_last, 0.0))
        return regs[address : address + count]

    def _apply_control(self, word: int, now: float) -> None:
        rising = word & ~self._control
        falling = self._control & ~word
        self._control = word
        if rising & reg.CTRL_RESET:
            self.fault, self.fault_axis = PositionerFault.NONE, -1
        if not word & reg.CTRL_ENABLE:
            self.enabled = False
        elif not self.enabled and self.fault is PositionerFault.NONE:
            self.enabled = True  # hold where the axes are: the first set-point continues from here
            self._hold(self.q, now)
        if rising & reg.CTRL_TIMED:  # a new timed stream: empty buffer, no time base yet
            self.timed, self.t_base, self._tau = True, 0.0, 0.0
            self._base_eff, self._base_rate = 0.0, 0.0
            self._buf.clear()
            self._sp_stamp = None  # its stamps are trajectory times: a new sequence
        elif falling & reg.CTRL_TIMED:  # back to direct set-points: hold where the drive was going
            self.timed = False
            self._buf.clear()
            self._hold(self._target, now)

    def _hold(self, q: NDArrayF, now: float) -> None:
        self._sp, self._act_sp, self._target = q.copy(), q.copy(), q.copy()
        self._sp_v, self._act_v, self._seg_v = np.zeros_like(q), np.zeros_like(q), np.zeros_like(q)
        self._sp_stamp, self._sp_wall, self._act_wall = None, now, now
        self._pending.clear()

    def _apply_batch(self, words: list[int], now: float) -> None:
        """A timed batch write (``registers.BATCH``): control, counter, time base, watchdog, then
        ``B_COUNT`` set-points (trajectory time, positions), each taken as a timed set-point."""
        k = len(self.config.axes)
        n = words[reg.B_COUNT - reg.BATCH]
        stride = 2 + 2 * k
        if not 1 <= n <= reg.batch_capacity(k) or len(words) < reg.B_ENTRIES - reg.BATCH + n * stride:
            raise InvalidValueError(f"timed batch of {n} set-points in {len(words)} words ({k} axes)")
        ms = words[reg.B_WATCHDOG_MS - reg.BATCH]
        self.watchdog = ms / 1000.0 if ms else self.config.watchdog
        self._regs[reg.CONTROL] = words[0] | reg.CTRL_TIMED
        self._apply_control(self._regs[reg.CONTROL], now)
        self.t_base = reg.u64_time_from_words(words[2:6])
        self._regs[reg.COUNTER] = words[1]
        base = reg.B_ENTRIES - reg.BATCH
        for j in range(n):
            e = words[base + j * stride : base + (j + 1) * stride]
            self._apply_setpoint(now, reg.i32_from_words(e[2:]), reg.time_from_words(e[:2]))
            if self.fault is not PositionerFault.NONE:
                break
        if self.enabled:
            self._target = self._timed_target(self._t_last)[0]

    def _apply_setpoint(self, now: float, sp: NDArrayF | None = None, stamp: float | None = None) -> None:
        if not self.enabled:
            return  # set-points are ignored while disabled (the status says so)
        k = len(self.config.axes)
        if sp is None or stamp is None:
            sp = reg.i32_from_words(self._regs[reg.SETPOINT : reg.SETPOINT + 2 * k])
            stamp = reg.time_from_words(self._regs[reg.T_SETPOINT_US : reg.T_SETPOINT_US + 2])
        out = np.flatnonzero((sp < self._lo - 1e-9) | (sp > self._hi + 1e-9))
        if out.size:
            self._trip(PositionerFault.POSITION_LIMIT, int(out[0]))
            return
        v = np.zeros(k)
        if self._sp_stamp is not None:
            dt = stamp - self._sp_stamp
            dq = sp - self._sp
            quantum = 2 * reg.SCALE  # positions and stamps are rounded to 1 µrad / µm / µs
            if dt < 0 or (dt == 0 and np.any(np.abs(dq) > quantum)):
                self._trip(PositionerFault.STALE_SETPOINT, int(np.argmax(np.abs(dq))))
                return
            limit = self._vmax * (1 + self.config.speed_margin) * (dt + reg.SCALE) + quantum
            fast = np.flatnonzero(np.abs(dq) > limit)
            if fast.size:
                i = int(fast[0])
                log.warning(
                    "positioner axis %s: set-point moves %.6f in %.6f s (limit %.6f): over-speed",
                    self.config.axes[i].name, dq[i], dt, limit[i],
                )  # fmt: skip
                self._trip(PositionerFault.OVERSPEED, i)
                return
            if dt > 0:
                v = np.clip(dq / dt, -self._vmax, self._vmax)
        fresh = self._sp_stamp is None or stamp > self._sp_stamp
        if self.timed and fresh and self.t_base > 0.0:
            lead = self.t_base + stamp + self.config.response_delay - now  # due instant - arrival
            self.lead_min = lead if self.lead_min is None else min(self.lead_min, lead)
            if lead < 0.0:
                self.late_setpoints += 1
                self.late_max = max(self.late_max, -lead)
        self._sp, self._sp_v, self._sp_stamp, self._sp_wall = sp, v, stamp, now
        self.counter = self._regs[reg.COUNTER]
        self.t_applied = stamp
        self.setpoints += 1
        if self.timed:
            if not self._buf:
                self._tau = self._t_exec = stamp  # the stream starts here (held until its time base)
            if fresh:  # a repeated set-point (a keep-alive) is not buffered twice
                while (
                    len(self._buf) >= reg.BUFFER_SIZE and len(self._buf) > 1 and self._buf[1][0] <= self._tau
                ):
                    self._buf.popleft()
                if len(self._buf) >= reg.BUFFER_SIZE:
                    self._trip(PositionerFault.BUFFER_OVERFLOW, -1)
                    return
                self._buf.append((stamp, sp))
        elif self.config.response_delay > 0:
            self._pending.append((now + self.config.response_delay, sp, v))
        else:
            self._act_sp, self._act_v, self._act_wall = sp, v, now

    # --- the drive's control loop ------------------------------------------------------------------
    def step(self, now: float) -> None:
        """Advance the drive to ``now`` [s] in ticks (watchdog, delayed set-points, motion, lag)."""
        tick = self.config.tick
        gap = now - self._t_last
        self.max_step_gap = max(self.max_step_gap, gap)
        if self.own_stall is not None and gap > self.own_stall:
            # not observed: what arrived meanwhile waited in the socket; the watchdog resumes here
            self.stalls += 1
            self._sp_wall += gap
        while self._t_last + tick <= now + 1e-12:
            t = self._t_last + tick
            self._tick(t, tick)
            self._t_last = t

    def _tick(self, t: float, dt: float) -> None:
        if self.enabled and t - self._sp_wall > self.watchdog:
            self._trip(PositionerFault.WATCHDOG, -1)
        while self._pending and self._pending[0][0] <= t:
            _, self._act_sp, self._act_v = self._pending.popleft()
            self._act_wall = t
        if self.enabled and self.timed:
            self._ramp_time_base(dt)
            target, v_ff = self._timed_target(t)
            self._target = target
            v_cmd = np.clip(v_ff + (target - self.q) / self.config.time_constant, -self._vmax, self._vmax)
        elif self.enabled:
            # the drive interpolates between set-points: the command runs on with the set-point speed
            # for at most one watchdog time
            target = self._act_sp + self._act_v * min(t - self._act_wall, self.watchdog)
            self._target = target
            v_cmd = self._act_v + (target - self.q) / self.config.time_constant
            v_cmd = np.clip(v_cmd, -self._vmax, self._vmax)
        else:
            target = None
            v_cmd = np.zeros_like(self.q)
        dv = np.clip(v_cmd - self.qd, -self._amax * dt, self._amax * dt)
        self.qd = self.qd + dv
        self.q = np.clip(self.q + self.qd * dt, self._lo, self._hi)
        if target is not None:
            err = np.abs(target - self.q)
            self.max_following_error = np.maximum(self.max_following_error, err)
            over = np.flatnonzero(err > self._fe_limit)
            if over.size:
                self._trip(PositionerFault.FOLLOWING_ERROR, int(over[0]))

    def _ramp_time_base(self, dt: float) -> None:
        """Slew the effective time base towards ``T_BASE`` over one tick of ``dt`` [s] (module
        docstring: bounded clock acceleration, rate in ``[0, 1 + CLOCK_CATCH_UP]``)."""
        if self.t_base <= 0.0:
            return
        if self._base_eff <= 0.0:  # the stream's first time base: the axes stand at its first sample
            self._base_eff, self._base_rate = self.t_base, 0.0
            return
        e = self.t_base - self._base_eff
        if e == 0.0 and self._base_rate == 0.0:
            return
        v = np.abs(self._seg_v)
        moving = v > 1e-12
        accel, r_max = _CLOCK_ACCEL_MAX, 1.0 + CLOCK_CATCH_UP  # [1/s], [-]
        if moving.any():
            accel = min(accel, float(np.min(CLOCK_ACCEL_SHARE * self._amax[moving] / v[moving])))
            r_max = min(r_max, max(1.0, float(np.min(self._vmax[moving] / v[moving]))))
        if abs(e) <= accel * dt * dt and abs(self._base_rate) <= accel * dt:
            self._base_eff, self._base_rate = self.t_base, 0.0  # landed
            return
        wanted = math.copysign(math.sqrt(2.0 * accel * abs(e)), e)  # the rate that brakes onto it
        wanted = min(max(wanted, 1.0 - r_max), 1.0)
        step = accel * dt
        self._base_rate += min(max(wanted - self._base_rate, -step), step)
        self._base_eff += self._base_rate * dt

    def _timed_target(self, t: float) -> tuple[NDArrayF, NDArrayF]:
        """Timed mode: the buffered path at trajectory time ``t`` minus the (ramped) time base, never
        backwards, and its speed; before the time base or the first set-point: hold."""
        buf = self._buf
        if not buf:
            return self._target, np.zeros_like(self.q)
        if self.t_base <= 0.0:
            self._tau = self._t_exec = buf[0][0]
            return buf[0][1], np.zeros_like(self.q)
        if self._base_eff <= 0.0:  # the stream's first time base: the axes stand at its first sample
            self._base_eff, self._base_rate = self.t_base, 0.0
        clock = t - self._base_eff - self.config.response_delay
        rate = 1.0 - self._base_rate if clock >= self._tau else 0.0  # the trajectory clock's rate
        self._tau = tau = max(self._tau, clock)
        self._t_exec = tau
        while len(buf) > 1 and buf[1][0] <= tau:
            buf.popleft()
        t0, q0 = buf[0]
        if tau <= t0:
            return q0, np.zeros_like(q0)
        if len(buf) > 1:
            t1, q1 = buf[1]
            self._seg_v = (q1 - q0) / (t1 - t0)
            return q0 + self._seg_v * (tau - t0), self._seg_v * rate
        # past the newest set-point (the stream's end, or an underrun): hold it, never beyond; the
        # status reports the trajectory time of what it holds
        self._t_exec = t0
        return q0, np.zeros_like(q0)

    def counters(self) -> ServoCounters:
        """What the drive saw so far."""
        return ServoCounters(
            self.setpoints,
            int(self.fault),
            self.fault_axis,
            [float(x) for x in self.max_following_error],
            [float(x) for x in self.q],
            self.max_step_gap,
            self.stalls,
            self.late_setpoints,
            self.late_max,
            self.lead_min,
        )
