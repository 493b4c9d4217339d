"""Motion commands of the virtual UR controller: movej, movel, movep, movec, servoj with blends.

The URScript built-ins of :mod:`weldcell.drivers.ur.virtual.core` call :class:`MotionExecutor`; each
command returns a generator that the URScript interpreter steps once per controller cycle (it
commands one joint target per cycle through the host's ``command``).

Model (UR Script Manual, "movej/movel/movep/movec/servoj"; where UR does not publish the
algorithm, the choice is stated):

- **Speed profile** (:class:`Profile`): linear speed ramps (constant acceleration) and a cruise
  at ``v``: from rest with acceleration ``a``, to rest with ``a`` (a triangle when the move is too
  short to reach ``v``); ``t > 0`` asks for a move lasting ``t``.
- **Paths**: ``movej`` is a straight line in joint space, its path parameter the leading joint's
  angle (``v`` [rad/s], ``a`` [rad/s²]); ``movel`` and ``movep`` a straight TCP line with the
  orientation turning about one fixed axis in proportion to the travel (``v`` [m/s] tool speed,
  ``a`` [m/s²]; a pure rotation uses them as rad/s, rad/s²; UR does not publish its separate
  rotational limit, none is applied); ``movec`` the
  circle through the current, via and target positions (mode 0: orientation interpolated from start
  to target; mode 1: orientation fixed relative to the circle's tangent).
- **Blends** (``r`` [m] > 0): UR documents that a blend starts when the TCP comes within ``r`` of the
  way point, that the program moves on to the next command at that moment and that the speed is kept
  through the blend; it does not publish the blend curve. Here a move with ``r > 0`` ramps its speed
  down over its last ``r`` of path (for ``movej``: the joint travel over which the TCP comes within
  ``r`` of the way point) in ``2 r / v``, and the next move ramps up over the same time while the two
  are *superposed*: target = ``next(t) + (previous(t) - way point)``. So two collinear moves at the same
  speed run at constant speed through the way point, the speed changes linearly from the first
  move's velocity to the second's during the blend, and a corner of angle θ is cut by at most
  ``r · sin(θ / 2)``. Two Cartesian moves blend in Cartesian space, anything else in joint space. A
  blend is completed (not continued) when the next command is not a move (``sleep``, ``sync``,
  ``servoj``, program end); ``stopj``/``stopl`` drop it and brake from the current speed.
- **Speed slider**: program time runs at ``speed_slider`` times real time for every motion command
  (``movej``/``movel``/``movep``/``movec`` and the ``servoj`` interpolation time ``t``), as on a real
  controller, where the slider scales the whole program's motion.
- **Cartesian moves** are converted to joint targets each cycle by Newton steps on the analytic
  geometric Jacobian, seeded with the previous target (the continuous branch).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from weldcell.drivers.ur import models

NDArrayF = npt.NDArray[np.float64]
Gen = Generator[None, None, Any]

#: TCP travel [m] below which a movel/movep is a pure rotation (its path parameter is the angle).
PURE_ROTATION = 1e-6


class MotionError(Exception):
    """A motion the controller cannot execute (unreachable pose, degenerate circle); a protective stop."""


# --- kinematics ------------------------------------------------------------------------------
def fk_batch(arm: models.URArm, q: npt.ArrayLike) -> NDArrayF:
    """Flange poses T_base_flange, shape (N, 4, 4), for joint positions q [rad], shape (N, 6)."""
    qq = np.atleast_2d(np.asarray(q, dtype=np.float64))
    n = qq.shape[0]
    T = np.broadcast_to(np.eye(4), (n, 4, 4)).copy()
    for i in range(6):
        ct, st = np.cos(qq[:, i]), np.sin(qq[:, i])
        ca, sa = math.cos(arm.alpha[i]), math.sin(arm.alpha[i])
        A = np.zeros((n, 4, 4))
        A[:, 0, 0], A[:, 0, 1], A[:, 0, 2], A[:, 0, 3] = ct, -st * ca, st * sa, arm.a[i] * ct
        A[:, 1, 0], A[:, 1, 1], A[:, 1, 2], A[:, 1, 3] = st, ct * ca, -ct * sa, arm.a[i] * st
        A[:, 2, 1], A[:, 2, 2], A[:, 2, 3] = sa, ca, arm.d[i]
        A[:, 3, 3] = 1.0
        T = T @ A
    return T


def tcp_positions(arm: models.URArm, q: npt.ArrayLike, T_flange_tcp: NDArrayF) -> NDArrayF:
    """TCP positions in the base frame [m], shape (N, 3), for joint positions q [rad] (N, 6)."""
    T = fk_batch(arm, q)
    return np.asarray(T[:, :3, :3] @ T_flange_tcp[:3, 3] + T[:, :3, 3], dtype=np.float64)


def joint_blend_length(
    arm: models.URArm, T_flange_tcp: NDArrayF, q0: NDArrayF, q1: NDArrayF, r: float
) -> float:
    """Leading-joint travel [rad] before ``q1`` where the TCP (joint line q0 → q1) comes within ``r`` [m]."""
    L = float(np.max(np.abs(q1 - q0)))
    if r <= 0 or L == 0:
        return 0.0
    u = np.linspace(0.0, 1.0, 201)
    p = tcp_positions(arm, q0 + u[:, None] * (q1 - q0), T_flange_tcp)
    d = np.linalg.norm(p - p[-1], axis=1)
    outside = np.flatnonzero(d > r)
    if outside.size == 0:
        return L
    k = int(outside[-1])
    u_b = u[k] + (u[k + 1] - u[k]) * (d[k] - r) / max(d[k] - d[k + 1], 1e-300)
    return L * (1.0 - float(u_b))


def _fk_jacobian(arm: models.URArm, q: NDArrayF) -> tuple[NDArrayF, NDArrayF]:
    """T_base_flange (4, 4) and the geometric Jacobian of the flange in the base frame (6, 6).

    Plain-float arithmetic: called every controller cycle of a Cartesian move.
    """
    R = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    o = [0.0, 0.0, 0.0]
    zs, os_ = [], []
    for i in range(6):
        zs.append((R[0][2], R[1][2], R[2][2]))
        os_.append((o[0], o[1], o[2]))
        ct, st = math.cos(q[i]), math.sin(q[i])
        ca, sa = _CA[arm.name][i], _SA[arm.name][i]
        ai, di = arm.a[i], arm.d[i]
        A = ((ct, -st * ca, st * sa), (st, ct * ca, -ct * sa), (0.0, sa, ca))
        t = (ai * ct, ai * st, di)
        o = [o[r] + R[r][0] * t[0] + R[r][1] * t[1] + R[r][2] * t[2] for r in range(3)]
        R = [[R[r][0] * A[0][c] + R[r][1] * A[1][c] + R[r][2] * A[2][c] for c in range(3)] for r in range(3)]
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = o
    J = np.empty((6, 6))
    for i in range(6):
        z, oi = zs[i], os_[i]
        dx, dy, dz = o[0] - oi[0], o[1] - oi[1], o[2] - oi[2]
        J[0, i] = z[1] * dz - z[2] * dy
        J[1, i] = z[2] * dx - z[0] * dz
        J[2, i] = z[0] * dy - z[1] * dx
        J[3, i], J[4, i], J[5, i] = z
    return T, J


_CA = {name: tuple(math.cos(x) for x in arm.alpha) for name, arm in models.ARMS.items()}
_SA = {name: tuple(math.sin(x) for x in arm.alpha) for name, arm in models.ARMS.items()}


def ik_newton(
    arm: models.URArm, T_base_flange: NDArrayF, q_seed: NDArrayF, iterations: int = 12
) -> NDArrayF | None:
    """Joint positions [rad] (6,) reaching ``T_base_flange`` near ``q_seed``; None beyond 1e-9 m/rad."""
    q = np.array(q_seed, dtype=np.float64)
    for _ in range(iterations):
        T, J = _fk_jacobian(arm, q)
        err = np.concatenate(
            [T_base_flange[:3, 3] - T[:3, 3], models.rotvec_from_matrix(T_base_flange[:3, :3] @ T[:3, :3].T)]
        )
        if float(np.max(np.abs(err))) < 1e-10:
            return q
        try:
            dq = np.linalg.solve(J, err)
        except np.linalg.LinAlgError:
            return None
        q = q + dq
        if float(np.max(np.abs(dq))) < 1e-6:  # Newton converges quadratically: the error is ~1e-12
            return q
    T, _ = _fk_jacobian(arm, q)
    ok = (
        np.linalg.norm(T_base_flange[:3, 3] - T[:3, 3]) < 1e-9
        and np.linalg.norm(models.rotvec_from_matrix(T_base_flange[:3, :3] @ T[:3, :3].T)) < 1e-8
    )
    return q if ok else None


# --- speed profile ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Profile:
    """Speed profile of one move: linear speed ramp in, cruise, linear ramp out.

    A move from rest accelerates with ``a`` (``t_in = v / a``); a move blended into from the previous
    one ramps up over the previous move's blend time (``t_in`` given). A move that stops at its target
    decelerates with ``a``; one that blends out with radius ``r`` ramps down over ``2 r / v`` (it covers
    ``r`` while ramping: the blend starts ``r`` before the way point). The cruise speed is lowered when
    the move is too short for its ramps.

    Attributes:
        distance: Path length (m, or rad for movej).
        v: Cruise speed (per second).
        t_in: Ramp-up time [s].
        t_out: Ramp-down time [s].
        duration: Total time [s].
    """

    distance: float
    v: float
    t_in: float
    t_out: float
    duration: float

    @classmethod
    def make(
        cls,
        distance: float,
        v: float,
        a: float,
        t: float = 0.0,
        blend_in: float | None = None,
        r_out: float = 0.0,
    ) -> Profile:
        """Profile for ``distance`` at cruise speed ``v`` and acceleration ``a``.

        Args:
            distance: Path length.
            v: Cruise speed.
            a: Acceleration from / to rest.
            t: Requested duration [s] of a rest-to-rest move (> 0: ``v`` is chosen for it).
            blend_in: Ramp-up time [s] when the move is blended into, None from rest.
            r_out: Blend radius (path length of the ramp-down), 0 = stop at the target.
        """
        d = max(float(distance), 0.0)
        a = max(float(a), 1e-9)
        v = max(float(v), 1e-9)
        if d <= 1e-15:
            return cls(0.0, v, 0.0, 0.0, 0.0)
        if t > 0:
            disc = (a * t) ** 2 - 4.0 * a * d
            v = (a * t - math.sqrt(disc)) / 2.0 if disc >= 0 else 2.0 * d / t
            a = max(a, v / (t / 2.0))
        r = min(max(float(r_out), 0.0), d / 2.0)
        rest_ends = (blend_in is None) + (r == 0.0)
        alpha = rest_ends / (2.0 * a)
        beta = 0.0 if blend_in is None else blend_in / 2.0
        if alpha * v * v + beta * v + r > d:  # too short for the ramps at v: lower the cruise speed
            rem = d - r
            v = rem / beta if alpha == 0 else (-beta + math.sqrt(beta * beta + 4 * alpha * rem)) / (2 * alpha)
            v = max(v, 1e-9)
        t_in = v / a if blend_in is None else float(blend_in)
        t_out = v / a if r == 0.0 else 2.0 * r / v
        tc = max(0.0, (d - v * (t_in + t_out) / 2.0) / v)
        return cls(d, v, t_in, t_out, t_in + tc + t_out)

    @property
    def decel_start(self) -> float:
        """Time the ramp-down (or the blend into the next move) starts [s]."""
        return self.duration - self.t_out

    def s(self, tau: npt.ArrayLike) -> NDArrayF:
        """Distance travelled at time(s) ``tau`` [s] (clamped to 0 … duration)."""
        t = np.clip(np.asarray(tau, dtype=np.float64), 0.0, self.duration)
        if self.distance == 0.0:
            return np.zeros_like(t)
        v, ti, to = self.v, self.t_in, self.t_out
        rem = self.duration - t
        t_c, rem_c = np.minimum(t, ti), np.minimum(rem, to)  # each branch only where it applies
        s_in = v * t_c * t_c / (2.0 * ti) if ti > 0 else v * t
        s_out = self.distance - (v * rem_c * rem_c / (2.0 * to) if to > 0 else v * rem)
        s_mid = v * ti / 2.0 + v * (t - ti)
        out = np.where(t < ti, s_in, np.where(rem < to, s_out, s_mid))
        return np.asarray(np.clip(out, 0.0, self.distance), dtype=np.float64)


# --- paths -----------------------------------------------------------------------------------
def _rot(axis_angle: NDArrayF) -> NDArrayF:
    return models.matrix_from_rotvec(axis_angle)


@dataclass(frozen=True, slots=True)
class JointPath:
    """Straight joint-space line; path parameter = leading joint angle [rad]."""

    q0: NDArrayF
    q1: NDArrayF

    @property
    def length(self) -> float:
        """Leading joint's travel [rad]."""
        return float(np.max(np.abs(self.q1 - self.q0)))

    def q_at(self, d: float) -> NDArrayF:
        """Joint positions [rad] (6,) after travelling ``d``."""
        L = self.length
        return self.q0 + (self.q1 - self.q0) * (d / L if L > 0 else 1.0)


