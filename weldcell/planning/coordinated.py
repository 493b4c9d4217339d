"""Planning a program whose cell has a positioner or a robot track (external axes).

Every seam on a part mounted on the positioner is planned in two steps:

1. the positioner path q(s) along the seam (:mod:`weldcell.planning.positioner_path`): fixed (one
   indexed position), coordinated (a smooth path keeping the weld position), or the planner's choice;
2. the robot's weld on the **moving seam**: the torch pose at seam arc length ``s`` is
   ``T_world_part(q(s)) @ T_part_tcp(s)``, so the weld is an ordinary weld segment whose path moves
   with the part. The existing seam search (IK branches, torch rotation and angle tolerances,
   singularities) and the constant-speed weld timing (:mod:`weldcell.planning.weld`) run on it
   unchanged; since ``s(t)`` follows the programmed travel speed, the torch moves at that speed
   *relative to the part*.

A robot on a track is the same mechanism seen from the robot: the part moves relative to the robot
base by the inverse of the carriage motion.

Between seams the positioner indexes while the robot stands still (after its pull-back; when the
moving part would hit it there, the robot goes home first). Index moves are timed with ruckig at the
device's speed and acceleration limits and checked for collisions of the moving part (bodies
``mounted_on: positioner``) against the robot, every 2° (or 10 mm) of axis motion. Robot transits
are checked with the part where the positioner holds it.

What this planner does not check (the simulator does, :mod:`weldcell.sim.validate`): collisions of
the *moving* mounted part against the robot during a coordinated weld (the planner checks the
static cell there).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import PlanningError
from weldcell.kinematics.positioner import PositionerModel, load_positioner
from weldcell.planning.collision import CapsuleCollisionChecker
from weldcell.planning.lift import lifted_waypoints
from weldcell.planning.motion_report import MoveSpan, motion_summary, plan_metadata, speed_limit_violation
from weldcell.planning.planner import (
    PlanOptions,
    PlanResult,
    PlanStatus,
    SeamReport,
    _plan_direction,
    _Planned,
    _report,
)
from weldcell.planning.positioner_path import (
    PositionerPath,
    RobotPlacement,
    SeamGeometryPart,
    choose_positioner_path,
    flange_robot,
    weld_position_angles,
    weld_position_deviation,
)
from weldcell.planning.seam import SeamFailure
from weldcell.planning.speed_limits import SpeedLimitError, speed_limits_for_cell, time_path_limited
from weldcell.planning.transit import TransitError, find_path, segment_free
from weldcell.program.model import Body, Cell, Program, Seam, SeamPositioning
from weldcell.spatial import invert_transforms
from weldcell.toolpath.frames import joint_directions
from weldcell.toolpath.path import SegmentPath, seam_samples
from weldcell.trajectory import ArcEvent, ExternalAxes, JointTrajectory
from weldcell.trajectory.ops import differentiate

if TYPE_CHECKING:
    from weldcell.kinematics import Robot
    from weldcell.toolpath.segments import WeldSegment

NDArrayF = npt.NDArray[np.float64]
ProgressFn = Callable[[float, str], None]

INDEX_CHECK_STEP_RAD = math.radians(2.0)  # collision checks of an index move, per revolute axis
INDEX_CHECK_STEP_M = 0.01  # the same for a prismatic axis [m]
COARSE_STEP = 0.002  # seam sample spacing of the positioner choice [m]
MAX_COARSE = 400  # at most this many coarse samples per segment


@dataclass(frozen=True, slots=True, eq=False)
class MovingSegmentPath(SegmentPath):
    """A segment path whose part moves: ``poses(s) = T_view_part(s) @ (part-frame poses)(s)``.

    ``view`` maps arc lengths (M,) [m] to the part's pose (M, 4, 4) in the frame the robot is
    planned in (the world for a positioner; for a track, the world seen from the robot base standing
    at its home position).
    """

    view: Callable[[NDArrayF], NDArrayF] | None = field(default=None)
    part: SegmentPath | None = field(default=None)

    def seam_frames(self, s: npt.ArrayLike) -> tuple[NDArrayF, NDArrayF]:
        """Seam frames and pass points in the view frame at arc lengths ``s`` (M,)."""
        s_arr = np.atleast_1d(np.asarray(s, dtype=np.float64))
        R, p = self._part().seam_frames(s_arr)
        T = self._view(s_arr)
        return T[:, :3, :3] @ R, np.einsum("nij,nj->ni", T[:, :3, :3], p) + T[:, :3, 3]

    def poses(self, s: npt.ArrayLike) -> NDArrayF:
        """Torch poses ``T_view_tcp`` (M, 4, 4) at arc lengths ``s`` (M,) [m]."""
        s_arr = np.atleast_1d(np.asarray(s, dtype=np.float64))
        return np.asarray(self._view(s_arr) @ self._part().poses(s_arr), dtype=np.float64)

    def _part(self) -> SegmentPath:
        if self.part is None:
            raise PlanningError("MovingSegmentPath without its part-frame path")
        return self.part

    def _view(self, s: NDArrayF) -> NDArrayF:
        if self.view is None:
            raise PlanningError("MovingSegmentPath without a view function")
        return self.view(s)


@dataclass(frozen=True, slots=True)
class _Device:
    """The cell's external device, resolved."""

    model: PositionerModel
    role: str
    T_world_base: NDArrayF
    home: NDArrayF
    T_world_flange_home: NDArrayF
    T_flange_robot: NDArrayF | None  # track only


