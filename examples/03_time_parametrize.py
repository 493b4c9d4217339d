"""Example 3: from a weld program to a timed joint trajectory, and a look at its timing.

Plans ``programs/demo_tjoint.yaml`` (seam search, transit moves, constant-speed weld), prints the
cycle / arc / air times and the speed along the seam, then times a single joint move with
``plan_joint_move``. Headless; run ``python examples/03_time_parametrize.py [OUT_DIR]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from weldcell.kinematics import load_robot, load_torch
from weldcell.planning import (
    CapsuleCollisionChecker,
    LadderOptions,
    PlanOptions,
    load_trajectory,
    plan_joint_move,
    plan_program,
    save_trajectory,
)
from weldcell.program import load_program

ROOT = Path(__file__).resolve().parents[1]


def main(out_dir: Path) -> None:
    """Plan the demo program, save and reload the trajectory, print its timing."""
    program = load_program(ROOT / "programs" / "demo_tjoint.yaml")
    result = plan_program(program, PlanOptions(ladder=LadderOptions(rotation_samples=24)))
    if not result.ok:
        print("cannot plan:", result.reason)
        sys.exit(2)
    path = save_trajectory(result.trajectory, out_dir / "trajectory.npz")
    traj = load_trajectory(path)
    print(f"{program.name}: {traj.n_samples} samples at {traj.dt * 1e3:.0f} ms -> {path}")
    print(f"cycle {result.cycle_time:.2f} s, arc {result.arc_time:.2f} s, air {result.air_time:.2f} s")
    for on, off in zip(traj.events[::2], traj.events[1::2], strict=True):
        i0, i1 = round(on.t / traj.dt), round(off.t / traj.dt)
        v = np.abs(np.diff(traj.seam_s[i0 : i1 + 1])) / traj.dt
        print(
            f"  {on.seam_id}: arc on at {on.t:.2f} s, off at {off.t:.2f} s; "
            f"seam speed max {v.max() * 1e3:.2f} mm/s (programmed {traj.travel_speed[on.seam_id] * 1e3:.1f})"
        )
    robot = load_robot(program.cell.robot)
    checker = CapsuleCollisionChecker(robot, load_torch(program.cell.torch), program.cell)
    home = np.asarray(program.cell.home_q)
    move = plan_joint_move(robot, home, home + np.array([0.5, 0.2, -0.3, 0.0, 0.4, 1.0]), checker)
    peak = np.max(np.abs(move.qd) / robot.qd_max)
    print(f"joint move: {move.duration:.2f} s, peak speed {peak * 100:.0f} % of the joint limits")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