@dataclass(frozen=True, slots=True)
class LinePath:
    """Straight TCP line from T0 to T1 (base frame), orientation about one fixed axis (movel, movep)."""

    T0: NDArrayF
    T1: NDArrayF
    rotvec: NDArrayF = field(init=False)
    length: float = field(init=False)

    def __post_init__(self) -> None:
        rv = models.rotvec_from_matrix(self.T1[:3, :3] @ self.T0[:3, :3].T)
        dp = float(np.linalg.norm(self.T1[:3, 3] - self.T0[:3, 3]))
        # rotvec: rotation from T0's to T1's orientation [rad]; length: the TCP travel [m], or for a
        # pure rotation the angle [rad] (v and a then act as rad/s and rad/s²)
        object.__setattr__(self, "rotvec", rv)
        object.__setattr__(self, "length", dp if dp > PURE_ROTATION else float(np.linalg.norm(rv)))

    def pose_at(self, d: float) -> NDArrayF:
        """TCP pose T_base_tcp (4, 4) after travelling ``d`` [m]."""
        L = self.length
        u = d / L if L > 0 else 1.0
        T = np.eye(4)
        T[:3, :3] = _rot(self.rotvec * u) @ self.T0[:3, :3]
        T[:3, 3] = self.T0[:3, 3] + (self.T1[:3, 3] - self.T0[:3, 3]) * u
        return T


