"""Validation engine: good trajectories pass, broken ones fail with the right parts, times and kinds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from weldcell.errors import ModelError
from weldcell.sim import (
    CellBody,
    CellModel,
    ClearanceRules,
    PybulletWorld,
    ValidationOptions,
    ViolationKind,
    build_scene,
    validate_trajectory,
)
from weldcell.sim.collision import proximities
from weldcell.trajectory import JointTrajectory


def _box_at(name: str, p: np.ndarray, size: float = 0.06, role: str = "fixture") -> CellBody:
    T = np.eye(4)
    T[:3, 3] = p
    return CellBody(name, role, "box", T, size=np.full(3, size))


def _first_seam_only(program):  # type: ignore[no-untyped-def]
    """The program with only its first seam (what ``good_traj`` welds)."""
    return dataclasses.replace(program, seams=program.ordered_seams()[:1], sequence=None)


def test_good_trajectory_passes(good_traj: JointTrajectory, program) -> None:  # type: ignore[no-untyped-def]
    report = validate_trajectory(good_traj, _first_seam_only(program))
    assert report.passed, [v.message() for v in report.violations]
    m = report.metrics
    # pybullet's FK agrees with weldcell.kinematics (which produced the nominal poses)
    assert m["max_tcp_deviation_weld_m"] < 1e-6
    assert m["max_torch_angle_error_rad"] < 1e-5
    (seam,) = report.seams
    assert seam.travel_speed_planned == pytest.approx(0.010, rel=1e-3)
    # the nozzle works close to the joint but keeps its clearance
    assert 0.002 < seam.min_nozzle_clearance < 0.010
    assert report.trajectory_hash == good_traj.content_hash()
    assert report.series is not None and report.series.tcp_speed.shape == (good_traj.n_samples,)


def test_validation_is_deterministic(good_traj: JointTrajectory, cell: CellModel) -> None:
    a = validate_trajectory(good_traj, cell=cell)
    b = validate_trajectory(good_traj, cell=cell)
    assert a.to_json() == b.to_json()
    assert a == b


def test_fixture_moved_into_path_is_caught(good_traj: JointTrajectory, cell: CellModel) -> None:
    i0 = 600  # mid-way through the move from home to the seam
    p = good_traj.T_world_tcp[i0, :3, 3]
    moved = cell.with_body(_box_at("clamp", p))
    report = validate_trajectory(good_traj, cell=moved)
    hits = [v for v in report.violations if v.kind is ViolationKind.COLLISION and v.bodies[1] == "cell/clamp"]
    assert hits, [v.message() for v in report.violations]
    assert any(v.bodies[0].startswith("torch/") for v in hits)
    t0 = good_traj.t[i0]
    at_t0 = [v for v in hits if v.time <= t0 <= v.time_end]
    assert at_t0
    assert all(v.context == "transit before seam fillet_left" for v in at_t0)
    assert all(v.value < 0 for v in hits)  # penetration depth


def test_skipped_samples_are_certified(good_traj: JointTrajectory, cell: CellModel) -> None:
    """The first clearance failure found with motion bounds equals a brute-force query at every sample."""
    p = good_traj.T_world_tcp[600, :3, 3] + [0.0, 0.0, 0.08]
    moved = cell.with_body(_box_at("clamp", p, size=0.04))
    report = validate_trajectory(good_traj, cell=moved)
    fails = [v for v in report.violations if v.bodies and v.bodies[1] == "cell/clamp"]
    assert fails
    first = min(v.time for v in fails)
    rules = ClearanceRules(clearance=moved.clearance)
    with PybulletWorld() as world:
        scene = build_scene(world, moved)
        idx = scene.joint_order(good_traj.joint_names)
        brute = None
        for i in range(0, 1300):
            scene.set_configuration(good_traj.q[i], idx)
            if any(p.slack < 0 and p.b == "cell/clamp" for p in proximities(scene, rules, 0.0)):
                brute = i
                break
    assert brute is not None
    assert first == pytest.approx(good_traj.t[brute])


def test_velocity_limit_break_is_caught(good_traj: JointTrajectory, cell: CellModel) -> None:
    q = good_traj.q.copy()
    i = 4000  # during the weld
    q[i:, 4] += 0.05  # a 0.05 rad step in 2 ms on wrist 2 = 25 rad/s
    bad = dataclasses.replace(good_traj, q=q)
    report = validate_trajectory(bad, cell=cell)
    vel = [v for v in report.violations if v.kind is ViolationKind.JOINT_VELOCITY]
    assert len(vel) == 1
    (v,) = vel
    assert v.bodies == ("wrist_2_joint",)
    assert good_traj.t[i - 1] <= v.time <= good_traj.t[i]
    assert v.value == pytest.approx(0.05 / good_traj.dt, rel=0.05)
    assert v.seam_id == "fillet_left"
    # the step also moves the torch off the programmed path
    assert any(x.kind is ViolationKind.TCP_DEVIATION for x in report.violations)


def test_joint_limit_and_speed_and_rest_checks(good_traj: JointTrajectory, cell: CellModel) -> None:
    q = good_traj.q.copy()
    q[:, 2] = np.clip(q[:, 2] * 3.0, -4.0, 4.0)  # elbow beyond ±π
    qd = good_traj.qd.copy()
    on = int(np.flatnonzero(good_traj.arc_on)[0])
    qd[on] = 0.1  # moving when the arc starts
    bad = dataclasses.replace(good_traj, q=q, qd=qd, travel_speed={"fillet_left": 0.02})
    kinds = {v.kind for v in validate_trajectory(bad, cell=cell).violations}
    assert {ViolationKind.JOINT_POSITION, ViolationKind.ARC_NOT_AT_REST, ViolationKind.TRAVEL_SPEED} <= kinds


def test_tcp_deviation_and_torch_angle(good_traj: JointTrajectory, cell: CellModel) -> None:
    T = good_traj.T_world_tcp.copy()
    weld = np.flatnonzero(good_traj.arc_on)
    T[weld[100:200], 0, 3] += 0.001  # nominal path 1 mm off for 100 samples
    c, s = np.cos(0.1), np.sin(0.1)
    T[weld[300:310], :3, :3] = T[weld[300:310], :3, :3] @ np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    report = validate_trajectory(dataclasses.replace(good_traj, T_world_tcp=T), cell=cell)
    dev = [v for v in report.violations if v.kind is ViolationKind.TCP_DEVIATION]
    ang = [v for v in report.violations if v.kind is ViolationKind.TORCH_ANGLE]
    assert len(dev) == 1 and dev[0].value == pytest.approx(0.001, rel=1e-3)
    assert dev[0].time == pytest.approx(good_traj.t[weld[100]])
    assert len(ang) == 1 and ang[0].value == pytest.approx(0.1, rel=1e-3)


def test_cell_mismatch_and_wrong_robot(good_traj: JointTrajectory, cell: CellModel) -> None:
    Tb = good_traj.T_world_base.copy()
    Tb[0, 3] += 0.01
    report = validate_trajectory(dataclasses.replace(good_traj, T_world_base=Tb), cell=cell)
    assert ViolationKind.CELL_MISMATCH in {v.kind for v in report.violations}
    with pytest.raises(ModelError, match="robot"):
        validate_trajectory(dataclasses.replace(good_traj, robot="ur10e"), cell=cell)


def test_dynamic_replay_reports_tracking(good_traj: JointTrajectory, cell: CellModel) -> None:
    short = _slice(good_traj, 0, 800)
    report = validate_trajectory(short, cell=cell, options=ValidationOptions(dynamic_replay=True))
    assert "max_tracking_error_rad" in report.metrics
    assert report.series is not None and report.series.tracking_error.shape == (800,)
    assert report.metrics["max_tracking_error_rad"] >= 0.0


def _slice(traj: JointTrajectory, a: int, b: int) -> JointTrajectory:
    fields = {}
    for f in ("t", "q", "qd", "qdd", "T_world_tcp", "arc_on", "seam_index", "seam_s"):
        fields[f] = getattr(traj, f)[a:b]
    fields["t"] = fields["t"] - fields["t"][0]
    return dataclasses.replace(traj, events=(), **fields)


def test_singularity_and_acceleration_limits(good_traj: JointTrajectory, cell: CellModel) -> None:
    strict = ValidationOptions(min_singularity=10.0, qdd_max=(0.01,) * 6)
    report = validate_trajectory(good_traj, cell=cell, options=strict)
    sing = [v for v in report.violations if v.kind is ViolationKind.SINGULARITY]
    # judged only with the arc on: joint moves may pass near singularities
    assert sing and all(v.context == "weld fillet_left" for v in sing)
    assert report.metrics["min_singularity_measure"] <= min(v.value for v in sing)
    acc = {v.bodies[0] for v in report.violations if v.kind is ViolationKind.JOINT_ACCELERATION}
    assert acc == set(good_traj.joint_names)


def test_programmed_seam_not_welded_fails(good_traj: JointTrajectory, program) -> None:  # type: ignore[no-untyped-def]
    # good_traj welds the demo's first seam only: against the full program the second is missing
    report = validate_trajectory(good_traj, program)
    missing = [v for v in report.violations if v.kind is ViolationKind.NOT_WELDED]
    second = program.ordered_seams()[1].id
    assert [v.seam_id for v in missing] == [second], [v.message() for v in report.violations]
    assert "not welded" in missing[0].context and missing[0].value == 0.0


def test_weld_cut_short_fails(good_traj: JointTrajectory, program) -> None:  # type: ignore[no-untyped-def]
    # switch the arc off half way through the weld: the run no longer reaches the seam end
    one = _first_seam_only(program)
    on = np.flatnonzero(good_traj.arc_on)
    cut_off = on[len(on) // 2 :]
    arc = good_traj.arc_on.copy()
    arc[cut_off] = False
    s = good_traj.seam_s.copy()
    s[cut_off] = np.nan
    idx = good_traj.seam_index.copy()
    idx[cut_off] = -1
    cut = dataclasses.replace(good_traj, arc_on=arc, seam_s=s, seam_index=idx, events=())
    report = validate_trajectory(cut, one)
    hits = [v for v in report.violations if v.kind is ViolationKind.NOT_WELDED]
    assert len(hits) == 1, [v.message() for v in report.violations]
    v = hits[0]
    seg_len = one.ordered_seams()[0]
    assert v.seam_id == seg_len.id and "not welded end to end" in v.context
    assert 0.0 < v.value < v.limit
