"""plan_program on the example programs: accuracy, weld speed, limits, events, collisions (pybullet)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from weldcell.kinematics import load_robot
from weldcell.planning import (
    LadderOptions,
    PlanOptions,
    PlanResult,
    PlanStatus,
    load_trajectory,
    plan_program,
    save_trajectory,
)
from weldcell.program import load_program
from weldcell.toolpath import toolpaths_for_program

ROOT = Path(__file__).resolve().parents[2]
FAST = PlanOptions(ladder=LadderOptions(rotation_samples=12), tolerance_samples=1)
# the smaller example programs (the large ones are planned in benchmarks/bench_planning.py)
PROGRAMS = ["demo_tjoint", "lap_stitch"]


@pytest.fixture(scope="module", params=PROGRAMS)
def planned(request: pytest.FixtureRequest) -> tuple:
    program = load_program(ROOT / "programs" / f"{request.param}.yaml")
    result = plan_program(program, FAST)
    assert result.ok, result.reason
    return program, result


def test_fk_reproduces_tool_path_and_angles(planned: tuple) -> None:
    program, result = planned
    traj = result.trajectory
    robot = load_robot(traj.robot)
    on = traj.arc_on
    T_fk = traj.T_world_base @ robot.fk(traj.q[on]) @ traj.T_flange_tcp
    T_nom = traj.T_world_tcp[on]
    assert np.max(np.linalg.norm(T_fk[:, :3, 3] - T_nom[:, :3, 3], axis=1)) < 1e-5  # 0.01 mm
    cos = np.clip((np.einsum("nij,nij->n", T_fk[:, :3, :3], T_nom[:, :3, :3]) - 1) / 2, -1, 1)
    assert np.degrees(np.max(np.arccos(cos))) < 0.05
    # nominal poses lie on the tool path (no angle deviation with tolerance_samples=1)
    segs = toolpaths_for_program(program)
    for seg in segs:
        k = traj.seam_ids.index(seg.seam_id)
        sel = (
            on
            & (traj.seam_index == k)
            & (traj.seam_s >= seg.s[0] - 1e-12)
            & (traj.seam_s <= seg.s[-1] + 1e-12)
        )
        assert sel.any()
        p_ref = CubicSpline(seg.s, seg.T_world_tcp[:, :3, 3], axis=0)(traj.seam_s[sel])
        assert np.max(np.linalg.norm(traj.T_world_tcp[sel, :3, 3] - p_ref, axis=1)) < 1e-5
        z_ref = np.stack(
            [np.interp(traj.seam_s[sel], seg.s, seg.T_world_tcp[:, c, 2]) for c in range(3)], axis=1
        )
        z_ref /= np.linalg.norm(z_ref, axis=1, keepdims=True)
        ang = np.degrees(np.arccos(np.clip(np.sum(z_ref * traj.T_world_tcp[sel, :3, 2], axis=1), -1, 1)))
        assert np.max(ang) < 0.05


def test_weld_speed_and_rest_at_arc_events(planned: tuple) -> None:
    _program, result = planned
    traj = result.trajectory
    dt = traj.dt
    for on_ev, off_ev in zip(traj.events[::2], traj.events[1::2], strict=True):
        assert on_ev.kind == "arc_on" and off_ev.kind == "arc_off" and on_ev.seam_id == off_ev.seam_id
        i0, i1 = round(on_ev.t / dt), round(off_ev.t / dt)
        assert traj.arc_on[i0] and traj.arc_on[i1] and not traj.arc_on[i0 - 1] and not traj.arc_on[i1 + 1]
        assert np.all(traj.qd[i0] == 0) and np.all(traj.qd[i1] == 0)
        v = traj.travel_speed[on_ev.seam_id]
        speed = np.abs(np.diff(traj.seam_s[i0 : i1 + 1])) / dt
        cruise = speed > 0.995 * v
        assert cruise.sum() > 0.5 * len(speed)
        assert np.all(speed <= v * 1.01)
        assert np.all(np.abs(speed[cruise] - v) <= 0.01 * v)
        # TCP speed from FK on cruise (these programs have no weave)
        robot = load_robot(traj.robot)
        p = (traj.T_world_base @ robot.fk(traj.q[i0 : i1 + 1]) @ traj.T_flange_tcp)[:, :3, 3]
        tcp_speed = np.linalg.norm(np.diff(p, axis=0), axis=1) / dt
        assert np.all(np.abs(tcp_speed[cruise] - v) <= 0.01 * v)


def test_joint_limits_respected(planned: tuple) -> None:
    _, result = planned
    traj = result.trajectory
    robot = load_robot(traj.robot)
    assert np.all(robot.within_limits(traj.q))
    assert np.all(np.abs(traj.qd) <= robot.qd_max * (1 + 1e-6))
    assert np.all(np.abs(traj.qdd) <= robot.qdd_max * (1 + 1e-6))
    # the stored derivatives agree with the positions (finite differences, away from piece joints)
    qd_fd = np.gradient(traj.q, traj.dt, axis=0)
    assert np.all(np.abs(qd_fd) <= robot.qd_max * 1.05)
    assert np.all(np.abs(np.diff(traj.q, axis=0)) <= robot.qd_max * traj.dt * 1.05)


def test_whole_trajectory_collision_free_per_pybullet(planned: tuple, bullet_scene: object) -> None:
    program, result = planned
    world = bullet_scene(program)
    traj = result.trajectory
    worst = np.inf
    for i in range(0, traj.n_samples, 10):
        if traj.arc_on[i]:
            continue  # the wire touches the joint while welding
        worst = min(worst, world.min_distance(traj.q[i]))
    assert worst >= program.cell.clearance - 1e-4


def test_save_load_round_trip(planned: tuple, tmp_path: Path) -> None:
    _, result = planned
    path = save_trajectory(result.trajectory, tmp_path / "t.npz")
    back = load_trajectory(path)
    assert back.content_hash() == result.trajectory.content_hash()
    assert back.events == result.trajectory.events


def _edited_program(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "programs" / "demo_tjoint.yaml").read_text()
    assert old in text
    path = tmp_path / "edited.yaml"
    path.write_text(text.replace(old, new))
    return path


def test_unreachable_seam_is_reported(tmp_path: Path) -> None:
    path = _edited_program(
        tmp_path,
        "start_mm: [-32.5, 5, 5], end_mm: [32.5, 5, 5]",
        "start_mm: [250, 5, 5], end_mm: [700, 5, 5]",
    )
    result = plan_program(load_program(path), FAST)
    assert result.status is PlanStatus.OUT_OF_REACH
    assert result.trajectory is None
    assert "fillet_left" in result.reason and "mm" in result.reason
    rep = next(r for r in result.seams if r.seam_id == "fillet_left")
    assert rep.s_interval is not None and 0.0 < rep.s_interval[0] < rep.s_interval[1] == pytest.approx(
        0.45, abs=1e-6
    )


def test_blocked_seam_is_reported(tmp_path: Path) -> None:
    block = (
        "    - name: clamp\n      role: fixture\n      box: {size_mm: [40, 60, 120]}\n"
        "      pose: {xyz_mm: [500, 40, 60]}\n"
    )
    path = _edited_program(tmp_path, "procedures:", block + "\nprocedures:")
    result = plan_program(load_program(path), FAST)
    assert result.status is PlanStatus.COLLISION
    assert "fillet_left" in result.reason and "clamp" in result.reason


def test_cli_writes_files_and_exits_2_on_failure(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from weldcell.cli import app

    runner = CliRunner()
    out = tmp_path / "ok"
    res = runner.invoke(
        app, ["plan", str(ROOT / "programs" / "demo_tjoint.yaml"), "-o", str(out), "--rotation-samples", "12"]
    )
    assert res.exit_code == 0, res.output
    assert "cycle time" in res.output
    summary = json.loads((out / "plan.json").read_text())
    assert summary["status"] == "ok" and len(summary["seams"]) == 2
    assert load_trajectory(out / "trajectory.npz").n_samples > 0
    bad = _edited_program(
        tmp_path,
        "start_mm: [-32.5, 5, 5], end_mm: [32.5, 5, 5]",
        "start_mm: [250, 5, 5], end_mm: [700, 5, 5]",
    )
    res = runner.invoke(app, ["plan", str(bad), "-o", str(tmp_path / "bad"), "--rotation-samples", "12"])
    assert res.exit_code == 2
    assert json.loads((tmp_path / "bad" / "plan.json").read_text())["status"] == "out_of_reach"


class _Scene:
    def __init__(self, program: object) -> None:
        import pybullet as p
        from scipy.spatial.transform import Rotation

        from weldcell.kinematics import load_torch

        cell = program.cell  # type: ignore[attr-defined]
        self.p = p
        self.cid = p.connect(p.DIRECT)
        robot = load_robot(cell.robot)
        T = cell.T_world_base
        self.robot = p.loadURDF(
            str(robot.urdf_path),
            T[:3, 3].tolist(),
            Rotation.from_matrix(T[:3, :3]).as_quat().tolist(),
            useFixedBase=True,
            physicsClientId=self.cid,
        )
        self.torch = p.loadURDF(str(load_torch(cell.torch).urdf_path), physicsClientId=self.cid)
        infos = [
            p.getJointInfo(self.robot, j, physicsClientId=self.cid)
            for j in range(p.getNumJoints(self.robot, physicsClientId=self.cid))
        ]
        self.joints = [i[0] for i in infos if i[2] == p.JOINT_REVOLUTE]
        self.flange = next(i[0] for i in infos if i[12].decode() == "flange")
        self.bodies = []
        for b in cell.bodies:
            if b.shape == "box":
                shape = p.createCollisionShape(
                    p.GEOM_BOX, halfExtents=(0.5 * b.size).tolist(), physicsClientId=self.cid
                )
            elif b.shape == "cylinder":
                shape = p.createCollisionShape(
                    p.GEOM_CYLINDER, radius=b.radius, height=b.length, physicsClientId=self.cid
                )
            else:
                shape = p.createCollisionShape(p.GEOM_SPHERE, radius=b.radius, physicsClientId=self.cid)
            Tb = b.T_world_body
            self.bodies.append(
                p.createMultiBody(
                    0,
                    shape,
                    basePosition=Tb[:3, 3].tolist(),
                    baseOrientation=Rotation.from_matrix(Tb[:3, :3]).as_quat().tolist(),
                    physicsClientId=self.cid,
                )
            )
        self.base_link_index = -1

    def min_distance(self, q: np.ndarray) -> float:
        p = self.p
        for j, v in zip(self.joints, q, strict=True):
            p.resetJointState(self.robot, j, float(v), physicsClientId=self.cid)
        st = p.getLinkState(self.robot, self.flange, computeForwardKinematics=True, physicsClientId=self.cid)
        p.resetBasePositionAndOrientation(self.torch, st[4], st[5], physicsClientId=self.cid)
        best = np.inf
        for bid in self.bodies:
            for other in (self.robot, self.torch):
                for pt in p.getClosestPoints(other, bid, 0.05, physicsClientId=self.cid):
                    if other == self.robot and pt[3] == self.base_link_index:
                        continue  # the fixed base stands on the table
                    best = min(best, pt[8])
        return float(best)

    def close(self) -> None:
        self.p.disconnect(self.cid)


@pytest.fixture
def bullet_scene() -> Iterator[object]:
    scenes: list[_Scene] = []

    def make(program: object) -> _Scene:
        scenes.append(_Scene(program))
        return scenes[-1]

    yield make
    for s in scenes:
        s.close()


def test_plan_result_properties() -> None:
    empty = PlanResult(PlanStatus.COLLISION, None, "x", ())
    assert not empty.ok and empty.cycle_time == 0.0 and empty.arc_time == 0.0


def test_reversed_segment_keeps_work_angle_and_push() -> None:
    from weldcell.planning.weld import reversed_segment

    program = load_program(ROOT / "programs" / "demo_tjoint.yaml")
    seg = toolpaths_for_program(program)[0]
    cell = program.cell
    rev = reversed_segment(seg, cell.approach_distance, cell.retract_distance)
    assert rev is not None
    p, p_rev = seg.T_world_tcp[:, :3, 3], rev.T_world_tcp[::-1, :3, 3]
    assert np.allclose(p, p_rev, atol=1e-9)  # same points, opposite order
    t = seg.T_world_seam[:, :3, 0]  # travel direction of the programmed weld
    z, z_rev = seg.T_world_tcp[:, :3, 2], rev.T_world_tcp[::-1, :3, 2]
    along, along_rev = np.sum(z * t, axis=1), np.sum(z_rev * t, axis=1)
    assert np.allclose(along_rev, -along, atol=1e-9)  # push stays push in the new direction
    assert np.allclose(z - along[:, None] * t, z_rev - along_rev[:, None] * t, atol=1e-9)  # same work angle
    assert np.allclose(
        rev.T_world_approach[:3, 3], rev.T_world_tcp[0, :3, 3] - cell.approach_distance * z_rev[-1]
    )


_HASH_SCRIPT = """
import sys
from weldcell.planning import LadderOptions, PlanOptions, plan_program
from weldcell.program import load_program
opts = PlanOptions(ladder=LadderOptions(rotation_samples=12), tolerance_samples=1, seed=3)
result = plan_program(load_program(sys.argv[1]), opts)
assert result.trajectory is not None, result.reason
print(result.trajectory.content_hash())
"""


def test_same_program_gives_identical_trajectory_in_two_processes() -> None:
    import subprocess
    import sys

    program = str(ROOT / "programs" / "demo_tjoint.yaml")
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _HASH_SCRIPT, program],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    hashes = []
    for proc in runs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        hashes.append(out.strip().splitlines()[-1])
    assert len(hashes[0]) == 64 and hashes[0] == hashes[1]
