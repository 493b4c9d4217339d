"""``plan_program``: from a weld program to one executable, time-stamped joint trajectory.

Steps: tool paths (``weldcell.toolpath``) -> per weld segment a joint path over IK branches and
orientation samples (:mod:`~weldcell.planning.seam`) -> seam order and direction
(:mod:`~weldcell.planning.ordering`) -> home, approach, weld, depart, ..., home with transit moves
(:mod:`~weldcell.planning.transit`) and the constant-speed weld (:mod:`~weldcell.planning.weld`).

The trajectory shape (docs/architecture.md): the robot is at rest at every arc-on and arc-off event;
arc-on samples run from the arc-start dwell through the weld to the end of the crater fill; seam_s
gives the seam arc length on weld samples.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.errors import PlanningError
from weldcell.planning.collision import CapsuleCollisionChecker, CollisionChecker
from weldcell.planning.coverage import check_coverage
from weldcell.planning.job_branches import (
    CONFIGURATION_CHANGE_COST,
    KeepConfigurationFailure,
    choose_branches,
    completed_span,
    label_text,
    plan_spans,
    shifted,
)
from weldcell.planning.lift import lifted_waypoints
from weldcell.planning.motion_report import (
    MotionSummary,
    MoveSpan,
    motion_summary,
    plan_metadata,
    speed_limit_violation,
)
from weldcell.planning.nominal import DEVIATION_WEIGHT, deviation_cost
from weldcell.planning.ordering import SeamEnds, move_time, order_seams
from weldcell.planning.seam import (
    LadderOptions,
    SeamFailure,
    SeamPath,
    orientation_offsets,
    plan_seam,
    rotation_angles,
    wrap_mask,
)
from weldcell.planning.speed_limits import (
    SpeedLimitError,
    SpeedLimits,
    speed_limits_for_cell,
    time_path_limited,
)
from weldcell.planning.timeline import TimelineBuilder
from weldcell.planning.transit import TransitError, TransitOptions, find_path, segment_free
from weldcell.planning.weld import (
    PathPoseCache,
    WeldSamples,
    gamma0,
    orientation_samples,
    reversed_segment,
    weld_samples,
)
from weldcell.spatial import invert_transforms
from weldcell.trajectory import JointTrajectory

if TYPE_CHECKING:
    from weldcell.kinematics import Robot
    from weldcell.program.model import Cell, Program
    from weldcell.toolpath.segments import WeldSegment

log = logging.getLogger(__name__)
NDArrayF = npt.NDArray[np.float64]
ProgressFn = Callable[[float, str], None]


class PlanStatus(Enum):
    """Outcome of planning a program or a seam."""

    OK = "ok"
    OUT_OF_REACH = "out_of_reach"
    JOINT_LIMIT = "joint_limit"
    SINGULARITY = "singularity"
    COLLISION = "collision"
    DISCONTINUITY = "discontinuity"
    WELD_SPEED = "weld_speed"
    TRANSIT_FAILED = "transit_failed"
    CONFIGURATION_CHANGE = "configuration_change"
    SPEED_LIMIT = "speed_limit"
    NOT_PLANNED = "not_planned"


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Settings of :func:`plan_program`.

    Attributes:
        dt: Sample period [s] (the robot controller period).
        waypoint_spacing: Way-point spacing of the seam search along the seam [m].
        margin: Obstacle margin of the robot links [m] (None: the cell's clearance).
        tolerance_samples: Samples per work/travel angle tolerance (odd; 1 = programmed angles only).
        optimize_order: Choose seam order and direction when the program has no fixed sequence.
        reverse_when_free: With a free order, also plan every reversible seam backwards when it
            plans forwards, so that the order choice may weld it backwards (about doubles the seam
            planning time). False: a seam is planned backwards only when forwards fails.
        min_ramp_time: Shortest speed ramp at arc start and end [s].
        ladder: Seam search settings.
        transit: Transit move settings.
        deviation_weight: Cost per way point of using the full angle or rotation tolerance
            (:mod:`~weldcell.planning.nominal`): the programmed angles are kept where feasible.
        job_configurations: Plan every arm configuration of each seam and choose them across the
            whole job (:mod:`~weldcell.planning.job_branches`); False = each seam's cheapest.
        keep_configuration: Weld the whole job in one arm configuration (fail, naming the seam, when
            that is impossible).
        configuration_change_cost: Cost of a configuration change in the job-wide choice, in the
            units of the transit cost (seconds of joint motion at full speed).
        seed: Seed of every random choice of the planner (the ompl transit searches); None = the
            transit settings' seed. The same program, options and seed give a bit-identical
            trajectory (same ``content_hash()``), in any process.
    """

    dt: float = 0.002
    waypoint_spacing: float = 0.002
    margin: float | None = None
    tolerance_samples: int = 3
    optimize_order: bool = True
    reverse_when_free: bool = False
    min_ramp_time: float = 0.1
    ladder: LadderOptions = field(default_factory=LadderOptions)
    transit: TransitOptions = field(default_factory=TransitOptions)
    seed: int | None = None
    deviation_weight: float = DEVIATION_WEIGHT
    job_configurations: bool = True
    keep_configuration: bool = False
    configuration_change_cost: float = CONFIGURATION_CHANGE_COST


