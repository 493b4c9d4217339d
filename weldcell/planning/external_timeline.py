"""The timeline of a job with external axes: index moves, transits, welds, and the moving-part checks.

Split from :mod:`weldcell.planning.coordinated` (which chooses the device paths and plans the welds);
this module assembles the :class:`~weldcell.trajectory.JointTrajectory` with its
:class:`~weldcell.trajectory.ExternalAxes` and checks the moving part against the robot.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import PlanningError
from weldcell.kinematics.positioner import PositionerModel
from weldcell.planning.collision import CapsuleCollisionChecker
from weldcell.planning.lift import lifted_waypoints
from weldcell.planning.motion_report import MoveSpan
from weldcell.planning.planner import PlanOptions, _Planned
from weldcell.planning.positioner_path import PositionerPath
from weldcell.planning.speed_limits import time_path_limited
from weldcell.planning.timeline import TimelineBuilder
from weldcell.planning.transit import TransitError, find_path, segment_free
from weldcell.program.model import Body, Cell, Program
from weldcell.spatial import invert_transforms
from weldcell.trajectory import ExternalAxes, JointTrajectory
from weldcell.trajectory.ops import differentiate

if TYPE_CHECKING:
    from weldcell.kinematics import Robot

NDArrayF = npt.NDArray[np.float64]

INDEX_CHECK_STEP_RAD = math.radians(2.0)  # collision checks of an index move, per revolute axis
INDEX_CHECK_STEP_M = 0.01  # the same for a prismatic axis [m]


@dataclass(frozen=True, slots=True)
class Device:
    """The cell's external device, resolved."""

    model: PositionerModel
    role: str
    T_world_base: NDArrayF
    home: NDArrayF
    T_world_flange_home: NDArrayF
    T_flange_robot: NDArrayF | None  # track only


@dataclass(frozen=True, slots=True)
class PlannedExt:
    planned: _Planned
    ppath: PositionerPath
    q_ext: NDArrayF  # (M, k) on the weld samples
    q_ext_start: NDArrayF
    q_ext_end: NDArrayF
    weld_position: dict[str, Any]


def cell_at(cell: Cell, dev: Device, q: NDArrayF) -> Cell:
    """The cell with the device at ``q`` (k,): mounted bodies moved, or the robot base moved."""
    if dev.role == "track":
        assert dev.T_flange_robot is not None  # mypy
        T_base = dev.T_world_base @ dev.model.T_base_flange(q) @ dev.T_flange_robot
        return replace(cell, T_world_base=T_base)
    T_wf = dev.T_world_base @ dev.model.T_base_flange(q)
    bodies = tuple(b if b.T_flange_body is None else _moved(b, T_wf @ b.T_flange_body) for b in cell.bodies)
    return replace(cell, bodies=bodies)


def _moved(b: Body, T_world_body: NDArrayF) -> Body:
    return Body(
        b.name,
        b.role,
        b.shape,
        size=b.size,
        radius=b.radius,
        length=b.length,
        mesh_path=b.mesh_path,
        T_world_body=T_world_body,
        mesh_scale=b.mesh_scale,
        mounted_on=b.mounted_on,
        T_flange_body=b.T_flange_body,
    )


MOVING_CHECK_STEP = 0.002  # largest motion of a mounted body between two checked poses [m]


def _body_radius(b: Body) -> float:
    """Radius [m] of a sphere about the flange origin that contains body ``b``."""
    if b.shape == "box":
        ext = 0.5 * float(np.linalg.norm(np.asarray(b.size)))
    elif b.shape == "cylinder":
        ext = math.hypot(b.radius, 0.5 * b.length)
    elif b.shape == "sphere":
        ext = b.radius
    else:
        ext = 1.0  # a mesh: a generous bound
    assert b.T_flange_body is not None  # mypy
    return float(np.linalg.norm(b.T_flange_body[:3, 3])) + ext


