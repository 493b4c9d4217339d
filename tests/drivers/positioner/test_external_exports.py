"""Native exports with external axes: KRL E1/E2 and the EK-coupled base (krllint + the KRL grammar),
RAPID extjoint and the coordinated work object (rapidchecker), FANUC TP group 2 and COORD (the .LS
grammar); the URScript export and the RSI files refuse them.

Trajectories: our tilt-rotate program with a KR 10 (``kr10_tilt_rotate.yaml``, planned) and synthetic
ones (joint moves of each arm with a 2-axis positioner turning during the weld). Every written
target is read back: its external axes against the planned sample (≤ 0.01° / 0.01 mm), its TCP pose
against the arm's FK at the planned joints composed with the positioner's FK at the written axes
(≤ 0.1 mm), and the plan's path relative to the part between two coordinated targets against the
written LIN / CIRC (≤ 0.1 mm).
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lark import Lark
from stamp_helpers import stamp_for_test

from weldcell.drivers.abb.rapid_export import (
    RapidExportOptions,
    build_rapid,
    read_extjoints,
    read_jointtargets,
    read_robtargets,
)
from weldcell.drivers.external_export import DEFAULT_STEP_DEG, DEFAULT_STEP_MM
from weldcell.drivers.fanuc.joints import pose_from_xyzwpr
from weldcell.drivers.fanuc.tp_export import TpExportOptions, build_tp
from weldcell.drivers.kuka.config import RsiConfig
from weldcell.drivers.kuka.krl_export import KrlExportOptions, build_krl, export_rsi_files, matrix_from_abc
from weldcell.drivers.ur.program.export import export_urscript
from weldcell.errors import ExportError
from weldcell.kinematics import load_robot
from weldcell.kinematics.positioner import load_positioner
from weldcell.planning import plan_program
from weldcell.program import load_program
from weldcell.trajectory import ExternalAxes, JointTrajectory, save_trajectory

HERE = Path(__file__).resolve().parent
DRIVERS = HERE.parent
KRL = Lark((DRIVERS / "kuka" / "krl_subset.lark").read_text(), parser="earley", lexer="dynamic")
LS = Lark((DRIVERS / "fanuc" / "ls_subset.lark").read_text(), parser="lalr", maybe_placeholders=False)


def coordinated(
    robot: str, q_a_deg: list[float], q_b_deg: list[float], seam: str = "s1", turn_deg: float = 30.0
) -> JointTrajectory:
    """Transit (0.4 s) from rest, weld (1.2 s) while the positioner rotates 0 → ``turn_deg`` at 45° tilt."""
    dt = 0.004
    model = load_robot(robot)
    qa, qb = np.radians(q_a_deg), np.radians(q_b_deg)
    n_tr, n_w = 100, 300
    u = np.linspace(0, 1, n_tr)
    s = 3 * u**2 - 2 * u**3
    q_tr = qa + np.outer(s, (qb - qa) * 0.3)
    w = np.linspace(0, 1, n_w)
    q_w = q_tr[-1] + np.outer(w, (qb - qa) * 0.7)
    q = np.vstack([q_tr, q_w])
    n = q.shape[0]
    T = model.fk(q)
    arc = np.zeros(n, bool)
    arc[n_tr:] = True
    qe = np.zeros((n, 2))
    qe[:, 0] = math.radians(45.0)
    qe[n_tr:, 1] = np.radians(turn_deg) * w
    ext = ExternalAxes(
        device="tilt_rotate_2ax",
        role="positioner",
        names=("tilt", "rotate"),
        kinds=("revolute", "revolute"),
        q=qe,
        qd=np.gradient(qe, dt, axis=0),
        qdd=np.zeros_like(qe),
        T_world_base=np.eye(4),
    )
    seam_s = np.full(n, np.nan)
    seam_s[n_tr:] = np.linspace(0.0, 0.05, n_w)
    return JointTrajectory(
        robot=robot,
        joint_names=tuple(f"j{i + 1}" for i in range(6)),
        dt=dt,
        t=np.arange(n) * dt,
        q=q,
        qd=np.gradient(q, dt, axis=0),
        qdd=np.zeros_like(q),
        T_world_tcp=T,
        arc_on=arc,
        seam_index=np.where(arc, 0, -1).astype(np.int32),
        seam_s=seam_s,
        T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4),
        seam_ids=(seam,),
        external=ext,
    )


def assert_values_on_plan(values: np.ndarray, traj: JointTrajectory) -> None:
    """Every written (E1, E2) [deg] is a planned sample's, to the printed precision."""
    assert traj.external is not None
    planned = np.degrees(traj.external.q)
    for v in values:
        assert float(np.min(np.max(np.abs(planned - v), axis=1))) < 2e-3, v


