"""Validation of a joint trajectory in pybullet: the independent second opinion before deployment.

Every sample (at the trajectory's ``dt``) is replayed with pybullet's own forward kinematics
(``resetJointStatesMultiDof`` + ``getLinkState(computeForwardKinematics=1)``), never with
``weldcell.kinematics``, and judged on:

* **clearance and collisions** (rules in :mod:`weldcell.sim.collision`), split into query units
  (robot-cell, each torch link vs the cell, torch-robot, each self pair). A unit queried with
  ``getClosestPoints`` at a sample certifies the next samples without a query as long as the motion
  since then cannot have used up its slack ``distance - margin``: a point carried by joint j moves
  at most ``lever_arm[j] * |Δq_j|`` (only the joints between the two links for a self pair), and a
  torch point at most ``|Δp_ref| + θ · extent`` (flange origin or TCP as reference, θ the flange
  rotation). Near the margin this falls back to a query at every sample, so violations are found
  with their first and last sample;
* joint position, velocity and acceleration limits (velocities also from differences of positions);
* TCP path deviation from ``traj.T_world_tcp``, torch axis angle error and travel speed on weld
  samples; arc switching at rest;
* distance to singularities: weldcell's one measure
  (:func:`weldcell.kinematics.singularity_distance_from_jacobian`: σ_min of the flange Jacobian with
  the linear rows divided by the robot's reach) computed on pybullet's own Jacobian, against the
  planner's floor ``MIN_SINGULARITY`` (0 = singular; full stretch shows here too);
* weld coverage (with the program): every programmed pass and stitch welded end to end, from the
  trajectory's arc-on runs and seam positions (:func:`weldcell.planning.coverage.check_coverage`)
  and from pybullet's torch tip at the first and last sample of each run;
* TCP and elbow speed against the controller's safety limits (:mod:`weldcell.sim.speed_check`);
* optionally a dynamic replay with position control and the URDF's effort limits.
"""

from __future__ import annotations

import gc
import logging
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.errors import InputShapeError, ModelError, WeldcellError
from weldcell.kinematics import load_robot, singularity_distance_from_jacobian
from weldcell.kinematics.safety import SafetyLimits
from weldcell.planning.coverage import check_coverage
from weldcell.sim._bullet import se3_from_pos_quat_xyzw
from weldcell.sim._seal import seal_of
from weldcell.sim.cell_model import CellModel
from weldcell.sim.collision import ClearanceRules, Proximity, query, query_units
from weldcell.sim.external import (
    MountedBodies,
    external_limit_violations,
    moving_part_checks,
    track_base_mismatch,
    track_base_poses,
)
from weldcell.sim.report import SeamMetrics, ValidationReport, ValidationSeries, Violation, ViolationKind
from weldcell.sim.scene import Scene, build_scene
from weldcell.sim.speed_check import controller_limits, elbow_positions, speeds
from weldcell.sim.world import Mode, PybulletWorld
from weldcell.spatial import invert_transforms
from weldcell.trajectory import JointTrajectory, true_runs
from weldcell.trajectory.margins import MIN_SINGULARITY, NOZZLE_CLEARANCE, SELF_CLEARANCE

if TYPE_CHECKING:
    from weldcell.program.model import Program

log = logging.getLogger(__name__)
NDArrayF = npt.NDArray[np.float64]
BOUND_TOLERANCE = 2e-5  # [m] kept in reserve for the numerical error of pybullet's distances


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    """Limits and settings of a validation (SI units).

    Attributes:
        clearance: Robot/torch to cell clearance [m]; None = the cell's clearance.
        nozzle_clearance: Nozzle / contact tip to workpiece and fixture [m].
        self_clearance: Between non-adjacent robot links, and torch to robot [m].
        lookahead: How far beyond its margin a pair against the cell is still measured [m]; larger =
            fewer queries, more pairs per query.
        self_lookahead: The same for robot-robot and torch-robot pairs (few pairs per query, so it is
            cheap to measure them far out) [m].
        max_tcp_deviation_weld: TCP position error allowed with the arc on [m].
        max_tcp_deviation_transit: TCP position error allowed on transit moves [m].
        max_torch_angle_error: Torch axis angle error allowed with the arc on [rad].
        max_travel_speed_error: Allowed travel speed error, fraction of the programmed speed.
        speed_ramp_length: Seam length at each end of a weld excluded from the speed check [m].
        min_singularity: Smallest allowed singularity measure with the arc on (dimensionless, see the
            module docstring; default the planner's floor ``MIN_SINGULARITY``).
        singularity_stride: Compute the singularity measure every this many samples.
        limit_tolerance: Relative tolerance on joint velocity/acceleration limits.
        qdd_max: Acceleration limits [rad/s²] (n,), None = from the robot model if it has them.
        rest_speed: Joint speed counted as "at rest" at arc switching [rad/s].
        dynamic_replay: Also replay with position control and report the tracking error.
        max_tracking_error: Joint tracking error allowed in the dynamic replay [rad].
        safety: The controller's safety limits (TCP and elbow speed are checked against them,
            times ``1 + limit_tolerance``); None = the robot's default configuration
            (``weldcell.kinematics.safety.default_limits``).
    """

    clearance: float | None = None
    nozzle_clearance: float = NOZZLE_CLEARANCE
    self_clearance: float = SELF_CLEARANCE
    lookahead: float = 0.05
    self_lookahead: float = 0.15
    max_tcp_deviation_weld: float = 0.0005
    max_tcp_deviation_transit: float = 0.002
    max_torch_angle_error: float = float(np.deg2rad(2.0))
    max_travel_speed_error: float = 0.05
    speed_ramp_length: float = 0.002
    min_singularity: float = MIN_SINGULARITY
    singularity_stride: int = 10
    limit_tolerance: float = 0.01
    qdd_max: tuple[float, ...] | None = None
    rest_speed: float = 1e-3
    dynamic_replay: bool = False
    max_tracking_error: float = float(np.deg2rad(1.0))
    safety: SafetyLimits | None = None

    def __post_init__(self) -> None:
        if self.singularity_stride < 1:
            raise InputShapeError(f"singularity_stride must be >= 1, got {self.singularity_stride}")
        if not self.lookahead > 0:
            raise InputShapeError(f"lookahead must be > 0 m, got {self.lookahead}")


