"""The virtual UR controller's safety system: the safety configuration checked on every cycle.

A real UR controller runs a safety system beside the motion controller that protective-stops the
arm when a configured limit is exceeded. :class:`SafetyMonitor` is that system for the virtual
controller. Its limits are a :class:`weldcell.kinematics.safety.SafetyLimits` (by default UR's
"Default" preset of PolyScope 5, see that module for the source) — the same object the planner
scales for its planning margin and the validator checks, so a validated trajectory is never
stopped here.

Checked on every joint set-point (every cycle in which the arm is commanded):

* joint position: the arm's range plus the configuration's position tolerance;
* joint speed: the configured joint speed limits;
* TCP speed: the tool-centre point (with the TCP offset set by ``set_tcp``) [m/s];
* elbow speed: the origin of DH frame 2 (the elbow joint) [m/s];
* momentum: Σ mᵢ‖vᵢ‖ over the links (point masses, see below) plus the payload at the TCP;
* power: the rate of change of the links' kinetic and potential energy, low-pass filtered over
  ``POWER_FILTER_S`` (a mechanical-power estimate; set-point steps would otherwise look like
  infinite power);
* stopping time and stopping distance: from the joint speeds and the assumed braking deceleration
  (``BRAKE_TIME_AT_RATED_SPEED_S``), the predicted time and TCP distance to stop.

Link masses are UR's published dynamics figures (Universal Robots, "DH parameters for calculations
of kinematics and dynamics"); each link's mass sits at the middle of its DH segment (upper arm and
forearm) or at its frame origin (the other links) — an approximation good to a few per cent of
momentum, stated here because a real controller uses its full dynamic model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.drivers.ur.models import URArm, matrix_from_pose
from weldcell.kinematics.safety import SafetyLimits, ur_default

NDArrayF = npt.NDArray[np.float64]

POWER_FILTER_S = 0.02
"""Time constant [s] of the power estimate's low-pass filter."""

BRAKE_TIME_AT_RATED_SPEED_S = 0.3
"""Assumed braking: every joint stops from its rated speed in this time [s] (constant deceleration
rated speed / 0.3 s). UR predicts stopping time from its dynamic model and the payload, which is not
modelled here; with this assumption the default 400 ms limit holds at every rated joint speed and a
stricter configured limit (e.g. 100 ms, "most restricted") stops fast motion."""

_G = 9.81

# Link masses [kg], UR "DH parameters for calculations of kinematics and dynamics".
LINK_MASS: dict[str, tuple[float, ...]] = {
    "ur3e": (1.98, 3.4445, 1.437, 0.871, 0.805, 0.261),
    "ur5e": (3.761, 8.058, 2.846, 1.37, 1.3, 0.365),
    "ur10e": (7.369, 13.051, 3.989, 2.1, 1.98, 0.615),
    "ur16e": (7.369, 10.450, 4.321, 2.180, 2.033, 0.907),
    "ur3": (2.0, 3.42, 1.26, 0.8, 0.8, 0.35),
    "ur5": (3.7, 8.393, 2.33, 1.219, 1.219, 0.1879),
    "ur10": (7.1, 12.7, 4.27, 2.0, 2.0, 0.365),
}


class SafetyViolation(Exception):  # noqa: N818 - a safety event, raised to the core as a stop
    """A safety limit was exceeded; the message names the limit, the value and the configured limit."""


def default_for_arm(arm: URArm) -> SafetyLimits:
    """UR's default safety configuration for ``arm`` (CB3 arms take their e-Series sibling's)."""
    name = arm.name if arm.name.endswith("e") else arm.name + "e"
    return ur_default(name)


def frame_origins(arm: URArm, q: npt.ArrayLike) -> NDArrayF:
    """Origins of DH frames 0 … 6 of ``arm`` in the base frame [m], shape (7, 3) (2 = elbow)."""
    return _Chain(arm).frames(np.asarray(q, dtype=np.float64))[0]