@dataclass(frozen=True, slots=True)
class SeamReport:
    """Planning outcome of one weld segment (a pass or a stitch of a seam).

    Attributes:
        seam_id, pass_index, stitch_index: Which segment.
        status: ``PlanStatus.OK`` or the cause of failure.
        reason: One sentence for the welder ("" when OK).
        s_interval: Failing arc-length interval [m] (from, to), or None.
        detail: Colliding body or limiting joint, when known.
        length: Welded length [m].
        arc_time: Arc-on time [s] (dwell + weld + crater fill).
        reversed: Welded against the programmed direction.
        min_clearance: Smallest obstacle distance along the seam way points [m] (saturated at 2 cm).
        min_singularity: Smallest ``robot.singularity_distance`` along the seam way points.
        plan_time: Wall time spent planning this segment [s].
    """

    seam_id: str
    pass_index: int
    stitch_index: int
    status: PlanStatus
    reason: str = ""
    s_interval: tuple[float, float] | None = None
    detail: str = ""
    length: float = 0.0
    arc_time: float = 0.0
    reversed: bool = False
    min_clearance: float = float("nan")
    min_singularity: float = float("nan")
    plan_time: float = 0.0


@dataclass(frozen=True, slots=True)
class PlanResult:
    """Result of :func:`plan_program`.

    Attributes:
        status: ``PlanStatus.OK`` when ``trajectory`` is set, else the first cause of failure.
        trajectory: The executable trajectory, or None.
        reason: Empty when OK, else a precise sentence (seam, arc-length interval, cause).
        seams: One report per weld segment, in weld order when planned.
        motion: Per-move peak TCP / elbow speed, joint travel and configuration changes of the
            assembled job (None when planning stopped before the moves were built).
    """

    status: PlanStatus
    trajectory: JointTrajectory | None
    reason: str
    seams: tuple[SeamReport, ...]
    motion: MotionSummary | None = None

    @property
    def ok(self) -> bool:
        """True when a trajectory was produced."""
        return self.status is PlanStatus.OK

    @property
    def cycle_time(self) -> float:
        """Total duration [s] (0 without trajectory)."""
        return 0.0 if self.trajectory is None else self.trajectory.duration

    @property
    def arc_time(self) -> float:
        """Arc-on time [s]."""
        if self.trajectory is None:
            return 0.0
        return float(np.count_nonzero(self.trajectory.arc_on)) * self.trajectory.dt

    @property
    def air_time(self) -> float:
        """Time with the arc off [s] (cycle time minus arc time)."""
        return self.cycle_time - self.arc_time


_CAUSE = {
    "out_of_reach": PlanStatus.OUT_OF_REACH,
    "joint_limit": PlanStatus.JOINT_LIMIT,
    "singularity": PlanStatus.SINGULARITY,
    "collision": PlanStatus.COLLISION,
    "discontinuity": PlanStatus.DISCONTINUITY,
    "weld_speed": PlanStatus.WELD_SPEED,
}


@dataclass(frozen=True, slots=True)
class _Planned:
    """A weld segment with its seam path and timed weld (one direction)."""

    seg: WeldSegment
    reversed: bool
    path: SeamPath
    weld: WeldSamples
    q_approach: NDArrayF
    q_depart: NDArrayF
    plan_time: float
    alternatives: tuple[SeamPath, ...] = ()


def _waypoint_indices(s: NDArrayF, spacing: float) -> npt.NDArray[np.int64]:
    step = float(np.median(np.diff(s))) if len(s) > 1 else spacing
    k = max(1, round(spacing / max(step, 1e-12)))
    return np.unique(np.r_[np.arange(0, len(s), k), len(s) - 1])


PULL_BACK_FRACTIONS = (1.0, 0.5, 0.25)
"""Fractions of ``approach_mm`` / ``retract_mm`` tried in turn (docs/trajectory-format.md)."""
_SEARCHED_PULL_BACKS = 4  # candidates tried with a transit search when no straight move is free