def validate_trajectory(
    traj: JointTrajectory,
    program: Program | None = None,
    *,
    cell: CellModel | None = None,
    options: ValidationOptions | None = None,
) -> ValidationReport:
    """Validate ``traj`` in the cell of ``program`` (or an explicit ``cell``) in a DIRECT world.

    Args:
        traj: The trajectory to judge.
        program: A ``weldcell.program.Program``; its cell is used unless ``cell`` is given.
        cell: Explicit cell description.
        options: Limits and settings.

    Returns:
        The report; ``report.passed`` is False on any violation.

    Raises:
        ModelError: no cell given, robot of the trajectory differs from the cell's, unknown joints.
    """
    if cell is None:
        if program is None:
            raise ModelError("validation needs the cell: pass the program (or a CellModel)")
        cell = CellModel.from_program(program)
    with PybulletWorld(Mode.DIRECT) as world:
        scene = build_scene(world, cell)
        return validate_in_scene(scene, traj, options or ValidationOptions(), program)


def _robot_model_limits(traj: JointTrajectory) -> tuple[NDArrayF | None, NDArrayF | None]:
    """Velocity and acceleration limits from ``weldcell.kinematics`` in the trajectory's joint order."""
    try:
        from weldcell.sim._models import load_robot_model

        robot = load_robot_model(traj.robot)
        order = [list(robot.joint_names).index(n) for n in traj.joint_names]
        return np.asarray(robot.qd_max, float)[order], np.asarray(robot.qdd_max, float)[order]
    except (ModelError, AttributeError, ValueError, KeyError) as err:
        log.info("no robot model limits for %r (%s); using the URDF's", traj.robot, err)
        return None, None


class _Context:
    """Seam/transit labels per sample."""

    def __init__(self, traj: JointTrajectory) -> None:
        self.traj = traj
        self.si = traj.seam_index

    def seam(self, i: int) -> str | None:
        k = int(self.si[i])
        return self.traj.seam_ids[k] if k >= 0 else None

    def label(self, i: int) -> str:
        k = int(self.si[i])
        if k >= 0:
            return ("weld " if self.traj.arc_on[i] else "at seam ") + self.traj.seam_ids[k]
        after = np.flatnonzero(self.si[i:] >= 0)
        if after.size:
            return f"transit before seam {self.traj.seam_ids[int(self.si[i + after[0]])]}"
        before = np.flatnonzero(self.si[:i] >= 0)
        if before.size:
            return f"transit after seam {self.traj.seam_ids[int(self.si[before[-1]])]}"
        return "transit"

    def violation(
        self, kind: ViolationKind, i0: int, i1: int, bodies: tuple[str, ...], value: float, limit: float
    ) -> Violation:
        t = self.traj.t
        return Violation(
            kind, float(t[i0]), float(t[i1]), self.seam(i0), self.label(i0), bodies, value, limit
        )