@dataclass(frozen=True, slots=True)
class _PlannedExt:
    planned: _Planned
    ppath: PositionerPath
    q_ext: NDArrayF  # (M, k) on the weld samples
    q_ext_start: NDArrayF
    q_ext_end: NDArrayF
    weld_position: dict[str, Any]


def _device(cell: Cell) -> _Device:
    ext = cell.external
    if ext is None:
        raise PlanningError("the cell has no positioner or track")
    model = load_positioner(ext.model)
    T_wf = ext.T_world_base @ model.T_base_flange(ext.home)
    T_fr = None
    if ext.role == "track":
        T_fr = flange_robot(model, ext.T_world_base, cell.T_world_base, ext.home)
    return _Device(model, ext.role, ext.T_world_base, ext.home, T_wf, T_fr)


def _cell_at(cell: Cell, dev: _Device, q: NDArrayF) -> Cell:
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


def _part_geometry(seg: WeldSegment, seam_part: Seam) -> SeamGeometryPart:
    """Coarse samples of one segment in the part frame."""
    s_all = np.asarray(seg.s)
    n = int(min(MAX_COARSE, max(8, math.ceil((s_all[-1] - s_all[0]) / COARSE_STEP) + 1)))
    s = np.linspace(s_all[0], s_all[-1], n)
    b, t = _normals(seg, seam_part, s)
    assert seg.path is not None  # mypy: toolpaths_for_seam always sets it
    T = seg.path.poses(s)
    return SeamGeometryPart(s=s, p=T[:, :3, 3], t=t, b=b, z=T[:, :3, 2])


def _normals(seg: WeldSegment, seam_part: Seam, s: NDArrayF) -> tuple[NDArrayF, NDArrayF]:
    """Weld-pool normals and travel directions (M, 3) in the part frame at arc lengths ``s``."""
    assert seg.path is not None  # mypy
    _p, t, n1, n2 = seam_samples(seam_part, seg.path.curve, s)
    t_geo = -t if seam_part.direction == "reverse" else t
    _, _, b = joint_directions(t, n1, n2, t_geo)
    return b, t


