"""Simulated servo axes behind the positioner register map: the virtual positioner's behaviour.

:class:`ServoAxes` is the whole device: it decodes the command block, checks every set-point
(travel limits, over-speed against the previous set-point by their time stamps, stale time stamps),
moves the actual positions on its own tick (velocity feed-forward from the set-points plus a
proportional term, acceleration limited to the axis maximum, an optional response delay), watches
the following error and the watchdog, and encodes the status block. Any violation latches a fault,
drops servo control and brakes the axes at their maximum deceleration. Time is given by the caller
(``now`` [s], a monotonic clock), so the model is deterministic under test.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.drivers.positioner import registers as reg
from weldcell.drivers.positioner.base import AxisSpec, PositionerFault
from weldcell.errors import InvalidValueError

log = logging.getLogger(__name__)

NDArrayF = npt.NDArray[np.float64]


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
    """

    setpoints: int
    fault: int
    fault_axis: int
    max_following_error: list[float]
    q: list[float]


class ServoAxes:
    """The simulated drive (see module docstring). Not thread-safe: one caller (the server loop).

    Args:
        config: Axes and behaviour.
        q0: Initial positions [rad or m], shape (k,); default: mid-travel clipped to include 0.
        now: Current time [s].
    """

    def __init__(self, config: ServoConfig, q0: npt.ArrayLike | None = None, now: float = 0.0) -> None:
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
        self.counter = 0
        self.t_applied = 0.0
        self.setpoints = 0
        self.max_following_error = np.zeros(k)
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
        if address < 0 or end > reg.COMMAND_END:
            raise InvalidValueError(
                f"write {address}..{end - 1}: only the command block 0..{reg.COMMAND_END - 1}"
            )
        self._regs[address:end] = [int(v) & 0xFFFF for v in values]
        if address <= reg.WATCHDOG_MS < end:
            ms = self._regs[reg.WATCHDOG_MS]
            self.watchdog = ms / 1000.0 if ms else self.config.watchdog
        if address <= reg.CONTROL < end:
            self._apply_control(self._regs[reg.CONTROL], now)
        k = len(self.config.axes)
        if address <= reg.COUNTER and end >= reg.SETPOINT + 2 * k:
            self._apply_setpoint(now)

    def read_registers(self, address: int, count: int, now: float) -> list[int]:
        """Words ``address .. address + count - 1`` (status refreshed to ``now``)."""
        self.step(now)
        if address < 0 or address + count > reg.INFO_END:
            raise InvalidValueError(f"read {address}..{address + count - 1}: outside 0..{reg.INFO_END - 1}")
        k = len(self.config.axes)
        regs = self._regs
        regs[reg.STATUS] = (reg.ST_ENABLED if self.enabled else 0) | (
            reg.ST_FAULT if self.fault is not PositionerFault.NONE else 0
        )
        regs[reg.FAULT_CODE] = int(self.fault)
        regs[reg.FAULT_AXIS] = self.fault_axis + 1
        regs[reg.COUNTER_ECHO] = self.counter
        regs[reg.T_APPLIED_US : reg.T_APPLIED_US + 2] = reg.words_from_time(min(self.t_applied, reg.T_LIMIT))
        regs[reg.ACTUAL : reg.ACTUAL + 2 * k] = reg.words_from_i32(self.q)
        regs[reg.VELOCITY : reg.VELOCITY + 2 * k] = reg.words_from_i32(self.qd)
        return regs[address : address + count]

    def _apply_control(self, word: int, now: float) -> None:
        rising = word & ~self._control
        self._control = word
        if rising & reg.CTRL_RESET:
            self.fault, self.fault_axis = PositionerFault.NONE, -1
        if not word & reg.CTRL_ENABLE:
            self.enabled = False
        elif not self.enabled and self.fault is PositionerFault.NONE:
            self.enabled = True  # hold where the axes are: the first set-point continues from here
            self._sp, self._act_sp = self.q.copy(), self.q.copy()
            self._sp_v, self._act_v = np.zeros_like(self.q), np.zeros_like(self.q)
            self._sp_stamp, self._sp_wall, self._act_wall = None, now, now
            self._pending.clear()

    def _apply_setpoint(self, now: float) -> None:
        if not self.enabled:
            return  # set-points are ignored while disabled (the status says so)
        k = len(self.config.axes)
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
        self._sp, self._sp_v, self._sp_stamp, self._sp_wall = sp, v, stamp, now
        self.counter = self._regs[reg.COUNTER]
        self.t_applied = stamp
        self.setpoints += 1
        if self.config.response_delay > 0:
            self._pending.append((now + self.config.response_delay, sp, v))
        else:
            self._act_sp, self._act_v, self._act_wall = sp, v, now

    # --- the drive's control loop ------------------------------------------------------------------
    def step(self, now: float) -> None:
        """Advance the drive to ``now`` [s] in ticks (watchdog, delayed set-points, motion, lag)."""
        tick = self.config.tick
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
        if self.enabled:
            # the drive interpolates between set-points: the command runs on with the set-point speed
            # for at most one watchdog time
            target = self._act_sp + self._act_v * min(t - self._act_wall, self.watchdog)
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

    def counters(self) -> ServoCounters:
        """What the drive saw so far."""
        return ServoCounters(
            self.setpoints,
            int(self.fault),
            self.fault_axis,
            [float(x) for x in self.max_following_error],
            [float(x) for x in self.q],
        )