@dataclass(frozen=True, slots=True)
class CirclePath:
    """Circle through the positions of T0, the via point and T1 (movec), base frame.

    Attributes:
        T0: Start pose (4, 4).
        p_via: Via position [m] (3,).
        T1: End pose (4, 4).
        mode: 0 = orientation interpolated from T0 to T1; 1 = fixed relative to the tangent.
    """

    T0: NDArrayF
    p_via: NDArrayF
    T1: NDArrayF
    mode: int = 0
    center: NDArrayF = field(init=False)
    radius: float = field(init=False)
    e1: NDArrayF = field(init=False)
    e2: NDArrayF = field(init=False)
    normal: NDArrayF = field(init=False)
    sweep: float = field(init=False)

    def __post_init__(self) -> None:
        c, r, n, sweep = circle_through(self.T0[:3, 3], self.p_via, self.T1[:3, 3])
        e1 = (self.T0[:3, 3] - c) / r
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "radius", r)
        object.__setattr__(self, "normal", n)
        object.__setattr__(self, "e1", e1)
        object.__setattr__(self, "e2", np.cross(n, e1))
        object.__setattr__(self, "sweep", sweep)

    @property
    def length(self) -> float:
        """Arc length [m]."""
        return self.radius * self.sweep

    def pose_at(self, d: float) -> NDArrayF:
        """TCP pose T_base_tcp (4, 4) after travelling ``d`` [m] along the arc."""
        u = d / self.length if self.length > 0 else 1.0
        phi = self.sweep * u
        T = np.eye(4)
        T[:3, 3] = self.center + self.radius * (math.cos(phi) * self.e1 + math.sin(phi) * self.e2)
        if self.mode == 1:
            T[:3, :3] = _rot(self.normal * phi) @ self.T0[:3, :3]
        else:
            rv = models.rotvec_from_matrix(self.T1[:3, :3] @ self.T0[:3, :3].T)
            T[:3, :3] = _rot(rv * u) @ self.T0[:3, :3]
        return T