def plan_with_external_axes(
    program: Program, options: PlanOptions | None = None, progress: ProgressFn | None = None
) -> PlanResult:
    """Plan a program whose cell has a positioner or a track; the trajectory carries the external axes.

    Seams are welded in ``sequence`` order (file order without one; this planner does not reorder
    seams or weld them backwards). Returns a :class:`PlanResult` like :func:`plan_program`; the
    trajectory's ``external`` holds the device's axes on every sample and ``metadata["weld_position"]``
    the achieved weld position of every seam (per seam sample every ~1 mm, and the worst).
    """
    from weldcell.kinematics import load_robot, load_torch
    from weldcell.toolpath.segments import toolpaths_for_seam

    opts = options or PlanOptions()
    notify = progress or (lambda _f, _m: None)
    cell = program.cell
    dev = _device(cell)
    robot = load_robot(cell.robot)
    torch = load_torch(cell.torch)
    reach = float(robot.reach)
    checkers: dict[bytes, CapsuleCollisionChecker] = {}

    def checker_at(q: NDArrayF) -> CapsuleCollisionChecker:
        key = np.round(np.asarray(q, dtype=np.float64), 9).tobytes()
        if key not in checkers:
            checkers[key] = static_checker.with_cell(_cell_at(cell, dev, q))
        return checkers[key]

    static_cell = replace(cell, bodies=tuple(b for b in cell.bodies if b.mounted_on is None))
    static_checker = CapsuleCollisionChecker(robot, torch, static_cell, opts.margin)
    placement = RobotPlacement(np.asarray(cell.T_world_base), reach, dev.T_flange_robot)
    q_ext_cur = dev.home.copy()
    done: list[_PlannedExt] = []
    reports: list[SeamReport] = []
    seams = program.ordered_seams()
    for i_seam, seam in enumerate(seams):
        positioning = seam.positioning or SeamPositioning("fixed", q_ext_cur, None, math.radians(5.0))
        mounted = dev.role == "track" or seam.positioning is not None
        if dev.role == "track":
            T_anchor = np.asarray(seam.T_world_part)  # the part stands still in the world
        else:
            T_anchor = invert_transforms(dev.T_world_flange_home) @ np.asarray(seam.T_world_part)
        seam_part = replace(seam, T_world_part=np.eye(4))
        for seg in toolpaths_for_seam(program, seam_part):
            notify(0.05 + 0.8 * i_seam / max(len(seams), 1), f"seam {seg.seam_id} pass {seg.pass_index + 1}")
            t0 = time.perf_counter()
            geo = _part_geometry(seg, seam_part)
            if mounted:
                pp = choose_positioner_path(
                    dev.model,
                    dev.T_world_base,
                    T_anchor,
                    geo,
                    positioning,
                    placement,
                    q_ext_cur,
                    seg.travel_speed,
                )
            else:
                pp = PositionerPath("fixed", geo.s[[0, -1]], np.repeat(q_ext_cur[None], 2, axis=0), 0.0)
            if isinstance(pp, str):
                rep = SeamReport(
                    seg.seam_id,
                    seg.pass_index,
                    seg.stitch_index,
                    PlanStatus.OUT_OF_REACH,
                    f"seam {seg.seam_id!r}: {pp}",
                    length=seg.length,
                )
                return PlanResult(rep.status, None, rep.reason, (*reports, rep))
            view = _view_fn(dev, pp, T_anchor, np.asarray(cell.T_world_base), mounted)
            seg_w = _moving_segment(seg, view)
            # the seam search sees the part where the weld starts (exact for a fixed position, and
            # for parts of revolution about a turning axis); the simulator checks every sample
            checker = checker_at(pp.q[0]) if mounted else static_checker
            base_cell = static_cell if dev.role == "positioner" else cell
            planned = _plan_direction(robot, checker, seg_w, False, base_cell, opts)
            if isinstance(planned, SeamFailure) and pp.mode == "coordinated" and dev.role == "positioner":
                # the part where the weld starts may block what the moving part leaves free: search
                # without it; the moving part is checked sample by sample below either way
                planned = _plan_direction(robot, static_checker, seg_w, False, base_cell, opts)
            if isinstance(planned, SeamFailure):
                rep = _report(seg_w, planned, opts.dt)
                return PlanResult(rep.status, None, rep.reason, (*reports, rep))
            w = planned.weld
            q_ext = pp.at(w.s)
            problem = _axis_limits(dev.model, q_ext, opts.dt, seg.seam_id)
            if problem:
                rep = SeamReport(
                    seg.seam_id,
                    seg.pass_index,
                    seg.stitch_index,
                    PlanStatus.WELD_SPEED,
                    problem,
                    length=seg.length,
                )
                return PlanResult(rep.status, None, problem, (*reports, rep))
            if pp.mode == "coordinated":
                hit = _moving_part_hits(cell, dev, checker_at, w.q, q_ext)
                if hit:
                    reason = f"seam {seg.seam_id!r}: {hit}"
                    rep = SeamReport(
                        seg.seam_id, seg.pass_index, seg.stitch_index, PlanStatus.COLLISION, reason
                    )
                    return PlanResult(rep.status, None, reason, (*reports, rep))
            if pp.mode == "coordinated" and dev.role == "positioner":
                # approach and pull-back happen with the positioner still: check them with the part there
                for q_r, q_x, what in (
                    (planned.q_approach, pp.q[0], "approach"),
                    (planned.q_depart, pp.q[-1], "pull-back"),
                ):
                    chk_x = checker_at(q_x)
                    if not bool(np.all(chk_x.check(q_r[None]))):
                        pairs = ", ".join(f"{a} with {b}" for a, b in chk_x.colliding_bodies(q_r))
                        reason = f"seam {seg.seam_id!r}: the {what} pose collides with the part ({pairs})"
                        rep = SeamReport(
                            seg.seam_id, seg.pass_index, seg.stitch_index, PlanStatus.COLLISION, reason
                        )
                        return PlanResult(rep.status, None, reason, (*reports, rep))
            wp = _weld_position_report(dev, pp, seg, seam_part, T_anchor, w.s, q_ext, positioning)
            planned = replace(planned, plan_time=time.perf_counter() - t0)
            done.append(_PlannedExt(planned, pp, q_ext, q_ext[0].copy(), q_ext[-1].copy(), wp))
            reports.append(_report(seg_w, planned, opts.dt))
            q_ext_cur = q_ext[-1].copy()
    notify(0.85, "transit and index moves")
    limits = speed_limits_for_cell(cell)
    spans: list[MoveSpan] = []
    try:
        traj = _assemble(program, robot, dev, checker_at, done, opts, limits, spans)
    except TransitError as err:
        return PlanResult(PlanStatus.TRANSIT_FAILED, None, str(err), tuple(reports))
    except SpeedLimitError as err:
        return PlanResult(PlanStatus.SPEED_LIMIT, None, str(err), tuple(reports))
    motion = motion_summary(robot, traj, spans, limits)
    too_fast = speed_limit_violation(motion)
    if too_fast:
        return PlanResult(PlanStatus.SPEED_LIMIT, None, too_fast, tuple(reports), motion)
    meta = plan_metadata(reports, traj, motion)
    meta["weld_position"] = [d.weld_position for d in done]
    traj = replace(traj, metadata=meta)
    notify(1.0, "done")
    return PlanResult(PlanStatus.OK, traj, "", tuple(reports), motion)


