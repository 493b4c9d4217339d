"""Dry run in simulation: plan a weld program, validate it in pybullet, stamp it, render a still.

Run headless::

    python examples/04_sim_dry_run.py                         # the short demo T-joint
    python examples/04_sim_dry_run.py programs/pipe_flange.yaml --out /tmp/dry_run

It plans the program, replays the trajectory sample by sample in pybullet (its own kinematics and
collision detection), prints the violations or the per-seam figures, writes the validation stamp
next to the trajectory when everything passed (drivers refuse trajectories without one) and
renders a picture of the cell in the middle of the first weld.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from weldcell.planning import plan_program, save_trajectory
from weldcell.program import load_program
from weldcell.sim import CellModel, PybulletWorld, ValidationOptions, build_scene, validate_in_scene
from weldcell.sim.render import add_trajectory_markers, auto_camera, render
from weldcell.sim.stamping import write_validation_stamp
from weldcell.trajectory.stamp import verify_stamp

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Plan, validate, stamp and render one program; returns 0 if it passed, 1 otherwise."""
    ap = argparse.ArgumentParser(description="plan + validate + stamp one weld program")
    ap.add_argument("program", nargs="?", type=Path, default=ROOT / "programs" / "demo_tjoint.yaml")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary folder)")
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="weldcell_dry_run_"))
    out.mkdir(parents=True, exist_ok=True)

    program = load_program(args.program)
    plan = plan_program(program)
    if plan.trajectory is None:
        print(f"{args.program.name}: planning failed: {plan.reason}")
        return 1
    traj = plan.trajectory
    traj_path = save_trajectory(traj, out / f"{args.program.stem}.npz")
    print(f"planned {traj.duration:.2f} s, {traj.n_samples} samples at {traj.dt * 1e3:.0f} ms -> {traj_path}")

    cell = CellModel.from_program(program)
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        report = validate_in_scene(scene, traj, ValidationOptions(), program)
        add_trajectory_markers(scene, traj, report)
        weld = np.flatnonzero(traj.arc_on)
        i = int(weld[len(weld) // 2]) if weld.size else 0
        scene.set_configuration(traj.q[i], scene.joint_order(traj.joint_names))
        image, _ = render(scene, auto_camera(scene, traj.T_world_tcp[weld] if weld.size else None))
    iio.imwrite(out / "cell.png", image)

    print(
        f"min distance {report.metrics['min_distance_m'] * 1e3:.2f} mm, "
        f"max TCP deviation {report.metrics['max_tcp_deviation_weld_m'] * 1e3:.4f} mm"
    )
    for seam in report.seams:
        print(
            f"  {seam.seam_id}: {seam.arc_time:.2f} s arc, travel {seam.travel_speed_planned * 1e3:.2f} mm/s "
            f"(programmed {seam.travel_speed_programmed * 1e3:.2f}), nozzle clearance "
            f"{seam.min_nozzle_clearance * 1e3:.2f} mm"
        )
    for v in report.violations:
        print("  VIOLATION", v.message())
    if not report.passed:
        print("not stamped")
        return 1
    stamp = write_validation_stamp(report, traj_path)  # only a validator report can be stamped
    verify_stamp(traj_path, traj, cell_hash=cell.content_hash())
    print(f"stamped {stamp}; picture {out / 'cell.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
