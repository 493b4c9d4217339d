"""The virtual UR controller's core: robot/safety state, I/O, registers, joint plant and URScript runtime.

One :class:`ControllerCore` is stepped once per controller cycle (2 ms e-Series, 8 ms CB3) by the
virtual controller process. The network servers (RTDE, Dashboard, script ports) only touch it under
``core.lock``. Modes and bit layouts follow the RTDE guide (``robot_mode``, ``safety_mode``,
``runtime_state``, ``robot_status_bits``, ``safety_status_bits``).

Plant model: the controller tracks its joint target exactly, one cycle late (``actual_q`` of cycle
k is ``target_q`` of cycle k-1). Every target is checked against the joint position and speed
limits of :mod:`weldcell.drivers.ur.models`; a violation is a protective stop, as a real
controller's joint-limit and servo deviation checks do.
"""

from __future__ import annotations

import gc
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from weldcell.drivers.ur import models
from weldcell.drivers.ur.virtual.builtins import ProtectiveStopError, urscript_builtins
from weldcell.drivers.ur.virtual.motion import MotionError, MotionExecutor
from weldcell.drivers.ur.virtual.safety import SafetyMonitor, SafetyViolation
from weldcell.drivers.ur.virtual.urscript import TIMED_BUILTINS, Interpreter, Program, URScriptError
from weldcell.errors import DriverError
from weldcell.kinematics.safety import SafetyLimits

log = logging.getLogger(__name__)


class RobotMode(IntEnum):
    """RTDE ``robot_mode`` values."""

    NO_CONTROLLER = -1
    DISCONNECTED = 0
    CONFIRM_SAFETY = 1
    BOOTING = 2
    POWER_OFF = 3
    POWER_ON = 4
    IDLE = 5
    BACKDRIVE = 6
    RUNNING = 7
    UPDATING_FIRMWARE = 8


class SafetyMode(IntEnum):
    """RTDE ``safety_mode`` values (dashboard ``safetymode`` names)."""

    NORMAL = 1
    REDUCED = 2
    PROTECTIVE_STOP = 3
    RECOVERY = 4
    SAFEGUARD_STOP = 5
    SYSTEM_EMERGENCY_STOP = 6
    ROBOT_EMERGENCY_STOP = 7
    VIOLATION = 8
    FAULT = 9


class RuntimeState(IntEnum):
    """RTDE ``runtime_state`` values."""

    STOPPING = 0
    STOPPED = 1
    PLAYING = 2
    PAUSING = 3
    PAUSED = 4
    RESUMING = 5


_SAFETY_BIT = {
    SafetyMode.NORMAL: 0,
    SafetyMode.REDUCED: 1,
    SafetyMode.PROTECTIVE_STOP: 2,
    SafetyMode.RECOVERY: 3,
    SafetyMode.SAFEGUARD_STOP: 4,
    SafetyMode.SYSTEM_EMERGENCY_STOP: 5,
    SafetyMode.ROBOT_EMERGENCY_STOP: 6,
    SafetyMode.VIOLATION: 8,
    SafetyMode.FAULT: 9,
}


class VirtualControllerConfigError(DriverError, ValueError):
    """A virtual controller configuration that cannot run (unknown arm, bad q_home, ...)."""


