"""A job with touch sensing: locate the parts, correct the program, plan and validate again, weld.

:func:`touch_and_weld` runs every touch pattern of the program on the connected cell
(:class:`weldcell.cell.touch.TouchRunner`, every move validated by the approver), moves the parts
and their seams to where they were measured (:func:`weldcell.cell.touch.program_with_part_pose`),
plans and validates the corrected program (nothing unvalidated is ever run), welds it through the
cell controller and records the measured offsets per part in the weld log (``part_offsets``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.app.planvalidate import collision_checker_for, plan_and_validate
from weldcell.app.progress import Progress, ProgressFn
from weldcell.app.weld import weld
from weldcell.cell.approval import MotionApprover
from weldcell.cell.controller import CellConfig
from weldcell.cell.jobparams import params_from_program
from weldcell.cell.state import CellState
from weldcell.cell.touch import PartRegistration, locate_parts, program_with_part_pose, record_part_offsets
from weldcell.trajectory import JointTrajectory
from weldcell.trajectory.stamp import FROM_ENVIRONMENT, KeySource, StampKey, resolve_stamp_key

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.drivers.powersource import PowerSource
    from weldcell.program.model import Program


@dataclass(frozen=True)
class TouchJobResult:
    """Outcome of :func:`touch_and_weld`.

    Attributes:
        state: Final cell state.
        message: "job complete" or the reason it stopped.
        job_id: Weld-log job id.
        registrations: Measured pose per touched part.
        program: The corrected program that was welded.
        trajectory: Its validated trajectory.
        trajectory_path: The trajectory file (with its stamp).
    """

    state: CellState
    message: str
    job_id: int
    registrations: tuple[PartRegistration, ...]
    program: Program
    trajectory: JointTrajectory
    trajectory_path: Path


def touch_and_weld(
    *,
    robot: RobotDriver,
    power: PowerSource,
    program: Program,
    out_dir: Path,
    log_path: Path,
    config: CellConfig | None = None,
    part_serial: str = "",
    timeout: float = 600.0,
    progress: ProgressFn | None = None,
    stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT,
    T_flange_tcp: npt.NDArray[np.float64] | None = None,
    approver: MotionApprover | None = None,
    touch_speed_scale: float = 0.5,
    use_jobs: bool | None = False,
) -> TouchJobResult:
    """Touch, correct, re-plan, re-validate and weld one part (devices connected).

    Args:
        robot: Connected robot driver.
        power: Connected power source with touch sensing.
        program: The program with at least one touch pattern.
        out_dir: Folder for the trajectory, report, stamps and the cell's moves.
        log_path: The weld log.
        config: Cell configuration (default: defaults).
        part_serial: Serial number of the part for the log.
        timeout: Longest weld time [s].
        progress: Progress callback.
        stamp_key: The cell's stamp key (see :func:`weldcell.app.weld.weld`).
        T_flange_tcp: The cell's calibrated TCP (default: the program's torch).
        approver: Approves the touch moves (default: ``SimApprover`` of the nominal program).
        touch_speed_scale: Fraction of the joint limits for the moves between searches.
        use_jobs: Job numbers or parameters to the power source (``params_from_program``).

    Raises:
        TouchSenseError: a search without contact, or a part too far off.
        PlanningError / ValidationError: the corrected program cannot be planned or validated.
    """
    say: ProgressFn = progress or (lambda _p: None)
    config = config or CellConfig()
    out_dir.mkdir(parents=True, exist_ok=True)
    key = resolve_stamp_key(stamp_key)
    robot.stamp_key = key
    regs, corrected, traj, traj_path, _ = locate_and_replan(
        robot,
        power,
        program,
        Path(program.path),
        out_dir,
        say,
        stamp_key=key,
        T_flange_tcp=T_flange_tcp,
        approver=approver,
        touch_speed_scale=touch_speed_scale,
    )
    state, message, job_id = weld(
        robot=robot,
        power=power,
        program=corrected,
        traj=traj,
        traj_path=traj_path,
        log_path=log_path,
        out_dir=out_dir,
        part_serial=part_serial,
        params=params_from_program(corrected, use_jobs=use_jobs),
        config=config,
        timeout=timeout,
        progress=say,
        stamp_key=key,
    )
    record_part_offsets(log_path, job_id, regs)
    return TouchJobResult(state, message, job_id, regs, corrected, traj, traj_path)


def locate_and_replan(
    robot: RobotDriver,
    power: PowerSource,
    program: Program,
    program_path: Path,
    out_dir: Path,
    say: ProgressFn,
    *,
    stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT,
    T_flange_tcp: npt.NDArray[np.float64] | None = None,
    approver: MotionApprover | None = None,
    touch_speed_scale: float = 0.5,
) -> tuple[tuple[PartRegistration, ...], Program, JointTrajectory, Path, Path]:
    """Run the program's touch patterns, move the parts to where they were measured, and plan and
    validate the corrected program again (nothing unvalidated is ever run).

    Args:
        robot: Connected robot driver (its ``stamp_key`` is set to the cell's key).
        power: Connected power source with touch sensing.
        program: The program with at least one touch pattern.
        program_path: The program's file (names the plan).
        out_dir: Folder for the touch moves, the trajectory, the report and the stamps.
        say: Progress callback.
        stamp_key: The cell's stamp key.
        T_flange_tcp: The cell's calibrated TCP, shape (4, 4) [m] (default: the program's torch).
        approver: Approves the touch moves (default: ``SimApprover`` of the nominal program).
        touch_speed_scale: Fraction of the joint limits for the moves between searches.

    Returns:
        (registrations, corrected program, its trajectory, trajectory path, report path).

    Raises:
        TouchSenseError: a search without contact, or a part too far off.
        PlanningError / ValidationError: the corrected program cannot be planned or validated.
    """
    key = resolve_stamp_key(stamp_key)
    robot.stamp_key = key
    say(Progress("stage", f"touch sensing: {len(program.touch)} pattern(s) …"))
    regs = locate_parts(
        robot,
        power,
        program,
        out_dir / "touch_motions",
        stamp_key=key,
        checker_for=collision_checker_for,
        T_flange_tcp=T_flange_tcp,
        approver=approver,
        speed_scale=touch_speed_scale,
        say=lambda m: say(Progress("touch", m)),
    )
    corrected = program_with_part_pose(program, regs)
    _, traj, traj_path, report_path = plan_and_validate(
        program_path, out_dir, say, stamp_key=key, program=corrected
    )
    return regs, corrected, traj, traj_path, report_path


__all__ = ["TouchJobResult", "locate_and_replan", "touch_and_weld"]