def validate_in_scene(
    scene: Scene,
    traj: JointTrajectory,
    options: ValidationOptions | None = None,
    program: Program | None = None,
) -> ValidationReport:
    """Validate ``traj`` in an already built scene (DIRECT or GUI world). See the module docstring.

    Args:
        scene: The cell loaded in a world.
        traj: The trajectory.
        options: Limits and settings (defaults if None).
        program: The weld program, for the programmed travel speed of every pass (optional).
    """
    options = options or ValidationOptions()
    if traj.robot != scene.cell.robot:
        raise ModelError(f"the trajectory is for robot {traj.robot!r} but the cell has {scene.cell.robot!r}")
    if set(traj.joint_names) != set(scene.joint_names):
        raise ModelError(
            f"trajectory joints {list(traj.joint_names)} differ from the robot model's "
            f"{list(scene.joint_names)}"
        )
    idx = scene.joint_order(traj.joint_names)
    pos_in_scene = [scene.joint_indices.index(j) for j in idx]
    rules = ClearanceRules(
        clearance=scene.cell.clearance if options.clearance is None else options.clearance,
        nozzle_clearance=options.nozzle_clearance,
        self_clearance=options.self_clearance,
    )
    ctx = _Context(traj)
    violations: list[Violation] = []
    notes: list[str] = []
    T_world_base_seq = track_base_poses(traj)  # robot on a track: its base at every sample
    mounted = MountedBodies(scene, traj, program)
    mounted.park()  # the replay's motion bounds assume a still cell: moving parts are checked apart
    violations += external_limit_violations(traj, ctx, options.limit_tolerance)
    for link, body in sorted(scene.mount_contacts):
        notes.append(
            f"robot/{scene.link_names[link]} stands on cell/{scene.cell.bodies[body].name}: "
            "that contact is allowed (fixed mount, found when the scene was built)"
        )

    with _gc_paused():  # the replay allocates ~10⁵ small objects that all live until it ends
        fk, checks = _replay(
            scene, traj, idx, pos_in_scene, rules, options.lookahead, options.self_lookahead, T_world_base_seq
        )
        moving = moving_part_checks(scene, traj, idx, fk, mounted, rules, options.lookahead)
    mounted.restore()
    if moving:
        per_unit = [list(u) for u in checks.per_unit]
        for k, extra in moving:
            per_unit[k] = sorted(per_unit[k] + list(extra), key=lambda item: item[0])
        checks = _Checks(tuple(tuple(u) for u in per_unit), checks.lookahead)
        notes.append(f"moving parts checked at {len(moving[0][1])} positioner poses")
    violations += _collision_violations(ctx, checks)
    T_world_flange = fk
    T_world_tcp = T_world_flange @ traj.T_flange_tcp
    dev = np.linalg.norm(T_world_tcp[:, :3, 3] - traj.T_world_tcp[:, :3, 3], axis=1)
    cos_z = np.einsum("ni,ni->n", T_world_tcp[:, :3, 2], traj.T_world_tcp[:, :3, 2])
    ang = np.arccos(np.clip(cos_z, -1.0, 1.0))
    arc = traj.arc_on
    for mask, lim in (
        (arc & (dev > options.max_tcp_deviation_weld), options.max_tcp_deviation_weld),
        (~arc & (dev > options.max_tcp_deviation_transit), options.max_tcp_deviation_transit),
    ):
        for a, b in true_runs(mask):
            violations.append(
                ctx.violation(ViolationKind.TCP_DEVIATION, a, b, (), float(dev[a : b + 1].max()), lim)
            )
    for a, b in true_runs(arc & (ang > options.max_torch_angle_error)):
        violations.append(
            ctx.violation(
                ViolationKind.TORCH_ANGLE,
                a,
                b,
                (),
                float(ang[a : b + 1].max()),
                options.max_torch_angle_error,
            )
        )

    violations += _limit_violations(scene, traj, pos_in_scene, options, ctx, notes)
    violations += _rest_violations(traj, options, ctx)
    if T_world_base_seq is not None:
        base_err, what = track_base_mismatch(traj, scene.cell.T_world_base, program)
        rot_err = 0.0
        notes.append(f"robot on a track: base moved with the carriage at every sample; checked the {what}")
    else:
        what = "robot base"
        base_err = float(np.linalg.norm(traj.T_world_base[:3, 3] - scene.cell.T_world_base[:3, 3]))
        rot_err = float(np.abs(traj.T_world_base[:3, :3] - scene.cell.T_world_base[:3, :3]).max())
    if base_err > 1e-6 or rot_err > 1e-6:
        violations.append(
            Violation(ViolationKind.CELL_MISMATCH, 0.0, traj.duration, None, what, (), base_err, 0.0)
        )
    violations += _device_mismatch(traj, program)

    p_act = T_world_tcp[:, :3, 3]
    speed = np.linalg.norm(np.gradient(p_act, traj.dt, axis=0), axis=1) if traj.n_samples > 1 else np.zeros(1)
    speed_nom = (
        np.linalg.norm(np.gradient(traj.T_world_tcp[:, :3, 3], traj.dt, axis=0), axis=1)
        if traj.n_samples > 1
        else np.zeros(1)
    )
    safety = controller_limits(traj.robot, options.safety)
    p_elbow = elbow_positions(scene, traj.q, idx)  # with the robot base where the scene has it
    if T_world_base_seq is not None:  # carried by the carriage: scene base -> base at each sample
        M = T_world_base_seq @ invert_transforms(scene.cell.T_world_base)
        p_elbow = np.einsum("nij,nj->ni", M[:, :3, :3], p_elbow) + M[:, :3, 3]
    elbow_speed = speeds(p_elbow, traj.dt)
    for kind, v, lim in (
        (ViolationKind.TCP_SPEED, speed, safety.tcp_speed),
        (ViolationKind.ELBOW_SPEED, elbow_speed, safety.elbow_speed),
    ):
        for a, b in true_runs(v > lim * (1.0 + options.limit_tolerance)):
            violations.append(ctx.violation(kind, a, b, (), float(v[a : b + 1].max()), lim))
    programmed = _programmed_speeds(traj, program)
    to_part = mounted.maps  # positioner: judge the weld in the part frame (the part moves)
    T_part_tcp = T_world_tcp if to_part is None else to_part @ T_world_tcp
    violations += _coverage_violations(traj, program, T_part_tcp, options, ctx)
    if program is None:
        notes.append("weld coverage not checked: no program given (every pass welded end to end)")
    # at a corner of the nominal path (weave tips, dwell ends) the nominal speed is undefined; the arm
    # rounds it (by the measured deviation, checked above), so speeds are not compared there
    dev_weld = float(dev[arc].max()) if arc.any() else 0.0
    corners = _nominal_corners(traj.T_world_tcp[:, :3, 3], traj.dt, dev_weld)
    speed_seam = speed
    if to_part is not None and traj.n_samples > 1:  # travel speed relative to the part
        p_nom_part = (
            np.einsum("nij,nj->ni", to_part[:, :3, :3], traj.T_world_tcp[:, :3, 3]) + to_part[:, :3, 3]
        )
        speed_seam = np.linalg.norm(np.gradient(T_part_tcp[:, :3, 3], traj.dt, axis=0), axis=1)
        speed_nom = np.linalg.norm(np.gradient(p_nom_part, traj.dt, axis=0), axis=1)
    speed_cmp = np.where(corners, speed_seam, speed_nom)
    seams, speed_viol = _seam_metrics(traj, dev, ang, speed_seam, speed_cmp, checks, options, ctx, programmed)
    violations += speed_viol

    sing_idx, sing = _singularity(scene, traj, idx, options)
    # near a singularity only Cartesian (weld) motion needs huge joint speeds; joint moves pass freely
    for a, b in true_runs((sing < options.min_singularity) & traj.arc_on[sing_idx]):
        i0, i1 = int(sing_idx[a]), int(sing_idx[b])
        violations.append(
            ctx.violation(
                ViolationKind.SINGULARITY, i0, i1, (), float(sing[a : b + 1].min()), options.min_singularity
            )
        )

    tracking = np.zeros(0)
    if options.dynamic_replay:
        from weldcell.sim.dynamics import dynamic_replay

        tracking = dynamic_replay(scene, traj, idx)
        for a, b in true_runs(tracking > options.max_tracking_error):
            violations.append(
                ctx.violation(
                    ViolationKind.TRACKING,
                    a,
                    b,
                    (),
                    float(tracking[a : b + 1].max()),
                    options.max_tracking_error,
                )
            )
        if T_world_base_seq is not None:
            notes.append("dynamic replay with the robot base still: carriage accelerations are not simulated")
    else:
        notes.append("dynamic replay not run (enable with dynamic_replay=True / --dynamics)")

    dmin = checks.min_distance_at()
    n_queries = sum(len(u) for u in checks.per_unit)
    metrics = {
        "min_distance_m": min(dmin.values(), default=float("inf")),
        "clearance_query_samples": float(len(dmin)),
        "clearance_queries": float(n_queries),
        "clearance_query_fraction": n_queries / max(1, traj.n_samples * len(checks.per_unit)),
        "max_tcp_deviation_weld_m": float(dev[arc].max()) if arc.any() else 0.0,
        "max_tcp_deviation_transit_m": float(dev[~arc].max()) if (~arc).any() else 0.0,
        "max_torch_angle_error_rad": float(ang[arc].max()) if arc.any() else 0.0,
        "min_singularity_measure": float(sing.min()) if sing.size else float("nan"),
        "max_tcp_speed_m_s": float(speed.max()),
        "max_elbow_speed_m_s": float(elbow_speed.max()),
        "tcp_speed_limit_m_s": safety.tcp_speed,
        "elbow_speed_limit_m_s": safety.elbow_speed,
        "arc_time_s": float(arc.sum() * traj.dt),
    }
    if tracking.size:
        metrics["max_tracking_error_rad"] = float(tracking.max())
    violations.sort(key=lambda v: (v.time, v.kind.value, v.bodies))
    series = ValidationSeries(
        t=traj.t,
        q=traj.q,
        qd=traj.qd,
        q_lower=scene.q_lower[pos_in_scene],
        q_upper=scene.q_upper[pos_in_scene],
        qd_max=_velocity_limits(scene, traj, pos_in_scene)[0],
        p_world_tcp=p_act,
        tcp_deviation=dev,
        torch_angle_error=ang,
        tcp_speed=speed,
        tcp_speed_nominal=speed_nom,
        check_index=np.array(sorted(dmin), dtype=np.int64),
        check_distance=np.array([dmin[i] for i in sorted(dmin)]),
        singularity_index=sing_idx,
        singularity=sing,
        seam_index=traj.seam_index,
        seam_s=traj.seam_s,
        arc_on=traj.arc_on,
        tracking_error=tracking,
    )
    report = ValidationReport(
        robot=traj.robot,
        joint_names=traj.joint_names,
        seam_ids=traj.seam_ids,
        trajectory_hash=traj.content_hash(),
        program_hash=traj.program_hash,
        cell_hash=scene.cell.content_hash(),
        cell_files=tuple(str(p) for p in scene.cell.files()),
        dt=traj.dt,
        duration=traj.duration,
        n_samples=traj.n_samples,
        violations=tuple(violations),
        metrics=MappingProxyType(metrics),
        seams=tuple(seams),
        notes=tuple(notes),
        series=series,
    )
    return replace(report, seal=seal_of(report.summary()))  # only this function seals reports


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (reference counting still frees memory).

    The replay creates many small long-lived objects (query results, pose lists); each batch of
    them would otherwise trigger a collection that scans the whole heap, ~8 % of the run time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class _Checks:
    """Clearance query results: per query unit, the queried samples and the pairs found there."""

    per_unit: tuple[tuple[tuple[int, tuple[Proximity, ...]], ...], ...]
    lookahead: float

    def samples(self) -> list[int]:
        """All samples where at least one unit was queried, sorted."""
        return sorted({i for unit in self.per_unit for i, _ in unit})

    def min_distance_at(self) -> dict[int, float]:
        """Smallest distance found per queried sample (units without pairs count as out of reach)."""
        out: dict[int, float] = dict.fromkeys(self.samples(), float("inf"))
        for i, p in self.items():
            if p.distance < out[i]:
                out[i] = p.distance
        return out

    def items(self) -> list[tuple[int, Proximity]]:
        """Every (sample, pair) found."""
        return [(i, p) for unit in self.per_unit for i, items in unit for p in items]