def circle_through(p0: NDArrayF, pv: NDArrayF, p1: NDArrayF) -> tuple[NDArrayF, float, NDArrayF, float]:
    """Circle from p0 through pv to p1: (centre [m] (3,), radius [m], unit normal (3,), sweep [rad]).

    The normal is oriented so that the travel p0 → pv → p1 turns positively about it.

    Raises:
        MotionError: collinear or coincident points.
    """
    a, b = pv - p0, p1 - p0
    n = np.cross(a, b)
    nn = float(n @ n)
    if min(float(a @ a), float(b @ b), float((p1 - pv) @ (p1 - pv))) < 1e-16 or nn < 1e-14 * float(
        a @ a
    ) * float(b @ b):
        raise MotionError(
            "movec: start, via and end points are collinear or coincide; no circle through them"
        )
    c = p0 + (np.cross(n, a) * float(b @ b) + np.cross(b, n) * float(a @ a)) / (2.0 * nn)
    n = n / math.sqrt(nn)
    r = float(np.linalg.norm(p0 - c))
    e1 = (p0 - c) / r
    e2 = np.cross(n, e1)

    def ang(p: NDArrayF) -> float:
        w = p - c
        return math.atan2(float(w @ e2), float(w @ e1)) % (2 * math.pi)

    return c, r, n, ang(p1)