def _pull_back_config(
    robot: Robot,
    checker: CollisionChecker,
    T_world_away: NDArrayF,
    T_world_seam_end: NDArrayF,
    angles: NDArrayF,
    seg: WeldSegment,
    T_base_world: NDArrayF,
    T_tcp_flange: NDArrayF,
    q_seam: NDArrayF,
    transit: TransitOptions,
) -> NDArrayF | str:
    """Joints at the approach/depart pose (backed off from a seam end along the torch axis).

    Tries the programmed distance, then half and a quarter of it (``PULL_BACK_FRACTIONS``); at each,
    every IK branch (nearest to the seam end first) whose configuration is free and whose straight
    joint move to/from the seam end ``q_seam`` is free. When no straight move is free anywhere, the
    first few free candidates get a transit search (verified here, so the assembly finds the same
    path). Returns the configuration [rad] (n,), or one sentence per distance saying why not.
    """
    from weldcell.planning.seam import nearest_equivalent

    offsets = orientation_offsets(angles, seg.travel_angle, gamma0(seg))
    full = float(np.linalg.norm(T_world_away[:3, 3] - T_world_seam_end[:3, 3]))
    tried: list[str] = []
    searched: list[NDArrayF] = []
    for frac in PULL_BACK_FRACTIONS:
        T = T_world_away.copy()
        T[:3, 3] = T_world_seam_end[:3, 3] + frac * (T_world_away[:3, 3] - T_world_seam_end[:3, 3])
        Q = np.asarray(robot.ik(T_base_world @ T @ offsets @ T_tcp_flange), dtype=np.float64)
        Q = Q[np.all(np.isfinite(Q), axis=1)]
        at = f"{frac * full * 1e3:.1f} mm"
        cands = nearest_equivalent(robot, Q, q_seam) if len(Q) else Q
        cands = cands[np.all(np.isfinite(cands), axis=1)] if len(cands) else cands
        if not len(cands):
            tried.append(f"{at}: out of reach within the joint limits")
            continue
        cands = cands[np.argsort(np.sum((cands - q_seam) ** 2, axis=1))]
        free = checker.check(cands)
        if not free.any():
            describe = getattr(checker, "describe", None)
            why = describe(cands[0]) if describe is not None else "collides"
            tried.append(f"{at}: {why}")
            continue
        for q in cands[free]:
            if segment_free(checker, q_seam, q, transit.resolution):
                return np.asarray(q, dtype=np.float64)
        searched += list(cands[free])
        blocked = _blocker(checker, q_seam, cands[free][0], transit.resolution)
        tried.append(f"{at}: the straight move is blocked ({blocked})")
    for q in searched[:_SEARCHED_PULL_BACKS]:
        try:
            find_path(robot, checker, q_seam, q, transit)
        except TransitError:
            continue
        return np.asarray(q, dtype=np.float64)
    return "; ".join(tried) + (
        f"; no transit search to the {len(searched[:_SEARCHED_PULL_BACKS])} other free poses succeeded"
        if searched
        else ""
    )


def _plan_direction(
    robot: Robot,
    checker: CollisionChecker,
    seg: WeldSegment,
    reversed_: bool,
    cell: Cell,
    options: PlanOptions,
    poses: PathPoseCache | None = None,
) -> _Planned | SeamFailure:
    t0 = time.perf_counter()
    T_base_world = invert_transforms(np.asarray(cell.T_world_base, dtype=np.float64))
    T_flange_tcp = np.asarray(cell.T_flange_tcp, dtype=np.float64)
    idx = _waypoint_indices(np.asarray(seg.s), options.waypoint_spacing)
    s_way = np.asarray(seg.s)[idx]
    T_base_tcp = T_base_world @ np.asarray(seg.T_world_tcp)[idx]
    rot = rotation_angles(seg.free_rotation, seg.rotation_range, options.ladder)
    samples = orientation_samples(seg, rot, options.tolerance_samples)
    home = np.asarray(cell.home_q, dtype=np.float64)

    def search(weight: float) -> SeamPath | SeamFailure:
        return plan_seam(
            robot,
            checker,
            T_base_tcp,
            s_way,
            T_flange_tcp,
            samples,
            options.ladder,
            seam_id=seg.seam_id,
            q_ref=home,
            travel_angle=seg.travel_angle,
            gamma0=gamma0(seg),
            alternatives=options.job_configurations or options.keep_configuration,
            sample_cost=deviation_cost(
                samples,
                seg,
                limited_rotation=not seg.free_rotation and seg.rotation_range < np.pi - 1e-9,
                weight=weight,
            )
            if weight > 0
            else None,
        )

    def complete(path: SeamPath) -> tuple[_Planned | SeamFailure, list[SeamPath]]:
        best = _complete_direction(robot, checker, seg, reversed_, cell, options, s_way, path, t0, poses)
        # the other arm configurations of this seam stay as joint paths for the job-wide choice
        # (job_branches); only the chosen one is completed. When the cheapest cannot be welded
        # (weld speed, approach or depart), the next configuration is tried.
        alts = list(path.alternatives)
        while isinstance(best, SeamFailure) and alts:
            nxt = _complete_direction(
                robot, checker, seg, reversed_, cell, options, s_way, alts.pop(0), t0, poses
            )
            if isinstance(nxt, _Planned):
                best = nxt
        return best, alts

    path = search(options.deviation_weight)
    if isinstance(path, SeamFailure):
        return path
    best, alts = complete(path)
    if isinstance(best, SeamFailure) and options.deviation_weight > 0:
        # the programmed angles and rotation are preferred, but not at the price of a seam: when no
        # path near them can be approached and left (pull-back blocked, …), use the tolerance freely
        free = search(0.0)
        if not isinstance(free, SeamFailure):
            again, alts_free = complete(free)
            if isinstance(again, _Planned):
                best, alts = again, alts_free
    if isinstance(best, SeamFailure):
        return best
    keep = tuple(alts) if (options.job_configurations or options.keep_configuration) else ()
    return replace(best, alternatives=keep, plan_time=time.perf_counter() - t0)


