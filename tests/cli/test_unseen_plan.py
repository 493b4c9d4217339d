"""A plan that cannot weld a seam exits non-zero, names the seam and writes no trajectory.

``tests/program/unseen/ur10e_seam_in_fixture.yaml``: a clamp (fixture) sits across one of two
fillets. The program is valid, so ``check`` passes; ``plan`` must refuse the job and say which seam,
where and why, through the real entry point.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from weldcell.trajectory import JointTrajectory, save_trajectory

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "program" / "unseen" / "ur10e_seam_in_fixture.yaml"

Run = Callable[..., tuple[int, str]]  # the `weldcell` fixture (tests/cli/conftest.py)


def test_seam_just_out_of_reach_fails_the_plan_naming_it(weldcell: Run, tmp_path: Path) -> None:
    program = ROOT / "tests" / "program" / "unseen" / "ur3e_just_out_of_reach.yaml"
    code, text = weldcell("check", program)
    assert code == 0 and "seam 'lap_edge' is out of the robot's reach" in text, text
    code, text = weldcell("plan", program, "-o", tmp_path / "out")
    assert code == 2 and "Traceback" not in text, text
    assert "cannot plan: seam 'lap_edge'" in text and "out of the robot's reach" in text, text
    assert not (tmp_path / "out" / "trajectory.npz").exists()


def test_seam_under_a_clamp_fails_the_plan_naming_it(weldcell: Run, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = weldcell("plan", PROGRAM, "-o", out)
    assert code != 0 and "Traceback" not in text, text
    assert "cannot plan: seam 'clamped_seam'" in text, text
    assert "penetrates clamp" in text, text
    assert "cannot plan: seam 'free_seam'" not in text
    assert not (out / "trajectory.npz").exists()


def _small_trajectory(program_hash: str) -> JointTrajectory:
    n = 5
    return JointTrajectory(
        robot="ur5e",
        joint_names=tuple(f"joint{i}" for i in range(1, 7)),
        dt=0.002,
        t=np.arange(n) * 0.002,
        q=np.tile([0.0, -1.57, 1.57, -1.57, -1.57, 0.0], (n, 1)),
        qd=np.zeros((n, 6)),
        qdd=np.zeros((n, 6)),
        T_world_tcp=np.tile(np.eye(4), (n, 1, 1)),
        arc_on=np.zeros(n, bool),
        seam_index=-np.ones(n, np.int32),
        seam_s=np.full(n, np.nan),
        T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4),
        program_hash=program_hash,
    )


def test_validate_finds_the_program_in_plan_json_like_export(weldcell: Run, tmp_path: Path) -> None:
    """``weldcell plan P; weldcell validate OUT/trajectory.npz`` refused for a missing --program,
    although plan.json beside it names P (export already used it). Now the program named there is
    used, and still checked against the trajectory's program hash."""
    demo = ROOT / "programs" / "demo_tjoint.yaml"
    traj_file = save_trajectory(_small_trajectory("0" * 64), tmp_path / "trajectory.npz")
    code, text = weldcell("validate", traj_file, "-o", tmp_path / "v")
    assert code == 2 and "no plan.json beside it names an existing one" in text, text
    (tmp_path / "plan.json").write_text(json.dumps({"program": str(demo)}))
    code, text = weldcell("validate", traj_file, "-o", tmp_path / "v")
    assert code == 2 and "Traceback" not in text, text
    assert "named in plan.json" in text and "hash" in text and "demo_tjoint.yaml" in text, text