def moving_part_hits(
    cell: Cell,
    dev: Device,
    checker_at: Callable[[NDArrayF], CapsuleCollisionChecker],
    q: NDArrayF,
    q_ext: NDArrayF,
) -> str:
    """'' when the robot samples ``q`` (M, n) are clear of the cell with the device at ``q_ext`` (M, k).

    The cell is posed every time a mounted body (or, on a track, the robot base) has moved by
    :data:`MOVING_CHECK_STEP`; each sample is checked against the nearest posed cell.
    """
    if dev.role == "track":
        lever = np.ones(dev.model.n_axes)
    else:
        r = max([_body_radius(b) for b in cell.bodies if b.T_flange_body is not None], default=0.0)
        # a point at r from the flange origin is at most r + (flange origin to joint j) from axis j
        T = np.eye(4)
        origins = []
        for j in range(dev.model.n_axes):
            T = T @ dev.model.T_parent_joint[j]
            origins.append(T[:3, 3].copy())
        flange = dev.model.T_base_flange(np.zeros(dev.model.n_axes))[:3, 3]
        lever = np.array([r + float(np.linalg.norm(flange - o)) for o in origins])
    motion = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(q_ext, axis=0)) @ lever)])
    chunk = np.floor(motion / MOVING_CHECK_STEP + 0.5).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1]])
    ends = np.r_[starts[1:], len(q)]
    for a, b in zip(starts, ends, strict=True):
        mid = (a + b - 1) // 2
        checker = checker_at(q_ext[mid])
        free = checker.check(q[a:b])
        if not bool(np.all(free)):
            i = a + int(np.argmin(free))
            pairs = ", ".join(f"{x} with {y}" for x, y in checker.colliding_bodies(q[i])) or "unknown pair"
            return f"the moving part collides with the robot at weld sample {i}: {pairs}"
    return ""


#: Share of the device's speed and acceleration limits an index move is timed at: the servo needs
#: headroom to catch up when a streamed set-point arrives late (a move at 100 % of both tripped the
#: virtual servo's following-error fault on a loaded PC; robot transits keep 5 % for the same reason).
INDEX_SPEED_SCALE = 0.8
INDEX_ACCEL_SCALE = 0.7


def _index_samples(model: PositionerModel, q0: NDArrayF, q1: NDArrayF, dt: float) -> NDArrayF:
    """A rest-to-rest move of the device's axes from ``q0`` to ``q1`` (k,), timed by ruckig at
    :data:`INDEX_SPEED_SCALE` / :data:`INDEX_ACCEL_SCALE` of the device's speed and acceleration
    limits (jerk 10x the acceleration per second), sampled every ``dt``; shape (M, k), first q0,
    last q1."""
    from ruckig import InputParameter, Result, Ruckig, Trajectory

    k = model.n_axes
    otg = Ruckig(k)
    inp = InputParameter(k)
    inp.current_position = [float(v) for v in q0]
    inp.current_velocity = [0.0] * k
    inp.current_acceleration = [0.0] * k
    inp.target_position = [float(v) for v in q1]
    inp.target_velocity = [0.0] * k
    inp.target_acceleration = [0.0] * k
    inp.max_velocity = [float(v) * INDEX_SPEED_SCALE for v in model.qd_max]
    inp.max_acceleration = [float(v) * INDEX_ACCEL_SCALE for v in model.qdd_max]
    inp.max_jerk = [float(v) * INDEX_ACCEL_SCALE * 10.0 for v in model.qdd_max]
    traj = Trajectory(k)
    if otg.calculate(inp, traj) not in (Result.Working, Result.Finished):
        raise PlanningError(f"ruckig could not time the {model.name} index move")
    m = max(2, math.ceil(traj.duration / dt) + 1)
    out = np.array([traj.at_time(min(i * dt, traj.duration))[0] for i in range(m)], dtype=np.float64)
    out[0], out[-1] = q0, q1
    return out