class _Chain:
    """The DH chain of one arm with its constant terms precomputed (one call ≈ 15 µs)."""

    def __init__(self, arm: URArm) -> None:
        alpha = np.asarray(arm.alpha, dtype=np.float64)
        self.ca, self.sa = np.cos(alpha), np.sin(alpha)
        self.a = np.asarray(arm.a, dtype=np.float64)
        self.template = np.zeros((6, 4, 4))
        self.template[:, 2, 1] = self.sa
        self.template[:, 2, 2] = self.ca
        self.template[:, 2, 3] = np.asarray(arm.d, dtype=np.float64)
        self.template[:, 3, 3] = 1.0

    def frames(self, q: NDArrayF) -> tuple[NDArrayF, NDArrayF]:
        """Origins of DH frames 0 … 6 [m] (7, 3) and the flange pose T_base_flange (4, 4)."""
        ct, st = np.cos(q), np.sin(q)
        A = self.template.copy()
        A[:, 0, 0] = ct
        A[:, 0, 1] = -st * self.ca
        A[:, 0, 2] = st * self.sa
        A[:, 0, 3] = self.a * ct
        A[:, 1, 0] = st
        A[:, 1, 1] = ct * self.ca
        A[:, 1, 2] = -ct * self.sa
        A[:, 1, 3] = self.a * st
        origins = np.zeros((7, 3))
        T = A[0]
        origins[1] = T[:3, 3]
        for i in range(1, 6):
            T = T @ A[i]
            origins[i + 1] = T[:3, 3]
        return origins, T


@dataclass(frozen=True, slots=True)
class _Sample:
    q: NDArrayF
    points: NDArrayF  # (8, 3): link centres 1 … 6, payload (TCP), elbow
    potential: float