def _replay(
    scene: Scene,
    traj: JointTrajectory,
    idx: tuple[int, ...],
    pos_in_scene: list[int],
    rules: ClearanceRules,
    lookahead: float,
    self_lookahead: float,
    T_world_base: NDArrayF | None = None,
) -> tuple[NDArrayF, _Checks]:
    """Pybullet FK at every sample, then each clearance query unit where the motion bound requires it.

    Motion bounds, cumulative along the trajectory [m]: for every unit the joint-space bound
    ``Σ lever_arm[j] |Δq_j|`` with the unit's lever arms; for a torch link against the cell also
    the Cartesian bounds ``|Δp_ref| + θ · extent`` from pybullet's flange poses, with the flange
    origin or the TCP point as reference (the smallest of the three per step).

    ``T_world_base`` (N, 4, 4), for a robot on a track: the robot base is moved there at every sample
    (pybullet then reports link poses in the world with the carriage where it is), and the base motion
    ``|Δp_base| + θ_base · (reach + torch extent)`` is added to the bounds of robot-cell and
    torch-cell units (self and torch-robot pairs move with the base). The base is put back at the
    scene's pose at the end.

    Returns:
        T_world_flange (N, 4, 4) and the clearance query results.
    """
    cid, robot, flange, torch = scene.client, scene.robot_id, scene.flange_link, scene.torch_id
    N = traj.n_samples
    rows = traj.q.tolist()
    one = [slice(j, j + 1) for j in range(len(idx))]

    def targets(i: int) -> list[list[float]]:  # [[q_0], [q_1], ...]: the form pybullet wants
        return list(map(rows[i].__getitem__, one))

    reset, link_state = pb.resetJointStatesMultiDof, pb.getLinkState

    # FK at every sample where q changes (a dwell repeats the previous pose). resetJointStatesMultiDof
    # runs pybullet's forward kinematics and updates the link transforms, so getLinkState reads them
    # without recomputing (computeForwardKinematics=0; test_scene checks that both agree). Poses are
    # kept as flat lists of floats: millions of small tuples would wake the garbage collector.
    moved = np.ones(N, dtype=bool)
    moved[1:] = np.any(traj.q[1:] != traj.q[:-1], axis=1)
    reset_base = pb.resetBasePositionAndOrientation
    base_pos: list[list[float]] = []
    base_orn: list[list[float]] = []
    base_step = np.zeros(max(0, N - 1))
    if T_world_base is not None:
        from scipy.spatial.transform import Rotation

        moved[1:] |= np.any(T_world_base[1:] != T_world_base[:-1], axis=(1, 2))
        base_pos = T_world_base[:, :3, 3].tolist()
        base_orn = Rotation.from_matrix(T_world_base[:, :3, :3]).as_quat().tolist()  # x, y, z, w
        R_rel = np.einsum("nji,njk->nik", T_world_base[:-1, :3, :3], T_world_base[1:, :3, :3])
        theta_b = np.arccos(np.clip((np.trace(R_rel, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0))
        extent = load_robot(scene.cell.robot).reach + max(
            (r for pair in scene.torch_extent.values() for r in pair), default=0.0
        )
        base_step = np.linalg.norm(np.diff(T_world_base[:, :3, 3], axis=0), axis=1) + theta_b * extent
    pos_f: list[float] = []
    orn_f: list[float] = []
    for i in np.flatnonzero(moved).tolist():  # the hot loop: ~12 µs per sample, all in pybullet
        if base_pos:
            reset_base(robot, base_pos[i], base_orn[i], physicsClientId=cid)
        reset(robot, idx, targets(i), physicsClientId=cid)
        st = link_state(robot, flange, 0, 0, cid)  # positional client id: cheaper to parse
        pos_f += st[4]
        orn_f += st[5]
    src = np.cumsum(moved) - 1  # sample -> index of its computed pose
    pos = np.asarray(pos_f, dtype=np.float64).reshape(-1, 3)[src]
    orn = np.asarray(orn_f, dtype=np.float64).reshape(-1, 4)[src]

    units = query_units(scene)
    dq = np.abs(np.diff(traj.q, axis=0))
    step: dict[Any, NDArrayF] = {}
    for w in {u.lever_arms for u in units}:
        step[w] = dq @ np.asarray(w, dtype=np.float64)[pos_in_scene]
    with_base = [u.kind in ("robot-cell", "torch-cell") for u in units]
    # Cartesian steps of torch points: |Δp_ref| + θ·|x - p_ref| for a reference point rigid with the
    # flange (its origin, or the TCP point), θ = rotation angle of the flange between samples
    sign = np.sign(np.einsum("ij,ij->i", orn[1:], orn[:-1]))
    chord = np.linalg.norm(orn[1:] - orn[:-1] * sign[:, None], axis=1)
    theta = 4.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))  # rotation angle = 2 x quaternion angle
    T_f = se3_from_pos_quat_xyzw(pos, orn)
    p_ref = T_f[:, :3, :3] @ scene.cell.T_flange_tcp[:3, 3] + pos
    d_flange = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    d_ref = np.linalg.norm(np.diff(p_ref, axis=0), axis=1)
    S: list[list[float]] = []
    shared: dict[Any, list[float]] = {}
    for u, moves_in_world in zip(units, with_base, strict=True):
        inc = step[u.lever_arms] + base_step if moves_in_world else step[u.lever_arms]
        if u.kind == "torch-cell":
            r_flange, r_tcp = scene.torch_extent[u.link_a]
            inc = np.minimum(inc, np.minimum(d_flange + theta * r_flange, d_ref + theta * r_tcp))
        elif u.lever_arms in shared:
            S.append(shared[u.lever_arms])
            continue
        S.append(np.concatenate([[0.0], np.cumsum(inc)]).tolist())
        if u.kind != "torch-cell":
            shared[u.lever_arms] = S[-1]

    results: list[list[tuple[int, tuple[Proximity, ...]]]] = [[] for _ in units]
    nxt = [0] * len(units)
    looks = [self_lookahead if u.kind in ("self", "torch-robot") else lookahead for u in units]
    needs_robot = [u.kind != "torch-cell" for u in units]
    needs_torch = [u.kind in ("torch-cell", "torch-robot") for u in units]
    robot_at = torch_at = -1  # sample at which the robot / the torch were last placed
    due = 0
    while due < N:
        i = due
        for k, unit in enumerate(units):
            if nxt[k] != i:
                continue
            if needs_robot[k] and robot_at != i:
                if base_pos:
                    reset_base(robot, base_pos[i], base_orn[i], physicsClientId=cid)
                reset(robot, idx, targets(i), physicsClientId=cid)
                robot_at = i
            if needs_torch[k] and torch_at != i and torch is not None:
                reset_base(torch, pos[i].tolist(), orn[i].tolist(), physicsClientId=cid)
                torch_at = i
            look = looks[k]
            items = tuple(query(scene, unit, rules, look))
            results[k].append((i, items))
            # pairs not returned have slack >= look
            budget = min((p.slack for p in items), default=look) - BOUND_TOLERANCE
            if budget <= 0.0:
                nxt[k] = i + 1
            else:
                Su = S[k]
                nxt[k] = max(i + 1, bisect_left(Su, Su[i] + budget))
        due = min(nxt)
    if base_pos:
        T0 = scene.cell.T_world_base
        from scipy.spatial.transform import Rotation

        quat0 = Rotation.from_matrix(T0[:3, :3]).as_quat().tolist()
        reset_base(robot, T0[:3, 3].tolist(), quat0, physicsClientId=cid)
    checks = _Checks(tuple(tuple(r) for r in results), lookahead)
    return T_f, checks


