"""Weld one job on connected devices: the cell controller with its approver, weld log, collision
checker and (optionally) OPC UA server (:func:`weld`), the one place a job is run or resumed."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from weldcell.app.planvalidate import collision_checker_for
from weldcell.app.progress import Progress, ProgressFn
from weldcell.cell.approval import MotionApprover, SimApprover, StampOnly
from weldcell.cell.arcbudget import check_arc_off_budget
from weldcell.cell.controller import CellConfig, CellController, CellEvent
from weldcell.cell.jobtypes import ProgramArc, ProgramMode
from weldcell.cell.state import CellState
from weldcell.cell.weldlog import JobTrace, WeldLog
from weldcell.drivers.realtime import thread_priority
from weldcell.errors import ValidationError
from weldcell.trajectory.stamp import FROM_ENVIRONMENT, KeySource, StampKey, resolve_stamp_key

log = logging.getLogger(__name__)

#: ``SCHED_FIFO`` priority of the process's ordinary threads while a job runs (the lowest: below
#: every streaming, heartbeat and positioner thread, above every ordinary process; see :func:`weld`)
JOB_THREAD_PRIORITY = 1

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.drivers.positioner import PositionerPort
    from weldcell.drivers.powersource.base import PowerSource, WeldParams
    from weldcell.program.model import Program
    from weldcell.trajectory import JointTrajectory


def _event_to_progress(progress: ProgressFn) -> Callable[[CellEvent], None]:
    def relay(ev: CellEvent) -> None:
        progress(Progress(ev.kind, ev.message, dict(ev.data)))

    return relay


def weld(
    *,
    robot: RobotDriver,
    power: PowerSource,
    program: Program,
    traj: JointTrajectory,
    traj_path: Path,
    log_path: Path | str,
    out_dir: Path,
    part_serial: str,
    params: dict[str, WeldParams],
    config: CellConfig,
    timeout: float,
    progress: ProgressFn,
    recover_job: int | None = None,
    stamp_key: StampKey | KeySource | None = FROM_ENVIRONMENT,
    program_mode: ProgramMode | None = None,
    positioner: PositionerPort | None = None,
    trace: JobTrace | None = None,
    opcua: str | None = None,
    approver: MotionApprover | None = None,
) -> tuple[CellState, str, int]:
    """Run one job on connected devices, or continue the interrupted job ``recover_job`` of the log
    (:meth:`CellController.recover_job`). Returns (final state, message, weld-log job id).

    ``stamp_key`` is the cell's stamp key: the approver and the robot driver check every stamp
    with it, and the approver stamps the cell's own motions with it. ``program_mode``: run the job
    as one controller program (None: stream it). ``program`` may be None only in program mode: the
    job then runs from where it was planned to start, and the cell validates no move of its own.
    ``positioner``: the connected positioner streamed with the robot (trajectories with external axes).
    ``opcua``: publish the cell over OPC UA on this ``opc.tcp://`` endpoint while the job runs
    (:mod:`weldcell.cell.opcua`).
    ``approver``: the job's motion approver, built before the robot connected (see
    :func:`prebuilt_approver`); None: built here. Either way it is closed when the job ends.
    """
    from weldcell.drivers.powersource.dryrun import ArcDisabled

    key = resolve_stamp_key(stamp_key)
    robot.stamp_key = key
    dry = isinstance(power, ArcDisabled) and (program_mode is None or program_mode.arc is ProgramArc.DRY_RUN)
    check_arc_off_budget(robot, config)
    if approver is None:
        if program is not None:
            approver = SimApprover(program, out_dir / "motions", stamp_key=key)
        elif program_mode is not None:
            approver = StampOnly(
                f"the weld program {Path(traj_path).name} was planned from is not next to it (the "
                "simulator needs its cell); run the program .yaml, or jog the robot to the job's start",
                stamp_key=key,
            )
        else:
            raise ValidationError(f"{traj_path}: the weld program it was planned from is needed to run it")
    with contextlib.ExitStack() as plant, WeldLog(log_path) as wlog:
        on_event = _event_to_progress(progress)
        on_sample = None
        if opcua is not None:
            from weldcell.cell.opcua import OpcUaCellServer

            server = plant.enter_context(OpcUaCellServer(opcua, traj.robot, traj.joint_names))
            relay = on_event

            def on_event(ev: CellEvent) -> None:
                server.on_event(ev)
                relay(ev)

            on_sample = server.on_sample
            progress(Progress("stage", f"OPC UA: publishing the cell on {opcua}"))
        ctl = CellController(
            robot,
            power,
            wlog,
            config,
            checker=collision_checker_for(program) if program is not None else None,
            params=params,
            approver=approver,
            on_event=on_event,
            program_mode=program_mode,
            positioner=positioner,
            on_sample=on_sample,
        )
        ctl.trace = trace_for_program(program, trace or JobTrace())
        # the process's ordinary threads (this one, the cell worker and the progress relay it
        # starts, any other) at the lowest real-time priority while the job runs: preempted holding
        # the GIL by ordinary processes, they would stall the streaming driver, the power source
        # heartbeat and the positioner stream of this process (issue 18)
        with thread_priority(JOB_THREAD_PRIORITY, "job threads") as notes:
            for note in notes:
                log.debug("weld: job threads: %s", note)
            try:
                if recover_job is None:
                    ctl.load(
                        traj,
                        program_path=str(Path(program.path).resolve()) if program is not None else "",
                        trajectory_path=str(Path(traj_path).resolve()),
                        part_serial=part_serial or ("DRY RUN" if dry else ""),
                    )
                    job_id = ctl.start()
                    if dry:
                        wlog.add_event(job_id, "dry_run", "arc disabled: dry run, nothing is welded")
                    if program_mode is not None:
                        wlog.add_event(
                            job_id,
                            "program_mode",
                            f"the job runs as one controller program (arc: {program_mode.arc.value})",
                            data={"arc": program_mode.arc.value},
                        )
                    progress(Progress("stage", f"welding job {job_id} …"))
                else:
                    ctl.recover_job(recover_job, traj, trajectory_path=traj_path)
                    job_id = recover_job
                    ctl.resume()
                    progress(Progress("stage", f"resuming job {job_id} …"))
                state = ctl.wait(timeout)
                return state, ctl.last_error or "job complete", job_id
            except KeyboardInterrupt:
                ctl.estop("operator interrupt (Ctrl-C)")
                raise
            finally:
                ctl.close()
                approver.close()


def trace_for_program(program: Program | None, trace: JobTrace) -> JobTrace:
    """``trace`` with the WPS of each seam: the name of its procedure in the program.

    A seam's procedure is the program's record of its WPS (docs/weld-log.md); ``trace.wps_id`` (the
    ``--wps`` option) names the WPS of seams without a program (a trajectory run in program mode).
    """
    if program is None:
        return trace
    by_seam = tuple((s.id, s.procedure) for s in program.seams)
    return dataclasses.replace(trace, wps_by_seam=by_seam)


def prebuilt_approver(
    program: Program | None, out_dir: Path, stamp_key: StampKey | None
) -> MotionApprover | None:
    """The job's :class:`SimApprover`, to build *before* the robot connects (None: none to prebuild).

    Building its pybullet scene (URDFs, meshes) holds the GIL for 0.1 s unloaded and for seconds on a
    loaded machine (1.9 s measured at load 13): a streaming driver already connected cannot answer
    its controller meanwhile (a FANUC then coasts and drops "motion possible"). Programs with touch
    patterns get theirs after touch sensing (their part pose changes the scene).
    """
    if program is None or program.touch:
        return None
    return SimApprover(program, out_dir / "motions", stamp_key=stamp_key)