def assemble(
    program: Program,
    robot: Robot,
    dev: Device,
    checker_at: Callable[[NDArrayF], CapsuleCollisionChecker],
    done: list[PlannedExt],
    opts: PlanOptions,
    limits: Any,
    spans: list[MoveSpan],
) -> JointTrajectory:
    """The job's timeline with the device's axes on every sample."""
    cell = program.cell
    dt = opts.dt
    n = len(robot.joint_names)
    seam_ids = tuple(s.id for s in program.seams)
    sidx = {sid: i for i, sid in enumerate(seam_ids)}
    tl = TimelineBuilder(n, dt, external=True)
    T_ft = np.asarray(cell.T_flange_tcp, dtype=np.float64)
    T_base_world = invert_transforms(np.asarray(cell.T_world_base, dtype=np.float64))
    home = np.asarray(cell.home_q, dtype=np.float64)

    def transit(q0: NDArrayF, q1: NDArrayF, qe: NDArrayF, kind: str, label: str, move: str) -> None:
        checker = checker_at(qe)
        wp = None
        if kind == "transit" and not segment_free(checker, q0, q1, opts.transit.resolution):
            wp = lifted_waypoints(robot, checker, q0, q1, T_ft, T_base_world, opts.transit.resolution)
        if wp is None:
            try:
                wp = find_path(robot, checker, q0, q1, opts.transit)
            except TransitError as err:
                raise TransitError(f"transit {move}: {err}") from err
        q, qd, qdd, speeds = time_path_limited(robot, checker, wp, dt, opts.transit, limits, T_ft)
        first = tl.add(q, qd, qdd, qe=np.repeat(qe[None], len(q), axis=0))
        spans.append(MoveSpan(kind, label, first, tl.count - 1, speeds.speed_scale))

    def index_blocker(q_robot: NDArrayF, qe: NDArrayF) -> str:
        """'' when the robot at ``q_robot`` is clear of the moving part at every checked position."""
        steps = np.where(
            np.array([k == "revolute" for k in dev.model.kinds]), INDEX_CHECK_STEP_RAD, INDEX_CHECK_STEP_M
        )
        travel = np.abs(qe[-1] - qe[0]) / steps
        m = int(max(1, math.ceil(float(travel.max()))))
        pick = np.unique(np.round(np.linspace(0, len(qe) - 1, m + 1)).astype(int))
        for i in pick:
            checker = checker_at(qe[i])
            if not bool(np.all(checker.check(q_robot[None]))):
                pairs = (
                    ", ".join(f"{a} with {b}" for a, b in checker.colliding_bodies(q_robot)) or "unknown pair"
                )
                return f"at {np.round(qe[i], 4).tolist()}: {pairs}"
        return ""

    def index(q_robot: NDArrayF, qe0: NDArrayF, qe1: NDArrayF, label: str) -> NDArrayF:
        """Index the device from qe0 to qe1; the robot waits (at home when the part would hit it)."""
        if np.allclose(qe0, qe1, atol=1e-9):
            return q_robot
        qe = _index_samples(dev.model, qe0, qe1, dt)
        if index_blocker(q_robot, qe):
            transit(
                q_robot,
                home,
                qe0,
                "transit",
                "→ home (index)",
                f"home, clear of the {dev.model.name} index move",
            )
            q_robot = home
            why = index_blocker(q_robot, qe)
            if why:
                raise TransitError(
                    f"the {dev.model.name} index move {label} collides with the robot at home: {why}"
                )
        z = np.zeros((len(qe), n))
        first = tl.add(np.repeat(q_robot[None], len(qe), axis=0), z, z.copy(), qe=qe)
        spans.append(MoveSpan("index", label, first, tl.count - 1, 1.0))
        return q_robot

    q_cur, qe_cur = home, dev.home.copy()
    tl.add(home[None].copy(), np.zeros((1, n)), np.zeros((1, n)), qe=qe_cur[None].copy())
    where = "home"
    for d in done:
        p, w, seg = d.planned, d.planned.weld, d.planned.seg
        here = f"seam {seg.seam_id}"
        q_cur = index(q_cur, qe_cur, d.q_ext_start, f"{where} → {here}")
        qe_cur = d.q_ext_start
        transit(
            q_cur, p.q_approach, qe_cur, "transit", f"{where} → {here}", f"to the approach pose of {here}"
        )
        transit(p.q_approach, w.q[0], qe_cur, "approach", here, f"onto the start of {here}")
        k = sidx.get(seg.seam_id, -1)
        T_weld = world_tcp(dev, np.asarray(cell.T_world_base), w.T_world_tcp, d.q_ext)
        n_dwell = max(1, round(seg.arc_start_dwell / dt))
        n_crater = max(1, round(seg.crater_fill_time / dt))
        s_weld = np.asarray(w.s)
        qd, qdd = w.derivatives()
        first = tl.add_weld(
            w.q, qd, qdd, T_weld, s_weld, k, seg.seam_id, n_dwell, n_crater, qe=np.asarray(d.q_ext)
        )
        spans.append(MoveSpan("weld", here, first, tl.count - 1))
        qe_cur = d.q_ext_end
        transit(w.q[-1], p.q_depart, qe_cur, "depart", here, f"pulling back from the end of {here}")
        q_cur, where = p.q_depart, here
    transit(q_cur, home, qe_cur, "transit", f"{where} → home", "to home")
    index(home, qe_cur, dev.home.copy(), f"{where} → home position")
    T_world_base = np.asarray(cell.T_world_base, dtype=np.float64)

    def axes(qe_all: NDArrayF) -> ExternalAxes:
        qd_e, qdd_e = differentiate(qe_all, dt)
        return ExternalAxes(
            device=dev.model.name,
            role=dev.role,
            names=dev.model.axis_names,
            kinds=dev.model.kinds,
            q=qe_all,
            qd=qd_e,
            qdd=qdd_e,
            T_world_base=dev.T_world_base,
        )

    def nominal(x: NDArrayF, e: NDArrayF | None) -> NDArrayF:
        assert e is not None  # mypy: the builder carries external axes
        return world_tcp(dev, T_world_base, T_world_base @ np.asarray(robot.fk(x)) @ T_ft, e)

    travel: dict[str, float] = {}
    for d in done:
        travel.setdefault(d.planned.seg.seam_id, float(d.planned.seg.travel_speed))
    return tl.build(
        robot=robot.name,
        joint_names=tuple(robot.joint_names),
        nominal_tcp=nominal,
        T_world_base=_trajectory_base(dev, T_world_base),
        T_flange_tcp=T_ft,
        seam_ids=seam_ids,
        program_hash=program.hash,
        travel_speed=travel,
        external=axes,
    )


def _trajectory_base(dev: Device, T_world_base_home: NDArrayF) -> NDArrayF:
    """The robot base stored in the trajectory: fixed; on a track, the base with the carriage at 0."""
    if dev.role != "track":
        return T_world_base_home
    assert dev.T_flange_robot is not None  # mypy
    zero = np.zeros(dev.model.n_axes)
    return np.asarray(dev.T_world_base @ dev.model.T_base_flange(zero) @ dev.T_flange_robot, dtype=np.float64)


def world_tcp(dev: Device, T_world_base_home: NDArrayF, T_view_tcp: NDArrayF, q_ext: NDArrayF) -> NDArrayF:
    """World TCP poses (M, 4, 4) from poses in the planning frame; moves the robot base on a track."""
    if dev.role != "track":
        return np.asarray(T_view_tcp, dtype=np.float64)
    assert dev.T_flange_robot is not None  # mypy
    T_base = dev.T_world_base @ dev.model.T_base_flange(q_ext) @ dev.T_flange_robot
    return np.asarray(T_base @ invert_transforms(T_world_base_home) @ T_view_tcp, dtype=np.float64)