class SafetyMonitor:
    """Checks each joint set-point of one arm against a safety configuration.

    Args:
        arm: The controller's arm data (DH, range).
        limits: The safety configuration; default UR's default preset for the arm.
        cycle: Controller cycle [s].
    """

    def __init__(self, arm: URArm, limits: SafetyLimits | None, cycle: float) -> None:
        self.arm = arm
        self.limits = limits if limits is not None else default_for_arm(arm)
        self.cycle = cycle
        self.masses = np.array(LINK_MASS.get(arm.name, LINK_MASS["ur5e"]), dtype=np.float64)
        lim = self.limits
        self.joint_speed = (
            np.array(lim.joint_speed, dtype=np.float64)
            if lim.joint_speed
            else np.array(arm.qd_max, dtype=np.float64)
        )
        self.q_lower = np.array(arm.q_lower) - lim.joint_position_margin
        self.q_upper = np.array(arm.q_upper) + lim.joint_position_margin
        self._brake_decel = np.array(arm.qd_max, dtype=np.float64) / BRAKE_TIME_AT_RATED_SPEED_S
        self._chain = _Chain(arm)
        self._m = np.append(self.masses, 0.0)  # link masses + payload [kg]
        self._tool_key: tuple[float, ...] = ()
        self._T_flange_tcp = np.eye(4)
        self._prev: _Sample | None = None
        self._energy: float | None = None
        self._power = 0.0
        self.peak: dict[str, float] = {}

    def reset(self) -> None:
        """Forget the motion history (after a stop: the arm is at rest)."""
        self._prev = None
        self._energy = None
        self._power = 0.0

    def _sample(self, q: NDArrayF, tcp_offset: NDArrayF, payload: float) -> _Sample:
        origins, T_flange = self._chain.frames(q)
        key = tuple(float(x) for x in tcp_offset)
        if key != self._tool_key:
            self._tool_key = key
            self._T_flange_tcp = matrix_from_pose(tcp_offset)
        points = np.empty((8, 3))
        points[0] = origins[1]
        points[1] = 0.5 * (origins[1] + origins[2])
        points[2] = 0.5 * (origins[2] + origins[3])
        points[3:6] = origins[4:7]
        points[6] = T_flange[:3, :3] @ self._T_flange_tcp[:3, 3] + T_flange[:3, 3]
        points[7] = origins[2]
        self._m[6] = payload
        potential = _G * float(self._m @ points[:7, 2])
        return _Sample(q=q.copy(), points=points, potential=potential)

    def check(
        self,
        q_prev: NDArrayF,
        q: NDArrayF,
        tcp_offset: NDArrayF,
        payload: float,
        tolerance: float = 0.0,
    ) -> None:
        """Check the move from set-point ``q_prev`` to ``q`` over one cycle.

        Args:
            q_prev: Previous joint set-point [rad] (6,).
            q: This cycle's joint set-point [rad] (6,).
            tcp_offset: TCP pose in the flange frame, UR pose [x, y, z, rx, ry, rz] (m, rad).
            payload: Payload mass [kg] at the TCP.
            tolerance: Relative tolerance on the speed-like limits (numerical jitter), e.g. 0.02.

        Raises:
            SafetyViolation: naming the limit, the measured value and the configured limit.
        """
        lim = self.limits
        src = lim.source or "safety configuration"
        bad = np.nonzero((q < self.q_lower) | (q > self.q_upper))[0]
        if bad.size:
            j = int(bad[0])
            raise SafetyViolation(
                f"joint {j + 1} position limit: {np.degrees(q[j]):.1f}° outside "
                f"[{np.degrees(self.q_lower[j]):.1f}°, {np.degrees(self.q_upper[j]):.1f}°] ({src})"
            )
        dt = self.cycle
        qd = (q - q_prev) / dt
        over = np.nonzero(np.abs(qd) > self.joint_speed * (1.0 + tolerance) + 1e-9)[0]
        if over.size:
            j = int(over[0])
            raise SafetyViolation(
                f"joint {j + 1} speed limit: {np.degrees(abs(qd[j])):.1f} °/s above "
                f"{np.degrees(self.joint_speed[j]):.1f} °/s ({src})"
            )
        prev = self._prev
        if prev is None or not np.array_equal(prev.q, q_prev):
            prev = self._sample(q_prev, tcp_offset, payload)
            self._energy = None
        now = self._sample(q, tcp_offset, payload)
        self._prev = now
        k = 1.0 + tolerance
        d = now.points - prev.points
        v = np.sqrt(np.einsum("ij,ij->i", d, d)) / dt
        v_tcp, v_elbow = float(v[6]), float(v[7])
        momentum = float(self._m @ v[:7])
        energy = 0.5 * float(self._m @ (v[:7] * v[:7])) + now.potential
        prev_energy = energy if self._energy is None else self._energy
        self._energy = energy
        raw_power = abs(energy - prev_energy) / dt
        self._power += dt / (POWER_FILTER_S + dt) * (raw_power - self._power)
        t_stop = float(np.max(np.abs(qd) / self._brake_decel))
        d_stop = 0.5 * v_tcp * t_stop
        for key, value in (
            ("tcp_speed", v_tcp),
            ("elbow_speed", v_elbow),
            ("momentum", momentum),
            ("power", self._power),
            ("stopping_time", t_stop),
            ("stopping_distance", d_stop),
        ):
            if value > self.peak.get(key, 0.0):
                self.peak[key] = value
        if v_tcp > lim.tcp_speed * k + 1e-9:
            raise SafetyViolation(
                f"tool speed limit: TCP at {v_tcp * 1000:.0f} mm/s, "
                f"limit {lim.tcp_speed * 1000:.0f} mm/s ({src})"
            )
        if v_elbow > lim.elbow_speed * k + 1e-9:
            raise SafetyViolation(
                f"elbow speed limit: elbow at {v_elbow * 1000:.0f} mm/s, limit "
                f"{lim.elbow_speed * 1000:.0f} mm/s ({src})"
            )
        if momentum > lim.momentum * k:
            raise SafetyViolation(
                f"momentum limit: {momentum:.1f} kg·m/s above {lim.momentum:.1f} kg·m/s ({src})"
            )
        if self._power > lim.power * k:
            raise SafetyViolation(f"power limit: {self._power:.0f} W above {lim.power:.0f} W ({src})")
        if t_stop > lim.stopping_time * k:
            raise SafetyViolation(
                f"stopping time limit: predicted {t_stop * 1000:.0f} ms above "
                f"{lim.stopping_time * 1000:.0f} ms ({src})"
            )
        if d_stop > lim.stopping_distance * k:
            raise SafetyViolation(
                f"stopping distance limit: predicted {d_stop * 1000:.0f} mm above "
                f"{lim.stopping_distance * 1000:.0f} mm ({src})"
            )