def _angle(Ra: np.ndarray, Rb: np.ndarray) -> float:
    return float(np.arccos(np.clip((np.trace(Ra.T @ Rb) - 1.0) / 2.0, -1.0, 1.0)))


def check_targets(traj: JointTrajectory, rows: list[tuple[int, np.ndarray, np.ndarray, bool]]) -> int:
    """Read-back targets against the plan, by independent FK of the arm and of the positioner.

    ``rows``: (sample index, TCP pose as written [m], external axes as written [deg or mm], the pose
    is relative to the positioner's flange). The axes must be the plan's within 0.01° / 0.01 mm; the
    pose must be the arm's FK at the planned joints, seen from the positioner's flange at the axes
    *as written* (coordinated) or in the cell world (fixed), within 0.1 mm and 0.01°.
    Returns the number of coordinated targets.
    """
    ext = traj.external
    assert ext is not None
    robot = load_robot(traj.robot)
    model = load_positioner(ext.device)
    scale = np.array([180.0 / math.pi if k == "revolute" else 1000.0 for k in ext.kinds])
    n_coord = 0
    for idx, T_read, e_read, coord in rows:
        np.testing.assert_allclose(e_read, ext.q[idx] * scale, atol=0.01, err_msg=f"sample {idx}")
        T_world_tcp = traj.T_world_base @ robot.fk(traj.q[idx]) @ traj.T_flange_tcp
        if coord:
            n_coord += 1
            T_world_pflange = ext.T_world_base @ model.T_base_flange(e_read / scale)
            T_expected = np.linalg.inv(T_world_pflange) @ T_world_tcp
        else:
            T_expected = T_world_tcp
        err = float(np.linalg.norm(T_read[:3, 3] - T_expected[:3, 3]))
        assert err <= 1e-4, f"sample {idx}: {err * 1000:.4f} mm from the plan (coordinated: {coord})"
        assert _angle(T_read[:3, :3], T_expected[:3, :3]) <= math.radians(0.01), f"sample {idx}"
    return n_coord


def check_relative_path(traj: JointTrajectory, pieces: list[tuple[str, list[int]]], tol: float) -> float:
    """The plan's TCP path relative to the part (independent FK of arm and positioner at the planned
    samples) between consecutive coordinated targets lies on the written LIN / CIRC within ``tol`` [m].

    ``pieces``: (``LIN``, [start, end]) or (``CIRC``, [start, aux, end]) sample indices. Returns the
    largest deviation [m].
    """
    ext = traj.external
    assert ext is not None
    robot = load_robot(traj.robot)
    model = load_positioner(ext.device)
    worst = 0.0
    for kind, idx in pieces:
        a, b = idx[0], idx[-1]
        q = traj.q[a : b + 1]
        T_world_tcp = traj.T_world_base @ robot.fk(q) @ traj.T_flange_tcp
        T_world_pflange = ext.T_world_base @ model.T_base_flange(ext.q[a : b + 1])
        p = (np.linalg.inv(T_world_pflange) @ T_world_tcp)[:, :3, 3]
        if kind == "LIN":
            d = p[-1] - p[0]
            u = np.clip((p - p[0]) @ d / max(float(d @ d), 1e-18), 0.0, 1.0)
            dev = np.linalg.norm(p - (p[0] + u[:, None] * d), axis=1)
        else:
            m = p[idx[1] - a]
            u, w = m - p[0], p[-1] - p[0]
            n = np.cross(u, w)
            c = p[0] + np.cross(float(u @ u) * w - float(w @ w) * u, n) / (2.0 * float(n @ n))
            r = float(np.linalg.norm(p[0] - c))
            rel = p - c
            nn = n / np.linalg.norm(n)
            off = rel @ nn
            dev = np.hypot(np.linalg.norm(rel - off[:, None] * nn, axis=1) - r, off)
        worst = max(worst, float(np.max(dev)))
    assert worst <= tol, f"relative path {worst * 1000:.4f} mm from the written motions"
    return worst


