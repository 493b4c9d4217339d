"""Validation stamp: written after a pass, bound to the trajectory and the model files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from weldcell.errors import StampError
from weldcell.planning.stamp import stamp_path, verify_stamp, write_stamp
from weldcell.planning.trajectory import JointTrajectory, save_trajectory


def _summary(traj: JointTrajectory, files: list[str], passed: bool = True) -> dict:  # type: ignore[type-arg]
    return {
        "passed": passed,
        "n_violations": 0 if passed else 3,
        "trajectory_hash": traj.content_hash(),
        "cell_hash": "c" * 64,
        "cell_files": files,
        "metrics": {"min_distance_m": 0.01},
    }


@pytest.fixture()
def saved(tmp_path: Path, good_traj: JointTrajectory) -> tuple[Path, Path]:
    urdf = tmp_path / "robot.urdf"
    urdf.write_text("<robot name='r'/>")
    return save_trajectory(good_traj, tmp_path / "job.npz"), urdf


def test_write_then_verify(saved: tuple[Path, Path], good_traj: JointTrajectory) -> None:
    path, urdf = saved
    sp = write_stamp(path, good_traj, _summary(good_traj, [str(urdf)]))
    assert sp == stamp_path(path) and sp.name == "job.npz.stamp.json"
    doc = verify_stamp(path, good_traj)
    assert doc["trajectory_hash"] == good_traj.content_hash()
    assert verify_stamp(path, good_traj, cell_hash="c" * 64)["cell_hash"] == "c" * 64


def test_missing_stamp(saved: tuple[Path, Path], good_traj: JointTrajectory) -> None:
    with pytest.raises(StampError, match="has not been validated"):
        verify_stamp(saved[0], good_traj)


def test_stale_stamp_other_trajectory(saved: tuple[Path, Path], good_traj: JointTrajectory) -> None:
    path, urdf = saved
    write_stamp(path, good_traj, _summary(good_traj, [str(urdf)]))
    q = good_traj.q.copy()
    q[100, 0] += 1e-6
    with pytest.raises(StampError, match="stale"):
        verify_stamp(path, dataclasses.replace(good_traj, q=q))


def test_stale_when_model_file_or_cell_changes(saved: tuple[Path, Path], good_traj: JointTrajectory) -> None:
    path, urdf = saved
    write_stamp(path, good_traj, _summary(good_traj, [str(urdf)]))
    with pytest.raises(StampError, match="cell model changed"):
        verify_stamp(path, good_traj, cell_hash="d" * 64)
    urdf.write_text("<robot name='r2'/>")
    with pytest.raises(StampError, match="changed since validation"):
        verify_stamp(path, good_traj)


def test_edited_stamp_is_rejected(saved: tuple[Path, Path], good_traj: JointTrajectory) -> None:
    path, urdf = saved
    sp = write_stamp(path, good_traj, _summary(good_traj, [str(urdf)]))
    doc = json.loads(sp.read_text())
    doc["summary"]["metrics"]["min_distance_m"] = 0.5
    sp.write_text(json.dumps(doc))
    with pytest.raises(StampError, match="edited"):
        verify_stamp(path, good_traj)
    sp.write_text("not json")
    with pytest.raises(StampError, match="unreadable"):
        verify_stamp(path, good_traj)


def test_failed_or_foreign_report_is_not_stamped(
    saved: tuple[Path, Path], good_traj: JointTrajectory
) -> None:
    path, urdf = saved
    with pytest.raises(StampError, match="violation"):
        write_stamp(path, good_traj, _summary(good_traj, [str(urdf)], passed=False))
    other = _summary(good_traj, [str(urdf)]) | {"trajectory_hash": "0" * 64}
    with pytest.raises(StampError, match="another trajectory"):
        write_stamp(path, good_traj, other)
    assert not stamp_path(path).exists()