def _device_mismatch(traj: JointTrajectory, program: Program | None) -> list[Violation]:
    """The trajectory's external device differs from the program's (model, role or base)."""
    ext = traj.external
    cext = program.cell.external if program is not None else None
    if program is None or (ext is None and cext is None):
        return []
    if ext is None or cext is None or (ext.device, ext.role) != (cext.model, cext.role):
        have = "none" if ext is None else f"{ext.role} {ext.device}"
        want = "none" if cext is None else f"{cext.role} {cext.model}"
        ctx = f"external device: trajectory has {have}, program has {want}"
        return [Violation(ViolationKind.CELL_MISMATCH, 0.0, traj.duration, None, ctx, (), 1.0, 0.0)]
    d = float(np.abs(ext.T_world_base - cext.T_world_base).max())
    if d > 1e-6:
        ctx = f"{ext.role} {ext.device} base"
        return [Violation(ViolationKind.CELL_MISMATCH, 0.0, traj.duration, None, ctx, (), d, 0.0)]
    return []


def _collision_violations(ctx: _Context, checks: _Checks) -> list[Violation]:
    """Group clearance failures into violations per pair over consecutive queries of its unit."""
    out: list[Violation] = []

    for unit in checks.per_unit:
        open_: dict[tuple[str, str], tuple[int, int, Proximity]] = {}

        def close(key: tuple[str, str], open_: dict[tuple[str, str], tuple[int, int, Proximity]]) -> None:
            i0, i1, worst = open_.pop(key)
            kind = ViolationKind.COLLISION if worst.distance < 0 else ViolationKind.CLEARANCE
            out.append(ctx.violation(kind, i0, i1, key, worst.distance, worst.margin))

        for i, items in unit:
            bad: dict[tuple[str, str], Proximity] = {}
            for p in items:
                if p.slack < 0 and ((p.a, p.b) not in bad or p.slack < bad[(p.a, p.b)].slack):
                    bad[(p.a, p.b)] = p
            for key in [k for k in open_ if k not in bad]:
                close(key, open_)
            for key, p in bad.items():
                if key in open_:
                    i0, _, worst = open_[key]
                    open_[key] = (i0, i, p if p.slack < worst.slack else worst)
                else:
                    open_[key] = (i, i, p)
        for key in list(open_):
            close(key, open_)
    return out