@dataclass(frozen=True)
class CoreConfig:
    """Configuration of a virtual controller.

    Attributes:
        arm: Arm name in :data:`weldcell.drivers.ur.models.ARMS`.
        version: Advertised software version (major, minor, bugfix, build); major 3 = CB3 (125 Hz).
        powered: Boot with the arm powered and brakes released (RUNNING) instead of POWER_OFF.
        q_home: Initial joint positions [rad], shape (6,).
        outputs_low_on_stop: Standard digital outputs the installation sets low when a program
            stops (bit mask). Default: DO0, the arc-on output in weldcell's default wiring.
        speed_margin: Joint speed check tolerance (a target faster than ``qd_max * (1 + margin)``
            is a protective stop).
        unlock_delay: Seconds after a protective stop before ``unlock protective stop`` works.
        arc_loopback: (output, input, delay [s]): the input follows the output after the delay
            (a welding power source's "arc established" answering "arc on"); None = off.
        serial: Serial number reported by the dashboard.
        safety: The safety configuration checked on every cycle
            (:mod:`weldcell.drivers.ur.virtual.safety`); None = UR's default preset for the arm.
    """

    arm: str = "ur5e"
    version: tuple[int, int, int, int] = (5, 11, 1, 108318)
    powered: bool = True
    q_home: tuple[float, ...] = (0.0, -1.5708, 1.5708, -1.5708, -1.5708, 0.0)
    outputs_low_on_stop: int = 0x01
    speed_margin: float = 0.02
    unlock_delay: float = 5.0
    arc_loopback: tuple[int, int, float] | None = None
    serial: str = "20235000001"
    safety: SafetyLimits | None = None

    def __post_init__(self) -> None:
        """Reject a configuration the controller cannot run (named field, value and expectation).

        Raises:
            VirtualControllerConfigError: unknown arm, bad version, q_home or arc_loopback.
        """
        if self.arm not in models.ARMS:
            raise VirtualControllerConfigError(
                f"virtual controller arm {self.arm!r} is not known; expected one of {sorted(models.ARMS)}"
            )
        if (
            len(self.version) != 4
            or not all(isinstance(v, int) and v >= 0 for v in self.version)
            or self.version[0] in (0, 1, 2, 4)
        ):
            raise VirtualControllerConfigError(
                f"virtual controller version {self.version}: expected four non-negative integers with "
                "major 3 (CB3) or >= 5 (e-Series), e.g. (5, 11, 1, 108318)"
            )
        arm = models.ARMS[self.arm]
        if len(self.q_home) != 6:
            raise VirtualControllerConfigError(
                f"virtual controller q_home: expected 6 joint positions [rad], got {len(self.q_home)}"
            )
        for i, (q, lo, hi) in enumerate(zip(self.q_home, arm.q_lower, arm.q_upper, strict=True)):
            if not (math.isfinite(q) and lo <= q <= hi):
                raise VirtualControllerConfigError(
                    f"virtual controller q_home joint {i + 1} = {q} rad: expected a number within the "
                    f"{self.arm} limits {lo:.3f} … {hi:.3f} rad"
                )
        if self.arc_loopback is not None:
            out, inp, delay = self.arc_loopback
            if not (0 <= out <= 7 and 0 <= inp <= 7 and math.isfinite(delay) and delay >= 0):
                raise VirtualControllerConfigError(
                    f"virtual controller arc_loopback {self.arc_loopback}: expected (DO 0 … 7, DI 0 … 7, "
                    "delay >= 0 s)"
                )

    @property
    def cycle(self) -> float:
        """Controller cycle [s]: 2 ms on e-Series (major >= 5), 8 ms on CB3."""
        return 0.002 if self.version[0] >= 5 else 0.008


