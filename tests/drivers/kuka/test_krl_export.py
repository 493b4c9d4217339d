"""KRL export: krllint on every file, our own KRL grammar (lark), and a round trip of the positions
through FK/IK against the plan (≤ 0.1 mm, Status/Turn select exactly the planned axis configuration)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kuka_helpers import Validated, run_cli
from lark import Lark, Token, Tree
from stamp_helpers import stamp_for_test

from weldcell.drivers.base import joint_move
from weldcell.drivers.kuka.krl_export import (
    T_KFLANGE_FLANGE,
    KrlExportError,
    KrlExportOptions,
    abc_from_matrix,
    build_krl,
    fit_path,
    matrix_from_abc,
    status_turn,
    stretched_a3,
)
from weldcell.errors import StampError
from weldcell.kinematics import load_robot
from weldcell.trajectory import load_trajectory, save_trajectory

GRAMMAR = Lark((Path(__file__).parent / "krl_subset.lark").read_text(), parser="earley", lexer="dynamic")


def krllint(*paths: Path) -> str:
    """krllint's report; asserts no warnings, errors or fatal errors."""
    out = subprocess.run(
        [sys.executable, "-m", "krllint", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    ).stdout
    text = re.sub(r"\x1b\[[0-9;]*m", "", out)
    for what in ("violated conventions", "found warnings", "found errors", "fatal errors"):
        m = re.search(rf"(\d+) {what}", text)
        assert m is not None, text[-500:]
        assert int(m.group(1)) == 0, text[-3000:]
    return text


def with_turns(sols: np.ndarray, robot: object) -> np.ndarray:
    """IK solutions plus their A4/A6 ±360° variants (all combinations) inside the axis ranges."""
    out = []
    for s4 in (0.0, 2 * math.pi, -2 * math.pi):
        for s6 in (0.0, 2 * math.pi, -2 * math.pi):
            c = sols.copy()
            c[:, 3] += s4
            c[:, 5] += s6
            out.append(c)
    allc = np.concatenate(out)
    lo, hi = robot.q_lower, robot.q_upper  # type: ignore[attr-defined]
    return allc[np.all((allc >= lo - 1e-9) & (allc <= hi + 1e-9), axis=1)]


def struct(tree: Tree) -> dict[str, float]:
    return {str(f.children[0]): float(f.children[1]) for f in tree.children}


def parse_dat(text: str) -> dict[str, tuple[str, dict[str, float]]]:
    tree = GRAMMAR.parse(text)
    out = {}
    for d in tree.find_data("decl"):
        typ, name = str(d.children[0]).upper(), str(d.children[1])
        out[name] = (typ, struct(d.children[2]) if len(d.children) > 2 else {})
    return out


def parse_src(text: str) -> list[tuple[str, list[str], bool]]:
    """Motions in program order: (kind, point names, approximated)."""
    tree = GRAMMAR.parse(text)
    motions = []
    for m in tree.find_data("motion"):
        toks = [c for c in m.children if isinstance(c, Token)]
        kind = str(toks[0]).upper()
        names = [str(t.children[0]) for t in m.children if isinstance(t, Tree) and t.data == "target"]
        approx = any(t.type == "APPROX" for t in toks)
        motions.append((kind, names, approx))
    return motions


@pytest.fixture(scope="module")
def exported(
    kr10_validated: Validated, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Validated]:
    out = tmp_path_factory.mktemp("krl")
    res = run_cli("export", str(kr10_validated.traj), "--format", "krl", "-o", str(out), "--arc-do", "2")
    assert res.returncode == 0, res.stdout + res.stderr
    return out / "trajectory.src", out / "trajectory.dat", kr10_validated


def test_krllint_and_grammar(exported: tuple[Path, Path, Validated]) -> None:
    src, dat, _ = exported
    krllint(src, dat)
    src_text = src.read_text()
    assert src.read_bytes().count(b"\r\n") == src_text.count("\n")  # controller files use CRLF
    motions = parse_src(src_text)
    decls = parse_dat(dat.read_text())
    kinds = {k for k, _, _ in motions}
    assert {"PTP", "LIN"} <= kinds
    for _, names, _ in motions:
        for nm in names:
            assert nm in decls, f"{nm} used in the .src but not declared in the .dat"
    assert decls["WC_TOOL"][0] == "FRAME" and decls["WC_BASE"][0] == "FRAME"


def test_arc_control_and_exact_stops(exported: tuple[Path, Path, Validated]) -> None:
    src, _, v = exported
    lines = [ln.strip() for ln in src.read_text().splitlines()]
    traj = load_trajectory(v.traj)
    # two welds: arc on and off on $OUT[3] (--arc-do 2), waiting for $IN[1] ("arc established")
    on = [
        i
        for i, ln in enumerate(lines)
        if re.fullmatch(r"(TRIGGER WHEN DISTANCE=0 DELAY=0 DO )?\$OUT\[3\]=TRUE", ln)
    ]
    off = [i for i, ln in enumerate(lines) if re.search(r"\$OUT\[3\]=FALSE$", ln)]
    assert len(on) == 2 and len(off) == 2
    for a, b in zip(on, off, strict=True):
        weld = lines[a:b]
        motions = [ln for ln in weld if ln.startswith(("LIN", "CIRC"))]
        assert motions and not motions[-1].endswith("C_DIS")  # exact stop at the arc end
        assert not lines[a - 1].startswith("PTP") or not lines[a - 1].endswith(("C_PTP", "C_DIS"))
        prev_motion = next(ln for ln in reversed(lines[:a]) if ln.startswith(("PTP", "LIN")))
        assert not prev_motion.endswith(("C_PTP", "C_DIS"))  # exact stop at the arc start
        vel = next(ln for ln in reversed(lines[:a]) if ln.startswith("$VEL.CP="))
        assert float(vel.split("=")[1]) == pytest.approx(0.008, rel=0.02)  # 8 mm/s travel speed, in m/s
        assert any(ln == "WAIT FOR $IN[1]" for ln in weld) or "TRIGGER" in lines[a]
    assert traj.arc_on.any()


def test_round_trip_positions(exported: tuple[Path, Path, Validated]) -> None:
    """Every E6POS: IK of the pose, restricted to its Status/Turn, gives exactly the planned axis
    angles, and FK of those is the planned TCP within 0.1 mm; every E6AXIS is a planned sample."""
    src, dat, v = exported
    traj = load_trajectory(v.traj)
    robot = load_robot(traj.robot)
    decls = parse_dat(dat.read_text())
    motions = parse_src(src.read_text())
    tool = decls["WC_TOOL"][1]
    base = decls["WC_BASE"][1]

    def pose(f: dict[str, float]) -> np.ndarray:
        T = np.eye(4)
        T[:3, :3] = matrix_from_abc(f["A"], f["B"], f["C"])
        T[:3, 3] = np.array([f["X"], f["Y"], f["Z"]]) / 1000.0
        return T

    T_root_world, T_kflange_tcp = pose(base), pose(tool)
    phi = stretched_a3(robot)
    used = [nm for _, names, _ in motions for nm in names]
    n_pos = n_axis = 0
    for nm in used:
        typ, f = decls[nm]
        if typ == "E6AXIS":
            q = np.radians([f[f"A{i}"] for i in range(1, 7)])
            err = np.min(np.max(np.abs(traj.q - q), axis=1))
            assert err < np.radians(1e-4), nm
            n_axis += 1
            continue
        T_world_tcp = pose(f)
        # nearest planned sample of this pose
        k = int(np.argmin(np.linalg.norm(traj.T_world_tcp[:, :3, 3] - T_world_tcp[:3, 3], axis=1)))
        T_root_flange = T_root_world @ T_world_tcp @ np.linalg.inv(T_kflange_tcp) @ T_KFLANGE_FLANGE
        Q = robot.ik(T_root_flange)
        cand = with_turns(Q[~np.isnan(Q).any(axis=1)], robot)
        status, turn = status_turn(robot, cand, phi)
        match = cand[(status == int(f["S"])) & (turn == int(f["T"]))]
        assert match.shape[0] == 1, (
            f"{nm}: Status {f['S']} / Turn {f['T']} select {match.shape[0]} configurations"
        )
        np.testing.assert_allclose(match[0], traj.q[k], atol=1e-5)
        fk = traj.T_world_base @ robot.fk(match[0]) @ traj.T_flange_tcp
        assert np.linalg.norm(fk[:3, 3] - traj.T_world_tcp[k, :3, 3]) <= 1e-4
        S_plan, T_plan = status_turn(robot, traj.q[k : k + 1], phi)
        assert (int(S_plan[0]), int(T_plan[0])) == (int(f["S"]), int(f["T"]))
        n_pos += 1
    assert n_pos >= 2 and n_axis >= 4  # one straight LIN per fillet, PTP transits


def test_rsi_files(kr10_validated: Validated, tmp_path: Path) -> None:
    res = run_cli(
        "export", str(kr10_validated.traj), "--format", "kuka-rsi", "-o", str(tmp_path),
        "--sensor-url", "kuka-rsi://192.168.1.20:49152?cycle_ms=12&mode=relative",
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    krllint(tmp_path / "wc_rsi.src", tmp_path / "wc_rsi.dat")
    src = (tmp_path / "wc_rsi.src").read_text()
    GRAMMAR.parse(src)
    start = parse_dat((tmp_path / "wc_rsi.dat").read_text())["XSTART"][1]
    traj = load_trajectory(kr10_validated.traj)
    np.testing.assert_allclose([start[f"A{i}"] for i in range(1, 7)], np.degrees(traj.q[0]), atol=1e-5)
    assert "RSI_ON(#RELATIVE,#IPO)" in src and "RSI_MOVECORR()" in src
    eth = (tmp_path / "wc_rsi_eth.xml").read_text()
    assert "<IP_NUMBER>192.168.1.20</IP_NUMBER>" in eth and "<PORT>49152</PORT>" in eth
    assert 'HOLDON="0"' in eth  # relative mode: a late packet adds nothing
    import xml.etree.ElementTree as ET

    ctx = ET.fromstring((tmp_path / "wc_rsi.rsi.xml").read_text())
    types = {o.attrib["ObjType"] for o in ctx}
    assert {"ETHERNET", "AXISCORR", "MAP2DIGOUT", "DIGIN", "DIGOUT", "STOP"} <= types
    assert 'TAG="Stop" TYPE="BOOL"' in eth  # the driver ends the session with <Stop>1</Stop>


def test_refusals(tmp_path: Path) -> None:
    ur = load_robot("ur5e")
    traj = joint_move("ur5e", np.zeros(6), np.full(6, 0.1), 0.002)
    p = tmp_path / "ur.npz"
    save_trajectory(traj, p)
    stamp_for_test(p, traj)
    res = run_cli("export", str(p), "--format", "krl", "-o", str(tmp_path / "out"))
    assert res.returncode != 0 and "not a KUKA arm" in res.stdout + res.stderr
    assert ur.n_joints == 6
    kr = joint_move(
        "kr10_r1420", np.radians([0, -90, 90, 0, 60, 0]), np.radians([5, -85, 85, 0, 60, 0]), 0.002
    )
    p2 = tmp_path / "kr.npz"
    save_trajectory(kr, p2)  # no stamp
    res = run_cli("export", str(p2), "--format", "krl", "-o", str(tmp_path / "out2"))
    assert res.returncode != 0 and "stamp" in (res.stdout + res.stderr).lower()
    with pytest.raises(KrlExportError, match="KRL identifier"):
        KrlExportOptions(name="1bad name")
    with pytest.raises(StampError):
        from weldcell.drivers.kuka.krl_export import export_krl

        export_krl(p2, tmp_path / "out3", stamp_key=None)


def test_circular_weld_becomes_circ() -> None:
    """A synthetic circular arc weld (radius 60 mm, 120°) is written as CIRC, a straight one as LIN."""
    th = np.linspace(0.0, math.radians(120), 400)
    T = np.tile(np.eye(4), (th.size, 1, 1))
    T[:, 0, 3] = 0.8 + 0.06 * np.cos(th)
    T[:, 1, 3] = 0.06 * np.sin(th)
    T[:, 2, 3] = 0.2
    pieces = fit_path(T, 1e-4, math.radians(0.5))
    assert [p[0] for p in pieces] == ["CIRC"] and pieces[0][1:] == (0, th.size - 1)
    T[:, 1, 3] = np.linspace(0, 0.1, th.size)
    T[:, 0, 3] = 0.8
    assert fit_path(T, 1e-4, math.radians(0.5)) == [("LIN", 0, th.size - 1)]


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-179.9, 179.9), st.floats(-89.9, 89.9), st.floats(-179.9, 179.9)
)  # fmt: skip
def test_abc_round_trip(a: float, b: float, c: float) -> None:
    R = matrix_from_abc(a, b, c)
    np.testing.assert_allclose(matrix_from_abc(*abc_from_matrix(R)), R, atol=1e-9)
    np.testing.assert_allclose(abc_from_matrix(R), (a, b, c), atol=1e-7)


