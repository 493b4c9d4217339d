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
    BranchOption,
    KeepConfigurationFailure,
    PlanSpan,
    branch_options,
    choose_branches,
    turn_shifts,
)
from weldcell.program import load_program

sys.path.insert(0, str(Path(__file__).parent))
from job_programs import ribbed_plate

TWO_PI = 2 * np.pi
QD = np.full(6, np.pi)
UP, DOWN = (1, 1, 1), (1, -1, 1)


def _opt(q0: list[float], q1: list[float] | None = None, labels: tuple[int, int, int] = UP) -> BranchOption:
    a = np.asarray(q0, dtype=float)
    b = a if q1 is None else np.asarray(q1, dtype=float)
    return BranchOption(0, np.zeros(6), a, b, labels)


def _cost(
    seq: list[BranchOption], home: np.ndarray, hl: tuple[int, int, int], change: float, keep: bool
) -> float:
    w = 1 / QD
    total, q, lab = 0.0, home, hl
    for i, o in enumerate(seq):
        if keep and i > 0 and o.labels != lab:
            return np.inf
        total += float(np.abs(o.q_start - q) @ w) + change * (o.labels != lab)
        q, lab = o.q_end, o.labels
    return total + float(np.abs(home - q) @ w) + change * (hl != lab)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), keep=st.booleans())
def test_choice_is_the_optimum_of_brute_force(seed: int, keep: bool) -> None:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 5))
    labs = [UP, DOWN, (-1, 1, 1)]
    options = [
        [
            BranchOption(
                0, np.zeros(6), rng.uniform(-3, 3, 6), rng.uniform(-3, 3, 6), labs[int(rng.integers(0, 3))]
            )
            for _ in range(int(rng.integers(1, 4)))
        ]
        for _ in range(m)
    ]
    home = rng.uniform(-1, 1, 6)
    got = choose_branches(options, home, UP, QD, change_cost=1.5, keep_configuration=keep)
    best = min(_cost(list(c), home, UP, 1.5, keep) for c in itertools.product(*options))
    if isinstance(got, KeepConfigurationFailure):
        assert keep and best == np.inf
        return
    assert _cost(got, home, UP, 1.5, keep) == pytest.approx(best)


def test_neighbouring_seams_keep_the_configuration_and_the_base_turn() -> None:
    home = np.zeros(6)
    # seam A sits at base -170°; seam B at +175° or (same poses) -185°, in two configurations
    a = [_opt([np.radians(-170), -1, 1, -1, -1, 0], labels=UP)]
    b = [
        _opt([np.radians(175), -1, 1, -1, -1, 0], labels=UP),
        _opt([np.radians(-185), -1, 1, -1, -1, 0], labels=UP),
        _opt([np.radians(-172), -1.1, 1.1, -1, -1, 0], labels=DOWN),
    ]
    got = choose_branches([a, b], home, UP, QD)
    assert not isinstance(got, KeepConfigurationFailure)
    assert got[1].labels == UP and np.degrees(got[1].q_start[0]) == pytest.approx(-185)


def test_a_flip_is_taken_only_when_it_saves_more_than_it_costs() -> None:
    home = np.zeros(6)
    a = [_opt([0, -1, 1, -1, -1, 0])]
    near_flip = _opt([0.2, -1, 1, -1, -1, 0], labels=DOWN)
    far_same = _opt([0.2, -1, 1, -1, -1, 3.0], labels=UP)  # wrist 3 turns 3 rad: ~1 s
    got = choose_branches([a, [near_flip, far_same]], home, UP, QD, change_cost=3.0)
    assert got[1] is far_same  # type: ignore[index]
    got = choose_branches([a, [near_flip, far_same]], home, UP, QD, change_cost=0.1)
    assert got[1] is near_flip  # type: ignore[index]


def test_keep_configuration_names_the_segment_that_needs_a_flip() -> None:
    home = np.zeros(6)
    opts = [
        [_opt([0] * 6, labels=UP), _opt([0] * 6, labels=DOWN)],
        [_opt([0] * 6, labels=UP)],
        [_opt([0] * 6, labels=DOWN)],
    ]
    got = choose_branches(opts, home, UP, QD, keep_configuration=True)
    assert isinstance(got, KeepConfigurationFailure)
    assert got.position == 2 and got.available == (UP,) and got.offered == (DOWN,)


def test_turn_shifts_stay_inside_the_limits() -> None:
    lo, hi = np.full(6, -TWO_PI), np.full(6, TWO_PI)
    wrap = np.array([True] * 6)
    span = PlanSpan(
        np.zeros(6), np.zeros(6), np.array([-1, -1, -1, -1, -1, 4.0]), np.array([1, 1, 1, 1, 1, 5.0]), UP
    )
    shifts = turn_shifts(span, lo, hi, wrap)
    assert np.all(shifts[0] == 0)
    for d in shifts:
        assert np.all(span.q_min + d >= lo - 1e-9) and np.all(span.q_max + d <= hi + 1e-9)
    assert all(d[5] <= 0 for d in shifts)  # joint 6 at 4-5 rad can only turn back
    assert len(branch_options([span], lo, hi, wrap)) == len(shifts)


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
