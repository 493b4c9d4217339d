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
from weldcell.planning.external_timeline import Device, PlannedExt, assemble, cell_at, moving_part_hits
from weldcell.planning.motion_report import MoveSpan, motion_summary, plan_metadata, speed_limit_violation
from weldcell.planning.planner import (
    PlanOptions,
    PlanResult,
    PlanStatus,
    SeamReport,
    _plan_direction,
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
from weldcell.planning.speed_limits import SpeedLimitError, speed_limits_for_cell
from weldcell.planning.transit import TransitError
from weldcell.program.model import Cell, Program, Seam, SeamPositioning
from weldcell.spatial import invert_transforms
from weldcell.toolpath.frames import joint_directions
from weldcell.toolpath.path import SegmentPath, seam_samples
from weldcell.trajectory.ops import differentiate

if TYPE_CHECKING:
    from weldcell.toolpath.segments import WeldSegment

NDArrayF = npt.NDArray[np.float64]
ProgressFn = Callable[[float, str], None]

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


def _device(cell: Cell) -> Device:
    ext = cell.external
    if ext is None:
        raise PlanningError("the cell has no positioner or track")
    model = load_positioner(ext.model)
    T_wf = ext.T_world_base @ model.T_base_flange(ext.home)
    T_fr = None
    if ext.role == "track":
        T_fr = flange_robot(model, ext.T_world_base, cell.T_world_base, ext.home)
    return Device(model, ext.role, ext.T_world_base, ext.home, T_wf, T_fr)


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
            checkers[key] = static_checker.with_cell(cell_at(cell, dev, q))
        return checkers[key]

    static_cell = replace(cell, bodies=tuple(b for b in cell.bodies if b.mounted_on is None))
    static_checker = CapsuleCollisionChecker(robot, torch, static_cell, opts.margin)
    placement = RobotPlacement(np.asarray(cell.T_world_base), reach, dev.T_flange_robot)
    q_ext_cur = dev.home.copy()
    done: list[PlannedExt] = []
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
            checker = checker_at(pp.q[0])
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
                hit = moving_part_hits(cell, dev, checker_at, w.q, q_ext)
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
            done.append(PlannedExt(planned, pp, q_ext, q_ext[0].copy(), q_ext[-1].copy(), wp))
            reports.append(_report(seg_w, planned, opts.dt))
            q_ext_cur = q_ext[-1].copy()
    notify(0.85, "transit and index moves")
    limits = speed_limits_for_cell(cell)
    spans: list[MoveSpan] = []
    try:
        traj = assemble(program, robot, dev, checker_at, done, opts, limits, spans)
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
    dev: Device, pp: PositionerPath, T_anchor: NDArrayF, T_world_base_home: NDArrayF, mounted: bool
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
    dev: Device,
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
