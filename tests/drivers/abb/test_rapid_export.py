"""RAPID export: rapidchecker (run as a command-line tool, never imported: AGPL) accepts every module,
and the robtargets read back from the file reach the planned joints (FK ≤ 0.1 mm, confdata selecting
the planned IK branch)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from abb_helpers import PROGRAM, Validated, run_cli

from weldcell.drivers.abb.rapid_export import (
    RapidExportError,
    RapidExportOptions,
    build_rapid,
    confdata,
    joints_from_robtarget,
    read_frames,
    read_jointtargets,
    read_robtargets,
    robtarget_solutions,
)
from weldcell.kinematics import load_robot
from weldcell.program import load_program
from weldcell.spatial.se3 import se3_from_xyz_rpy
from weldcell.trajectory import JointTrajectory, load_trajectory


def rapidchecker(path: Path) -> subprocess.CompletedProcess[str]:
    """rapidchecker's command line on ``path`` (the module is run with ``python -m``, not imported)."""
    pytest.importorskip("pyparsing", reason="rapidchecker==0.1.5 (test extra)")
    return subprocess.run(
        [sys.executable, "-m", "rapidchecker", str(path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=path.parent,
    )  # fmt: skip


_MOTION = re.compile(r"^\s*(MoveJ|MoveAbsJ|ArcLStart|ArcL|ArcLEnd|ArcC|ArcCEnd)\s+(\w+)(?:,\s*(p\d+))?")


def round_trip(
    text: str, traj: JointTrajectory, targets: dict[str, int], jointtargets: dict[str, int] | None = None
) -> tuple[float, float]:
    """Largest FK position error [m] and joint error [rad] of the module's targets vs the plan.

    Every robtarget must reach the planned pose with the planned confdata, and resolve to the planned
    joints the way the controller resolves it: a ``MoveJ`` target by its confdata alone (which must
    fit exactly one IK branch), a linear-move target (ArcL…/ArcC…) by its confdata nearest the joints
    the move starts from (the plan's joints at the previous target, in program order). Every
    ``MoveAbsJ`` jointtarget must equal the planned joints.
    """
    robot = load_robot(traj.robot)
    T_tool0_tcp, T_base_wobj = read_frames(text)
    read = read_robtargets(text)
    assert set(read) == set(targets)
    jt_read = read_jointtargets(text)
    assert set(jt_read) == set(jointtargets or {})
    names = sorted(read)
    idx = np.array([targets[n] for n in names])
    T_base_flange = {n: T_base_wobj @ read[n][0] @ np.linalg.inv(T_tool0_tcp) for n in names}
    q_plan = traj.q[idx]
    T_plan = robot.fk(q_plan)
    Tb = np.array([T_base_flange[n] for n in names], dtype=np.float64).reshape(-1, 4, 4)
    pos_err = float(np.max(np.linalg.norm(Tb[:, :3, 3] - T_plan[:, :3, 3], axis=1), initial=0.0))
    rot_err = float(np.max(np.abs(Tb[:, :3, :3] - T_plan[:, :3, :3]), initial=0.0))
    assert rot_err < 1e-6
    np.testing.assert_array_equal(
        np.array([read[n][1] for n in names]).reshape(-1, 4), confdata(robot, q_plan)
    )
    q_err = 0.0
    prev: int | None = None  # trajectory sample the robot is at before each motion
    body = text[text.index("PROC main()") :].splitlines()
    seen: set[str] = set()
    for line in body:
        m = _MOTION.match(line)
        if m is None:
            continue
        instr, first, second = m.group(1), m.group(2), m.group(3)
        if instr == "MoveAbsJ":
            k = (jointtargets or {})[first]
            q_err = max(q_err, float(np.max(np.abs(jt_read[first] - traj.q[k]))))
            seen.add(first)
            prev = k
            continue
        for nm in [first] + ([second] if second else []):  # ArcC: the circle point, then the end point
            k = targets[nm]
            conf = read[nm][1]
            if instr == "MoveJ":
                sols = robtarget_solutions(robot, T_base_flange[nm], conf)
                assert len(sols) == 1, f"{nm}: a MoveJ robtarget whose confdata fits {len(sols)} IK branches"
                q = sols[0]
            else:
                assert prev is not None, f"{nm}: a linear move with no known start"
                q = joints_from_robtarget(robot, T_base_flange[nm], conf, q_from=traj.q[prev])
            assert q is not None, f"{nm}: no IK solution with confdata {conf}"
            q_err = max(q_err, float(np.max(np.abs(q - traj.q[k]))))
            seen.add(nm)
            prev = k
    assert seen == set(read) | set(jt_read), "targets declared but not used by a motion"
    return pos_err, q_err


def test_validated_program_exports_checks_and_round_trips(
    irb1520_validated: Validated, tmp_path: Path
) -> None:
    out = tmp_path / "JOB.mod"
    r = run_cli("export", str(irb1520_validated.traj), "--format", "rapid", "-o", str(out))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "2 welds" in r.stdout
    chk = rapidchecker(out)
    assert chk.returncode == 0 and "No RAPID format errors" in chk.stdout, chk.stdout + chk.stderr
    text = out.read_text(encoding="ascii")
    for kind in ("tooldata", "wobjdata", "seamdata", "welddata", "weavedata"):
        assert f"PERS {kind} " in text
    body = text[text.index("PROC main()") :]
    assert body.count("ArcLStart ") == 2 and body.count("ArcLEnd ") + body.count("ArcCEnd ") == 2
    for line in body.splitlines():
        if "ArcLStart" in line or "End " in line:
            assert ", fine, " in line  # exact stop at the arc start and end
    assert "ConfJ \\On;" in body and "ConfL \\On;" in body
    # the weld data come from the program's procedure: job 7, 23 V, 7 m/min, preflow 0.2 s, postflow 0.5 s
    assert "PERS welddata wd_fillet_a := [" in text and "[7,0,23,7,0,0,0,0,0]" in text
    assert "PERS seamdata sm_fillet_a := [0,0.2," in text and text.count(",0.5];") >= 2
    traj = load_trajectory(irb1520_validated.traj)
    opts = RapidExportOptions()
    _, summary = build_rapid(traj, load_program(PROGRAM), "JOB", opts)
    pos_err, q_err = round_trip(text.replace("\r\n", "\n"), traj, summary.targets)
    assert pos_err <= 1e-4 and q_err < 1e-6, (pos_err, q_err)


def test_rapidchecker_rejects_a_broken_module(tmp_path: Path) -> None:
    """The checker can fail: a missing semicolon is reported (negative control of the test above)."""
    bad = tmp_path / "BAD.mod"
    bad.write_text("MODULE BAD\n  PROC main()\n    MoveJ p1, v100, fine, tool0\n  ENDPROC\nENDMODULE\n")
    chk = rapidchecker(bad)
    assert chk.returncode != 0 or "No RAPID format errors" not in chk.stdout


def _circle_trajectory() -> JointTrajectory:
    """A hanging IRB 1520ID (base 2 m up, upside down) welding a full-circle seam (ArcC) after a transit."""
    robot = load_robot("irb1520id")
    T_world_base = se3_from_xyz_rpy(np.array([0.0, 0.0, 2.0]), np.array([math.pi, 0.0, 0.0]))
    T_flange_tcp = se3_from_xyz_rpy(np.array([0.05, 0.0, 0.37]), np.array([0.0, math.radians(22), 0.0]))
    dt = 0.004
    n_arc = 600
    ang = np.linspace(0.0, 2 * math.pi * 0.9, n_arc)
    T_base_tcp = np.repeat(np.eye(4)[None], n_arc, axis=0)
    T_base_tcp[:, :3, :3] = np.diag([1.0, -1.0, -1.0])  # torch z along base -z
    T_base_tcp[:, 0, 3] = 0.9 + 0.04 * np.cos(ang)
    T_base_tcp[:, 1, 3] = 0.04 * np.sin(ang)
    T_base_tcp[:, 2, 3] = 0.2
    T_base_flange = T_base_tcp @ np.linalg.inv(T_flange_tcp)
    Q = robot.ik(T_base_flange)
    q_arc = np.empty((n_arc, 6))
    prev = None
    for i in range(n_arc):
        ok = Q[i][~np.isnan(Q[i]).any(axis=1)]
        pick = ok[0] if prev is None else ok[np.argmin(np.abs(ok - prev).max(axis=1))]
        q_arc[i] = prev = pick
    q_home = np.radians([0.0, 0.0, 0.0, 0.0, 60.0, 0.0])
    n_tr = 300
    u = (1 - np.cos(np.linspace(0, math.pi, n_tr))) / 2
    q_tr = q_home + u[:, None] * (q_arc[0] - q_home)
    q = np.vstack([q_tr, q_arc, q_arc[-1:].repeat(50, axis=0)])
    n = q.shape[0]
    arc_on = np.zeros(n, dtype=bool)
    arc_on[n_tr : n_tr + n_arc] = True
    seam_index = np.where(arc_on, 0, -1).astype(np.int32)
    qd = np.gradient(q, dt, axis=0)
    return JointTrajectory(
        robot="irb1520id",
        joint_names=tuple(robot.joint_names),
        dt=dt,
        t=np.arange(n) * dt,
        q=q,
        qd=qd,
        qdd=np.gradient(qd, dt, axis=0),
        T_world_tcp=T_world_base @ robot.fk(q) @ T_flange_tcp,
        arc_on=arc_on,
        seam_index=seam_index,
        seam_s=np.where(arc_on, 0.0, np.nan),
        T_world_base=T_world_base,
        T_flange_tcp=T_flange_tcp,
        seam_ids=("fillet_a",),
    )


def test_circular_weld_on_a_hanging_robot(tmp_path: Path) -> None:
    traj = _circle_trajectory()
    text, summary = build_rapid(traj, load_program(PROGRAM), "CIRCLE", RapidExportOptions())
    assert summary.arcc >= 2 and summary.welds == 1  # the circle is written as ArcC
    body = text[text.index("PROC main()") :]
    assert body.count("ArcLStart ") == 1 and body.count("ArcCEnd ") == 1 and "ArcC p" in body
    out = tmp_path / "CIRCLE.mod"
    out.write_text(text)
    chk = rapidchecker(out)
    assert chk.returncode == 0 and "No RAPID format errors" in chk.stdout, chk.stdout + chk.stderr
    pos_err, q_err = round_trip(text, traj, summary.targets)
    assert pos_err <= 1e-4 and q_err < 1e-6, (pos_err, q_err)
    # the work object is the cell's world frame seen from the (hanging) base
    _, T_base_wobj = read_frames(text)
    np.testing.assert_allclose(T_base_wobj, np.linalg.inv(traj.T_world_base), atol=1e-8)


def test_confdata_selects_each_branch_uniquely() -> None:
    """Every IK branch of random poses has its own confdata, and the confdata gives that branch back."""
    robot = load_robot("irb1520id")
    rng = np.random.default_rng(17)
    q = rng.uniform(robot.q_lower, robot.q_upper, size=(300, 6))
    for qi in q:
        c = confdata(robot, qi)[0]
        back = joints_from_robtarget(robot, robot.fk(qi), c)
        assert back is not None
        np.testing.assert_allclose(back, qi, atol=1e-7)


def test_refusals(irb1520_validated: Validated, tmp_path: Path) -> None:
    kuka = load_trajectory(irb1520_validated.traj)
    from dataclasses import replace

    with pytest.raises(RapidExportError, match="not an ABB arm"):
        build_rapid(replace(kuka, robot="kr10_r1420"), load_program(PROGRAM), "X", RapidExportOptions())
    with pytest.raises(RapidExportError, match="identifier"):
        RapidExportOptions(name="1bad name")
    r = run_cli("export", str(PROGRAM), "--format", "rapid", "-o", str(tmp_path / "x.mod"))
    assert r.returncode != 0 and "this is a weld" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