def _complete_direction(
    robot: Robot,
    checker: CollisionChecker,
    seg: WeldSegment,
    reversed_: bool,
    cell: Cell,
    options: PlanOptions,
    s_way: NDArrayF,
    path: SeamPath,
    t0: float,
    poses: PathPoseCache | None = None,
) -> _Planned | SeamFailure:
    """The timed weld and the approach / depart configurations of one seam path."""
    T_base_world = invert_transforms(np.asarray(cell.T_world_base, dtype=np.float64))
    T_flange_tcp = np.asarray(cell.T_flange_tcp, dtype=np.float64)
    T_tcp_flange = invert_transforms(T_flange_tcp)
    weld = weld_samples(
        robot,
        checker,
        seg,
        s_way,
        path.q,
        path.angles,
        np.asarray(cell.T_world_base),
        T_flange_tcp,
        options.dt,
        options.min_ramp_time,
        poses=poses,
    )
    if isinstance(weld, SeamFailure):
        return weld
    T_tp = np.asarray(seg.T_world_tcp)
    ends = {}
    for what, T_away, k in (
        ("approach", np.asarray(seg.T_world_approach), 0),
        ("pull-back", np.asarray(seg.T_world_depart), -1),
    ):
        q = _pull_back_config(
            robot, checker, T_away, T_tp[k], weld.angles[k], seg, T_base_world, T_tcp_flange, weld.q[k],
            options.transit,
        )  # fmt: skip
        if isinstance(q, str):
            s_at = 0.0 if k == 0 else float(seg.s[-1] - seg.s[0])
            return SeamFailure(
                "collision",
                s_at,
                s_at,
                "",
                f"seam {seg.seam_id!r}, s = {s_at * 1e3:.1f} mm: no {what} pose along the torch axis "
                f"(tried {', '.join(f'{f:g}' for f in PULL_BACK_FRACTIONS)} of the programmed distance "
                f"and every IK branch): {q}",
            )
        ends[what] = q
    q_app, q_dep = ends["approach"], ends["pull-back"]
    return _Planned(seg, reversed_, path, weld, q_app, q_dep, time.perf_counter() - t0)


def _report(
    seg: WeldSegment, planned: _Planned | SeamFailure | None, dt: float, plan_time: float = 0.0
) -> SeamReport:
    if planned is None:
        return SeamReport(
            seg.seam_id,
            seg.pass_index,
            seg.stitch_index,
            PlanStatus.NOT_PLANNED,
            "not planned",
            length=float(seg.length),
        )
    if isinstance(planned, SeamFailure):
        return SeamReport(
            seg.seam_id,
            seg.pass_index,
            seg.stitch_index,
            _CAUSE.get(planned.cause, PlanStatus.COLLISION),
            planned.message,
            (planned.s_from, planned.s_to),
            planned.detail,
            float(seg.length),
            plan_time=plan_time,
        )
    arc = seg.arc_start_dwell + seg.crater_fill_time + (len(planned.weld.s) - 1) * dt
    return SeamReport(
        seg.seam_id,
        seg.pass_index,
        seg.stitch_index,
        PlanStatus.OK,
        "",
        None,
        "",
        float(seg.length),
        arc,
        planned.reversed,
        planned.path.min_clearance,
        planned.path.min_singularity,
        planned.plan_time,
    )