def _velocity_limits(
    scene: Scene, traj: JointTrajectory, pos_in_scene: list[int]
) -> tuple[NDArrayF, NDArrayF | None]:
    qd_model, qdd_model = _robot_model_limits(traj)
    qd_max = scene.qd_max[pos_in_scene] if qd_model is None else qd_model
    return np.asarray(qd_max, dtype=np.float64), qdd_model


def _limit_violations(
    scene: Scene,
    traj: JointTrajectory,
    pos_in_scene: list[int],
    options: ValidationOptions,
    ctx: _Context,
    notes: list[str],
) -> list[Violation]:
    out: list[Violation] = []
    lo, hi = scene.q_lower[pos_in_scene], scene.q_upper[pos_in_scene]
    qd_max, qdd_model = _velocity_limits(scene, traj, pos_in_scene)
    qdd_max = np.asarray(options.qdd_max, dtype=np.float64) if options.qdd_max is not None else qdd_model
    tol = 1.0 + options.limit_tolerance
    names = traj.joint_names
    for j, name in enumerate(names):
        q = traj.q[:, j]
        if hi[j] > lo[j]:  # pybullet reports lower > upper for unlimited joints
            for side, mask, lim in ((0, q < lo[j] - 1e-9, lo[j]), (1, q > hi[j] + 1e-9, hi[j])):
                for a, b in true_runs(mask):
                    seg = q[a : b + 1]
                    worst = float(seg.min() if side == 0 else seg.max())
                    out.append(ctx.violation(ViolationKind.JOINT_POSITION, a, b, (name,), worst, float(lim)))
        v = np.abs(traj.qd[:, j])
        if traj.n_samples > 1:
            v_fd = np.abs(np.diff(traj.q[:, j])) / traj.dt
            v = np.maximum(v, np.concatenate([v_fd, v_fd[-1:]]))
        if qd_max[j] > 0:
            for a, b in true_runs(v > qd_max[j] * tol):
                out.append(
                    ctx.violation(
                        ViolationKind.JOINT_VELOCITY,
                        a,
                        b,
                        (name,),
                        float(v[a : b + 1].max()),
                        float(qd_max[j]),
                    )
                )
        if qdd_max is not None:
            acc = np.abs(traj.qdd[:, j])
            for a, b in true_runs(acc > qdd_max[j] * tol):
                out.append(
                    ctx.violation(
                        ViolationKind.JOINT_ACCELERATION,
                        a,
                        b,
                        (name,),
                        float(acc[a : b + 1].max()),
                        float(qdd_max[j]),
                    )
                )
    if qdd_max is None:
        notes.append(
            "acceleration limits not checked: the robot model gives none (set ValidationOptions.qdd_max)"
        )
    return out