def test_status_turn_of_kuka_home() -> None:
    """KUKA's home {A1 0, A2 -90, A3 90, A4 0, A5 0, A6 0}: basic area, A3 beyond φ, A5 = 0 counts as
    negative: Status 'B110' = 6; Turn: only A2 negative = 2."""
    r = load_robot("kr10_r1420")
    S, T = status_turn(r, np.radians([[0, -90, 90, 0, 0, 0], [0, -90, 90, 0, 30, 0]]), stretched_a3(r))
    assert S.tolist() == [6, 2] and T.tolist() == [2, 2]


def test_build_is_deterministic(kr10_validated: Validated) -> None:
    traj = load_trajectory(kr10_validated.traj)
    a = build_krl(traj, "W", KrlExportOptions())
    b = build_krl(traj, "W", replace(KrlExportOptions(), arc_output=1))
    assert a[0] == b[0] and a[1] == b[1]


@pytest.mark.parametrize("name", ["kr10_r1420", "kr6_r900"])
def test_status_turn_select_exactly_one_configuration(name: str) -> None:
    """For random axis angles, Status and Turn pick exactly the original among all IK solutions
    (8 branches and the ±360° variants of A4 and A6 inside the axis ranges)."""
    r = load_robot(name)
    phi = stretched_a3(r)
    rng = np.random.default_rng(5)
    q = rng.uniform(r.q_lower, r.q_upper, size=(300, 6))
    S, T = status_turn(r, q, phi)
    for k in range(q.shape[0]):
        sols = r.ik(r.fk(q[k]))
        allc = with_turns(sols[~np.isnan(sols).any(axis=1)], r)
        s, t = status_turn(r, allc, phi)
        match = allc[(s == S[k]) & (t == T[k])]
        assert match.shape[0] == 1, (k, np.degrees(q[k]), match.shape[0])
        np.testing.assert_allclose(match[0], q[k], atol=1e-7)