def plan_program(
    program: Program, options: PlanOptions | None = None, progress: ProgressFn | None = None
) -> PlanResult:
    """Plan a whole weld program.

    Args:
        program: A loaded ``weldcell.program.Program``.
        options: Planner settings.
        progress: Called with (fraction done in [0, 1], message) as planning proceeds.

    Returns:
        :class:`PlanResult`; when a seam cannot be planned, ``status`` names the cause and ``reason``
        the seam, arc-length interval and cause; ``seams`` has a report per segment.
    """
    from weldcell.kinematics import load_robot, load_torch
    from weldcell.toolpath import toolpaths_for_program

    if program.cell.external is not None:
        raise PlanningError(
            "this cell has a positioner or a track: plan it with weldcell.planning.plan_program "
            "(weldcell.planning.coordinated), which moves the external axes"
        )
    opts = options or PlanOptions()
    notify = progress or (lambda _f, _m: None)
    cell = program.cell
    robot = load_robot(cell.robot)
    torch = load_torch(cell.torch)
    notify(0.0, "building the collision model")
    checker = CapsuleCollisionChecker(robot, torch, cell, opts.margin)
    segments = toolpaths_for_program(program)
    free_order = program.sequence is None and opts.optimize_order
    # ---- seam search per segment: forward, and backwards where the seam is reversible and forward
    # fails (also with a fixed order), or with a free order when ``reverse_when_free`` asks for it
    groups: dict[str, list[int]] = {}
    for k, seg in enumerate(segments):
        groups.setdefault(seg.seam_id, []).append(k)
    planned: dict[tuple[int, bool], _Planned | SeamFailure] = {}
    poses = PathPoseCache()  # tool-path poses of the weld samples, shared by a segment's joint paths
    both_ways = free_order and opts.reverse_when_free
    total = sum(2 if (both_ways and seg.reversible) else 1 for seg in segments)
    done = 0

    def plan_one(k: int, rev: bool) -> None:
        nonlocal done
        seg = segments[k]
        notify(
            0.05 + 0.75 * min(done / max(total, 1), 1.0),
            f"seam {seg.seam_id} pass {seg.pass_index + 1}" + (" (reversed)" if rev else ""),
        )
        use = reversed_segment(seg, cell.approach_distance, cell.retract_distance) if rev else seg
        if use is not None:
            planned[(k, rev)] = _plan_direction(robot, checker, use, rev, cell, opts, poses)
        done += 1

    for ks in groups.values():
        for k in ks:
            plan_one(k, False)
        fwd_ok = all(isinstance(planned.get((k, False)), _Planned) for k in ks)
        if segments[ks[0]].reversible and (both_ways or not fwd_ok):
            for k in ks:
                plan_one(k, True)

    def direction_ok(sid: str, rev: bool) -> bool:
        return all(isinstance(planned.get((k, rev)), _Planned) for k in groups[sid])

    # ---- failures: a seam with no direction in which every pass and stitch plans
    reports: list[SeamReport] = []
    failure: SeamReport | None = None
    for sid, ks in groups.items():
        rev_ok = direction_ok(sid, True)
        for k in ks:
            seg = segments[k]
            fwd, bwd = planned.get((k, False)), planned.get((k, True))
            best = bwd if rev_ok and not direction_ok(sid, False) else fwd
            rep = _report(seg, best, opts.dt)
            if rep.status is not PlanStatus.OK and isinstance(bwd, SeamFailure):
                rep = replace(rep, reason=f"{rep.reason}; welded backwards: {bwd.message}")
            elif rep.status is not PlanStatus.OK and seg.reversible and bwd is None:
                rep = replace(rep, reason=f"{rep.reason} (backwards: not planned, no seam frames)")
            reports.append(rep)
            if rep.status is not PlanStatus.OK and failure is None:
                failure = rep
    if failure is not None:
        return PlanResult(failure.status, None, failure.reason, tuple(reports))
    # ---- order: whole seams (their segments in program order), direction per seam
    seam_ids = list(groups)
    home = np.asarray(cell.home_q, dtype=np.float64)
    # a seam welded backwards: every pass reversed, passes still root first, stitches in reverse
    backwards = {
        sid: sorted(ks, key=lambda k: (segments[k].pass_index, -segments[k].stitch_index))
        for sid, ks in groups.items()
    }
    if free_order and len(seam_ids) > 1:
        notify(0.82, "choosing the seam order")
        ends = []
        for sid in seam_ids:
            ks = groups[sid]
            kr = backwards[sid]

            def qs(k: int, rev: bool, first: bool) -> NDArrayF:
                p = planned[(k, rev)]
                assert isinstance(p, _Planned)  # mypy
                return p.q_approach if first else p.q_depart

            ends.append(
                SeamEnds(
                    (qs(ks[0], False, True), qs(ks[-1], False, False)) if direction_ok(sid, False) else None,
                    (qs(kr[0], True, True), qs(kr[-1], True, False)) if direction_ok(sid, True) else None,
                )
            )
        index = {sid: i for i, sid in enumerate(seam_ids)}
        prec = [(index[a], index[b]) for a, b in program.precedence if a in index and b in index]
        order = order_seams(
            ends,
            home,
            np.asarray(robot.qd_max),
            np.asarray(robot.qdd_max),
            prec,
            wrap=wrap_mask(robot) if opts.job_configurations else None,
        )
        sequence = [(k, rev) for i, rev in order for k in (backwards if rev else groups)[seam_ids[i]]]
    else:
        # program order; a seam goes backwards only when forward does not plan
        sequence = []
        for sid in seam_ids:
            rev = not direction_ok(sid, False)
            sequence += [(k, rev) for k in (backwards[sid] if rev else groups[sid])]
    chosen = [planned[key] for key in sequence]
    reports = [_report(segments[k], planned[(k, rev)], opts.dt) for k, rev in sequence]
    missing = [
        segments[k]
        for k, (c, _) in enumerate(zip(chosen, sequence, strict=True))
        if not isinstance(c, _Planned)
    ]
    if missing or sorted(k for k, _ in sequence) != list(range(len(segments))):
        # by construction unreachable; kept as a guard so that no path through the planner drops a weld
        what = ", ".join(f"{m.seam_id!r} pass {m.pass_index + 1}" for m in missing) or "a segment"
        return PlanResult(
            PlanStatus.NOT_PLANNED, None, f"internal: {what} has no planned weld", tuple(reports)
        )
    if opts.job_configurations or opts.keep_configuration:
        notify(0.84, "choosing arm configurations across the job")

        # an alternative path completed once is not completed again when the order changes and the
        # configurations are chosen a second time (same segment, direction and path: same result)
        completed: dict[tuple[int, int], tuple[_Planned, SeamPath, _Planned | SeamFailure]] = {}

        def complete(p: _Planned, path: SeamPath) -> _Planned | SeamFailure:
            hit = completed.get((id(p), id(path)))
            if hit is not None and hit[0] is p and hit[1] is path:
                return hit[2]
            t1 = time.perf_counter()
            c = _complete_direction(robot, checker, p.seg, p.reversed, cell, opts, path.s, path, t1, poses)
            out = c if isinstance(c, SeamFailure) else replace(c, plan_time=p.plan_time + c.plan_time)
            completed[(id(p), id(path))] = (p, path, out)
            return out

        def end_cost(p: _Planned) -> float:
            # an approach / depart that changes the configuration or cannot go straight costs extra
            cost = 0.0
            for a, b in ((p.q_approach, p.weld.q[0]), (p.weld.q[-1], p.q_depart)):
                lab = np.asarray(robot.configuration_labels(np.stack([a, b])))
                if np.any(lab[0] != lab[1]):
                    cost += opts.configuration_change_cost
                if not segment_free(checker, a, b, opts.transit.resolution):
                    cost += 0.5 * opts.configuration_change_cost
            return cost

        picked = _job_branches(
            robot, [c for c in chosen if isinstance(c, _Planned)], home, opts, complete, end_cost
        )
        if isinstance(picked, str):
            return PlanResult(PlanStatus.CONFIGURATION_CHANGE, None, picked, tuple(reports))
        if free_order and len(seam_ids) > 1 and opts.job_configurations:
            # the order was chosen with every seam's cheapest path: order again with the chosen ones
            by_seam: dict[str, list[_Planned]] = {}
            for p in picked:
                by_seam.setdefault(p.seg.seam_id, []).append(p)
            ends2 = []
            for sid, e in zip(seam_ids, ends, strict=True):
                mine = by_seam[sid]
                pair = (mine[0].q_approach, mine[-1].q_depart)
                ends2.append(SeamEnds(pair, e.reverse) if not mine[0].reversed else SeamEnds(e.forward, pair))
            order2 = order_seams(
                ends2, home, np.asarray(robot.qd_max), np.asarray(robot.qdd_max), prec, wrap=wrap_mask(robot)
            )
            del by_seam  # the first choice's completed segments: released with ``picked`` below
            seq2 = [(k, rev) for i, rev in order2 for k in (backwards if rev else groups)[seam_ids[i]]]
            if seq2 != sequence:
                again = [p for p in (planned[key] for key in seq2) if isinstance(p, _Planned)]
                picked2 = _job_branches(robot, again, home, opts, complete, end_cost)
                cost = _tour_cost(robot, home, picked, opts.configuration_change_cost)
                if (
                    not isinstance(picked2, str)
                    and _tour_cost(robot, home, picked2, opts.configuration_change_cost) < cost
                ):
                    sequence, picked = seq2, picked2
                del again, picked2  # the order not taken: released before the timeline is built
        completed.clear()
        chosen = list(picked)
    # the reports describe what is welded: the chosen configuration of every segment
    reports = [_report(segments[k], c, opts.dt) for (k, _rev), c in zip(sequence, chosen, strict=True)]
    # ---- assemble the timeline
    # only the chosen segments are welded: the other directions and configurations planned above
    # are released first (their weld samples were a third of the memory peak of planning, issue #14)
    planned.clear()
    poses.clear()
    # ... and every other name for them: ``welds`` alone holds the chosen segments, and _assemble
    # consumes it (a segment's weld samples are freed once they are joined into the timeline)
    welds = [c for c in chosen if isinstance(c, _Planned)]
    chosen, fwd, bwd, best, picked = [], None, None, None, []
    notify(0.85, "transit moves")
    limits = speed_limits_for_cell(cell)
    spans: list[MoveSpan] = []
    try:
        traj = _assemble(
            program,
            robot,
            checker,
            welds,
            home,
            opts,
            notify,
            limits,
            spans,
        )
    except TransitError as err:
        return PlanResult(PlanStatus.TRANSIT_FAILED, None, str(err), tuple(reports))
    except SpeedLimitError as err:  # a move that cannot be timed under the speed limits
        return PlanResult(PlanStatus.SPEED_LIMIT, None, str(err), tuple(reports))
    # (a report between the stages: the CLI returns the timeline's freed pieces then, issue #14)
    notify(0.99, "checking coverage and speeds")
    # ---- the plan is OK only when it welds every programmed pass and stitch end to end
    coverage = check_coverage(traj, segments)
    if not coverage.complete:
        return PlanResult(PlanStatus.NOT_PLANNED, None, "; ".join(coverage.problems), tuple(reports))
    motion = motion_summary(robot, traj, spans, limits)
    too_fast = speed_limit_violation(motion)
    if too_fast:
        return PlanResult(PlanStatus.SPEED_LIMIT, None, too_fast, tuple(reports), motion)
    traj = replace(traj, metadata=plan_metadata(reports, traj, motion))
    notify(1.0, "done")
    return PlanResult(PlanStatus.OK, traj, "", tuple(reports), motion)