# --- KRL ---------------------------------------------------------------------------------------


def read_krl(src: str, dat: str) -> tuple[dict[str, dict[str, float]], list[tuple[str, list[str], str]]]:
    """Our KRL reader: E6POS/E6AXIS fields by name (from the .dat, parsed with the KRL grammar) and
    the weld motions in order with the ``$BASE`` in effect (``WC_BASE`` or ``EK``) from the .src."""
    KRL.parse(src)
    fields: dict[str, dict[str, float]] = {}
    for d in KRL.parse(dat).find_data("decl"):
        if str(d.children[0]).upper() in ("E6POS", "E6AXIS"):
            fields[str(d.children[1])] = {
                str(f.children[0]).upper(): float(f.children[1]) for f in d.children[2].children
            }
    motions: list[tuple[str, list[str], str]] = []
    base = "WC_BASE"
    for line in src.splitlines():
        if line.startswith("$BASE="):
            base = "EK" if line.startswith("$BASE=EK(") else line.split("=", 1)[1]
        m = re.match(r"(LIN|CIRC) (\w+)(?:,(\w+))?", line)
        if m:
            motions.append((m.group(1), [v for v in m.groups()[1:] if v], base))
    return fields, motions


def _krl_pose(f: dict[str, float]) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = matrix_from_abc(f["A"], f["B"], f["C"])
    T[:3, 3] = np.array([f["X"], f["Y"], f["Z"]]) / 1000.0
    return T


def krllint_clean(tmp_path: Path, src: str, dat: str) -> None:
    (tmp_path / "posweld.src").write_text(src)
    (tmp_path / "posweld.dat").write_text(dat)
    out = subprocess.run(
        [sys.executable, "-m", "krllint", str(tmp_path / "posweld.src"), str(tmp_path / "posweld.dat")],
        capture_output=True, text=True, check=False, timeout=60,
    ).stdout  # fmt: skip
    text = re.sub(r"\x1b\[[0-9;]*m", "", out)
    for what in ("found warnings", "found errors", "fatal errors"):
        m = re.search(rf"(\d+) {what}", text)
        assert m is not None and int(m.group(1)) == 0, text[-2000:]


def check_krl(traj: JointTrajectory, src: str, dat: str, summary: Any, tmp_path: Path) -> int:
    """Read the KRL back and check every E6POS / E6AXIS and the coordinated path; returns the number of
    coordinated targets."""
    fields, motions = read_krl(src, dat)
    assert fields and all(f.get("E3") == 0.0 for f in fields.values())
    k = traj.external.n_axes if traj.external else 0
    rows = []
    pieces: list[tuple[str, list[int]]] = []
    prev: int | None = None
    for kind, names, base in motions:
        for nm in names:
            f = fields[nm]
            idx = summary.targets[nm]
            rows.append((idx, _krl_pose(f), np.array([f[f"E{i + 1}"] for i in range(k)]), base == "EK"))
        end = summary.targets[names[-1]]
        if base == "EK" and prev is not None:
            pieces.append((kind, [prev, *(summary.targets[n] for n in names)]))
        prev = end if base == "EK" else None
    # axis points: A1..A6 and E1..Ek are the planned sample's
    for nm, f in fields.items():
        if "A1" in f:
            i = summary.targets[nm]
            np.testing.assert_allclose(np.radians([f[f"A{j + 1}"] for j in range(6)]), traj.q[i], atol=1e-6)
            np.testing.assert_allclose(
                [f[f"E{j + 1}"] for j in range(k)], np.degrees(traj.external.q[i]), atol=0.01
            )
    n = check_targets(traj, rows)
    if pieces:
        check_relative_path(traj, pieces, 1e-4)
    krllint_clean(tmp_path, src, dat)
    return n


