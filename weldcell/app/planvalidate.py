"""Plan a weld program and validate it in simulation: the composition of planner and simulator.

:func:`plan_and_validate` plans a program (:func:`weldcell.planning.plan_program`), validates the
trajectory in pybullet (:func:`weldcell.sim.validate_trajectory`), and writes the trajectory, the
report and the validation stamp; :func:`check_job_input` checks a job file fast (no planning);
:func:`program_for` finds the program a trajectory was planned from; :func:`collision_checker_for`
builds the planner's collision checker of a program's cell for the moves the cell plans itself
(re-approach after a fault, touch sensing).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weldcell.app.progress import Progress, ProgressFn
from weldcell.cell.calibrated import load_program_for_cell
from weldcell.errors import PlanningError, ValidationError, WeldcellError
from weldcell.resources import data_dir
from weldcell.trajectory import JointTrajectory, load_trajectory, save_trajectory
from weldcell.trajectory.stamp import FROM_ENVIRONMENT, KeySource, StampKey, verify_stamp

if TYPE_CHECKING:
    from weldcell.cell.cellconfig import CellSetup
    from weldcell.planning.collision import CollisionChecker
    from weldcell.program.model import Program

log = logging.getLogger(__name__)

#: The folder of the bundled programs, searched for a trajectory's program after its own folder.
PROGRAMS_DIR = data_dir("programs")


def plan_and_validate(
    program_path: Path,
    out_dir: Path,
    progress: ProgressFn,
    *,
    stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT,
    program: Program | None = None,
) -> tuple[Any, JointTrajectory, Path, Path]:
    """Load, plan and validate a program; write trajectory, report and stamp into ``out_dir``.

    ``stamp_key`` is the cell's stamp key (None: unkeyed stamp; default ``$WELDCELL_STAMP_KEY``).
    ``program``: an already loaded (e.g. touch-corrected) program to plan instead of loading
    ``program_path`` (which then only names it).

    Returns:
        (program, trajectory, trajectory path, report path).

    Raises:
        PlanningError: planning failed (the reason names the seam).
        ValidationError: the plan failed validation (the report is still written).
    """
    from weldcell.planning import plan_program
    from weldcell.program import load_program
    from weldcell.sim import validate_trajectory
    from weldcell.sim.stamping import write_validation_stamp

    if program is None:
        program = load_program(program_path)
    report_path = out_dir / "validation.json"
    # Planning is deterministic (same program, same trajectory), so a plan the simulator rejects
    # is reported, not planned again.
    progress(Progress("stage", f"planning {program_path.name}: {len(program.seams)} seam(s) …"))
    t0 = time.monotonic()
    stage = [""]

    def planner_stage(fraction: float, message: str) -> None:  # one line per planner stage
        if message != stage[0]:
            stage[0] = message
            progress(Progress("plan", f"  planning {fraction:4.0%} {message}", {"fraction": fraction}))

    plan = plan_program(program, progress=planner_stage)
    if plan.trajectory is None:
        raise PlanningError(f"planning {program_path.name} failed: {plan.reason}")
    traj = plan.trajectory
    progress(
        Progress(
            "stage",
            f"planned in {time.monotonic() - t0:.1f} s: {traj.duration:.1f} s of motion, "
            f"{traj.n_samples} samples at {1 / traj.dt:.0f} Hz",
        )
    )
    traj_path = save_trajectory(traj, out_dir / "trajectory.npz")
    t0 = time.monotonic()
    report = validate_trajectory(traj, program)
    report_path.write_text(report.to_json())
    if not report.passed:
        first = report.violations[0].message() if report.violations else ""
        raise ValidationError(
            f"{program_path.name}: validation found {len(report.violations)} violation(s): "
            f"{first} (report: {report_path})"
        )
    write_validation_stamp(report, traj_path, key=stamp_key)
    progress(
        Progress("stage", f"validated in simulation in {time.monotonic() - t0:.1f} s: passed, stamp written")
    )
    return program, traj, traj_path, report_path


def collision_checker_for(program: Program) -> CollisionChecker | None:
    """The capsule collision checker of the program's cell, for planning re-approach moves."""
    try:
        from weldcell.kinematics import load_robot, load_torch
        from weldcell.planning import CapsuleCollisionChecker

        cell = program.cell
        return CapsuleCollisionChecker(load_robot(cell.robot), load_torch(cell.torch), cell)
    except WeldcellError as err:
        log.warning("no collision checker for re-approach planning (%s)", err)
        return None


def check_job_input(
    job: Path,
    *,
    stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT,
    setup: CellSetup | None = None,
) -> None:
    """Check that ``job`` is a readable weld program or a stamped trajectory (fast; no planning).

    ``stamp_key``: the cell's stamp key a trajectory's stamp must be signed with (see
    :func:`weldcell.trajectory.stamp.verify_stamp`). ``setup``: the cell configuration whose
    calibrated frames the program may name.

    Raises:
        ProgramError: a program that does not load.
        TrajectoryFormatError: a file that is not a weldcell trajectory.
        StampError: a trajectory without a matching validation stamp.
    """
    if job.suffix.lower() in (".yaml", ".yml"):
        load_program_for_cell(job, setup)
    else:
        verify_stamp(job, load_trajectory(job), key=stamp_key)


def program_for(traj: JointTrajectory, traj_path: Path) -> Any | None:
    """The loaded program next to the trajectory (or in programs/) whose hash the trajectory records."""
    import hashlib

    from weldcell.program import load_program

    for folder in (traj_path.parent, PROGRAMS_DIR):
        for p in sorted(folder.glob("*.y*ml")):
            if hashlib.sha256(p.read_bytes()).hexdigest() == traj.program_hash:
                return load_program(p)
    return None