def _tour_cost(robot: Robot, home: NDArrayF, chosen: list[_Planned], change_cost: float) -> float:
    """Estimated air time of a job [s]: joint move times between the segments (from and to home),
    plus ``change_cost`` per configuration change between them."""
    qd, qdd = np.asarray(robot.qd_max, dtype=np.float64), np.asarray(robot.qdd_max, dtype=np.float64)
    stops = [home] + [q for p in chosen for q in (p.q_approach, p.q_depart)] + [home]
    lab = np.asarray(robot.configuration_labels(np.stack(stops)))
    total = 0.0
    for k in range(0, len(stops), 2):  # depart (or home) -> next approach (or home)
        total += move_time(stops[k], stops[k + 1], qd, qdd)
        total += change_cost * float(np.any(lab[k] != lab[k + 1]))
    return total


def _job_branches(
    robot: Robot,
    chosen: list[_Planned],
    home: NDArrayF,
    opts: PlanOptions,
    complete: Callable[[_Planned, SeamPath], _Planned | SeamFailure],
    end_cost: Callable[[_Planned], float],
) -> list[_Planned] | str:
    """Arm configuration and joint turns of every segment, chosen across the job (job_branches).

    ``complete`` turns an alternative joint path of a segment into a timed weld with approach and
    depart; ``end_cost`` rates a completed segment's approach and depart moves [s]. Returns the
    segments to weld, or (``keep_configuration``) a sentence naming the segment that would need a
    configuration change.
    """
    lo, hi = np.asarray(robot.q_lower, dtype=np.float64), np.asarray(robot.q_upper, dtype=np.float64)
    wrap = wrap_mask(robot)
    home_labels = tuple(int(x) for x in np.asarray(robot.configuration_labels(home)).ravel()[:3])
    spans = [plan_spans(p) for p in chosen]
    for i, p in enumerate(chosen):
        spans[i][0] = completed_span(p, end_cost(p))
    done: dict[tuple[int, int], _Planned | SeamFailure] = {}
    # a not yet completed alternative is judged by its joint path; once chosen it is completed and
    # judged again (its approach and depart may turn out worse), until the choice is stable
    for _ in range(1 + sum(len(p.alternatives) for p in chosen)):
        picked = choose_branches(
            spans,
            home,
            home_labels,  # type: ignore[arg-type]
            np.asarray(robot.qd_max, dtype=np.float64),
            lo,
            hi,
            wrap,
            change_cost=opts.configuration_change_cost,
            keep_configuration=opts.keep_configuration,
        )
        if isinstance(picked, KeepConfigurationFailure):
            seg = chosen[picked.position].seg
            where = f"seam {seg.seam_id!r} (pass {seg.pass_index + 1}, stitch {seg.stitch_index + 1})"
            before = "; ".join(label_text(x) for x in picked.available)
            offered = "; ".join(label_text(x) for x in picked.offered)
            return (
                f"{where} needs a configuration change with keep-configuration: the welds before it "
                f"share only the arm configuration(s) [{before}], it can be welded only in [{offered}]; "
                "allow configuration changes, reorder the seams or move the part"
            )
        fresh = [(i, o.plan) for i, o in enumerate(picked) if o.plan > 0 and (i, o.plan) not in done]
        for i, k in fresh:
            c = complete(chosen[i], chosen[i].alternatives[k - 1])
            done[(i, k)] = c
            spans[i][k] = (
                replace(spans[i][k], extra_cost=np.inf)
                if isinstance(c, SeamFailure)
                else completed_span(c, end_cost(c))
            )
        if not fresh:
            break
    assert not isinstance(picked, KeepConfigurationFailure)  # mypy: returned above
    out = []
    for i, (p, o) in enumerate(zip(chosen, picked, strict=True)):
        base = p if o.plan == 0 else done.get((i, o.plan), p)
        if isinstance(base, SeamFailure) or not np.isfinite(spans[i][o.plan].extra_cost):
            out.append(replace(p, alternatives=()))  # the chosen configuration cannot be welded after all
            continue
        moved = shifted(base, o.shift)
        inside = robot.within_limits(np.concatenate([moved.weld.q, [moved.q_approach, moved.q_depart]]))
        out.append(moved if bool(np.all(inside)) else replace(base, alternatives=()))
    return out


