"""Stamps for tests only: synthetic trajectories (small joint moves) that never went through the validator.

weldcell itself has no public way to stamp without validating (``weldcell.sim.stamping`` stamps only
the validator's sealed reports). Driver, exporter and CLI tests still need stamped synthetic moves to
test what happens *after* the stamp check; this helper writes such a stamp with the private writer,
in exactly the format the validator writes. Tests of the stamp check itself use real validations
(``tests/sim/test_stamp.py``).
"""

from __future__ import annotations

from pathlib import Path

from weldcell.sim.stamping import _write_stamp
from weldcell.trajectory import JointTrajectory
from weldcell.trajectory.stamp import StampKey


def stamp_for_test(path: str | Path, traj: JointTrajectory, key: StampKey | None = None) -> Path:
    """Write a passing stamp for ``traj`` next to ``path`` (unkeyed unless ``key`` is given)."""
    return _write_stamp(path, traj, {"passed": True, "n_violations": 0}, key)
