"""TP (.LS) export: every file parses with a strict grammar of our own (lark), and the /POS data read
back through the taught frames and the configuration strings give the validated plan again (FK)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fanuc_helpers import Validated, run_cli_inprocess
from lark import Lark

from weldcell.drivers.fanuc.joints import (
    T_base_world,
    controller_deg_from_q,
    joint_map,
    pose_from_xyzwpr,
    q_from_controller_deg,
)
from weldcell.drivers.fanuc.tp_export import TpExportError, TpExportOptions, export_tp
from weldcell.errors import StampError
from weldcell.kinematics import load_robot
from weldcell.trajectory import JointTrajectory, load_trajectory

FlagsOf = Callable[[str, np.ndarray], tuple[str, tuple[int, int, int]]]
GRAMMAR = Path(__file__).resolve().parent / "ls_subset.lark"
PARSER = Lark(GRAMMAR.read_text(), parser="lalr", maybe_placeholders=False)


@dataclass
class LsPos:
    """A /POS entry: Cartesian (config, turns, xyzwpr) or in joint representation (joints_deg)."""

    index: int  # trajectory sample the position was taken from
    uf: int
    ut: int
    config: str = ""
    turns: tuple[int, int, int] = (0, 0, 0)
    xyzwpr: np.ndarray | None = None
    joints_deg: np.ndarray | None = None  # FANUC's J1 ... J6 [deg]


def parse_ls(text: str) -> tuple[object, dict[int, LsPos]]:
    """Parse with the grammar, check the structure, return the tree and the positions by number."""
    tree = PARSER.parse(text)
    mn = text.split("/MN")[1].split("/POS")[0]
    numbers = [int(m) for m in re.findall(r"^\s*(\d+):", mn, re.M)]
    assert numbers == list(range(1, len(numbers) + 1)), "line numbers not consecutive"
    assert f"LINE_COUNT\t= {len(numbers)};" in text
    pos: dict[int, LsPos] = {}
    for m in re.finditer(
        r'P\[(\d+):"S(\d+)"\]\{\s*GP1:\s*UF : (\d+), UT : (\d+),\s*CONFIG : \'([NF] [UD] [TB]), '
        r"(-?\d), (-?\d), (-?\d)',\s*X =\s*(\S+)\s+mm,\s*Y =\s*(\S+)\s+mm,\s*Z =\s*(\S+)\s+mm,\s*"
        r"W =\s*(\S+) deg,\s*P =\s*(\S+) deg,\s*R =\s*(\S+) deg",
        text,
    ):
        k = int(m[1])
        assert k not in pos, f"P[{k}] defined twice"
        pos[k] = LsPos(
            int(m[2]), int(m[3]), int(m[4]), m[5], (int(m[6]), int(m[7]), int(m[8])),
            np.array([float(m[i]) for i in range(9, 15)]),
        )  # fmt: skip
    for m in re.finditer(
        r'P\[(\d+):"S(\d+)"\]\{\s*GP1:\s*UF : (\d+), UT : (\d+),\s*'
        + r",\s*".join(rf"J{i}=\s*(\S+) deg" for i in range(1, 7)),
        text,
    ):
        k = int(m[1])
        assert k not in pos, f"P[{k}] defined twice"
        pos[k] = LsPos(
            int(m[2]), int(m[3]), int(m[4]), joints_deg=np.array([float(m[i]) for i in range(5, 11)])
        )
    used = {int(k) for k in re.findall(r"P\[(\d+)\]", mn)}
    assert used == set(pos) == set(range(1, len(pos) + 1)), "P[] used and defined differ"
    # arc and weave blocks nest properly, schedules match
    stack: list[str] = []
    for line in re.findall(r"(Arc Start\[\d+\]|Arc End\[\d+\]|Weave Sine\[\d+\]|Weave End)", mn):
        if line.startswith("Arc Start"):
            assert not stack
            stack.append(line[10:])
        elif line.startswith("Weave Sine"):
            assert stack == [stack[0]] and line[11:] == stack[0]
            stack.append("W")
        elif line == "Weave End":
            assert stack[-1] == "W"
            stack.pop()
        else:
            assert stack == [line[8:]], f"{line} without its Arc Start"
            stack.pop()
    assert not stack
    return tree, pos


def fanuc_flags(robot_name: str, q: np.ndarray) -> tuple[str, tuple[int, int, int]]:
    """Configuration string of ``q`` from the arm's geometry (independent of the exporter's labels)."""
    r = load_robot(robot_name)
    poses = r.link_poses(q)
    flange = poses[-1]
    wc = flange[:3, 3] - 0.075 * flange[:3, 2]  # wrist centre: 75 mm behind the faceplate
    j2 = poses[2][:3, 3]  # link_2 origin: the J2 axis
    j3 = poses[3][:3, 3]  # link_3 origin: the J3 axis
    heading = np.array([np.cos(q[0]), np.sin(q[0]), 0.0])
    top = "T" if wc @ heading >= 0 else "B"
    # elbow above the line J2 -> wrist centre, seen in the arm plane (normal = J2 axis direction)
    axis2 = poses[2][:3, 1]
    up = "U" if np.cross(wc - j2, j3 - j2) @ axis2 <= 0 else "D"
    deg = controller_deg_from_q(q, True)
    flip = "N" if deg[4] <= 0 else "F"
    turns = tuple(int(np.floor((deg[i] + 180.0) / 360.0)) for i in (0, 3, 5))
    return f"{flip} {up} {top}", turns  # type: ignore[return-value]


@pytest.fixture(scope="module")
def exported(arcmate_validated: Validated, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("tp") / "ARCMATE.LS"
    s = export_tp(arcmate_validated.traj, out, stamp_key=None)
    return out, s


def test_grammar_and_structure(exported: tuple[Path, object], arcmate_validated: Validated) -> None:
    path, s = exported
    raw = path.read_bytes()
    assert b"\r\n" in raw and raw.isascii()
    text = raw.decode("ascii").replace("\r\n", "\n")
    _tree, pos = parse_ls(text)
    assert text.startswith("/PROG  ARCMATE\n")
    # two welds; the woven seam (sine in the program) with Weave Sine, schedules = the procedures' jobs
    assert "Arc Start[3]" in text and "Arc End[3]" in text
    assert "Arc Start[4]" in text and "Weave Sine[4]" in text and "Weave End" in text
    assert s.welds == 2 and s.weaves == 1  # type: ignore[attr-defined]
    # FINE at arc start (the J before Arc Start) and at the arc end (the move before Arc End / Weave End)
    mn = text.split("/MN")[1].split("/POS")[0].splitlines()
    for i, line in enumerate(mn):
        if "Arc Start[" in line:
            prev = [m for m in mn[:i] if re.match(r"\s*\d+:[JLC]", m)][-1]
            assert re.match(r"\s*\d+:J", prev) and "FINE" in prev
        if "Arc End[" in line:
            moves = [m for m in mn[:i] if re.match(r"\s*\d+:[JLC]|\s*:\s+P", m)]
            assert "FINE" in moves[-1]
    assert any("CNT100" in line for line in mn)
    # weld speed in cm/min from the procedure: 8 mm/s = 48 cm/min
    assert "48cm/min" in text
    assert len(pos) > 10


def controller_solutions(
    robot_name: str, T_base_flange: np.ndarray, config: str, turns: tuple[int, int, int], flags_of: FlagsOf
) -> list[np.ndarray]:
    """Every joint solution a FANUC controller may take for a Cartesian position (the test's own
    resolution): all IK branches, every 2π-equivalent of every joint inside the limits, whose
    configuration string (``flags_of``) and turn numbers (FANUC's J1, J4, J6 of the joint map) are
    ``config`` / ``turns``. The string is read once per branch (it does not change by 2π)."""
    robot = load_robot(robot_name)
    m = joint_map(robot_name)
    Q = robot.ik(T_base_flange)
    out: list[np.ndarray] = []
    for q in Q[~np.isnan(Q).any(axis=1)]:
        if flags_of(robot_name, q)[0] != config:
            continue
        lo, hi = robot.q_lower - 1e-9, robot.q_upper + 1e-9
        options = [
            [v for v in (q[j] - 2 * np.pi, q[j], q[j] + 2 * np.pi) if lo[j] <= v <= hi[j]] for j in range(6)
        ]
        for c in itertools.product(*options):
            cand = np.asarray(c)
            deg = controller_deg_from_q(cand, m)
            if tuple(int(np.floor((deg[i] + 180.0) / 360.0)) for i in (0, 3, 5)) != turns:
                continue
            if not any(np.abs(cand - o).max() < 1e-7 for o in out):
                out.append(cand)
    return out


def j_targets(text: str) -> set[int]:
    """Position numbers of the ``J`` moves."""
    mn = text.split("/MN")[1].split("/POS")[0]
    return {int(k) for k in re.findall(r"^\s*\d+:J P\[(\d+)\]", mn, re.M)}


def round_trip(
    text: str, summary: object, traj: JointTrajectory, flags_of: FlagsOf
) -> tuple[float, float, int]:
    """Read every /POS back and check it against the plan; return the worst TCP and faceplate
    position error [m], the worst joint difference [deg] of the joint positions, and how many J
    targets are Cartesian.

    * Joint representation: only on ``J`` moves; FANUC's J1 … J6 are the plan's (joint map) and FK of
      them is the planned faceplate and TCP.
    * Cartesian: the configuration string and turns are the plan's; read back through the taught
      frames, a ``J`` target's string selects exactly one joint solution, the planned one; an ``L``/``C``
      target's solutions include the planned one (the path reaches it continuously).
    """
    robot = load_robot(traj.robot)
    m = joint_map(traj.robot)
    _tree, pos = parse_ls(text)
    jt = j_targets(text)
    T_fworld_uf = pose_from_xyzwpr(np.array(summary.uframe_xyzwpr))  # type: ignore[attr-defined]
    T_flange_tcp = pose_from_xyzwpr(np.array(summary.utool_xyzwpr))  # type: ignore[attr-defined]
    T_base_fworld = T_base_world(traj.robot)
    worst, worst_deg, cart_j = 0.0, 0.0, 0
    for k, p in pos.items():
        q_plan = traj.q[p.index, :6]
        if p.joints_deg is not None:
            assert k in jt, f"P[{k}] in joint representation on a linear or circular move"
            worst_deg = max(worst_deg, float(np.abs(p.joints_deg - controller_deg_from_q(q_plan, m)).max()))
            q = q_from_controller_deg(p.joints_deg, m)
        else:
            assert (p.config, p.turns) == flags_of(traj.robot, q_plan)
            T_read = pose_from_xyzwpr(p.xyzwpr)
            T_base_flange = T_base_fworld @ T_fworld_uf @ T_read @ np.linalg.inv(T_flange_tcp)
            sols = controller_solutions(traj.robot, T_base_flange, p.config, p.turns, flags_of)
            assert sols, f"P[{k}] (S{p.index}): no joint solution has {p.config} {p.turns}"
            if k in jt:
                cart_j += 1
                assert len(sols) == 1, (
                    f"J P[{k}] (S{p.index}): {p.config} {p.turns} fits {len(sols)} solutions"
                )
            q = min(sols, key=lambda c: float(np.abs(c - q_plan).max()))
            assert np.abs(q - q_plan).max() < 1e-3, f"P[{k}] (S{p.index}) resolves to another branch"
        err = np.linalg.norm(robot.fk(q)[:3, 3] - robot.fk(q_plan)[:3, 3])
        tcp_err = np.linalg.norm(
            (robot.fk(q) @ T_flange_tcp)[:3, 3] - (robot.fk(q_plan) @ traj.T_flange_tcp)[:3, 3]
        )
        worst = max(worst, float(err), float(tcp_err))
    return worst, worst_deg, cart_j


def test_pos_round_trip_through_frames_and_ik(
    exported: tuple[Path, object], arcmate_validated: Validated
) -> None:
    path, s = exported
    traj = load_trajectory(arcmate_validated.traj)
    text = path.read_text(encoding="ascii")
    _tree, pos = parse_ls(text)
    assert all((p.uf, p.ut) == (1, 1) for p in pos.values())
    worst, worst_deg, cart_j = round_trip(text, s, traj, fanuc_flags)
    assert worst <= 1e-4, f"worst position error {worst * 1000:.4f} mm"
    # joint positions carry 3 decimals, as FANUC writes them: within half the last digit
    assert worst_deg <= 5e-4 + 1e-9
    assert cart_j == s.cartesian_j and s.joint == s.cartesian_j + s.joint_repr  # type: ignore[attr-defined]


def test_weld_path_within_tolerance(exported: tuple[Path, object], arcmate_validated: Validated) -> None:
    """The plain weld's L/C points reproduce the validated TCP path within the path tolerance."""
    path, _ = exported
    traj = load_trajectory(arcmate_validated.traj)
    _tree, pos = parse_ls(path.read_text(encoding="ascii"))
    text = path.read_text(encoding="ascii")
    mn = text.split("/MN")[1].split("/POS")[0]
    block = mn.split("Arc Start[3]")[1].split("Arc End[3]")[0]
    ks = [int(k) for k in re.findall(r"P\[(\d+)\]", block)]
    start = pos[int(re.findall(r"P\[(\d+)\]", mn.split("Arc Start[3]")[0])[-1])].index
    idx = [start] + [pos[k].index for k in ks]
    p = traj.T_world_tcp[:, :3, 3]
    for a, b in itertools.pairwise(idx):
        seg = p[a : b + 1]
        d = seg - p[a]
        u = (p[b] - p[a]) / max(np.linalg.norm(p[b] - p[a]), 1e-12)
        off = np.linalg.norm(d - (d @ u)[:, None] * u, axis=1)
        assert off.max() <= 1.05e-4


def test_refuses_unvalidated_and_non_fanuc(tmp_path: Path, arcmate_validated: Validated) -> None:
    import shutil

    from weldcell.drivers.base import joint_move
    from weldcell.trajectory import save_trajectory

    copy = tmp_path / "t.npz"
    shutil.copy(arcmate_validated.traj, copy)  # no stamp beside it
    with pytest.raises(StampError):
        export_tp(copy, tmp_path / "X.LS", stamp_key=None)
    ur = joint_move("ur5e", np.zeros(6), np.full(6, 0.1), 0.008)
    save_trajectory(ur, tmp_path / "ur.npz")
    with pytest.raises(TpExportError, match="FANUC"):
        export_tp(tmp_path / "ur.npz", tmp_path / "U.LS", force_unvalidated=True)
    with pytest.raises(TpExportError):
        TpExportOptions(name="9BAD")


def test_cli_export(arcmate_validated: Validated, tmp_path: Path) -> None:
    out = tmp_path / "JOB.LS"
    code, text = run_cli_inprocess(
        "export", str(arcmate_validated.traj), "--format", "fanuc-tp", "-o", str(out)
    )
    assert code == 0, text
    assert "teach UFRAME[1]" in text and out.is_file()
    assert re.search(r"J targets: \d+ Cartesian .*, \d+ in joint representation", text)
    parse_ls(out.read_text(encoding="ascii"))
    code, text = run_cli_inprocess(
        "export", str(tmp_path / "missing.npz"), "--format", "fanuc-tp", "-o", str(out)
    )
    assert code != 0 and "missing.npz" in text and "Traceback" not in text