def _blocker(checker: CollisionChecker, q0: NDArrayF, q1: NDArrayF, resolution: float) -> str:
    """What blocks the straight joint move q0 -> q1 [rad], in words (first blocked sample)."""
    steps = max(1, int(np.ceil(np.max(np.abs(q1 - q0)) / resolution)))
    a = np.linspace(0.0, 1.0, steps + 1)[:, None]
    Q = q0 + a * (q1 - q0)
    free = checker.check(Q)
    if np.all(free):
        return "the straight joint move is free at its samples"
    k = int(np.argmin(free))
    describe = getattr(checker, "describe", None)
    what = (
        describe(Q[k])
        if describe is not None
        else ", ".join(f"{x} with {y}" for x, y in checker.colliding_bodies(Q[k])) or "a collision"
    )
    return f"the straight joint move is blocked from {100.0 * k / steps:.0f} % of the way: {what}"


def _assemble(
    program: Program,
    robot: Robot,
    checker: CollisionChecker,
    chosen: list[_Planned],
    home: NDArrayF,
    opts: PlanOptions,
    notify: ProgressFn,
    limits: SpeedLimits,
    spans: list[MoveSpan],
) -> JointTrajectory:
    """The job's timeline; every move is appended to ``spans`` (an output list).

    ``chosen`` is consumed: emptied once its weld samples are in the timeline.
    """
    cell = program.cell
    dt = opts.dt
    n = len(robot.joint_names)
    seam_ids = tuple(s.id for s in program.seams)
    sidx = {sid: i for i, sid in enumerate(seam_ids)}
    tl = TimelineBuilder(n, dt)

    topts = opts.transit if opts.seed is None else replace(opts.transit, seed=opts.seed)
    T_ft = np.asarray(cell.T_flange_tcp, dtype=np.float64)

    T_base_world = invert_transforms(np.asarray(cell.T_world_base, dtype=np.float64))

    def transit(q0: NDArrayF, q1: NDArrayF, kind: str, label: str, move: str) -> None:
        """A timed collision-free move; ``label`` names it in the summary, ``move`` in errors."""
        wp = None
        if kind == "transit" and not segment_free(checker, q0, q1, topts.resolution):
            # back off / lift over, across and in again, before a random search (planning/lift.py)
            wp = lifted_waypoints(robot, checker, q0, q1, T_ft, T_base_world, topts.resolution)
        if wp is None:
            try:
                wp = find_path(robot, checker, q0, q1, topts)
            except TransitError as err:
                raise TransitError(
                    f"transit {move}: {err}; {_blocker(checker, q0, q1, topts.resolution)}"
                ) from err
        q, qd, qdd, speeds = time_path_limited(robot, checker, wp, dt, topts, limits, T_ft)
        first = tl.add(q, qd, qdd)
        spans.append(MoveSpan(kind, label, first, tl.count - 1, speeds.speed_scale))

    q_cur = home
    where = "home"
    where_short = "home"
    tl.add(home[None].copy(), np.zeros((1, n)), np.zeros((1, n)))
    for i, p in enumerate(chosen):
        seg, w = p.seg, p.weld
        notify(0.85 + 0.15 * i / max(len(chosen), 1), f"moves around seam {seg.seam_id}")
        name = f"seam {seg.seam_id!r} pass {seg.pass_index + 1}"
        here = f"seam {seg.seam_id}"
        transit(
            q_cur,
            p.q_approach,
            "transit",
            f"{where_short} → {here}",
            f"from {where} to the approach pose of {name}",
        )
        transit(p.q_approach, w.q[0], "approach", here, f"from the approach pose onto the start of {name}")
        k = sidx.get(seg.seam_id, -1)
        # seam_s: arc length along the seam as programmed (a reversed weld counts down)
        s_seam = w.s if not p.reversed else seg.s[0] + seg.s[-1] - w.s
        n_dwell = max(1, round(seg.arc_start_dwell / dt))
        n_crater = max(1, round(seg.crater_fill_time / dt))
        # the weld's poses are computed when the trajectory is built (memory, issue #14)
        poses = _weld_poses(w)
        ends = w.T_world_tcp_at(np.array([0, len(w.s) - 1]))
        qd, qdd = w.derivatives()
        weld_first = tl.add_weld(
            w.q, qd, qdd, poses, s_seam, k, seg.seam_id, n_dwell, n_crater, T_ends=(ends[:1], ends[1:])
        )
        spans.append(MoveSpan("weld", here, weld_first, tl.count - 1))
        transit(w.q[-1], p.q_depart, "depart", here, f"pulling back from the end of {name}")
        q_cur = p.q_depart
        where = f"the pull-back pose of {name}"
        where_short = here
    transit(q_cur, home, "transit", f"{where_short} → home", f"from {where} to home")
    T_world_base = np.asarray(cell.T_world_base, dtype=np.float64)
    T_flange_tcp = np.asarray(cell.T_flange_tcp, dtype=np.float64)
    travel: dict[str, float] = {}
    for p in chosen:
        travel.setdefault(p.seg.seam_id, float(p.seg.travel_speed))
    # memory (issue #14): ``chosen`` (the caller's list, consumed) is emptied here, so that the weld
    # samples live only in the builder, which frees each field's pieces as it joins them
    chosen.clear()
    return tl.build(
        robot=robot.name,
        joint_names=tuple(robot.joint_names),
        # nominal TCP of the moves from FK (the welds carry their own)
        nominal_tcp=lambda x, _e: T_world_base @ np.asarray(robot.fk(x)) @ T_flange_tcp,
        T_world_base=T_world_base,
        T_flange_tcp=T_flange_tcp,
        seam_ids=seam_ids,
        program_hash=program.hash,
        travel_speed=travel,
        joined=lambda: notify(0.99, "building the trajectory"),
    )


def _weld_poses(w: WeldSamples) -> Callable[[], NDArrayF]:
    """``w.T_world_tcp`` (M, 4, 4), computed when called."""
    return lambda: w.T_world_tcp
