"""Coordinated positioner planning: one continuous 360° seam on a turning part, the weld position
held within tolerance, and the torch on the seam in the part frame to 0.05 mm — all judged by
kinematics written out here (UR DH table, positioner data, roboticstoolbox on the URDF), not by the
planner's own FK."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_positioner import independent_fk

from weldcell.kinematics import load_torch, urdf_path
from weldcell.planning import plan_program
from weldcell.program import load_program
from weldcell.trajectory import true_runs

PROGRAMS = Path(__file__).parent / "programs"
R_PIPE = 0.040  # pipe radius of pos_pipe_ur5e.yaml [m]

# UR5e standard DH (universal-robots.com "DH parameters for calculations of kinematics and dynamics")
UR5E_D = (0.1625, 0.0, 0.0, 0.1333, 0.0997, 0.0996)
UR5E_A = (0.0, -0.425, -0.3922, 0.0, 0.0, 0.0)
UR_ALPHA = (math.pi / 2, 0.0, 0.0, math.pi / 2, -math.pi / 2, 0.0)


def ur5e_fk(q: np.ndarray) -> np.ndarray:
    """T_base_flange (N, 4, 4) from the DH table: Rz(θ) Tz(d) Tx(a) Rx(α) per joint."""
    N = q.shape[0]
    T = np.broadcast_to(np.eye(4), (N, 4, 4)).copy()
    for j in range(6):
        c, s = np.cos(q[:, j]), np.sin(q[:, j])
        ca, sa = math.cos(UR_ALPHA[j]), math.sin(UR_ALPHA[j])
        A = np.zeros((N, 4, 4))
        A[:, 0, 0], A[:, 0, 1], A[:, 0, 2], A[:, 0, 3] = c, -s * ca, s * sa, UR5E_A[j] * c
        A[:, 1, 0], A[:, 1, 1], A[:, 1, 2], A[:, 1, 3] = s, c * ca, -c * sa, UR5E_A[j] * s
        A[:, 2, 1], A[:, 2, 2], A[:, 2, 3] = sa, ca, UR5E_D[j]
        A[:, 3, 3] = 1.0
        T = T @ A
    return T


def _translation(x: float, y: float, z: float) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return T


def _rpy180x() -> np.ndarray:
    return np.diag([1.0, -1.0, -1.0, 1.0])


@pytest.fixture(scope="module")
def pipe() -> tuple[Any, Any]:
    program = load_program(PROGRAMS / "pos_pipe_ur5e.yaml")
    result = plan_program(program)
    assert result.ok, result.reason
    return program, result


@pytest.fixture(scope="module")
def flange() -> tuple[Any, Any]:
    program = load_program(PROGRAMS / "pos_flange_kr6_ceiling.yaml")
    result = plan_program(program)
    assert result.ok, result.reason
    return program, result


def test_rolled_pipe_is_one_continuous_360_seam(pipe: tuple[Any, Any]) -> None:
    _program, result = pipe
    traj = result.trajectory
    runs = true_runs(traj.arc_on)
    assert len(runs) == 1  # one arc-on run: no restart around the pipe
    a, b = runs[0]
    ext = traj.external
    assert ext is not None and ext.device == "headstock_1ax" and ext.role == "positioner"
    turned = abs(ext.q[b, 0] - ext.q[a, 0])
    assert turned > math.radians(355.0)
    seam_s = traj.seam_s[a : b + 1]
    assert seam_s[0] == pytest.approx(0.0, abs=1e-9)
    assert seam_s[-1] == pytest.approx(2 * math.pi * R_PIPE, abs=1e-6)
    # the torch barely moves in the world: the pipe turns under it
    p = traj.T_world_tcp[a : b + 1, :3, 3]
    assert float(np.ptp(p, axis=0).max()) < 0.02
    # external axes start and end at home, at rest, and keep the device limits
    assert ext.q[0, 0] == pytest.approx(0.0) and ext.q[-1, 0] == pytest.approx(0.0)
    assert float(np.abs(ext.qd).max(axis=0)[0]) <= math.radians(120.0) + 1e-9
    wp = traj.metadata["weld_position"][0]
    assert wp["mode"] == "coordinated" and wp["weld_position"] == "1G" and wp["within_tolerance"]


def _pipe_part_poses(traj: Any, program: Any) -> np.ndarray:
    """T_world_part (N, 4, 4) from the headstock data and the program's placement (independent FK)."""
    ext = traj.external
    T_world_pbase = _translation(-0.390, 0.450, 0.0)
    T_flange_part = _translation(0.0, 0.0, 0.150)
    return np.stack([T_world_pbase @ independent_fk("headstock_1ax", q) @ T_flange_part for q in ext.q])