def _rigid_inverse(T: NDArrayF) -> NDArrayF:
    out = np.eye(4)
    out[:3, :3] = T[:3, :3].T
    out[:3, 3] = -T[:3, :3].T @ T[:3, 3]
    return out


# --- execution -------------------------------------------------------------------------------
class MotionHost(Protocol):
    """The controller side :class:`MotionExecutor` drives (the virtual controller core)."""

    arm: models.URArm
    cycle: float
    speed_slider: float
    target_q: NDArrayF
    target_qd: NDArrayF

    def command(self, q: Any) -> None:
        """Set this cycle's joint target [rad] (6,)."""

    def tcp_matrix(self) -> NDArrayF:
        """T_flange_tcp (4, 4) of the active TCP."""


@dataclass
class _Segment:
    """One move being executed: a path, its profile, blend radius and elapsed program time."""

    path: JointPath | LinePath | CirclePath
    profile: Profile
    r: float
    q_seed: NDArrayF
    tau: float = 0.0
    q_prev: NDArrayF | None = None

    @property
    def cartesian(self) -> bool:
        return not isinstance(self.path, JointPath)

    @property
    def done(self) -> bool:
        return self.tau >= self.profile.duration - 1e-12

    def value(self) -> NDArrayF:
        d = float(self.profile.s(self.tau))
        if isinstance(self.path, JointPath):
            return self.path.q_at(d)
        return self.path.pose_at(d)

    def end_value(self) -> NDArrayF:
        if isinstance(self.path, JointPath):
            return self.path.q1
        return self.path.pose_at(self.path.length)