def _view_fn(
    dev: _Device, pp: PositionerPath, T_anchor: NDArrayF, T_world_base_home: NDArrayF, mounted: bool
) -> Callable[[NDArrayF], NDArrayF]:
    """Part pose in the robot's planning frame as a function of arc length."""
    if dev.role == "track":
        assert dev.T_flange_robot is not None  # mypy
        T_fr = dev.T_flange_robot

        def track_view(s: NDArrayF) -> NDArrayF:
            T_base = dev.T_world_base @ dev.model.T_base_flange(pp.at(s)) @ T_fr
            return np.asarray(T_world_base_home @ invert_transforms(T_base) @ T_anchor, dtype=np.float64)

        return track_view
    if not mounted:
        return lambda s: np.broadcast_to(dev.T_world_flange_home @ T_anchor, (len(s), 4, 4)).copy()

    def positioner_view(s: NDArrayF) -> NDArrayF:
        return np.asarray(dev.T_world_base @ dev.model.T_base_flange(pp.at(s)) @ T_anchor, dtype=np.float64)

    return positioner_view


def _moving_segment(seg: WeldSegment, view: Callable[[NDArrayF], NDArrayF]) -> WeldSegment:
    """The part-frame segment as seen by the robot, its part moving with ``view``."""
    assert seg.path is not None  # mypy
    base = seg.path
    path = MovingSegmentPath(
        seam=base.seam,
        curve=base.curve,
        lateral=base.lateral,
        height=base.height,
        work_angle=base.work_angle,
        travel_angle=base.travel_angle,
        rotation=base.rotation,
        weave=base.weave,
        travel_speed=base.travel_speed,
        s_start=base.s_start,
        s_end=base.s_end,
        reversed=base.reversed,
        view=view,
        part=base,
    )
    s = np.asarray(seg.s)
    V = view(s)
    ends = view(s[[0, -1]])
    R_S = None if seg.T_world_seam is None else V @ np.asarray(seg.T_world_seam)
    return replace(
        seg,
        T_world_tcp=V @ np.asarray(seg.T_world_tcp),
        T_world_approach=ends[0] @ np.asarray(seg.T_world_approach),
        T_world_depart=ends[1] @ np.asarray(seg.T_world_depart),
        T_world_seam=R_S,
        path=path,
        reversible=False,
    )


