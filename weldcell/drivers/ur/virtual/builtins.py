"""The URScript built-in functions of the virtual UR controller: motion, I/O, registers, poses, messages.

:func:`urscript_builtins` gives the interpreter (``urscript``) the functions of one controller: the
motion functions are generators that take controller cycles (they hand their targets to the core's
motion executor, :mod:`weldcell.drivers.ur.virtual.motion`), the others act at once. Signatures and
defaults follow UR's Script Manual (e-Series); what a built-in needs of the controller is
:class:`CoreState` (implemented by :class:`~weldcell.drivers.ur.virtual.core.ControllerCore`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from weldcell.drivers.ur import models
from weldcell.drivers.ur.virtual.motion import MotionError, MotionExecutor
from weldcell.drivers.ur.virtual.urscript import Pose, URScriptError

Gen = Generator[None, None, Any]
NDArrayF = npt.NDArray[np.float64]


class ProtectiveStopError(Exception):
    """Raised inside the cycle when a target violates a limit."""


class CoreState(Protocol):
    """What the built-ins read and change of the controller (one ``ControllerCore``)."""

    arm: models.URArm
    cycle: float
    motion: MotionExecutor
    target_q: NDArrayF
    target_qd: NDArrayF
    actual_q: NDArrayF
    actual_qd: NDArrayF
    tcp_offset: NDArrayF
    payload: float
    payload_cog: tuple[float, float, float]
    popup: str
    digital_out: int
    digital_in: int
    analog_out: list[float]
    analog_in: list[float]
    in_int: list[int]
    in_double: list[float]
    in_bits: list[bool]
    out_int: list[int]
    out_double: list[float]
    out_bits: list[bool]
    watchdogs: dict[str, tuple[float, str, float]]

    def message(self, text: str, source: str = ..., level: int = ...) -> None:
        """Send a controller message (log and RTDE text message)."""

    def command(self, q: Any) -> None:
        """Set the joint target of this cycle [rad]."""

    def tcp_pose(self, q: np.ndarray) -> np.ndarray:
        """TCP pose of ``q`` as a UR pose vector."""

    def tcp_matrix(self) -> np.ndarray:
        """``T_flange_tcp`` of the active TCP."""

    def target_tcp_speed(self) -> list[float]:
        """TCP speed of the target [m/s, rad/s]."""

    def _line(self) -> int:
        """Line of the running program (for error messages)."""


def urscript_builtins(c: CoreState) -> dict[str, Callable[..., Any]]:
    """The built-in functions of controller ``c``, by URScript name."""

    def sleep(t: float) -> Gen:
        yield from c.motion.flush()
        for _ in range(max(0, math.ceil(float(t) / c.cycle - 1e-9))):
            yield

    def sync() -> Gen:
        yield from c.motion.flush()
        yield

    def servoj(
        q: Any,
        a: float = 0,
        v: float = 0,
        t: float = 0.002,
        lookahead_time: float = 0.1,
        gain: float = 300,
    ) -> Gen:
        return c.motion.servoj(_joint_target(q), float(t))

    def _joint_target(target: Any) -> np.ndarray:
        if isinstance(target, Pose):
            T = models.matrix_from_pose(target) @ np.linalg.inv(models.matrix_from_pose(c.tcp_offset))
            q = models.ik_near(c.arm, T, c.target_q)
            if q is None:
                raise URScriptError(f"line {c._line()}: no inverse kinematics solution for {target!r}")
            return q
        qq = np.asarray(target, dtype=np.float64)
        if qq.shape != (6,):
            raise URScriptError(f"line {c._line()}: joint target must have 6 values, got {target!r}")
        return qq

    def _tcp_target(target: Any) -> np.ndarray:
        if isinstance(target, Pose):
            return models.matrix_from_pose(target)
        return np.asarray(models.fk(c.arm, _joint_target(target)) @ c.tcp_matrix(), dtype=np.float64)

    def _moving(gen: Gen) -> Gen:
        try:
            return (yield from gen)
        except MotionError as err:
            raise ProtectiveStopError(f"line {c._line()}: {err}") from err

    def movej(q: Any, a: float = 1.4, v: float = 1.05, t: float = 0, r: float = 0) -> Gen:
        return _moving(c.motion.movej(_joint_target(q), float(a), float(v), float(t), float(r)))

    def movel(pose: Any, a: float = 1.2, v: float = 0.25, t: float = 0, r: float = 0) -> Gen:
        return _moving(c.motion.movel(_tcp_target(pose), float(a), float(v), float(t), float(r)))

    def movep(pose: Any, a: float = 1.2, v: float = 0.25, r: float = 0) -> Gen:
        return _moving(c.motion.movel(_tcp_target(pose), float(a), float(v), 0.0, float(r)))

    def movec(
        pose_via: Any, pose_to: Any, a: float = 1.2, v: float = 0.25, r: float = 0, mode: int = 0
    ) -> Gen:
        if int(mode) not in (0, 1):
            raise URScriptError(f"line {c._line()}: movec mode must be 0 or 1, got {mode!r}")
        via = _tcp_target(pose_via)[:3, 3]
        return _moving(c.motion.movec(via, _tcp_target(pose_to), float(a), float(v), float(r), int(mode)))

    def stopj(a: float = 2.0) -> Gen:
        c.motion.drop()
        qd = c.target_qd.copy()
        while np.max(np.abs(qd)) > 1e-9:
            step = float(a) * c.cycle
            qd = np.sign(qd) * np.maximum(np.abs(qd) - step, 0.0)
            c.command(c.target_q + qd * c.cycle)
            yield

    def stopl(a: float = 1.0) -> Gen:
        yield from stopj(4.0 * float(a))

    def _reg(i: Any, n: int = 48) -> int:
        k = int(i)
        if not 0 <= k < n:
            raise URScriptError(f"line {c._line()}: register {k} out of range 0..{n - 1}")
        return k

    def _dout(n: Any, b: Any, offset: int = 0, count: int = 8) -> None:
        k = int(n)
        if not 0 <= k < count:
            raise URScriptError(f"line {c._line()}: digital output {k} out of range 0..{count - 1}")
        if b:
            c.digital_out |= 1 << (offset + k)
        else:
            c.digital_out &= ~(1 << (offset + k))

    def textmsg(s1: Any, s2: Any = "") -> None:
        c.message(f"{s1}{s2}", "URScript", 3)

    def popup(
        s: Any, title: str = "Popup", warning: bool = False, error: bool = False, blocking: bool = False
    ) -> None:
        c.popup = str(s)
        c.message(f"popup ({title}): {s}", "URScript", 1 if error else (2 if warning else 3))

    def rtde_set_watchdog(variable_name: str, min_frequency: float, action: str = "ignore") -> None:
        if action not in ("ignore", "pause", "stop"):
            raise URScriptError(
                f"line {c._line()}: watchdog action {action!r}; use 'ignore', 'pause' or 'stop'"
            )
        if float(min_frequency) <= 0:
            c.watchdogs.pop(variable_name, None)
            return
        c.watchdogs[variable_name] = (float(min_frequency), action, time.monotonic())

    def set_tcp(pose: Any) -> None:
        c.tcp_offset = np.asarray(pose, dtype=np.float64)

    def set_payload(m: float, cog: Any = None) -> None:
        c.payload = float(m)
        if cog is not None:
            c.payload_cog = tuple(float(x) for x in cog)  # type: ignore[assignment]

    def set_standard_analog_out(n: Any, f: float) -> None:
        c.analog_out[_reg(n, 2)] = float(f)

    def noop(*args: Any, **kwargs: Any) -> None:
        return None

    def pose_trans(p_from: Any, p_from_to: Any) -> Pose:
        return Pose(
            models.pose_from_matrix(models.matrix_from_pose(p_from) @ models.matrix_from_pose(p_from_to))
        )

    def pose_inv(p: Any) -> Pose:
        T_inv = np.asarray(np.linalg.inv(models.matrix_from_pose(p)), dtype=np.float64)
        return Pose(models.pose_from_matrix(T_inv))

    def pose_add(p1: Any, p2: Any) -> Pose:
        T1, T2 = models.matrix_from_pose(p1), models.matrix_from_pose(p2)
        T = np.eye(4)
        T[:3, 3] = T1[:3, 3] + T2[:3, 3]
        T[:3, :3] = T2[:3, :3] @ T1[:3, :3]
        return Pose(models.pose_from_matrix(T))

    def get_inverse_kin(x: Any, qnear: Any = None, *args: Any, **kwargs: Any) -> list[float]:
        T = models.matrix_from_pose(x) @ np.linalg.inv(models.matrix_from_pose(c.tcp_offset))
        q = models.ik_near(c.arm, T, c.target_q if qnear is None else np.asarray(qnear, dtype=float))
        if q is None:
            raise URScriptError(f"line {c._line()}: get_inverse_kin found no solution")
        return [float(v) for v in q]

    def to_str(x: Any) -> str:
        return str(x)

    b: dict[str, Callable[..., Any]] = {
        "sleep": sleep,
        "sync": sync,
        "servoj": servoj,
        "movej": movej,
        "movel": movel,
        "movep": movep,
        "movec": movec,
        "stopj": stopj,
        "stopl": stopl,
        "set_standard_digital_out": lambda n, b: _dout(n, b),
        "set_digital_out": lambda n, b: _dout(n, b),
        "set_configurable_digital_out": lambda n, b: _dout(n, b, 8),
        "set_tool_digital_out": lambda n, b: _dout(n, b, 16, 2),
        "get_standard_digital_out": lambda n: bool(c.digital_out >> int(n) & 1),
        "get_configurable_digital_out": lambda n: bool(c.digital_out >> (8 + int(n)) & 1),
        "get_standard_digital_in": lambda n: bool(c.digital_in >> int(n) & 1),
        "get_digital_in": lambda n: bool(c.digital_in >> int(n) & 1),
        "get_configurable_digital_in": lambda n: bool(c.digital_in >> (8 + int(n)) & 1),
        "set_standard_analog_out": set_standard_analog_out,
        "set_analog_out": set_standard_analog_out,
        "get_standard_analog_in": lambda n: c.analog_in[_reg(n, 2)],
        "read_input_integer_register": lambda i: c.in_int[_reg(i)],
        "read_input_float_register": lambda i: c.in_double[_reg(i)],
        "read_input_boolean_register": lambda i: c.in_bits[_reg(i, 128)],
        "read_output_integer_register": lambda i: c.out_int[_reg(i)],
        "read_output_float_register": lambda i: c.out_double[_reg(i)],
        "read_output_boolean_register": lambda i: c.out_bits[_reg(i, 128)],
        "write_output_integer_register": lambda i, v: c.out_int.__setitem__(_reg(i), int(v)),
        "write_output_float_register": lambda i, v: c.out_double.__setitem__(_reg(i), float(v)),
        "write_output_boolean_register": lambda i, v: c.out_bits.__setitem__(_reg(i, 128), bool(v)),
        "rtde_set_watchdog": rtde_set_watchdog,
        "textmsg": textmsg,
        "popup": popup,
        "get_actual_joint_positions": lambda: [float(v) for v in c.actual_q],
        "get_target_joint_positions": lambda: [float(v) for v in c.target_q],
        "get_actual_joint_speeds": lambda: [float(v) for v in c.actual_qd],
        "get_actual_tcp_pose": lambda: Pose(c.tcp_pose(c.actual_q)),
        "get_target_tcp_pose": lambda: Pose(c.tcp_pose(c.target_q)),
        "get_target_tcp_speed": c.target_tcp_speed,
        "get_forward_kin": lambda q=None, tcp=None: Pose(
            c.tcp_pose(c.target_q if q is None else np.asarray(q))
        ),
        "get_inverse_kin": get_inverse_kin,
        "set_tcp": set_tcp,
        "set_payload": set_payload,
        "set_target_payload": set_payload,
        "set_tool_voltage": noop,
        "set_gravity": noop,
        "set_safety_mode_transition_hardness": noop,
        "set_standard_analog_input_domain": noop,
        "set_tool_analog_input_domain": noop,
        "set_analog_outputdomain": noop,
        "set_input_actions_to_default": noop,
        "set_tool_communication": noop,
        "set_tool_output_mode": noop,
        "set_tool_digital_output_mode": noop,
        "set_configurable_digital_input_action": noop,
        "set_standard_digital_input_action": noop,
        "set_tool_digital_input_action": noop,
        "set_gravity_compensation": noop,
        "set_tool_voltage_mode": noop,
        "floor": lambda x: math.floor(x),
        "ceil": lambda x: math.ceil(x),
        "sqrt": math.sqrt,
        "sin": math.sin,
        "cos": math.cos,
        "tan": math.tan,
        "asin": math.asin,
        "acos": math.acos,
        "atan": math.atan,
        "atan2": math.atan2,
        "fabs": math.fabs,
        "pow": math.pow,
        "log": math.log,
        "d2r": math.radians,
        "r2d": math.degrees,
        "norm": lambda v: float(np.linalg.norm(v)),
        "to_str": to_str,
        "str_cat": lambda a, b: f"{a}{b}",
        "get_list_length": len,
        "pose_trans": pose_trans,
        "pose_inv": pose_inv,
        "pose_add": pose_add,
        "is_steady": lambda: bool(np.max(np.abs(c.target_qd)) < 1e-9),
        "binary_list_to_integer": lambda bits: sum(1 << i for i, x in enumerate(bits) if x),
        "integer_to_binary_list": lambda x: [bool(int(x) >> i & 1) for i in range(32)],
        "round": lambda x: round(x),
        "abs": abs,
        "min": min,
        "max": max,
    }
    return b
