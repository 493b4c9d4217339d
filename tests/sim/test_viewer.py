"""Viewer and recorder: headless recording, and the GUI under a virtual display."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from weldcell.errors import ValidationError
from weldcell.sim import CellModel, PybulletWorld, build_scene
from weldcell.sim.viewer import Playback, record
from weldcell.trajectory import JointTrajectory, save_trajectory

HERE = Path(__file__).resolve().parent


def test_headless_recording_has_non_blank_frames(
    tmp_path: Path, good_traj: JointTrajectory, cell: CellModel
) -> None:
    res = record(good_traj, cell, tmp_path / "run.gif", fps=2.0, speed=4.0, width=160, height=120)
    assert res.frames == len(np.arange(0.0, good_traj.duration + 1e-9, 2.0)) + 1
    frames = iio.imread(res.path)
    assert frames.ndim == 4 and frames.shape[1:3] == (120, 160)
    assert all(f.std() > 10 for f in frames)  # every frame shows something
    assert np.abs(frames[0].astype(int) - frames[len(frames) // 2].astype(int)).mean() > 1  # the robot moved
    assert len(res.stills) == 2 and all(p.is_file() for p in res.stills)
    with pytest.raises(ValidationError, match="gif"):
        record(good_traj, cell, tmp_path / "run.avi")


def test_bead_follows_the_arc(good_traj: JointTrajectory, cell: CellModel) -> None:
    with PybulletWorld() as world:
        play = Playback(build_scene(world, cell), good_traj)
        arc = np.flatnonzero(good_traj.arc_on)
        play.show(int(arc[0]) - 1)
        assert len(play._bead_ids) == 0
        play.show(int(arc[len(arc) // 2]))
        half = len(play._bead_ids)
        play.show(good_traj.n_samples - 1)
        full = len(play._bead_ids)
        assert 0 < half < full == len(play.bead_points)
        assert full >= 0.065 / 0.002  # a bead ball every 2 mm over the 65 mm seam
        play.show(0)  # scrubbing back takes the bead away
        assert len(play._bead_ids) == 0


@pytest.mark.gui
@pytest.mark.skipif(
    shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (Debian package xvfb)"
)
def test_gui_viewer_under_xvfb_shows_the_robot(tmp_path: Path, good_traj: JointTrajectory) -> None:
    traj = save_trajectory(good_traj, tmp_path / "demo.npz")
    script = str(HERE / "gui_view_script.py")
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", sys.executable, script, str(traj), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads((tmp_path / "gui.json").read_text())
    assert info["frames"] >= 2
    assert info["last_time"] > 0.0  # playback advanced
    assert info["std"] > 10  # not a blank frame
    assert info["robot_fraction"] > 0.01  # the robot covers part of the picture


def test_headless_recording_of_the_crx(tmp_path: Path) -> None:
    """The viewer on the FANUC CRX-10iA/L (offset wrist, 16-branch IK) with the FANUC-style torch:
    every frame shows the scene, the arm moves, and the bead follows the arc."""
    from sim_helpers import weld_trajectory

    from weldcell.program import load_program

    program = load_program(HERE.parents[1] / "programs" / "fanuc_crx_tjoint.yaml")
    assert program.cell.robot == "crx10ial"
    traj = weld_trajectory(program, seam=0, dt=0.004)
    crx_cell = CellModel.from_program(program)
    res = record(traj, crx_cell, tmp_path / "crx.gif", fps=2.0, speed=4.0, width=160, height=120)
    frames = iio.imread(res.path)
    assert frames.shape[0] == res.frames >= 2 and frames.shape[1:3] == (120, 160)
    assert all(f.std() > 10 for f in frames)
    assert np.abs(frames[0].astype(int) - frames[len(frames) // 2].astype(int)).mean() > 1  # the arm moved
    with PybulletWorld() as world:
        play = Playback(build_scene(world, crx_cell), traj)
        play.show(traj.n_samples - 1)
        assert len(play._bead_ids) > 0
