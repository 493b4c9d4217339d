"""URScript export: structure, servoj table replay, arc I/O at the arc events, limits, stamps, CLI."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from stamp_helpers import stamp_for_test

from weldcell.drivers.powersource.io import IoMap
from weldcell.drivers.ur.models import ARMS, fk
from weldcell.drivers.ur.program.export import (
    ExportError,
    JointLimits,
    UrExportOptions,
    export_urscript,
    simplify_joint_path,
    urscript_from_trajectory,
)
from weldcell.errors import StampError
from weldcell.trajectory import ArcEvent, JointTrajectory, save_trajectory

DT = 0.002
LIMITS = JointLimits(
    q_lower=np.array([-2 * np.pi, -2 * np.pi, -np.pi, -2 * np.pi, -2 * np.pi, -2 * np.pi]),
    q_upper=np.array([2 * np.pi, 2 * np.pi, np.pi, 2 * np.pi, 2 * np.pi, 2 * np.pi]),
    qd_max=np.full(6, np.pi),
)
NAMES = ("shoulder_pan", "shoulder_lift", "elbow", "wrist_1", "wrist_2", "wrist_3")


def _min_jerk(n: int) -> np.ndarray:
    tau = np.linspace(0.0, 1.0, n)
    return 10 * tau**3 - 15 * tau**4 + 6 * tau**5


def _transit(qa: np.ndarray, qb: np.ndarray, duration: float) -> np.ndarray:
    """A curved joint path (a bump on joint 2) so that movej needs intermediate waypoints."""
    n = round(duration / DT) + 1
    s = _min_jerk(n)[:, None]
    q = qa + s * (qb - qa)
    q[:, 1] += 0.3 * np.sin(np.pi * s[:, 0])
    return q[1:]


def _weld(qa: np.ndarray, travel: float, duration: float, dwell: float, crater: float) -> np.ndarray:
    """Dwell at rest, move joint 1 with a weave on joint 5, crater fill at rest."""
    n = round(duration / DT) + 1
    s = _min_jerk(n)
    tau = np.linspace(0, 1, n)
    q = np.repeat(qa[None], n, axis=0)
    q[:, 0] += travel * s
    q[:, 4] += 0.01 * np.sin(2 * np.pi * 3.0 * tau * duration) * np.sin(np.pi * tau) ** 2
    rest_a = np.repeat(qa[None], round(dwell / DT), axis=0)
    rest_b = np.repeat(q[-1][None], round(crater / DT), axis=0)
    return np.concatenate([rest_a, q[1:], rest_b])


@dataclass
class Built:
    traj: JointTrajectory
    blocks: list[tuple[int, int, str]] = field(default_factory=list)


def make_trajectory(robot: str = "ur5e") -> Built:
    q_home = np.array([0.0, -1.57, 1.57, -1.57, -1.57, 0.0])
    qa = np.array([0.3, -1.2, 1.4, -1.8, -1.57, 0.2])
    qb = np.array([-0.2, -1.3, 1.5, -1.7, -1.57, -0.1])
    parts: list[tuple[np.ndarray, str | None]] = [
        (q_home[None], None),
        (_transit(q_home, qa, 0.8), None),
        (_weld(qa, 0.15, 0.6, 0.1, 0.08), "S1"),
    ]
    q_after = parts[-1][0][-1]
    parts.append((_transit(q_after, qb, 0.6), None))
    parts.append((_weld(qb, -0.1, 0.5, 0.1, 0.08), "S2"))
    parts.append((_transit(parts[-1][0][-1], q_home, 0.8), None))
    q = np.concatenate([p for p, _ in parts])
    n = q.shape[0]
    arc = np.zeros(n, bool)
    seam_index = np.full(n, -1, np.int32)
    i = 0
    blocks = []
    for p, seam in parts:
        if seam is not None:
            arc[i : i + len(p)] = True
            seam_index[i : i + len(p)] = 0 if seam == "S1" else 1
            blocks.append((i, i + len(p) - 1, seam))
        i += len(p)
    t = np.arange(n, dtype=np.float64) * DT
    qd = np.gradient(q, DT, axis=0)
    qdd = np.gradient(qd, DT, axis=0)
    events = []
    for i0, i1, seam in blocks:
        events += [ArcEvent(float(t[i0]), "arc_on", seam), ArcEvent(float(t[i1]), "arc_off", seam)]
    seam_s = np.where(arc, 0.0, np.nan)
    traj = JointTrajectory(
        robot=robot,
        joint_names=NAMES,
        dt=DT,
        t=t,
        q=q,
        qd=qd,
        qdd=qdd,
        T_world_tcp=np.stack([fk(ARMS[robot], x) for x in q])
        if robot in ARMS
        else np.repeat(np.eye(4)[None], n, axis=0),
        arc_on=arc,
        seam_index=seam_index,
        seam_s=seam_s,
        T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4),
        seam_ids=("S1", "S2"),
        events=tuple(events),
        program_hash="abc123",
    )
    return Built(traj, blocks)


# --- a small structural parser for the emitted subset ----------------------------------------
ALLOWED_CALLS = {
    "movej",
    "movel",
    "movec",
    "servoj",
    "stopj",
    "set_standard_digital_out",
    "set_standard_analog_out",
    "set_tcp",
    "sleep",
    "textmsg",
    "popup",
    "wc_check",
}
_CALL = re.compile(r"^([a-z_]+)\((.*)\)$")
_COND = re.compile(
    r"^((\(?not get_standard_digital_in\(\d\)\)?)( and wc_wait < \d+)?|v_min > 0|wc_rest > 0"
    r"|norm\(\[wc_v\[0\], wc_v\[1\], wc_v\[2\]\]\) < v_min)$"
)
_ASSIGN = re.compile(
    r"^(wc_wait = (0|wc_wait \+ 1)|wc_rest = (0|[0-9.]+ - wc_wait \* [0-9.]+)"
    r"|wc_v = get_target_tcp_speed\(\))$"
)


@dataclass
class Node:
    kind: str  # "def", "while", "if", "call", "assign", "halt"
    text: str
    line: int
    name: str = ""
    args: str = ""
    body: list[Node] = field(default_factory=list)


def parse_structure(text: str) -> Node:
    """Parse the program into a tree, checking indentation, block balance and the statement subset.

    Returns the job function; checks that the text ends by calling it.
    """
    assert text.endswith("\n")
    root = Node("root", "", 0)
    stack = [root]
    for ln, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        s = raw.strip()
        assert "\t" not in raw, f"line {ln}: tab"
        if s.startswith("#"):
            continue
        if s == "end":
            assert len(stack) > 1, f"line {ln}: 'end' without block"
            assert indent == 2 * (len(stack) - 2), f"line {ln}: bad indentation of 'end'"
            stack.pop()
            continue
        assert indent == 2 * (len(stack) - 1), f"line {ln}: indentation {indent} at depth {len(stack) - 1}"
        parent = stack[-1]
        if s.startswith("def "):
            top = parent is root and re.fullmatch(r"def [a-z_][a-z0-9_]*\(\):", s)
            helper = parent in root.body and s == "def wc_check(v_min):"
            assert top or helper, s
            node = Node("def", s, ln)
        elif s.startswith(("while ", "if ")):
            kw, cond = s.split(" ", 1)
            assert cond.endswith(":") and _COND.match(cond[:-1]), f"line {ln}: condition {cond!r}"
            node = Node(kw, s, ln)
        elif s == "halt":
            parent.body.append(Node("halt", s, ln))
            continue
        elif _ASSIGN.match(s):
            parent.body.append(Node("assign", s, ln))
            continue
        else:
            m = _CALL.match(s)
            if parent is root:  # the call of the job function on the last line
                assert m and root.body and m.group(1) + "():" == root.body[0].text[4:], s
                root.body.append(Node("call", s, ln, m.group(1), ""))
                continue
            assert m and m.group(1) in ALLOWED_CALLS, f"line {ln}: not in the emitted subset: {s!r}"
            assert s.count("(") == s.count(")") and s.count("[") == s.count("]") and s.count('"') % 2 == 0
            parent.body.append(Node("call", s, ln, m.group(1), m.group(2)))
            continue
        parent.body.append(node)
        stack.append(node)
    assert len(stack) == 1, "unclosed block at end of program"
    assert len(root.body) == 2 and root.body[0].kind == "def" and root.body[1].kind == "call", "def + call"
    return root.body[0]


def _q_of(args: str) -> np.ndarray:
    inside = args[args.index("[") + 1 : args.index("]")]
    return np.array([float(x) for x in inside.split(",")])


def replay(prog: Node, do: int) -> tuple[list[tuple[np.ndarray, bool]], list[tuple[bool, np.ndarray | None]]]:
    """Walk the main line (fault branches skipped): servoj rows with arc state, and arc switch points.

    The joint target before a switch is that of the last movej/servoj (None after a movel/movec).
    """
    rows: list[tuple[np.ndarray, bool]] = []
    switches: list[tuple[bool, np.ndarray | None]] = []
    arc = False
    last_q: np.ndarray | None = None
    for node in prog.body:
        if node.kind != "call":
            continue
        if node.name == "set_standard_digital_out":
            n, v = (x.strip() for x in node.args.split(","))
            if int(n) == do:
                arc = v == "True"
                switches.append((arc, None if last_q is None else last_q.copy()))
        elif node.name in ("servoj", "movej"):
            last_q = _q_of(node.args)
            if node.name == "servoj":
                rows.append((last_q, arc))
            else:
                assert not arc, "movej while the arc is on"
        elif node.name in ("movel", "movec"):
            assert arc, "movel/movec are weld moves"
            last_q = None
    return rows, switches


@pytest.fixture(scope="module")
def built() -> Built:
    return make_trajectory()


def test_script_parses_and_uses_only_the_subset(built: Built) -> None:
    text = urscript_from_trajectory(built.traj, UrExportOptions(arc_do=3, arc_di=5), LIMITS)
    prog = parse_structure(text)
    assert prog.text == "def weldcell_job():"
    msgs = [n.args for n in prog.body if n.kind == "call" and n.name == "textmsg"]
    assert any("seam S1 arc on" in m for m in msgs) and any("seam S2 arc off" in m for m in msgs)
    ifs = [n for n in prog.body if n.kind == "if" and n.text.startswith("if not")]
    check = next(n for n in prog.body if n.kind == "def" and n.text == "def wc_check(v_min):")
    ifs += [n for n in check.body if n.kind == "if" and n.text.startswith("if not")]
    speed = next(n for n in check.body if n.text == "if v_min > 0:").body[1]
    ifs_all = [*ifs, speed]
    assert ifs and all(any(c.kind == "halt" for c in n.body) for n in ifs_all)
    assert all(
        any(c.name == "set_standard_digital_out" and c.args == "3, False" for c in n.body) for n in ifs_all
    ), "every fault branch switches the arc off"
    assert any(n.name == "wc_check" for n in prog.body), "checks during the welds"
    assert all(
        any(c.name == "set_standard_digital_out" and c.args == "3, False" for c in n.body) for n in ifs
    ), "every fault branch switches the arc off"
    assert all(n.text.startswith("if not get_standard_digital_in(5)") for n in ifs)
    try:  # the weldcell virtual UR controller's parser, when it is there
        from weldcell.drivers.ur.virtual.urscript import Program
    except ImportError:
        return
    Program(text, name="export")


def test_weave_is_a_compact_servo_table_of_plan_samples(built: Built) -> None:
    traj = built.traj
    rows, _ = replay(parse_structure(urscript_from_trajectory(traj, None, LIMITS)), do=0)
    got = np.array([q for q, _ in rows])
    on = traj.q[traj.arc_on]
    # every set-point is a planned sample (printed with 6 decimals), in plan order, far fewer of them
    d = np.abs(got[:, None, :] - on[None, :, :]).max(axis=2)
    assert d.min(axis=1).max() <= 5e-7
    order = d.argmin(axis=1)
    assert np.all(np.diff(order) >= 0)
    assert 10 < len(got) < 0.2 * len(on)


def test_arc_io_at_the_arc_events(built: Built) -> None:
    traj = built.traj
    rows, switches = replay(parse_structure(urscript_from_trajectory(traj, None, LIMITS)), do=0)
    assert all(on for _, on in rows)  # servo tables only while welding
    # switching points: initial off, then on/off per event, final off; arc on where the arm stands
    # at the arc-on sample (the movej before it has blend 0), arc off at the last weld sample
    on_off = [(s, q) for s, q in switches if q is not None][: len(traj.events)]
    assert [s for s, _ in on_off] == [e.kind == "arc_on" for e in traj.events]
    for (_, q), ev in zip(on_off, traj.events, strict=True):
        i = round(ev.t / traj.dt)
        assert q is not None and np.allclose(q, traj.q[i], atol=5e-7), ev
    assert switches[0] == (False, None) and switches[-1][0] is False
    text = urscript_from_trajectory(traj, None, LIMITS)
    for i0, _, _ in built.blocks:
        line = f"movej({_fmt(traj.q[i0])}"
        k = text.index(line)
        assert text[k : text.index("\n", k)].endswith("r=0)")


def _fmt(q: np.ndarray) -> str:
    return "[" + ", ".join(f"{float(x):.6f}" for x in q) + "]"


def test_transit_polyline_within_tolerance(built: Built) -> None:
    traj = built.traj
    tol = 1e-3
    prog = parse_structure(urscript_from_trajectory(traj, UrExportOptions(transit_tolerance=tol), LIMITS))
    # the first transit: movej targets between the start and the first arc on
    movej = []
    for n in prog.body:
        if n.name == "set_standard_digital_out" and n.args == "0, True":
            break
        if n.name == "movej":
            movej.append(_q_of(n.args))
    i_on = built.blocks[0][0]
    assert 2 < len(movej) < 60  # the bump needs waypoints; far fewer than samples
    assert np.allclose(movej[0], traj.q[0], atol=5e-7) and np.allclose(movej[-1], traj.q[i_on], atol=5e-7)
    poly = np.array(movej)
    planned = traj.q[: i_on + 1]
    dist = np.full(len(planned), np.inf)
    for a, b in itertools.pairwise(poly):
        seg = b - a
        s = np.clip((planned - a) @ seg / max(seg @ seg, 1e-300), 0, 1)
        dist = np.minimum(dist, np.linalg.norm(planned - a - s[:, None] * seg, axis=1))
    assert dist.max() <= tol + 1e-6


def test_simplify_joint_path_properties() -> None:
    rng = np.random.default_rng(3)
    q = np.cumsum(rng.normal(0, 0.01, (500, 6)), axis=0)
    idx = simplify_joint_path(q, 0.02)
    assert idx[0] == 0 and idx[-1] == 499 and idx == sorted(idx)
    assert simplify_joint_path(np.zeros((50, 6)), 1e-3) == [0, 49]
    line = np.linspace(0, 1, 100)[:, None] * np.ones(6)
    assert simplify_joint_path(line, 1e-9) == [0, 99]


def test_limits_are_enforced(built: Built) -> None:
    traj = built.traj
    q = traj.q.copy()
    q[100, 2] = 3.3  # elbow beyond ±π
    bad = replace(traj, q=q)
    with pytest.raises(ExportError, match=r"joint 3 \(elbow\) = 3\.3000 rad at t = 0\.200 s"):
        urscript_from_trajectory(bad, None, LIMITS)
    qd = traj.qd.copy()
    qd[50, 0] = 4.0
    with pytest.raises(ExportError, match=r"speed 4\.000 rad/s"):
        urscript_from_trajectory(replace(traj, qd=qd), None, LIMITS)
    jump = traj.q.copy()
    jump[200:, 5] += 0.5  # a step the servo table would have to make in one cycle
    with pytest.raises(ExportError, match="between servo samples"):
        urscript_from_trajectory(replace(traj, q=jump), None, LIMITS)
    with pytest.raises(ExportError, match="Universal Robots"):
        urscript_from_trajectory(replace(traj, robot="kr6_r900"), None, LIMITS)


def test_inconsistent_arc_events_are_refused(built: Built) -> None:
    traj = built.traj
    with pytest.raises(ExportError, match="do not match"):
        urscript_from_trajectory(replace(traj, events=traj.events[:2]), None, LIMITS)
    moved = list(traj.events)
    moved[0] = ArcEvent(moved[0].t + 0.05, "arc_on", "S1")
    with pytest.raises(ExportError, match="do not match the arc-on samples"):
        urscript_from_trajectory(replace(traj, events=tuple(moved)), None, LIMITS)
    arc = traj.arc_on.copy()
    i0 = built.blocks[0][0]
    arc[i0 : i0 + 60] = False  # arc on would now start while the robot moves
    ev = list(traj.events)
    ev[0] = ArcEvent(float(traj.t[i0 + 60]), "arc_on", "S1")
    with pytest.raises(ExportError, match="must be at rest"):
        urscript_from_trajectory(replace(traj, arc_on=arc, events=tuple(ev)), None, LIMITS)


def test_options_validation() -> None:
    with pytest.raises(ExportError, match="0 … 7"):
        UrExportOptions(arc_do=9)
    with pytest.raises(ExportError, match="lookahead"):
        UrExportOptions(lookahead_time=0.5)
    with pytest.raises(ExportError, match="max_lines"):
        UrExportOptions(max_lines=10)
    with pytest.raises(ExportError, match="below weld_tolerance"):
        UrExportOptions(fit_tolerance=2e-4)
    with pytest.raises(ExportError, match="job bits"):
        UrExportOptions(io_map=IoMap(job_bits=(0, 1)))


def test_file_export_requires_a_stamp(built: Built, tmp_path: Path) -> None:
    traj_path = save_trajectory(built.traj, tmp_path / "job.npz")
    out = tmp_path / "out" / "job.script"
    with pytest.raises(StampError):
        export_urscript(traj_path, out, limits=LIMITS, weld_parameters=False)
    assert not out.exists()
    with pytest.raises(ExportError, match="--program"):  # no weld program to take parameters from
        export_urscript(traj_path, out, limits=LIMITS, force_unvalidated=True)
    summary = export_urscript(traj_path, out, limits=LIMITS, force_unvalidated=True, weld_parameters=False)
    assert out.is_file() and summary.seams == ("S1", "S2") and summary.parts == (out,)
    assert 0 < summary.servoj < int(built.traj.arc_on.sum()) / 5 and summary.n_bytes == out.stat().st_size
    assert summary.lines == out.read_text().count("\n")
    assert abs(summary.cycle_time / built.traj.duration - 1) < 0.05
    stamp_for_test(traj_path, built.traj)
    out2 = tmp_path / "validated.script"
    export_urscript(traj_path, out2, limits=LIMITS, weld_parameters=False)
    assert out2.read_text() == out.read_text()


def test_cli_export(built: Built, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from weldcell.cli import app

    traj_path = save_trajectory(built.traj, tmp_path / "job.npz")
    out = tmp_path / "job.script"
    runner = CliRunner()
    res = runner.invoke(app, ["export", str(traj_path), "--format", "urscript", "-o", str(out)])
    assert res.exit_code == 2 and not out.exists()
    assert "validat" in res.output
    res = runner.invoke(
        app,
        [
            "export",
            str(traj_path),
            "--format",
            "urscript",
            "-o",
            str(out),
            "--force-unvalidated",
            "--no-weld-parameters",
            "--arc-do",
            "2",
            "--arc-di",
            "4",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (
        "lines" in res.output and "estimated cycle time" in res.output and "no weld parameters" in res.output
    )
    text = out.read_text()
    parse_structure(text)
    assert "set_standard_digital_out(2, True)" in text and "get_standard_digital_in(4)" in text
    res = runner.invoke(app, ["export", str(traj_path), "--format", "krl", "-o", str(out)])
    assert res.exit_code != 0


def _virtual_core(arc_loopback: tuple[int, int, float] | None) -> Any:
    try:
        from weldcell.drivers.ur.virtual.core import ControllerCore, CoreConfig
    except ImportError:
        pytest.skip("the weldcell virtual UR controller core is not available")
    return ControllerCore(CoreConfig(arm="ur5e", arc_loopback=arc_loopback))


def _run(core: Any, text: str, max_cycles: int) -> list[tuple[np.ndarray, bool]]:
    """Run a program on the virtual controller core; return (joint target, arc output) per cycle."""
    c = core
    assert c.start_program(text, "export") is None
    trace = []
    for _ in range(max_cycles):
        if not c.program_running:
            break
        with c.lock:
            c.step()
        trace.append((c.target_q.copy(), bool(c.digital_out & 1)))
    return trace


def test_exported_program_runs_on_the_virtual_controller(built: Built) -> None:
    from weldcell.drivers.ur.program.replay import compare_with_plan, replay_program

    traj = built.traj
    res = replay_program(urscript_from_trajectory(traj, None, LIMITS), traj, arc_delay=0.05)
    assert res.finished, res.messages[-3:]
    assert np.allclose(res.q[-1], traj.q[-1], atol=1e-5)
    cmp = compare_with_plan(traj, res)
    assert cmp.max_deviation <= 1e-4
    assert abs(cmp.cycle_time_error) <= 0.05


def test_exported_program_halts_without_arc(built: Built) -> None:
    core = _virtual_core(arc_loopback=None)
    text = urscript_from_trajectory(built.traj, UrExportOptions(arc_timeout=0.1), LIMITS)
    trace = _run(core, text, 20000)
    assert not core.program_running
    assert "no arc on seam S1" in core.popup and not trace[-1][1]
    assert np.allclose(trace[-1][0], built.traj.q[built.blocks[0][0]], atol=1e-5)  # stopped at the seam start
