"""Dense path checks: the motion bound proves samples free, the flags equal the exact check's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from weldcell.kinematics import load_robot, load_torch
from weldcell.planning.collision import CapsuleCollisionChecker
from weldcell.planning.dense_check import dense_free
from weldcell.program import load_program

sys.path.insert(0, str(Path(__file__).parent))
from test_mesh_fixture import PROGRAM as MESH_PROGRAM

ROOT = Path(__file__).resolve().parents[2]
CASES = [
    ROOT / "programs" / "box_frame.yaml",  # UR5e, floor
    ROOT / "tests" / "planning" / "programs" / "hanging_ur16e_pullback.yaml",  # UR16e, hanging
    ROOT / "tests" / "planning" / "programs" / "kr6_polyline_box.yaml",  # KUKA KR 6
]


def _checker(path: Path) -> tuple[CapsuleCollisionChecker, np.ndarray]:
    cell = load_program(path).cell
    robot = load_robot(cell.robot)
    checker = CapsuleCollisionChecker(robot, load_torch(cell.torch), cell)
    return checker, np.asarray(cell.home_q, dtype=np.float64)


def _paths(rng: np.random.Generator, home: np.ndarray, checker: CapsuleCollisionChecker) -> list[np.ndarray]:
    """Joint paths from home towards random goals: fine (weld-like) and coarse steps, some into bodies."""
    out = []
    lo, hi = checker.robot.q_lower, checker.robot.q_upper  # type: ignore[attr-defined]
    for k in range(12):
        goal = np.clip(home + rng.normal(0.0, 0.8, home.shape), lo, hi)
        m = int(rng.choice([40, 300, 1500]))
        t = np.linspace(0.0, 1.0, m)[:, None]
        wiggle = 0.02 * np.sin(2 * np.pi * (k + 1) * t) * rng.normal(0.0, 1.0, home.shape)
        out.append(home + t * (goal - home) + wiggle)
    return out


@pytest.mark.parametrize("program", CASES, ids=lambda p: p.stem)
def test_dense_flags_equal_the_exact_check(program: Path) -> None:
    checker, home = _checker(program)
    rng = np.random.default_rng(7)
    proven = mixed = 0
    for Q in _paths(rng, home, checker):
        exact = checker.check(Q)
        np.testing.assert_array_equal(dense_free(checker, Q), exact)
        mixed += bool(exact.any() and not exact.all())
        proven += int(exact.sum())
    assert mixed >= 1 and proven > 0  # the paths cross collisions, so both outcomes are compared


def test_nan_samples_are_never_free() -> None:
    checker, home = _checker(CASES[0])
    Q = home + np.linspace(0.0, 0.05, 200)[:, None]
    Q[[5, 16, 17]] = np.nan  # an anchor (16) and two proven candidates
    free = dense_free(checker, Q)
    assert not free[[5, 16, 17]].any()
    np.testing.assert_array_equal(free, checker.check(np.nan_to_num(Q, nan=np.inf)) & np.isfinite(Q).all(1))


def test_mesh_bodies_are_bounded_too(tmp_path: Path) -> None:
    blocks = [
        trimesh.creation.box((40.0, 45.0, 50.0)).apply_translation((560.0, 62.5, 37.0)),
        trimesh.creation.box((40.0, 45.0, 50.0)).apply_translation((840.0, 62.5, 37.0)),
    ]
    trimesh.util.concatenate(blocks).export(tmp_path / "clamp.stl")
    (tmp_path / "mesh.yaml").write_text(
        MESH_PROGRAM.format(clamp="      mesh: {file: clamp.stl, scale: 0.001}")
    )
    checker, home = _checker(tmp_path / "mesh.yaml")
    assert checker.n_mesh_pairs > 0
    for Q in _paths(np.random.default_rng(3), home, checker):
        np.testing.assert_array_equal(dense_free(checker, Q), checker.check(Q))


def test_fine_paths_are_mostly_proven_without_a_query(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the module: a weld-like path needs few exact checks."""
    checker, home = _checker(CASES[0])
    Q = home + np.linspace(0.0, 0.05, 2000)[:, None] * np.array([1.0, -0.5, 0.5, 0.3, 0.2, -1.0])
    assert checker.check(Q).all()
    asked: list[int] = []
    original = checker.check
    monkeypatch.setattr(checker, "check", lambda q: asked.append(len(q)) or original(q))
    assert dense_free(checker, Q).all()
    assert sum(asked) < 0.1 * len(Q)