def _axis_limits(model: PositionerModel, q: NDArrayF, dt: float, seam_id: str) -> str:
    """'' when the weld's axis samples (M, k) keep the device's limits, else why not."""
    over = model.check_limits(q)
    if np.any(over > 0):
        return f"seam {seam_id!r}: the {model.name} leaves its position limits"
    qd, qdd = differentiate(q, dt)
    for what, val, lim in (("speed", qd, model.qd_max), ("acceleration", qdd, model.qdd_max)):
        ratio = np.abs(val) / lim
        if np.any(ratio > 1.0):
            j = int(np.argmax(ratio.max(axis=0)))
            return (
                f"seam {seam_id!r}: {model.name} axis '{model.axis_names[j]}' needs {what} "
                f"{float(np.abs(val[:, j]).max()):.3f} (limit {float(lim[j]):.3f}); lower the travel speed"
            )
    return ""


def _weld_position_report(
    dev: _Device,
    pp: PositionerPath,
    seg: WeldSegment,
    seam_part: Seam,
    T_anchor: NDArrayF,
    s: NDArrayF,
    q_ext: NDArrayF,
    positioning: SeamPositioning,
) -> dict[str, Any]:
    """Achieved weld position along one weld (every ~1 mm of seam) and its worst deviation."""
    step = max(1, int(len(s) / max(1.0, (s[-1] - s[0]) / 0.001)))
    idx = np.unique(np.r_[np.arange(0, len(s), step), len(s) - 1])
    if dev.role == "track":
        R = np.broadcast_to(T_anchor[:3, :3], (len(idx), 3, 3))
    else:
        R = (dev.T_world_base @ dev.model.T_base_flange(q_ext[idx]) @ T_anchor)[:, :3, :3]
    b, t = _normals(seg, seam_part, s[idx])
    tilt, slope = weld_position_angles(R, b, t)
    out: dict[str, Any] = {
        "seam_id": seg.seam_id,
        "pass_index": int(seg.pass_index),
        "stitch_index": int(seg.stitch_index),
        "mode": pp.mode,
        "weld_position": positioning.weld_position,
        "tolerance_deg": math.degrees(positioning.tolerance),
        "s_mm": np.round(s[idx] * 1e3, 3).tolist(),
        "normal_tilt_deg": np.round(np.degrees(tilt), 3).tolist(),
        "travel_slope_deg": np.round(np.degrees(slope), 3).tolist(),
        "q_ext": np.round(q_ext[idx], 6).tolist(),
    }
    if positioning.weld_position is not None:
        d = weld_position_deviation(tilt, slope, positioning.weld_position)
        out["max_deviation_deg"] = round(float(np.degrees(d.max())), 3)
        out["within_tolerance"] = bool(d.max() <= positioning.tolerance + 1e-9)
    return out


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


