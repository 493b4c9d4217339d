"""TP export of a CRX-10iA/L trajectory: the file parses with our strict LS grammar, and every /POS
read back through the taught frames is the planned faceplate pose (FK) with the planned branch's
configuration string and FANUC turn numbers (from the controller joints of the CRX's convention), or,
on a ``J`` move whose string would not select exactly the planned joints among the CRX's 16 IK
branches (issue 15), the planned joints in joint representation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from stamp_helpers import stamp_for_test
from test_joints import crx_fk_fanuc_convention
from test_tp_export import controller_solutions, parse_ls, round_trip

from weldcell.drivers.base import joint_move
from weldcell.drivers.fanuc.joints import controller_deg_from_q, joint_map, pose_from_xyzwpr
from weldcell.drivers.fanuc.tp_export import TpExportOptions, build_tp, configuration, export_tp
from weldcell.kinematics import load_robot
from weldcell.spatial.se3 import se3_from_xyz_rpy
from weldcell.trajectory import JointTrajectory, save_trajectory

CRX = "crx10ial"


def exporter_flags(robot_name: str, q: np.ndarray) -> tuple[str, tuple[int, int, int]]:
    """The exporter's configuration string (the CRX rule is checked in FANUC's convention in
    test_crx_config) and turn numbers of one joint vector."""
    flags, turns = configuration(load_robot(robot_name), np.asarray(q)[None])
    return flags[0], (int(turns[0, 0]), int(turns[0, 1]), int(turns[0, 2]))


def test_crx_joint_program_round_trip(tmp_path: Path) -> None:
    m = joint_map(CRX)
    # controller joints [deg]: J6 beyond -180° (turn number -1) and a wrist flip between the two ends
    a_deg = np.array([30.0, 10.0, -20.0, 15.0, -70.0, 40.0])
    b_deg = np.array([170.0, -15.0, 25.0, -40.0, 60.0, -200.0])
    qa, qb = np.radians(np.linalg.solve(m.matrix(), a_deg)), np.radians(np.linalg.solve(m.matrix(), b_deg))
    traj = joint_move(CRX, qa, qb, 0.008, speed_fraction=0.5)
    p = tmp_path / "crx.npz"
    save_trajectory(traj, p)
    stamp_for_test(p, traj)
    s = export_tp(p, tmp_path / "CRXJ.LS", stamp_key=None)
    text = (tmp_path / "CRXJ.LS").read_text(encoding="ascii")
    _tree, pos = parse_ls(text)
    assert len(pos) >= 2
    T_fworld_uf = pose_from_xyzwpr(np.array(s.uframe_xyzwpr))
    T_face_tcp = pose_from_xyzwpr(np.array(s.utool_xyzwpr))
    for lp in pos.values():
        deg = controller_deg_from_q(traj.q[lp.index], m)
        if lp.joints_deg is not None:  # joint representation: FANUC's joints of the plan
            np.testing.assert_allclose(lp.joints_deg, deg, atol=5e-4 + 1e-9)
            continue
        # the position read back = the faceplate by the URDF FK in FANUC's convention (world at J2)
        T_fworld_face = crx_fk_fanuc_convention(deg)
        T_fworld_face[2, 3] -= 0.245
        T_read = T_fworld_uf @ pose_from_xyzwpr(lp.xyzwpr) @ np.linalg.inv(T_face_tcp)
        np.testing.assert_allclose(T_read[:3, 3], T_fworld_face[:3, 3], atol=1e-4)
        np.testing.assert_allclose(T_read[:3, :3], T_fworld_face[:3, :3], atol=1e-4)
        assert lp.turns == tuple(int(np.floor((deg[i] + 180.0) / 360.0)) for i in (0, 3, 5))
    worst, worst_deg, cart_j = round_trip(text, s, traj, exporter_flags)
    assert worst <= 1e-4 and worst_deg <= 5e-4 + 1e-9, (worst, worst_deg)
    assert cart_j + s.joint_repr == s.joint and cart_j == s.cartesian_j
    flags, turns = configuration(load_robot(CRX), traj.q[[0, -1]])
    assert tuple(turns[1]) == (0, 0, -1)
    assert flags[0] != flags[1]  # J5 changed sign: N <-> F


def _ambiguous_config(robot_name: str) -> np.ndarray:
    """A CRX configuration whose string and turns fit several joint solutions (the test's own
    controller-side resolution), comfortably inside the limits (seeded)."""
    robot = load_robot(robot_name)
    rng = np.random.default_rng(7)
    for q in rng.uniform(robot.q_lower * 0.6, robot.q_upper * 0.6, size=(40, 6)):
        flags, turns = exporter_flags(robot_name, q)
        if len(controller_solutions(robot_name, robot.fk(q), flags, turns, exporter_flags)) > 1:
            return q
    raise AssertionError("no ambiguous CRX configuration among 40 seeded candidates")


def _weld_from(q_amb: np.ndarray, T_world_base: np.ndarray) -> JointTrajectory:
    """A transit from a nearby start to ``q_amb``, then a 10 mm weld along the torch's x axis (joints by
    IK, continuous from ``q_amb``), then a short stand-still."""
    robot = load_robot(CRX)
    T_flange_tcp = se3_from_xyz_rpy(np.array([0.0, 0.0, 0.35]), np.array([0.0, math.radians(45), 0.0]))
    dt, n_arc, n_tr = 0.008, 40, 60
    T0 = robot.fk(q_amb) @ T_flange_tcp
    T_base_tcp = np.repeat(T0[None], n_arc, axis=0)
    T_base_tcp[:, :3, 3] += np.linspace(0.0, 0.01, n_arc)[:, None] * T0[:3, 0]
    Q = robot.ik(T_base_tcp @ np.linalg.inv(T_flange_tcp))
    q_arc = np.empty((n_arc, 6))
    prev = q_amb
    for i in range(n_arc):
        ok = Q[i][~np.isnan(Q[i]).any(axis=1)]
        pick = ok[np.argmin(np.abs(ok - prev).max(axis=1))]
        assert np.abs(pick - prev).max() < 0.05, "the weld line crosses a singularity"
        q_arc[i] = prev = pick
    q_home = np.clip(q_amb - np.radians([12.0, 6.0, -6.0, 8.0, 8.0, -8.0]), robot.q_lower, robot.q_upper)
    u = (1 - np.cos(np.linspace(0, math.pi, n_tr))) / 2
    q = np.vstack([q_home + u[:, None] * (q_arc[0] - q_home), q_arc, q_arc[-1:].repeat(10, axis=0)])
    n = q.shape[0]
    arc_on = np.zeros(n, dtype=bool)
    arc_on[n_tr : n_tr + n_arc] = True
    qd = np.gradient(q, dt, axis=0)
    return JointTrajectory(
        robot=CRX,
        joint_names=tuple(robot.joint_names),
        dt=dt,
        t=np.arange(n) * dt,
        q=q,
        qd=qd,
        qdd=np.gradient(qd, dt, axis=0),
        T_world_tcp=T_world_base @ robot.fk(q) @ T_flange_tcp,
        arc_on=arc_on,
        seam_index=np.where(arc_on, 0, -1).astype(np.int32),
        seam_s=np.where(arc_on, 0.0, np.nan),
        T_world_base=T_world_base,
        T_flange_tcp=T_flange_tcp,
        seam_ids=("fillet_a",),
    )


def test_ambiguous_weld_start_in_joint_representation() -> None:
    """Issue 15: a CRX hanging from the ceiling welds from a start whose configuration string fits
    several joint solutions: the J move to the arc start is in joint representation (the planned
    joints, FANUC's convention), the weld's L moves stay Cartesian, every Cartesian J target selects
    exactly the planned joints, and the summary counts them."""
    q_amb = _ambiguous_config(CRX)
    T_world_base = se3_from_xyz_rpy(np.array([0.0, 0.0, 2.2]), np.array([math.pi, 0.0, 0.0]))
    traj = _weld_from(q_amb, T_world_base)
    text, s = build_tp(traj, "CRXAMB", TpExportOptions())
    _tree, pos = parse_ls(text)
    mn = text.split("/MN")[1].split("/POS")[0].splitlines()
    i_start = next(i for i, ln in enumerate(mn) if "Arc Start[" in ln)
    j_before = [ln for ln in mn[:i_start] if ":J P[" in ln]
    k_start = int(j_before[-1].split("P[")[1].split("]")[0])
    start = pos[k_start]
    assert start.joints_deg is not None and start.index == 60
    np.testing.assert_allclose(
        start.joints_deg, controller_deg_from_q(q_amb, joint_map(CRX)), atol=5e-4 + 1e-9
    )
    assert s.joint_repr >= 1 and s.ambiguous >= 1 and s.joint == s.cartesian_j + s.joint_repr
    assert s.linear >= 1 and all(
        pos[int(ln.split("P[")[1].split("]")[0])].xyzwpr is not None for ln in mn if ":L " in ln
    )
    worst, worst_deg, cart_j = round_trip(text, s, traj, exporter_flags)
    assert worst <= 1e-4 and worst_deg <= 5e-4 + 1e-9, (worst, worst_deg)
    assert cart_j == s.cartesian_j