class ControllerCore:
    """State and cycle of the virtual controller (see module docstring)."""

    def __init__(
        self, config: CoreConfig, message_sink: Callable[[str, str, int], None] | None = None
    ) -> None:
        import threading

        self.config = config
        self.lock = threading.RLock()
        self.arm = models.get_arm(config.arm)
        self.cycle = config.cycle
        self.q_lower = np.array(self.arm.q_lower)
        self.q_upper = np.array(self.arm.q_upper)
        self.qd_max = np.array(self.arm.qd_max)
        self.safety = SafetyMonitor(self.arm, config.safety, self.cycle)
        self.message_sink = message_sink or (lambda m, s, lvl: None)
        self.time = 0.0
        self.cycles = 0
        q0 = np.array(config.q_home, dtype=np.float64)
        self.target_q = q0.copy()
        self.target_qd = np.zeros(6)
        self.target_qdd = np.zeros(6)
        self.actual_q = q0.copy()
        self.actual_qd = np.zeros(6)
        self.prev_target_q = q0.copy()
        self.motion = MotionExecutor(self)
        self._commanded = False
        self.robot_mode = RobotMode.RUNNING if config.powered else RobotMode.POWER_OFF
        self.safety_mode = SafetyMode.NORMAL
        self.protective_stop_time = -1e9
        self.last_fault = ""
        self.runtime_state = RuntimeState.STOPPED
        self.speed_slider = 1.0
        self.digital_out = 0  # standard 0-7, configurable 8-15, tool 16-17
        self.digital_in = 0
        self.analog_out = [0.0, 0.0]
        self.analog_out_type = 0
        self.analog_in = [0.0, 0.0]
        self.in_int = [0] * 48
        self.in_double = [0.0] * 48
        self.in_bits = [False] * 128
        self.out_int = [0] * 48
        self.out_double = [0.0] * 48
        self.out_bits = [False] * 128
        self.tcp_offset = np.zeros(6)
        self.payload = 0.0
        self.payload_cog = (0.0, 0.0, 0.0)
        self.input_updated: dict[str, float] = {}
        self.watchdogs: dict[str, tuple[float, str, float]] = {}
        self.loaded_program: str | None = None
        self.loaded_text: str | None = None
        self.program_name = ""
        self._interp: Interpreter | None = None
        self._run: Iterator[None] | None = None
        self.popup = ""
        self.log: list[str] = []
        self._loopback_since: float | None = None
        self.missed_cycles = 0
        self.rejected_inputs = 0
        self._reject_reported: dict[str, float] = {}
        self._masks: dict[str, int] = {}

    # --- messages ---------------------------------------------------------------------------
    def message(self, text: str, source: str = "Controller", level: int = 3) -> None:
        """Record a controller message and pass it to the RTDE servers (text message packages)."""
        self.log.append(text)
        del self.log[:-200]
        log.info("virtual UR: %s", text)
        self.message_sink(text, source, level)

    # --- kinematics -------------------------------------------------------------------------
    def tcp_pose(self, q: np.ndarray) -> np.ndarray:
        """TCP pose [x, y, z, rx, ry, rz] in the base frame for joint positions q."""
        T = models.fk(self.arm, q) @ models.matrix_from_pose(self.tcp_offset)
        return models.pose_from_matrix(T)

    def tcp_matrix(self) -> np.ndarray:
        """T_flange_tcp (4, 4) of the active TCP (``set_tcp``)."""
        return models.matrix_from_pose(self.tcp_offset)

    def target_tcp_speed(self) -> list[float]:
        """Target TCP speed [m/s, rad/s] (6,) in the base frame over the last cycle."""
        T1 = models.fk(self.arm, self.target_q) @ self.tcp_matrix()
        T0 = models.fk(self.arm, self.prev_target_q) @ self.tcp_matrix()
        v = (T1[:3, 3] - T0[:3, 3]) / self.cycle
        w = models.rotvec_from_matrix(T1[:3, :3] @ T0[:3, :3].T) / self.cycle
        return [float(x) for x in (*v, *w)]

    # --- safety -----------------------------------------------------------------------------
    def protective_stop(self, reason: str) -> None:
        """Enter PROTECTIVE_STOP: the program stops and the arm holds where it is."""
        if self.safety_mode == SafetyMode.PROTECTIVE_STOP:
            return
        self.safety_mode = SafetyMode.PROTECTIVE_STOP
        self.protective_stop_time = self.time
        self.last_fault = reason
        self.message(f"Protective stop: {reason}", "Safety", 1)
        self.stop_program("protective stop", level=1)

    def emergency_stop(self, reason: str = "emergency stop button pressed") -> None:
        """Enter ROBOT_EMERGENCY_STOP: program stops, arm power off."""
        self.safety_mode = SafetyMode.ROBOT_EMERGENCY_STOP
        self.last_fault = reason
        self.message(f"Emergency stop: {reason}", "Safety", 1)
        self.stop_program("emergency stop", level=1)
        self.robot_mode = RobotMode.POWER_OFF

    def release_emergency_stop(self) -> None:
        """Release the e-stop: safety NORMAL, the arm stays powered off until ``power on``."""
        if self.safety_mode in (SafetyMode.ROBOT_EMERGENCY_STOP, SafetyMode.SYSTEM_EMERGENCY_STOP):
            self.safety_mode = SafetyMode.NORMAL
            self.message("Emergency stop released", "Safety", 3)

    def unlock_protective_stop(self) -> bool:
        """Leave PROTECTIVE_STOP if ``unlock_delay`` has passed; returns success."""
        if self.safety_mode != SafetyMode.PROTECTIVE_STOP:
            return True
        if self.time - self.protective_stop_time < self.config.unlock_delay:
            return False
        self.safety_mode = SafetyMode.NORMAL
        return True

    @property
    def ready(self) -> bool:
        """Arm powered, brakes released and no safety stop."""
        return self.robot_mode == RobotMode.RUNNING and self.safety_mode in (
            SafetyMode.NORMAL,
            SafetyMode.REDUCED,
        )

    # --- plant ------------------------------------------------------------------------------
    def command(self, q: Any) -> None:
        """Set this cycle's joint target [rad] (6,); protective stop on a limit violation."""
        qq = np.asarray(q, dtype=np.float64)
        if qq.shape != (6,) or not np.all(np.isfinite(qq)):
            raise ProtectiveStopError(f"joint target {q!r} is not 6 finite numbers")
        if not self.ready:
            raise ProtectiveStopError(
                f"motion commanded while the robot is not ready ({self.robot_mode.name})"
            )
        bad = np.nonzero((qq < self.q_lower) | (qq > self.q_upper))[0]
        if bad.size:
            j = int(bad[0])
            raise ProtectiveStopError(
                f"joint {j} target {qq[j]:.4f} rad is outside its limits "
                f"[{self.q_lower[j]:.4f}, {self.q_upper[j]:.4f}] rad"
            )
        speed = np.abs(qq - self.target_q) / self.cycle
        over = np.nonzero(speed > self.qd_max * (1.0 + self.config.speed_margin) + 1e-9)[0]
        if over.size:
            j = int(over[0])
            raise ProtectiveStopError(
                f"joint {j} set-point needs {speed[j]:.3f} rad/s, above its speed limit "
                f"{self.qd_max[j]:.3f} rad/s (set-point jump of {abs(qq[j] - self.target_q[j]):.4f} rad)"
            )
        try:
            self.safety.check(
                self.target_q, qq, self.tcp_offset, self.payload, tolerance=self.config.speed_margin
            )
        except SafetyViolation as err:
            self.safety.reset()
            raise ProtectiveStopError(f"safety limit violation: {err}") from None
        qd = (qq - self.target_q) / self.cycle
        self.target_qdd = (qd - self.target_qd) / self.cycle
        self.target_qd = qd
        self.prev_target_q = self.target_q
        self.target_q = qq
        self._commanded = True

    def _finish_cycle(self) -> None:
        if not self._commanded:
            self.target_qdd = -self.target_qd / self.cycle
            self.target_qd = np.zeros(6)
            self.prev_target_q = self.target_q
        self._commanded = False
        self.actual_qd = (self.target_q - self.actual_q) / self.cycle
        self.actual_q = self.target_q.copy()

    # --- programs ---------------------------------------------------------------------------
    @property
    def program_running(self) -> bool:
        """A program is playing or paused."""
        return self._run is not None

    def compile_failed(self, err: URScriptError) -> str:
        """Report a program that did not compile (pendant-like message); returns the message."""
        self.message(f"Compile error: {err}", "URScript", 0)
        return str(err)

    def start_program(self, program: str | Program, name: str) -> str | None:
        """Start a URScript program (text, or compiled by :func:`compile_program`); returns an error or None.

        Compile program text with :func:`compile_program` *before* taking ``lock``: a long program
        takes a while to parse and the cycle must not wait for it. A ``sec`` (secondary) program runs
        to completion at once, without motion.
        """
        if isinstance(program, Program):
            prog = program
        else:
            try:
                prog = compile_program(program, name)
            except URScriptError as err:
                return self.compile_failed(err)
        if prog.is_secondary:
            interp = Interpreter(
                prog, self._builtins(), MOTION, passthrough=(ProtectiveStopError,), preemptible=False
            )
            try:
                for _ in interp.run():
                    raise URScriptError(f"{name}: a secondary (sec) program cannot move or wait")
            except URScriptError as err:
                self.message(f"Runtime error: {err}", "URScript", 0)
                return str(err)
            except ProtectiveStopError as err:
                self.protective_stop(str(err))
                return str(err)
            return None
        if not self.ready:
            msg = (
                f"program {name!r} cannot start: robot mode {self.robot_mode.name}, "
                f"safety mode {self.safety_mode.name}"
            )
            self.message(msg, "Controller", 1)
            return msg
        if self._run is not None:
            self.stop_program("replaced by a new program", level=3, reset_outputs=False)
        self._interp = Interpreter(
            prog, self._builtins(), MOTION, passthrough=(ProtectiveStopError, MotionError)
        )
        self.motion.drop()
        self._run = self._program_then_flush(self._interp.run())
        self.program_name = name
        self.runtime_state = RuntimeState.PLAYING
        self.watchdogs = {}
        return None

    def _program_then_flush(self, run: Iterator[None]) -> Iterator[None]:
        """The program, then the end of a move it left blending (the arm reaches the last target)."""
        yield from run
        yield from self.motion.flush()

    def stop_program(self, reason: str, level: int = 3, reset_outputs: bool = True) -> None:
        """Stop the running program (if any); outputs in ``outputs_low_on_stop`` go low."""
        if self._run is None and self.runtime_state == RuntimeState.STOPPED:
            return
        self._run = None
        self._interp = None
        self.motion.drop()
        self.runtime_state = RuntimeState.STOPPED
        self.watchdogs = {}
        if reset_outputs:
            self.digital_out &= ~self.config.outputs_low_on_stop
        self.message(f"Program {self.program_name or '?'} stopped: {reason}", "Controller", level)

    def pause_program(self) -> bool:
        """Pause a playing program."""
        if self._run is None:
            return False
        self.runtime_state = RuntimeState.PAUSED
        return True

    def resume_program(self) -> bool:
        """Resume a paused program."""
        if self._run is None or self.runtime_state != RuntimeState.PAUSED:
            return False
        self.runtime_state = RuntimeState.PLAYING
        return True

    # --- inputs -----------------------------------------------------------------------------
    def apply_inputs(self, values: dict[str, Any]) -> None:
        """Apply one RTDE input data package (masks as in the RTDE guide).

        Values the controller cannot take are rejected, never applied or clamped: a speed slider
        fraction outside [0, 1] or not finite, an analog output outside [0, 1] (the RTDE analog
        outputs are ratios of the range set by the output type) or not finite, a non-finite double
        register or external force/torque. A rejected field is ignored (the rest of the package
        applies) and reported as a warning message (at most one per field and second).
        Mask bits that do not exist (analog outputs 2..7, tool outputs 2..7) are ignored, and the
        analog output type bit of an output applies only where its mask bit is set and together
        with a valid value.
        """
        now = time.monotonic()
        for name in values:
            self.input_updated[name] = now
        for name in (
            "standard_digital_output_mask",
            "configurable_digital_output_mask",
            "tool_digital_output_mask",
        ):
            if name in values:
                self._masks[name] = int(values[name])  # inputs keep their last value
        for offset, name in (
            (0, "standard_digital_output"),
            (8, "configurable_digital_output"),
            (16, "tool_digital_output"),
        ):
            if name in values:
                mask = self._masks.get(name + "_mask", 0) & (0x3 if offset == 16 else 0xFF)
                self._set_bits(offset, mask, int(values[name]))
        if values.get("speed_slider_mask", 0) & 1 and "speed_slider_fraction" in values:
            f = float(values["speed_slider_fraction"])
            if math.isfinite(f) and 0.0 <= f <= 1.0:
                self.speed_slider = f
            else:
                self._reject_input("speed_slider_fraction", f, "a fraction in [0, 1]")
        amask = int(values.get("standard_analog_output_mask", 0)) & 0x3
        for i in range(2):
            bit = 1 << i
            if not amask & bit:
                continue
            key = f"standard_analog_output_{i}"
            if key in values:
                v = float(values[key])
                if not (math.isfinite(v) and 0.0 <= v <= 1.0):
                    self._reject_input(key, v, "a ratio in [0, 1] of the output range")
                    continue  # neither the value nor its domain (type bit) changes
                self.analog_out[i] = v
            if "standard_analog_output_type" in values:
                t = int(values["standard_analog_output_type"])
                self.analog_out_type = (self.analog_out_type & ~bit) | (t & bit)
        for name, v in values.items():
            if name.startswith("input_int_register_"):
                self.in_int[int(name[19:])] = int(v)
            elif name.startswith("input_double_register_"):
                if math.isfinite(v):
                    self.in_double[int(name[22:])] = float(v)
                else:
                    self._reject_input(name, v, "a finite number")
            elif name.startswith("input_bit_register_"):
                self.in_bits[int(name[19:])] = bool(v)
            elif name == "input_bit_registers0_to_31":
                for i in range(32):
                    self.in_bits[i] = bool(v >> i & 1)
            elif name == "input_bit_registers32_to_63":
                for i in range(32):
                    self.in_bits[32 + i] = bool(v >> i & 1)
            elif name == "external_force_torque" and not all(math.isfinite(x) for x in v):
                self._reject_input(name, v, "six finite numbers")

    def analog_out_physical(self, n: int) -> float:
        """Standard analog output ``n`` as RTDE reports it: [V] in voltage mode, [A] in current mode.

        The output is held as a ratio of its range (RTDE input / ``set_standard_analog_out``);
        voltage mode spans 0-10 V, current mode 4-20 mA (RTDE guide / ur_rtde: "[A or V]").
        """
        ratio = self.analog_out[n]
        return 10.0 * ratio if self.analog_out_type >> n & 1 else 0.004 + 0.016 * ratio

    def _reject_input(self, name: str, value: Any, expected: str) -> None:
        """Report an RTDE input value that was not applied (at most once per field and second)."""
        self.rejected_inputs += 1
        now = time.monotonic()
        if now - self._reject_reported.get(name, -math.inf) < 1.0:
            return
        self._reject_reported[name] = now
        self.message(f"RTDE input {name} = {value!r} ignored: expected {expected}", "RTDE", 2)

    def _set_bits(self, offset: int, mask: int, value: int) -> None:
        m = (mask & 0xFF) << offset
        self.digital_out = (self.digital_out & ~m) | ((value << offset) & m)

    # --- cycle ------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance the controller by one cycle (call with ``lock`` held)."""
        self.time += self.cycle
        self.cycles += 1
        self._check_watchdogs()
        if self._run is not None and self.runtime_state == RuntimeState.PLAYING:
            assert self._interp is not None  # mypy
            self._interp.new_cycle()
            try:
                next(self._run)
            except StopIteration:
                self.stop_program("finished", level=3)
            except ProtectiveStopError as err:
                self.protective_stop(str(err))
            except MotionError as err:
                self.protective_stop(f"motion: {err}")
            except URScriptError as err:
                self.message(f"Runtime error: {err}", "URScript", 0)
                self.stop_program("runtime error", level=0)
            except Exception as err:  # a fault of a built-in: the program's error, never the cycle's
                log.exception("virtual UR: program %s failed inside the controller", self.program_name)
                text = f"line {self._line()}: {type(err).__name__}: {str(err)[:200]}"
                self.message(f"Runtime error: {text}", "URScript", 0)
                self.stop_program("runtime error", level=0)
        self._finish_cycle()
        self._update_loopback()

    def _check_watchdogs(self) -> None:
        now = time.monotonic()
        for name, (min_hz, action, armed_at) in list(self.watchdogs.items()):
            last = max(self.input_updated.get(name, armed_at), armed_at)
            if now - last > 1.0 / min_hz:
                msg = (
                    f"RTDE input watchdog: {name} not updated for {now - last:.3f} s (minimum {min_hz:g} Hz)"
                )
                if action == "stop":
                    self.message(msg + "; program stopped", "RTDE", 1)
                    self.stop_program("RTDE watchdog", level=1)
                elif action == "pause":
                    self.message(msg + "; program paused", "RTDE", 2)
                    self.pause_program()
                    self.watchdogs.pop(name, None)
                else:
                    self.watchdogs[name] = (min_hz, action, now)

    def _update_loopback(self) -> None:
        lb = self.config.arc_loopback
        if lb is None:
            return
        do, di, delay = lb
        on = bool(self.digital_out >> do & 1)
        if on:
            if self._loopback_since is None:
                self._loopback_since = self.time
            if self.time - self._loopback_since >= delay:
                self.digital_in |= 1 << di
        else:
            self._loopback_since = None
            self.digital_in &= ~(1 << di)

    # --- status words -----------------------------------------------------------------------
    def robot_status_bits(self) -> int:
        """RTDE ``robot_status_bits``: bit 0 power on, bit 1 program running."""
        bits = 0
        if self.robot_mode in (RobotMode.POWER_ON, RobotMode.IDLE, RobotMode.RUNNING):
            bits |= 1
        if self.runtime_state == RuntimeState.PLAYING:
            bits |= 2
        return bits

    def safety_status_bits(self) -> int:
        """RTDE ``safety_status_bits`` (bit 7 = e-stopped, bit 10 = stopped due to safety)."""
        bits = 1 << _SAFETY_BIT[self.safety_mode]
        if self.safety_mode in (SafetyMode.ROBOT_EMERGENCY_STOP, SafetyMode.SYSTEM_EMERGENCY_STOP):
            bits |= 1 << 7
        if self.safety_mode not in (SafetyMode.NORMAL, SafetyMode.REDUCED):
            bits |= 1 << 10
        return bits

    # --- URScript built-ins -----------------------------------------------------------------
    def _builtins(self) -> dict[str, Callable[..., Any]]:
        return urscript_builtins(self)

    def _line(self) -> int:
        return self._interp.line if self._interp is not None else 0


