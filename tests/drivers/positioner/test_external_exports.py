"""Native exports with external axes: KRL E1/E2 (krllint + the KRL grammar), RAPID extjoint
(rapidchecker), FANUC TP group 2 (the .LS grammar); the URScript export refuses them.

The trajectories are synthetic (joint moves of each arm with a 2-axis positioner turning during the
weld); every written external-axis value is checked against the planned sample it came from.
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lark import Lark
from stamp_helpers import stamp_for_test

from weldcell.drivers.abb.rapid_export import RapidExportOptions, build_rapid
from weldcell.drivers.external_export import DEFAULT_STEP_DEG
from weldcell.drivers.fanuc.tp_export import TpExportOptions, build_tp
from weldcell.drivers.kuka.config import RsiConfig
from weldcell.drivers.kuka.krl_export import KrlExportOptions, build_krl, export_rsi_files
from weldcell.drivers.ur.program.export import export_urscript
from weldcell.errors import ExportError
from weldcell.kinematics import load_robot
from weldcell.program import load_program
from weldcell.trajectory import ExternalAxes, JointTrajectory, save_trajectory

DRIVERS = Path(__file__).resolve().parents[1]
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


def test_krl_carries_e1_e2(tmp_path: Path) -> None:
    traj = coordinated("kr10_r1420", [0, -90, 90, 0, 60, 0], [20, -80, 80, 0, 55, 10])
    src, dat, summary = build_krl(traj, "POSWELD", KrlExportOptions())
    assert "$EX_AX_NUM must be 2" in src
    tree = KRL.parse(dat)
    ext = []
    for d in tree.find_data("decl"):
        if str(d.children[0]).upper() not in ("E6POS", "E6AXIS"):
            continue
        fields = {str(f.children[0]).upper(): float(f.children[1]) for f in d.children[2].children}
        assert {"E1", "E2", "E3"} <= set(fields)
        assert fields["E3"] == 0.0
        ext.append((fields["E1"], fields["E2"]))
    KRL.parse(src)
    values = np.array(ext)
    assert_values_on_plan(values, traj)
    # the weld: the rotary axis moves at most the export step per LIN/CIRC
    turned = np.unique(values[:, 1])  # every LIN/CIRC end (and CIRC aux) point of the weld
    assert turned[0] == 0.0 and turned[-1] == pytest.approx(30.0, abs=1e-3)
    assert np.max(np.diff(turned)) <= DEFAULT_STEP_DEG + 0.05
    assert summary.lin + summary.circ >= 30 / DEFAULT_STEP_DEG
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


def test_rapid_carries_extjoint(tmp_path: Path) -> None:
    program = load_program(DRIVERS / "abb" / "irb1520id_tjoint.yaml")
    traj = coordinated(
        "irb1520id", [0, 0, 0, 0, 60, 0], [20, 10, 5, 0, 50, 10], seam=program.seams[0].id, turn_deg=6.0
    )
    text, _ = build_rapid(traj, program, "PosWeld", RapidExportOptions())
    eax = re.findall(r"CONST robtarget \w+ := \[.*\],\[([^\]]*)\]\];", text)
    assert eax, text[:2000]
    vals = np.array([[float(v) for v in e.split(",")[:2]] for e in eax])
    assert all(e.split(",")[2:] == ["9E+09"] * 4 for e in eax)
    assert_values_on_plan(vals, traj)
    path = tmp_path / "PosWeld.mod"
    path.write_text(text, encoding="ascii")
    pytest.importorskip("pyparsing", reason="rapidchecker==0.1.5 (test extra)")
    chk = subprocess.run(
        [sys.executable, "-m", "rapidchecker", str(path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert chk.returncode == 0 and "No RAPID format errors" in chk.stdout, chk.stdout + chk.stderr


def test_tp_carries_group_2() -> None:
    traj = coordinated("arcmate100id", [0, 10, -5, 0, -60, 0], [20, 15, -10, 0, -50, 10])
    text, _ = build_tp(traj, "POSWELD", TpExportOptions())
    LS.parse(text)
    assert "DEFAULT_GROUP\t= 1,1,*,*,*;" in text
    blocks = re.findall(
        r'P\[\d+:"S(\d+)"\]\{.*?GP2:\s*UF : \d+, UT : \d+,\s*J1 =\s*(\S+) deg,\s*J2 =\s*(\S+) deg', text, re.S
    )
    assert len(blocks) == text.count("GP1:") > 0
    assert traj.external is not None
    for idx, j1, j2 in blocks:  # each position names the sample it was taken from
        np.testing.assert_allclose([float(j1), float(j2)], np.degrees(traj.external.q[int(idx)]), atol=1e-3)


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


def test_exports_warn_what_they_carry_of_the_external_axes(tmp_path: Path) -> None:
    """The export's printed lines say the axes go as positions in a fixed frame, cut every step,
    and name the controller's coordinated frame that is not exported; nothing for a robot alone."""
    from weldcell.drivers.external_export import external_axes_warnings

    traj = coordinated("kr10_r1420", [0, -90, 90, 0, 60, 0], [20, -80, 80, 0, 55, 10])
    path = tmp_path / "pos.npz"
    save_trajectory(traj, path)
    for fmt, coupled in (("krl", "BASE coupled"), ("rapid", "ufmec"), ("fanuc-tp", "Coordinated Motion")):
        (line,) = external_axes_warnings(path, fmt)
        assert "fixed frame" in line and f"{DEFAULT_STEP_DEG:g}°" in line and coupled in line
        assert "'tilt_rotate_2ax'" in line or "positioner" in line
    plain = tmp_path / "plain.npz"
    save_trajectory(dataclasses.replace(traj, external=None), plain)
    assert external_axes_warnings(plain, "krl") == []