class MotionExecutor:
    """Executes the motion commands of one controller (see the module docstring)."""

    def __init__(self, host: MotionHost) -> None:
        self.host = host
        self.pending: _Segment | None = None

    # --- helpers -----------------------------------------------------------------------------
    def _dt(self) -> float:
        return self.host.cycle * max(0.0, min(1.0, float(self.host.speed_slider)))

    def _T_tcp(self, q: NDArrayF) -> NDArrayF:
        return np.asarray(models.fk(self.host.arm, q) @ self.host.tcp_matrix(), dtype=np.float64)

    def _ik(self, T_base_tcp: NDArrayF, seed: NDArrayF) -> NDArrayF:
        T = T_base_tcp @ _rigid_inverse(self.host.tcp_matrix())
        q = ik_newton(self.host.arm, T, seed)
        if q is None:
            q = models.ik_near(self.host.arm, T, seed)
        if q is None:
            raise MotionError("the Cartesian path leaves the reachable workspace")
        return q

    def _seg_q(self, seg: _Segment) -> NDArrayF:
        """Absolute joint target of a segment alone (joint space), updating its IK seed."""
        v = seg.value()
        if seg.cartesian:
            guess = seg.q_seed + (seg.q_seed - seg.q_prev) if seg.q_prev is not None else seg.q_seed
            seg.q_prev = seg.q_seed
            seg.q_seed = self._ik(v, guess)
            return seg.q_seed
        return v

    def _start(self) -> tuple[NDArrayF, NDArrayF]:
        """Start of the next move: (joint positions, TCP pose): the pending way point or the target."""
        A = self.pending
        if A is None:
            q = self.host.target_q.copy()
            return q, self._T_tcp(q)
        end = A.end_value()
        if A.cartesian:
            return self._ik(end, A.q_seed), end
        return end.copy(), self._T_tcp(end)

    def _in_blend(self, seg: _Segment) -> bool:
        return seg.r > 0 and seg.tau >= seg.profile.decel_start - 1e-12

    def _blend_in(self) -> float | None:
        return self.pending.profile.t_out if self.pending is not None else None

    # --- the generic move --------------------------------------------------------------------
    def run(self, B: _Segment) -> Gen:
        """Execute ``B``, blending out of the pending move; leaves ``B`` pending when it blends."""
        A, self.pending = self.pending, None
        if A is not None:  # B started when A's ramp-down did: catch up the part of a cycle since then
            B.tau = max(0.0, A.tau - A.profile.decel_start)
        A_end = A.end_value() if A is not None else None
        A_end_q = None
        if A is not None and not (A.cartesian and B.cartesian):
            A_end_q = self._ik(A_end, A.q_seed) if A.cartesian else A_end  # type: ignore[arg-type]
        while True:
            dt = self._dt()
            B.tau = min(B.tau + dt, B.profile.duration)
            if A is not None:
                A.tau = min(A.tau + dt, A.profile.duration)
            if A is None:
                q = self._seg_q(B)
            elif A.cartesian and B.cartesian:
                TA, TB = A.value(), B.value()
                T = np.eye(4)
                T[:3, 3] = TB[:3, 3] + TA[:3, 3] - A_end[:3, 3]  # type: ignore[index]
                T[:3, :3] = TA[:3, :3] @ A_end[:3, :3].T @ TB[:3, :3]  # type: ignore[index]
                q = self._ik(T, self.host.target_q + self.host.target_qd * self.host.cycle)
                B.q_seed = q
            else:
                q = self._seg_q(B) + self._seg_q(A) - A_end_q  # type: ignore[operator]
            if A is not None and A.done:
                A = None
            self.host.command(q)
            yield
            if B.done and A is None:
                return
            if A is None and self._in_blend(B):
                B.q_seed = self.host.target_q.copy() if B.cartesian else B.q_seed
                self.pending = B
                return

    def flush(self) -> Gen:
        """Finish a pending blended move (before a non-blending command or at program end)."""
        A, self.pending = self.pending, None
        if A is None:
            return
        while not A.done:
            A.tau = min(A.tau + self._dt(), A.profile.duration)
            self.host.command(self._seg_q(A))
            yield

    def drop(self) -> None:
        """Forget a pending blend (stopj/stopl brake from the current speed instead)."""
        self.pending = None

    # --- commands ------------------------------------------------------------------------------
    def movej(self, q_goal: NDArrayF, a: float, v: float, t: float, r: float) -> Gen:
        """Joint move to ``q_goal`` [rad] (leading joint: ``v`` [rad/s], ``a`` [rad/s²]), blend ``r`` [m]."""
        q0, _ = self._start()
        path = JointPath(q0, np.asarray(q_goal, dtype=np.float64))
        r_path = joint_blend_length(self.host.arm, self.host.tcp_matrix(), path.q0, path.q1, float(r))
        prof = Profile.make(path.length, v, a, t, self._blend_in(), r_path)
        return self.run(_Segment(path, prof, r_path, q0))

    def movel(self, T_goal: NDArrayF, a: float, v: float, t: float, r: float) -> Gen:
        """Linear TCP move to ``T_goal`` (4, 4) base frame (``v`` [m/s], ``a`` [m/s²]), blend ``r`` [m]."""
        q0, T0 = self._start()
        path = LinePath(T0, T_goal)
        prof = Profile.make(path.length, v, a, t, self._blend_in(), float(r))
        return self.run(_Segment(path, prof, float(r), q0))

    def movec(self, p_via: NDArrayF, T_goal: NDArrayF, a: float, v: float, r: float, mode: int) -> Gen:
        """Circular TCP move through ``p_via`` [m] to ``T_goal`` (4, 4), blend ``r`` [m]."""
        q0, T0 = self._start()
        path = CirclePath(T0, np.asarray(p_via, dtype=np.float64), T_goal, int(mode))
        prof = Profile.make(path.length, v, a, 0.0, self._blend_in(), float(r))
        return self.run(_Segment(path, prof, float(r), q0))

    def servoj(self, q_goal: NDArrayF, t: float) -> Gen:
        """Linear joint interpolation to ``q_goal`` [rad] over ``t`` [s] of program time."""
        yield from self.flush()
        start = self.host.target_q.copy()
        goal = np.asarray(q_goal, dtype=np.float64)
        t = max(float(t), self.host.cycle)
        u = 0.0
        while u < 1.0 - 1e-9:
            u = min(1.0, u + self._dt() / t)
            self.host.command(start + (goal - start) * u)
            yield
