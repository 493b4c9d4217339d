"""Run the GUI viewer for a moment and save a screenshot (used by test_viewer under xvfb-run).

Usage: python gui_view_script.py TRAJECTORY.npz OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from weldcell.program import load_program
from weldcell.sim import CellModel
from weldcell.sim.viewer import view
from weldcell.trajectory import load_trajectory

ROOT = Path(__file__).resolve().parents[2]


def main(traj_path: Path, out: Path) -> None:
    program = load_program(ROOT / "programs" / "demo_tjoint.yaml")
    traj = load_trajectory(traj_path)
    cell = CellModel.from_program(program)
    res = view(traj, cell, speed=5.0, exit_after=1.0, screenshot=(320, 240), window_size=(480, 360))
    assert res.screenshot is not None and res.segmentation is not None
    iio.imwrite(out / "gui.png", res.screenshot)
    info = {
        "frames": res.frames,
        "last_time": res.last_time,
        "robot_fraction": float(np.mean(res.segmentation == res.robot_id)),
        "std": float(res.screenshot.std()),
    }
    (out / "gui.json").write_text(json.dumps(info))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