def test_rolled_pipe_weld_position_and_part_frame_accuracy(pipe: tuple[Any, Any]) -> None:
    program, result = pipe
    traj = result.trajectory
    arc = np.flatnonzero(traj.arc_on)
    T_wp = _pipe_part_poses(traj, program)[arc]
    phi = traj.seam_s[arc] / R_PIPE  # circle from (0, r, 0) about +z
    radial = np.stack([-np.sin(phi), np.cos(phi), np.zeros_like(phi)], axis=1)
    tangent = np.stack([-np.cos(phi), -np.sin(phi), np.zeros_like(phi)], axis=1)
    n_w = np.einsum("nij,nj->ni", T_wp[:, :3, :3], radial)
    t_w = np.einsum("nij,nj->ni", T_wp[:, :3, :3], tangent)
    tilt = np.degrees(np.arccos(np.clip(n_w[:, 2], -1, 1)))
    slope = np.degrees(np.arcsin(np.clip(t_w[:, 2], -1, 1)))
    assert tilt.max() <= 3.0 and np.abs(slope).max() <= 3.0  # 1G within the programmed 3°
    # relative path accuracy: the torch tip from the DH table, in the part frame, on the seam
    T_world_base = _translation(0.0, 0.0, 0.600)
    T_flange_tcp = load_torch("torch_mig_22").T_flange_tcp(0.015)
    T_world_tcp = T_world_base @ ur5e_fk(traj.q[arc]) @ T_flange_tcp
    p_part = np.einsum("nji,nj->ni", T_wp[:, :3, :3], T_world_tcp[:, :3, 3] - T_wp[:, :3, 3])
    err = np.linalg.norm(p_part - R_PIPE * radial, axis=1)
    assert err.max() <= 5e-5, f"{err.max() * 1e3:.4f} mm"
    # torch axis: pointing into the pipe (work angle 90° on the butt joint) within the tolerances
    z_part = np.einsum("nji,nj->ni", T_wp[:, :3, :3], T_world_tcp[:, :3, 2])
    assert np.degrees(np.arccos(np.clip(-np.einsum("ni,ni->n", z_part, radial), -1, 1))).max() <= 5.5