def _rest_violations(traj: JointTrajectory, options: ValidationOptions, ctx: _Context) -> list[Violation]:
    out = []
    switches = np.flatnonzero(np.diff(traj.arc_on.astype(np.int8)) != 0) + 1
    for i in switches.tolist():
        speed = float(np.abs(traj.qd[i]).max())
        if speed > options.rest_speed:
            out.append(ctx.violation(ViolationKind.ARC_NOT_AT_REST, i, i, (), speed, options.rest_speed))
    return out


CORNER_TURN = 0.2  # velocity change within one sample, relative to the speed, that makes a corner
CORNER_ACCELERATION = 1.0  # [m/s²] ... and as an acceleration (smooth weld motion stays far below)
CORNER_WINDOW = 100  # [samples] longest time marked either side of a corner


def _nominal_corners(p_nom: NDArrayF, dt: float, max_deviation: float) -> npt.NDArray[np.bool_]:
    """Samples (N,) near corners of the nominal TCP path, where its speed is not defined.

    A corner is a sample where the nominal velocity changes by more than ``CORNER_TURN`` of the speed
    and by more than ``CORNER_ACCELERATION · dt`` within one sample. Rounding a velocity step Δv
    within a position error δ takes up to 6δ/Δv either side of it (triangular smoothing), so that
    much time plus two samples around each corner (at most ``CORNER_WINDOW`` samples) is marked.

    Args:
        p_nom: Nominal TCP positions (N, 3) [m].
        dt: Sample period [s].
        max_deviation: Position deviation of the arm from the nominal path there [m] (measured).
    """
    n = len(p_nom)
    mask = np.zeros(n, dtype=bool)
    if n < 3:
        return mask
    v = np.diff(p_nom, axis=0) / dt  # (N-1, 3): velocity between samples
    dv = np.linalg.norm(np.diff(v, axis=0), axis=1)  # at samples 1 … N-2
    ref = np.maximum(np.linalg.norm(v[1:], axis=1), np.linalg.norm(v[:-1], axis=1))
    idx = np.flatnonzero((dv > CORNER_TURN * ref) & (dv > CORNER_ACCELERATION * dt)) + 1
    if idx.size == 0:
        return mask
    half = np.minimum(np.ceil(6.0 * max_deviation / (dv[idx - 1] * dt)) + 2, CORNER_WINDOW).astype(np.int64)
    delta = np.zeros(n + 1, dtype=np.int64)
    np.add.at(delta, np.clip(idx - half, 0, n), 1)
    np.add.at(delta, np.clip(idx + half + 1, 0, n), -1)
    return np.cumsum(delta[:n]) > 0


def _coverage_violations(
    traj: JointTrajectory,
    program: Program | None,
    T_world_tcp: NDArrayF,
    options: ValidationOptions,
    ctx: _Context,
) -> list[Violation]:
    """Every programmed pass and stitch welded end to end (needs the program).

    From the trajectory's own record (``arc_on``, ``seam_s``: :func:`check_coverage`), and
    independently from pybullet's kinematics: the torch tip at the first and last arc-on sample of the
    run that welds a segment must be at that segment's programmed first and last tool-path positions
    (either way round: the seam may be welded backwards), within ``max_tcp_deviation_weld``.
    """
    if program is None:
        return []
    from weldcell.toolpath import toolpaths_for_program

    segments = toolpaths_for_program(program)
    cov = check_coverage(traj, segments)
    out = []
    end = traj.t[-1] if traj.n_samples else 0.0
    for gap in cov.gaps:
        run = cov.runs[gap.run] if gap.run >= 0 else None
        i0, i1 = (run.i0, run.i1) if run is not None else (0, traj.n_samples - 1)
        v = ctx.violation(ViolationKind.NOT_WELDED, i0, i1, (), gap.welded, gap.programmed)
        out.append(
            replace(
                v,
                seam_id=gap.seam_id,
                context=gap.message,
                time_end=float(end if run is None else v.time_end),
            )
        )
    for seg, r in zip(segments, cov.matched, strict=True):
        if r < 0:
            continue
        run = cov.runs[r]
        p_tp = np.asarray(seg.T_world_tcp, dtype=np.float64)[[0, -1], :3, 3]
        if run.backwards:
            p_tp = p_tp[::-1]
        p_run = T_world_tcp[[run.i0, run.i1], :3, 3]
        err = float(np.max(np.linalg.norm(p_run - p_tp, axis=1)))
        if err > options.max_tcp_deviation_weld:
            msg = (
                f"seam {seg.seam_id!r} pass {seg.pass_index + 1}: the torch tip starts or ends its weld "
                f"{err * 1e3:.2f} mm from the programmed seam end"
            )
            v = ctx.violation(
                ViolationKind.NOT_WELDED, run.i0, run.i1, (), err, options.max_tcp_deviation_weld
            )
            out.append(replace(v, context=msg))
    return out