_MOTION = frozenset({"sleep", "sync", "servoj", "movej", "movel", "movep", "movec", "stopj", "stopl"})
#: Built-ins that take controller cycles: the generator functions of
#: :func:`~weldcell.drivers.ur.virtual.builtins.urscript_builtins` (UR's timed built-ins plus any listed
#: in ``_MOTION``). A program is compiled against this set.
MOTION = TIMED_BUILTINS | _MOTION


class _CollectorPause:
    """Keeps the cyclic garbage collector off while programs compile, then freezes what exists.

    A 30,000-line program is about a million objects; building it triggers full collections of
    up to 0.4 s that hold the GIL (the cycle thread waits). After the last compile ends the heap
    is frozen (``gc.freeze``: the program's syntax tree is never scanned again, which would stall
    the cycle the same way) and the collector is switched back on. The syntax tree has no
    reference cycles, so it is still freed when its program is replaced.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._users += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                gc.freeze()
                if self._was_enabled:
                    gc.enable()


_COLLECTOR_PAUSE = _CollectorPause()
#: Programs at least this long [characters] compile with the collector paused (smaller ones are a
#: few thousand objects: no collection of them stalls anything, and the heap is not frozen for them).
LARGE_PROGRAM_CHARS = 100_000
_LARGE_COMPILE = threading.Lock()


def compile_program(text: str, name: str) -> Program:
    """Compile URScript text for this controller (no controller state: call it outside ``lock``).

    Raises:
        URScriptError: syntax errors, unsupported statements and exceeded limits, naming the line.
    """
    if len(text) < LARGE_PROGRAM_CHARS:
        return Program(text, name, MOTION)
    with _LARGE_COMPILE, _COLLECTOR_PAUSE:  # one at a time: memory stays bounded (~40 MB per 3 MB)
        return Program(text, name, MOTION)