def test_ceiling_kr6_tilt_rotate_fillet_flat(flange: tuple[Any, Any]) -> None:
    rtb = pytest.importorskip("roboticstoolbox")
    _program, result = flange
    traj = result.trajectory
    runs = true_runs(traj.arc_on)
    assert len(runs) == 1
    arc = np.flatnonzero(traj.arc_on)[::7]
    ext = traj.external
    assert ext.names == ("tilt", "rotate")
    T_flange_part = _translation(0, 0, 0.008)  # the flange body: 16 mm thick, centred 8 mm up
    T_wp = np.stack(
        [_translation(0, 0.650, 0) @ independent_fk("tilt_rotate_2ax", q) @ T_flange_part for q in ext.q[arc]]
    )
    phi = traj.seam_s[arc] / 0.030  # circle from (r, 0, 16 mm) about +z
    radial = np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], axis=1)
    b = (radial + np.array([0.0, 0.0, 1.0])) / math.sqrt(2.0)  # bisector of flange face and pipe wall
    n_w = np.einsum("nij,nj->ni", T_wp[:, :3, :3], b)
    assert np.degrees(np.arccos(np.clip(n_w[:, 2], -1, 1))).max() <= 4.0  # 1F within 4°
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ets = rtb.Robot.URDF(str(urdf_path("kr6_r900"))).ets(end="flange")
    T_world_base = _translation(0.0, 0.300, 2.050) @ _rpy180x()
    T_flange_tcp = load_torch("torch_mig_22").T_flange_tcp(0.015)
    T_world_tcp = np.stack([T_world_base @ ets.eval(q) @ T_flange_tcp for q in traj.q[arc]])
    p_part = np.einsum("nji,nj->ni", T_wp[:, :3, :3], T_world_tcp[:, :3, 3] - T_wp[:, :3, 3])
    nominal = 0.030 * radial + np.array([0.0, 0.0, 0.016])  # the seam circle at z = 16 mm (part frame)
    err = np.linalg.norm(p_part - nominal, axis=1)
    assert err.max() <= 5e-5, f"{err.max() * 1e3:.4f} mm"


def test_simulator_validates_the_positioner_trajectory_in_the_part_frame(pipe: tuple[Any, Any]) -> None:
    """The plan passes pybullet validation; turning the positioner 10° off the plan is caught (the
    torch no longer starts and ends on the seam of the turned part), and so is a too fast axis."""
    from dataclasses import replace

    from weldcell.sim.report import ViolationKind
    from weldcell.sim.validate import validate_trajectory

    program, result = pipe
    traj = result.trajectory
    report = validate_trajectory(traj, program)
    assert report.passed, [v.describe() if hasattr(v, "describe") else v for v in report.violations]
    assert any("moving parts checked" in n for n in report.notes)
    ext = traj.external
    qd = ext.qd.copy()
    qd[:, 0] = math.radians(150.0)  # above the spindle's 120 °/s
    off = replace(traj, external=replace(ext, q=ext.q + math.radians(10.0), qd=qd))
    violations = validate_trajectory(off, program).violations
    assert ViolationKind.NOT_WELDED in {v.kind for v in violations}
    fast = [v for v in violations if v.kind is ViolationKind.JOINT_VELOCITY]
    assert fast and "headstock_1ax:spindle" in fast[0].bodies


def test_robot_on_a_track_follows_a_long_seam() -> None:
    """A UR5e on a track: the carriage moves with the weld; the torch is on the seam to 0.05 mm with
    the robot base moved by the carriage (track data and the UR DH table, not the planner's FK)."""
    program = load_program(PROGRAMS / "pos_track_ur5e.yaml")
    result = plan_program(program)
    assert result.ok, result.reason
    traj = result.trajectory
    ext = traj.external
    assert ext.role == "track" and ext.kinds == ("prismatic",)
    (a, b), *more = true_runs(traj.arc_on)
    assert not more
    assert ext.q[b, 0] - ext.q[a, 0] > 0.2  # the carriage travels with the seam
    np.testing.assert_allclose(traj.T_world_base[:3, 3], [0.0, 0.0, 0.2], atol=1e-12)  # carriage at 0
    arc = np.flatnonzero(traj.arc_on)
    T_flange_tcp = load_torch("torch_mig_22").T_flange_tcp(0.015)
    T_world_base = np.stack([_translation(q, 0.0, 0.15 + 0.05) for q in ext.q[arc, 0]])
    p = (T_world_base @ ur5e_fk(traj.q[arc]) @ T_flange_tcp)[:, :3, 3]
    nominal = np.array([0.450, 0.515, 0.300]) + traj.seam_s[arc, None] * np.array([1.0, 0.0, 0.0])
    err = np.linalg.norm(p - nominal, axis=1)
    assert err.max() <= 5e-5, f"{err.max() * 1e3:.4f} mm"
    np.testing.assert_allclose(traj.T_world_tcp[arc, :3, 3], nominal, atol=5e-5)