def _programmed_speeds(traj: JointTrajectory, program: Program | None) -> list[float]:
    """Programmed travel speed [m/s] of each arc-on run of ``traj``, in time order.

    Runs of one seam are matched in order to that seam's passes and stitches from the program's
    tool paths (each pass may have its own procedure); without a program, or when the counts do
    not match, the trajectory's per-seam ``travel_speed`` is used.
    """
    runs = traj.arc_segments()
    fallback = [float(traj.travel_speed.get(r.seam_id or "", "nan")) for r in runs]
    if program is None:
        return fallback
    try:
        from weldcell.toolpath import toolpaths_for_program

        segments = toolpaths_for_program(program)
    except WeldcellError as err:
        log.warning("tool paths of the program not available (%s); using the trajectory's travel speeds", err)
        return fallback
    queues: dict[str, list[float]] = {}
    for seg in sorted(segments, key=lambda g: (g.seam_id, g.pass_index, g.stitch_index)):
        queues.setdefault(seg.seam_id, []).append(float(seg.travel_speed))
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.seam_id or ""] = counts.get(r.seam_id or "", 0) + 1
    out = []
    for r, fb in zip(runs, fallback, strict=True):
        sid = r.seam_id or ""
        q = queues.get(sid, [])
        matched = counts[sid] == sum(1 for g in segments if g.seam_id == sid)
        out.append(q.pop(0) if matched and q else fb)
    return out


def _seam_metrics(
    traj: JointTrajectory,
    dev: NDArrayF,
    ang: NDArrayF,
    speed: NDArrayF,
    speed_nom: NDArrayF,
    checks: _Checks,
    options: ValidationOptions,
    ctx: _Context,
    programmed: list[float],
) -> tuple[list[SeamMetrics], list[Violation]]:
    out: list[SeamMetrics] = []
    viol: list[Violation] = []
    runs = [(r.first, r.last) for r in traj.arc_segments()]
    s = traj.seam_s
    speed_err = np.abs(speed - speed_nom)
    nozzle_items = [(i, p) for i, p in checks.items() if p.rule == "nozzle-workpiece"]
    for k, sid in enumerate(traj.seam_ids):
        on = traj.arc_on & (traj.seam_index == k)
        if not on.any():
            continue
        v_progs: list[float] = []
        v_plans: list[float] = []
        worst_rel = 0.0
        for (a, b), v_prog in zip(runs, programmed, strict=True):
            if traj.seam_index[a] != k:
                continue
            seg = s[a : b + 1]
            v_progs.append(v_prog)
            if b <= a or not np.all(np.isfinite(seg)):
                continue
            ds = np.abs(np.gradient(seg, traj.dt))
            ramp = options.speed_ramp_length
            inner = (np.abs(seg - seg[0]) > ramp) & (np.abs(seg[-1] - seg) > ramp) & (ds > 1e-6)
            if not inner.any():
                continue
            v_plan = float(np.median(ds[inner]))
            v_plans.append(v_plan)
            if not np.isfinite(v_prog):
                continue
            rel = abs(v_plan - v_prog) / v_prog
            worst_rel = max(worst_rel, rel)
            if rel > options.max_travel_speed_error:
                viol.append(ctx.violation(ViolationKind.TRAVEL_SPEED, a, b, (), v_plan, v_prog))
            lim = options.max_travel_speed_error * v_prog
            run_err = np.zeros_like(on)
            run_err[a : b + 1] = speed_err[a : b + 1] > lim
            for c, d in true_runs(run_err):
                viol.append(
                    ctx.violation(ViolationKind.TRAVEL_SPEED, c, d, (), float(speed[c : d + 1].max()), v_prog)
                )
        nozzle = [p.distance for i, p in nozzle_items if on[i]]
        finite = s[on][np.isfinite(s[on])]
        out.append(
            SeamMetrics(
                seam_id=sid,
                arc_time=float(on.sum() * traj.dt),
                length=float(finite.max() - finite.min()) if finite.size else 0.0,
                travel_speed_programmed=float(np.median(v_progs)) if v_progs else float("nan"),
                travel_speed_planned=float(np.median(v_plans)) if v_plans else float("nan"),
                max_travel_speed_error=worst_rel,
                max_tcp_speed_error=float(speed_err[on].max()),
                max_tcp_deviation=float(dev[on].max()),
                max_torch_angle_error=float(ang[on].max()),
                min_nozzle_clearance=min(nozzle, default=float("nan")),
            )
        )
    return out, viol


def _singularity(
    scene: Scene, traj: JointTrajectory, idx: tuple[int, ...], options: ValidationOptions
) -> tuple[npt.NDArray[np.int64], NDArrayF]:
    """weldcell's singularity measure on pybullet's flange Jacobian every ``singularity_stride`` samples."""
    cid = scene.client
    samples = np.arange(0, traj.n_samples, options.singularity_stride, dtype=np.int64)
    if samples[-1] != traj.n_samples - 1:
        samples = np.append(samples, traj.n_samples - 1)
    # calculateJacobian wants all movable joints in pybullet index order
    order = np.argsort(np.asarray(idx))
    zeros = [0.0] * len(idx)
    calc, robot, link = pb.calculateJacobian, scene.robot_id, scene.flange_link
    # pybullet takes the point in the link's inertial frame: the flange origin expressed there
    info = pb.getDynamicsInfo(robot, link, physicsClientId=cid)
    R_link_com = np.asarray(pb.getMatrixFromQuaternion(info[4]), dtype=np.float64).reshape(3, 3)
    origin = (-R_link_com.T @ np.asarray(info[3], dtype=np.float64)).tolist()
    rows = [
        calc(robot, link, origin, qpb, zeros, zeros, physicsClientId=cid)
        for qpb in traj.q[samples][:, order].tolist()
    ]
    # rows: linear then angular Jacobian (world frame), columns in pybullet joint order
    J = np.asarray(rows, dtype=np.float64).reshape(len(samples), 6, len(idx))
    reach = load_robot(scene.cell.robot).reach
    return samples, singularity_distance_from_jacobian(J, reach)
