"""Job-wide choice of arm configurations and joint turns (planning/job_branches.py)."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.planning import PlanOptions, plan_program
from weldcell.planning.job_branches import (
    KeepConfigurationFailure,
    PlanSpan,
    choose_branches,
    joint_shifts,
)
from weldcell.program import load_program

sys.path.insert(0, str(Path(__file__).parent))
from job_programs import ribbed_plate

TWO_PI = 2 * np.pi
QD = np.full(6, np.pi)
UP, DOWN = (1, 1, 1), (1, -1, 1)
LO, HI = np.full(6, -TWO_PI), np.full(6, TWO_PI)
NO_WRAP = np.zeros(6, dtype=bool)
ALL_WRAP = np.ones(6, dtype=bool)


def _span(q0: list[float], q1: list[float] | None = None, labels: tuple[int, int, int] = UP) -> PlanSpan:
    a = np.asarray(q0, dtype=float)
    b = a if q1 is None else np.asarray(q1, dtype=float)
    return PlanSpan(a, b, np.minimum(a, b), np.maximum(a, b), labels)


def _cost(
    seq: list[tuple[np.ndarray, np.ndarray, tuple[int, int, int]]],
    home: np.ndarray,
    hl: tuple[int, int, int],
    change: float,
    keep: bool,
) -> float:
    w = 1 / QD
    total, q, lab = 0.0, home, hl
    for i, (a, b, labels) in enumerate(seq):
        if keep and i > 0 and labels != lab:
            return np.inf
        total += float(np.abs(a - q) @ w) + change * (labels != lab)
        q, lab = b, labels
    return total + float(np.abs(home - q) @ w) + change * (hl != lab)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), keep=st.booleans())
def test_path_choice_is_the_optimum_of_brute_force(seed: int, keep: bool) -> None:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 5))
    labs = [UP, DOWN, (-1, 1, 1)]
    spans = [
        [
            _span(list(rng.uniform(-3, 3, 6)), list(rng.uniform(-3, 3, 6)), labs[int(rng.integers(0, 3))])
            for _ in range(int(rng.integers(1, 4)))
        ]
        for _ in range(m)
    ]
    home = rng.uniform(-1, 1, 6)
    got = choose_branches(spans, home, UP, QD, LO, HI, NO_WRAP, change_cost=1.5, keep_configuration=keep)
    best = min(
        _cost([(s.q_start, s.q_end, s.labels) for s in c], home, UP, 1.5, keep)
        for c in itertools.product(*spans)
    )
    if isinstance(got, KeepConfigurationFailure):
        assert keep and best == np.inf
        return
    assert _cost([(o.q_start, o.q_end, o.labels) for o in got], home, UP, 1.5, keep) == pytest.approx(best)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_turn_choice_is_the_optimum_of_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 5))
    spans = [[_span(list(rng.uniform(-5, 5, 6)), list(rng.uniform(-5, 5, 6)))] for _ in range(m)]
    home = rng.uniform(-1, 1, 6)
    got = choose_branches(spans, home, UP, QD, LO, HI, ALL_WRAP)
    assert not isinstance(got, KeepConfigurationFailure)
    for o, sp in zip(got, spans, strict=True):  # inside the limits, same poses
        assert np.all(sp[0].q_min + o.shift >= LO - 1e-9) and np.all(sp[0].q_max + o.shift <= HI + 1e-9)
        np.testing.assert_allclose(
            np.mod(o.shift, TWO_PI) * (np.abs(o.shift) > 1e-9) % TWO_PI, 0.0, atol=1e-9
        )
    per_seg = [
        list(itertools.product(*[joint_shifts(sp[0], j, -TWO_PI, TWO_PI) for j in range(6)])) for sp in spans
    ]
    best = (
        min(
            _cost(
                [
                    (sp[0].q_start + np.array(d), sp[0].q_end + np.array(d), UP)
                    for sp, d in zip(spans, c, strict=True)
                ],
                home,
                UP,
                0,
                False,
            )
            for c in itertools.product(*per_seg)
        )
        if np.prod([len(x) for x in per_seg]) <= 20000
        else None
    )
    got_cost = _cost([(o.q_start, o.q_end, UP) for o in got], home, UP, 0, False)
    if best is not None:
        assert got_cost == pytest.approx(best)


def test_neighbouring_seams_keep_the_configuration_and_the_base_turn() -> None:
    home = np.zeros(6)
    # seam A sits at base -170°; seam B at +175° (= -185° after a whole turn), or in another configuration
    a = [_span([np.radians(-170), -1, 1, -1, -1, 0])]
    b = [
        _span([np.radians(175), -1, 1, -1, -1, 0], labels=UP),
        _span([np.radians(-172), -1.1, 1.1, -1, -1, 0], labels=DOWN),
    ]
    got = choose_branches([a, b], home, UP, QD, LO, HI, ALL_WRAP)
    assert not isinstance(got, KeepConfigurationFailure)
    assert got[1].labels == UP and np.degrees(got[1].q_start[0]) == pytest.approx(-185)
    assert got[1].shift[0] == pytest.approx(-TWO_PI)


def test_a_flip_is_taken_only_when_it_saves_more_than_it_costs() -> None:
    home = np.zeros(6)
    a = [_span([0, -1, 1, -1, -1, 0])]
    near_flip = _span([0.2, -1, 1, -1, -1, 0], labels=DOWN)
    far_same = _span([0.2, -1, 1, -1, -1, 3.0], labels=UP)  # wrist 3 turns 3 rad: ~1 s
    got = choose_branches([a, [near_flip, far_same]], home, UP, QD, LO, HI, NO_WRAP, change_cost=3.0)
    assert got[1].plan == 1  # type: ignore[index]
    got = choose_branches([a, [near_flip, far_same]], home, UP, QD, LO, HI, NO_WRAP, change_cost=0.1)
    assert got[1].plan == 0  # type: ignore[index]


def test_keep_configuration_names_the_segment_that_needs_a_flip() -> None:
    home = np.zeros(6)
    z = [0.0] * 6
    spans = [[_span(z, labels=UP), _span(z, labels=DOWN)], [_span(z, labels=UP)], [_span(z, labels=DOWN)]]
    got = choose_branches(spans, home, UP, QD, LO, HI, ALL_WRAP, keep_configuration=True)
    assert isinstance(got, KeepConfigurationFailure)
    assert got.position == 2 and got.available == (UP,) and got.offered == (DOWN,)
    got = choose_branches(spans[:2], home, DOWN, QD, LO, HI, ALL_WRAP, keep_configuration=True)
    assert not isinstance(got, KeepConfigurationFailure) and {o.labels for o in got} == {UP}


def test_joint_shifts_stay_inside_the_limits() -> None:
    span = PlanSpan(
        np.zeros(6), np.zeros(6), np.array([-1, -1, -1, -1, -1, 4.0]), np.array([1, 1, 1, 1, 1, 5.0]), UP
    )
    np.testing.assert_allclose(joint_shifts(span, 5, -TWO_PI, TWO_PI), [0.0, -TWO_PI])
    np.testing.assert_allclose(joint_shifts(span, 0, -7.5, 7.5), [0.0, -TWO_PI, TWO_PI])
    np.testing.assert_allclose(joint_shifts(span, 0, -np.pi, np.pi), [0.0])


@pytest.mark.parametrize(("robot", "mount", "ribs"), [("ur10e", "floor", 6), ("ur5e", "ceiling", 5)])
def test_many_close_seams_without_flips_and_less_joint_travel(
    tmp_path: Path, robot: str, mount: str, ribs: int
) -> None:
    prog = load_program(ribbed_plate(tmp_path / "p.yaml", robot, mount=mount, ribs=ribs))
    per_seam = plan_program(prog, PlanOptions(job_configurations=False))
    job = plan_program(prog, PlanOptions())
    kept = plan_program(prog, PlanOptions(keep_configuration=True))
    for r in (per_seam, job, kept):
        assert r.ok, r.reason
        assert r.motion is not None
    assert job.motion.configuration_changes == 0  # type: ignore[union-attr]
    assert kept.motion.configuration_changes == 0  # type: ignore[union-attr]
    assert job.motion.joint_travel <= per_seam.motion.joint_travel + 1e-6  # type: ignore[union-attr]
    # neighbouring seams 100 mm apart: no move between them turns a joint by half a turn
    between = [m for m in job.motion.moves if m.kind == "transit" and "home" not in m.label]  # type: ignore[union-attr]
    assert between
    traj = job.trajectory
    assert traj is not None
    for m in between:
        a = round(m.t_start / traj.dt)
        b = a + round(m.duration / traj.dt)
        assert np.max(np.abs(traj.q[b] - traj.q[a])) < np.pi / 2
    assert traj.metadata["motion"]["configuration_changes"] == 0


def test_keep_configuration_failure_names_the_seam(tmp_path: Path) -> None:
    from dataclasses import replace

    from weldcell.kinematics import load_robot, load_torch
    from weldcell.planning.collision import CapsuleCollisionChecker
    from weldcell.planning.planner import _job_branches, _plan_direction, _Planned
    from weldcell.toolpath import toolpaths_for_program

    prog = load_program(ribbed_plate(tmp_path / "p.yaml", "ur10e", ribs=3))
    cell = prog.cell
    robot = load_robot(cell.robot)
    chk = CapsuleCollisionChecker(robot, load_torch(cell.torch), cell, None)
    planned = [
        _plan_direction(robot, chk, seg, False, cell, PlanOptions()) for seg in toolpaths_for_program(prog)
    ]
    assert all(isinstance(p, _Planned) for p in planned)
    # pretend seam s2 can only be welded with the elbow the other way round
    p2 = planned[2]
    assert isinstance(p2, _Planned)
    flipped = np.asarray(p2.path.labels) * np.array([1, -1, 1])
    planned[2] = replace(p2, path=replace(p2.path, labels=flipped), alternatives=())
    for p in planned[:2]:  # and the others only in their own
        assert isinstance(p, _Planned)
    planned[:2] = [replace(p, alternatives=()) for p in planned[:2]]  # type: ignore[union-attr]
    msg = _job_branches(
        robot,
        planned,  # type: ignore[arg-type]
        np.asarray(cell.home_q),
        PlanOptions(keep_configuration=True),
        lambda p, path: p,
        lambda p: 0.0,
    )
    assert isinstance(msg, str)
    assert "seam 's2'" in msg and "keep-configuration" in msg and "elbow" in msg
    ok = _job_branches(
        robot,
        planned,
        np.asarray(cell.home_q),
        PlanOptions(),
        lambda p, path: p,
        lambda p: 0.0,  # type: ignore[arg-type]
    )
    assert isinstance(ok, list) and len(ok) == 3