@pytest.fixture(scope="module")
def kr10_positioner_plan() -> JointTrajectory:
    """Our tilt-rotate program with a KR 10 (a coordinated half ring and an indexed line), planned."""
    res = plan_program(load_program(HERE / "kr10_tilt_rotate.yaml"))
    assert res.trajectory is not None, res.reason
    return res.trajectory


def test_krl_planned_coordinated_weld_in_the_ek_base(
    kr10_positioner_plan: JointTrajectory, tmp_path: Path
) -> None:
    traj = kr10_positioner_plan
    src, dat, summary = build_krl(traj, "KRPOS", KrlExportOptions(ek_machine=3))
    assert summary.coordinated == ["half_ring"] and summary.seams == ["half_ring", "gusset"]
    assert "$BASE=EK(MACHINE_DEF[3].ROOT,MACHINE_DEF[3].MECH_TYPE,WC_PART)" in src
    assert re.search(
        r"DECL FRAME WC_PART=\{X 0\.0000,Y 0\.0000,Z 0\.0000,A 0\.00000,B 0\.00000,C 0\.00000\}", dat
    )
    # the EK base holds exactly for the coordinated weld: set before its first LIN, reset after it
    body = src.split("\n")
    ek = [i for i, line in enumerate(body) if line.startswith("$BASE=EK(")]
    back = [i for i, line in enumerate(body) if line == "$BASE=WC_BASE"]
    assert len(ek) == 1 and len(back) == 2 and ek[0] < back[1]
    assert not any(line.startswith("PTP") for line in body[ek[0] : back[1]])
    n_coord = check_krl(traj, src, dat, summary, tmp_path)
    assert n_coord >= 10
    # the weld speed is the travel speed relative to the part (7 mm/s programmed)
    v = [float(x) for x in re.findall(r"\$VEL\.CP=([\d.]+)", "\n".join(body[ek[0] : back[1]]))]
    assert v[0] == pytest.approx(0.007, rel=0.02)


def test_krl_synthetic_coordinated_weld(tmp_path: Path) -> None:
    traj = coordinated("kr10_r1420", [0, -90, 90, 0, 60, 0], [20, -80, 80, 0, 55, 10])
    src, dat, summary = build_krl(traj, "POSWELD", KrlExportOptions())
    assert "$EX_AX_NUM must be 2" in src and summary.coordinated == ["s1"]
    assert check_krl(traj, src, dat, summary, tmp_path) > 0
    with pytest.raises(ExportError, match="ek_machine 1"):
        KrlExportOptions(ek_machine=1)


# --- RAPID -------------------------------------------------------------------------------------