def _moving_part_hits(
    cell: Cell,
    dev: _Device,
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


def _index_samples(model: PositionerModel, q0: NDArrayF, q1: NDArrayF, dt: float) -> NDArrayF:
    """A rest-to-rest move of the device's axes from ``q0`` to ``q1`` (k,), timed by ruckig at the
    device's speed and acceleration limits (jerk 10x the acceleration per second), sampled every
    ``dt``; shape (M, k), first q0, last q1."""
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
    inp.max_velocity = [float(v) for v in model.qd_max]
    inp.max_acceleration = [float(v) for v in model.qdd_max]
    inp.max_jerk = [float(v) * 10.0 for v in model.qdd_max]
    traj = Trajectory(k)
    if otg.calculate(inp, traj) not in (Result.Working, Result.Finished):
        raise PlanningError(f"ruckig could not time the {model.name} index move")
    m = max(2, math.ceil(traj.duration / dt) + 1)
    out = np.array([traj.at_time(min(i * dt, traj.duration))[0] for i in range(m)], dtype=np.float64)
    out[0], out[-1] = q0, q1
    return out


def _assemble(
    program: Program,
    robot: Robot,
    dev: _Device,
    checker_at: Callable[[NDArrayF], CapsuleCollisionChecker],
    done: list[_PlannedExt],
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
    qs: list[NDArrayF] = []
    qds: list[NDArrayF] = []
    qdds: list[NDArrayF] = []
    qes: list[NDArrayF] = []
    Ts: list[NDArrayF | None] = []
    arc: list[npt.NDArray[np.bool_]] = []
    seam_index: list[npt.NDArray[np.int32]] = []
    seam_s: list[NDArrayF] = []
    events: list[ArcEvent] = []
    count = 0
    T_ft = np.asarray(cell.T_flange_tcp, dtype=np.float64)
    T_base_world = invert_transforms(np.asarray(cell.T_world_base, dtype=np.float64))
    home = np.asarray(cell.home_q, dtype=np.float64)

    def add(
        q: NDArrayF,
        qd: NDArrayF,
        qdd: NDArrayF,
        qe: NDArrayF,
        T: NDArrayF | None = None,
        on: bool = False,
        seam: int = -1,
        s: NDArrayF | None = None,
    ) -> int:
        nonlocal count
        first = count
        if (
            qs
            and not on
            and len(q) > 1
            and np.allclose(qs[-1][-1], q[0], atol=1e-12)
            and np.allclose(qes[-1][-1], qe[0], atol=1e-12)
        ):
            q, qd, qdd, qe = q[1:], qd[1:], qdd[1:], qe[1:]
            T = None if T is None else T[1:]
            s = None if s is None else s[1:]
            first = count - 1
        m = len(q)
        qs.append(q)
        qds.append(qd)
        qdds.append(qdd)
        qes.append(qe)
        Ts.append(T)
        arc.append(np.full(m, on))
        seam_index.append(np.full(m, seam, dtype=np.int32))
        seam_s.append(np.full(m, np.nan) if s is None else s)
        count += m
        return first

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
        first = add(q, qd, qdd, np.repeat(qe[None], len(q), axis=0))
        spans.append(MoveSpan(kind, label, first, count - 1, speeds.speed_scale))

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
        first = add(np.repeat(q_robot[None], len(qe), axis=0), z, z.copy(), qe)
        spans.append(MoveSpan("index", label, first, count - 1, 1.0))
        return q_robot

    q_cur, qe_cur = home, dev.home.copy()
    add(home[None].copy(), np.zeros((1, n)), np.zeros((1, n)), qe_cur[None].copy())
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
        T_weld = _world_tcp(dev, np.asarray(cell.T_world_base), w.T_world_tcp, d.q_ext)
        n_dwell = max(1, round(seg.arc_start_dwell / dt))
        n_crater = max(1, round(seg.crater_fill_time / dt))
        events.append(ArcEvent(t=count * dt, kind="arc_on", seam_id=seg.seam_id, seam_s=float(w.s[0])))
        z = np.zeros((n_dwell, n))
        first = add(
            np.repeat(w.q[:1], n_dwell, axis=0),
            z,
            z.copy(),
            np.repeat(d.q_ext[:1], n_dwell, axis=0),
            np.repeat(T_weld[:1], n_dwell, axis=0),
            True,
            k,
            np.full(n_dwell, w.s[0]),
        )
        add(w.q, w.qd, w.qdd, d.q_ext, T_weld, True, k, np.asarray(w.s))
        z = np.zeros((n_crater, n))
        add(
            np.repeat(w.q[-1:], n_crater, axis=0),
            z,
            z.copy(),
            np.repeat(d.q_ext[-1:], n_crater, axis=0),
            np.repeat(T_weld[-1:], n_crater, axis=0),
            True,
            k,
            np.full(n_crater, w.s[-1]),
        )
        events.append(
            ArcEvent(t=(count - 1) * dt, kind="arc_off", seam_id=seg.seam_id, seam_s=float(w.s[-1]))
        )
        spans.append(MoveSpan("weld", here, first, count - 1))
        qe_cur = d.q_ext_end
        transit(w.q[-1], p.q_depart, qe_cur, "depart", here, f"pulling back from the end of {here}")
        q_cur, where = p.q_depart, here
    transit(q_cur, home, qe_cur, "transit", f"{where} → home", "to home")
    index(home, qe_cur, dev.home.copy(), f"{where} → home position")
    q = np.concatenate(qs)
    qe_all = np.concatenate(qes)
    T_world_base = np.asarray(cell.T_world_base, dtype=np.float64)
    T_nom = np.concatenate(
        [
            _world_tcp(dev, T_world_base, T_world_base @ np.asarray(robot.fk(x)) @ T_ft, e)
            if T is None
            else T
            for T, x, e in zip(Ts, qs, qes, strict=True)
        ]
    )
    qd_e, qdd_e = differentiate(qe_all, dt)
    external = ExternalAxes(
        device=dev.model.name,
        role=dev.role,
        names=dev.model.axis_names,
        kinds=dev.model.kinds,
        q=qe_all,
        qd=qd_e,
        qdd=qdd_e,
        T_world_base=dev.T_world_base,
    )
    travel: dict[str, float] = {}
    for d in done:
        travel.setdefault(d.planned.seg.seam_id, float(d.planned.seg.travel_speed))
    return JointTrajectory(
        robot=robot.name,
        joint_names=tuple(robot.joint_names),
        dt=dt,
        t=np.asarray(np.arange(len(q)) * dt, dtype=np.float64),
        q=q,
        qd=np.concatenate(qds),
        qdd=np.concatenate(qdds),
        T_world_tcp=T_nom,
        arc_on=np.concatenate(arc),
        seam_index=np.concatenate(seam_index),
        seam_s=np.concatenate(seam_s),
        T_world_base=_trajectory_base(dev, T_world_base),
        T_flange_tcp=T_ft,
        seam_ids=seam_ids,
        events=tuple(events),
        program_hash=program.hash,
        travel_speed=travel,
        external=external,
    )


def _trajectory_base(dev: _Device, T_world_base_home: NDArrayF) -> NDArrayF:
    """The robot base stored in the trajectory: fixed; on a track, the base with the carriage at 0."""
    if dev.role != "track":
        return T_world_base_home
    assert dev.T_flange_robot is not None  # mypy
    zero = np.zeros(dev.model.n_axes)
    return np.asarray(dev.T_world_base @ dev.model.T_base_flange(zero) @ dev.T_flange_robot, dtype=np.float64)


def _world_tcp(dev: _Device, T_world_base_home: NDArrayF, T_view_tcp: NDArrayF, q_ext: NDArrayF) -> NDArrayF:
    """World TCP poses (M, 4, 4) from poses in the planning frame; moves the robot base on a track."""
    if dev.role != "track":
        return np.asarray(T_view_tcp, dtype=np.float64)
    assert dev.T_flange_robot is not None  # mypy
    T_base = dev.T_world_base @ dev.model.T_base_flange(q_ext) @ dev.T_flange_robot
    return np.asarray(T_base @ invert_transforms(T_world_base_home) @ T_view_tcp, dtype=np.float64)