def test_rapid_coordinated_weld_on_the_moving_wobj(tmp_path: Path) -> None:
    program = load_program(DRIVERS / "abb" / "irb1520id_tjoint.yaml")
    traj = coordinated(
        "irb1520id", [0, 0, 0, 0, 60, 0], [20, 10, 5, 0, 50, 10], seam=program.seams[0].id, turn_deg=6.0
    )
    text, summary = build_rapid(traj, program, "PosWeld", RapidExportOptions(mech_unit="STN_2"))
    assert summary.coordinated == [program.seams[0].id]
    assert 'PERS wobjdata wStn := [FALSE,FALSE,"STN_2",[[0,0,0],[1,0,0,0]],[[0,0,0],[1,0,0,0]]];' in text
    assert "ActUnit STN_2;" in text
    poses = read_robtargets(text)
    eax = read_extjoints(text)
    assert all(e.size == 2 for e in eax.values())
    assert all(
        re.findall(r"\[([^\[\]]*)\]", line)[-1].split(",")[2:] == ["9E+09"] * 4
        for line in text.splitlines()
        if "CONST robtarget" in line or "CONST jointtarget" in line
    )
    rows = []
    pieces: list[tuple[str, list[int]]] = []
    prev: int | None = None
    for line in text.splitlines():
        m = re.match(r"\s*(MoveJ|ArcLStart|ArcLEnd|ArcL|ArcCEnd|ArcC) ((?:p\d+, )+).*\\WObj:=(\w+);", line)
        if not m:
            continue
        names = [n for n in m.group(2).split(", ") if n]
        coord = m.group(3) == "wStn"
        assert coord == m.group(1).startswith("Arc"), line  # every weld motion on the moving wobj
        for nm in names:
            rows.append((summary.targets[nm], poses[nm][0], eax[nm], coord))
        idx = [summary.targets[n] for n in names]
        if coord and prev is not None:
            pieces.append(("LIN" if m.group(1).startswith("ArcL") else "CIRC", [prev, *idx]))
        prev = idx[-1] if coord else None
    assert check_targets(traj, rows) >= 3
    check_relative_path(traj, pieces, 1e-4)
    for nm, q in read_jointtargets(text).items():
        np.testing.assert_allclose(eax[nm], np.degrees(traj.external.q[summary.jointtargets[nm]]), atol=0.01)  # type: ignore[union-attr]
        np.testing.assert_allclose(q, traj.q[summary.jointtargets[nm]], atol=1e-6)
    path = tmp_path / "PosWeld.mod"
    path.write_text(text, encoding="ascii")
    pytest.importorskip("pyparsing", reason="rapidchecker==0.1.5 (test extra)")
    chk = subprocess.run(
        [sys.executable, "-m", "rapidchecker", str(path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert chk.returncode == 0 and "No RAPID format errors" in chk.stdout, chk.stdout + chk.stderr
    with pytest.raises(ExportError, match="mech_unit"):
        RapidExportOptions(mech_unit="STN 1")


# --- FANUC TP ----------------------------------------------------------------------------------


def test_tp_coordinated_weld_with_coord_and_group_2() -> None:
    traj = coordinated("arcmate100id", [0, 10, -5, 0, -60, 0], [20, 15, -10, 0, -50, 10])
    text, summary = build_tp(traj, "POSWELD", TpExportOptions())
    LS.parse(text)
    assert "DEFAULT_GROUP\t= 1,1,*,*,*;" in text and summary.coordinated == ["s1"]
    blocks: dict[int, tuple[int, np.ndarray | None, np.ndarray]] = {}
    for m in re.finditer(r'P\[(\d+):"S(\d+)"\]\{(.*?)\};', text, re.S):
        gp1, gp2 = m.group(3).split("GP2:")
        xyz = re.findall(r"[XYZWPR] =\s*(-?[\d.]+)", gp1)
        e = np.array([float(v) for v in re.findall(r"J\d = \s*(-?[\d.]+) deg", gp2)])
        blocks[int(m.group(1))] = (int(m.group(2)), np.array(xyz, float) if xyz else None, e)
    rows = []
    pieces: list[tuple[str, list[int]]] = []
    prev: int | None = None
    for line in re.findall(r"^\s*\d+:((?:J|L|C) .*?) ;$", text.replace("\n    :  ", " : "), re.M):
        nums = [int(v) for v in re.findall(r"P\[(\d+)\]", line)]
        coord = line.rstrip().endswith("COORD")
        assert coord == (line[0] in "LC"), line  # the welds move the positioner: all of them COORD
        for k in nums:
            idx, xyzwpr, e = blocks[k]
            if xyzwpr is not None:  # GP1 in the user frame = the cell world, the leader at its GP2
                rows.append((idx, pose_from_xyzwpr(xyzwpr), e, False))
                if coord:
                    T_world_pflange = traj.external.T_world_base @ load_positioner(  # type: ignore[union-attr]
                        "tilt_rotate_2ax"
                    ).T_base_flange(np.radians(e))
                    rows.append((idx, np.linalg.inv(T_world_pflange) @ pose_from_xyzwpr(xyzwpr), e, True))
            else:
                np.testing.assert_allclose(e, np.degrees(traj.external.q[idx]), atol=0.01)  # type: ignore[union-attr]
        idx = [blocks[k][0] for k in nums]
        if coord and prev is not None:
            pieces.append(("LIN" if line[0] == "L" else "CIRC", [prev, *idx]))
        prev = idx[-1]
    assert check_targets(traj, rows) >= 3
    check_relative_path(traj, pieces, 1e-4)


def test_urscript_and_rsi_refuse_external_axes(tmp_path: Path) -> None:
    traj = coordinated("ur5e", [0, -90, 90, -90, -90, 0], [20, -80, 80, -90, -90, 10])
    p = tmp_path / "pos.npz"
    save_trajectory(traj, p)
    stamp_for_test(p, traj)
    with pytest.raises(ExportError, match="coordinated motion needs the streaming driver"):
        export_urscript(p, tmp_path / "pos.script", weld_parameters=False)
    kr = coordinated("kr10_r1420", [0, -90, 90, 0, 60, 0], [20, -80, 80, 0, 55, 10])
    p2 = tmp_path / "kr.npz"
    save_trajectory(kr, p2)
    with pytest.raises(ExportError, match="RSI"):
        export_rsi_files(p2, tmp_path / "rsi", RsiConfig(), force_unvalidated=True)


def test_exports_say_what_they_carry_of_the_external_axes(tmp_path: Path) -> None:
    """The export's printed lines name the coordinated frame and the calibration the controller needs;
    a track moving during a weld gets the fixed-frame cut warning; nothing for a robot alone."""
    from weldcell.drivers.external_export import external_axes_warnings

    traj = coordinated("kr10_r1420", [0, -90, 90, 0, 60, 0], [20, -80, 80, 0, 55, 10])
    path = tmp_path / "pos.npz"
    save_trajectory(traj, path)
    for fmt, coupled in (("krl", "EK("), ("rapid", "ufmec"), ("fanuc-tp", "COORD")):
        lines = external_axes_warnings(path, fmt)
        text = "\n".join(lines)
        assert "1 coordinated weld" in text and coupled in text and "calibrate the positioner base" in text
        assert "'tilt_rotate_2ax'" in text and "fixed frame" not in text
    assert traj.external is not None
    track = dataclasses.replace(
        traj,
        external=dataclasses.replace(
            traj.external, device="track_1ax", role="track", names=("rail",), kinds=("prismatic",),
            q=traj.external.q[:, 1:] * 0.1, qd=traj.external.qd[:, 1:] * 0.1, qdd=traj.external.qdd[:, 1:],
        ),
    )  # fmt: skip
    tpath = tmp_path / "track.npz"
    save_trajectory(track, tpath)
    text = "\n".join(external_axes_warnings(tpath, "krl"))
    assert "fixed frame" in text and f"{DEFAULT_STEP_DEG:g}°" in text and "coordinated weld" not in text
    src, _, summary = build_krl(track, "TRACK", KrlExportOptions())
    assert "EK(" not in src and summary.coordinated == []
    assert summary.lin + summary.circ >= math.radians(30.0) * 100.0 / DEFAULT_STEP_MM  # 52 mm of rail
    plain = tmp_path / "plain.npz"
    save_trajectory(dataclasses.replace(traj, external=None), plain)
    assert external_axes_warnings(plain, "krl") == []


def test_cli_says_what_the_ur_and_krl_exports_do_with_a_positioner(tmp_path: Path) -> None:
    """``weldcell export``: the URScript export exits non-zero naming the streaming driver (no file,
    no traceback); the KRL export prints the coordinated frame and the calibration it needs."""
    from streaming_helpers import run_cli_inprocess

    ur = coordinated("ur5e", [0, -90, 90, -90, -90, 0], [20, -80, 80, -90, -90, 10])
    p = save_trajectory(ur, tmp_path / "ur.npz")
    stamp_for_test(p, ur)
    out = tmp_path / "ur.script"
    code, text = run_cli_inprocess("export", str(p), "--format", "urscript", "-o", str(out))
    assert code != 0 and "Traceback" not in text and not out.exists()
    assert "coordinated motion needs the streaming driver" in " ".join(text.split())
    kr = coordinated("kr10_r1420", [0, -90, 90, 0, 60, 0], [20, -80, 80, 0, 55, 10])
    p2 = save_trajectory(kr, tmp_path / "kr.npz")
    stamp_for_test(p2, kr)
    code, text = run_cli_inprocess("export", str(p2), "--format", "krl", "-o", str(tmp_path / "krl"))
    flat = " ".join(text.split())
    assert code == 0, text
    assert "1 coordinated weld(s)" in flat and "EK(" in flat and "calibrate the positioner base" in flat
    assert "EK(" in (tmp_path / "krl" / "kr.src").read_text()
