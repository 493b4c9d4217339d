"""Run a job on a cell: ``weldcell cell run`` (:func:`run_job`, options :class:`RunOptions`).

:func:`run_job` checks the addresses and the job, plans and validates a program (or loads a validated
trajectory), connects the devices through the driver registry (:func:`~weldcell.app.devices.open_devices`),
locates the parts by touch sensing and plans again if the program asks for it, and welds the job
through the cell controller (:func:`~weldcell.app.weld.weld`). It returns a
:class:`~weldcell.app.progress.CellRunResult` and reports progress through a callback; it never
prints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weldcell.app.devices import check_driver_options, check_robot_url, end_robot_session, open_devices
from weldcell.app.planvalidate import check_job_input, plan_and_validate, program_for
from weldcell.app.progress import CellRunResult, Progress, ProgressFn
from weldcell.app.touchjob import locate_and_replan
from weldcell.app.weld import prebuilt_approver, weld
from weldcell.cell.calibrated import check_trajectory_tcp, load_program_for_cell
from weldcell.cell.cellconfig import CellSetup
from weldcell.cell.controller import CellConfig
from weldcell.cell.jobparams import params_from_program
from weldcell.cell.jobtypes import ProgramArc, ProgramMode
from weldcell.cell.positioner_cell import check_positioner_option, sync_figures
from weldcell.cell.touch import record_part_offsets
from weldcell.cell.weldlog import JobTrace, WeldLog
from weldcell.errors import DriverConnectionError, ValidationError, WeldcellError
from weldcell.trajectory import JointTrajectory, load_trajectory
from weldcell.trajectory.stamp import FROM_ENVIRONMENT, resolve_stamp_key, verify_stamp

if TYPE_CHECKING:
    from weldcell.program.model import Program


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Options of :func:`run_job` (a real cell).

    Attributes:
        job: Weld program (``.yaml``) or a planned trajectory (``.npz``, validated, with its stamp).
        robot_url: Robot address for the driver registry: ``ur://HOST[:RTDE_PORT]``,
            ``kuka-rsi://BIND_HOST:PORT``, ``fanuc://HOST[:PORT]`` or ``virtual`` (an in-process
            simulated robot); see :func:`weldcell.app.devices.connect_cell_robot`.
        powersource_url: ``modbus://HOST:PORT``, or None for a dry run with the arc disabled.
        log_path: Weld log: a file, ``sqlite:///PATH`` or ``postgresql://…``.
        trace: Cell, operator, consumable batches and WPS recorded with the job (see :class:`JobTrace`).
        out_dir: Folder for the planned trajectory, report and motion stamps.
        part_serial: Serial recorded in the weld log.
        use_power_source_jobs: True: select the procedure's stored job number on the power source;
            False: send wire feed and voltage (parameter mode); None: parameters when the procedure
            has them, else its job (see :func:`params_from_program`).
        job_timeout: Longest time the job may take [s].
        stamp_key: The cell's stamp key file: the job's stamp must be signed with it and the cell
            stamps its own motions with it (None: ``$WELDCELL_STAMP_KEY`` if set, else unkeyed).
        config: Cell settings (interlocks, arc, power-source timeout; ``--cell-config``).
        driver_options: The robot driver's own connection options, by name: only those the driver
            of ``robot_url`` declares (:func:`weldcell.drivers.registry.driver_options`; e.g. a UR
            controller's ``dashboard_port``, ``script_port``, ``power_on``); any other name is an
            error before anything is planned or connected. Empty: the driver's defaults.
        connect_timeout: Longest wait for the robot at connect [s] (None: the driver's
            ``default_connect_timeout``, else 15 s; e.g. an RSI robot waits for the operator to start
            the KRL program).
        program_mode: Run the job as one controller program (UR program mode, see
            :mod:`weldcell.cell.programjob`) under the same supervision and weld log; False: stream it.
        arc_output: Program mode only: the power source is wired to the robot, the arc on this digital
            output and "arc established" on ``arc_input`` (None: the arc goes through
            ``powersource_url``, or a dry run without one).
        arc_input: Program mode: robot digital input "arc established" (with ``arc_output``).
        positioner_url: The positioner streamed with the robot (``modbus-positioner://HOST:PORT``);
            required exactly when the trajectory has external axes.
        opcua: Publish the cell over OPC UA on this ``opc.tcp://HOST:PORT`` endpoint (None: no server).
        cell_setup: The loaded cell configuration whose calibration the job uses: a program's bodies
            may name its ``calibration.frames`` and its ``calibration.tcp_xyz_mm`` replaces the torch
            model's TCP for planning, validation and execution; a planned trajectory must have been
            planned with that TCP (:mod:`weldcell.cell.calibrated`). None: no calibration.
    """

    job: Path
    robot_url: str
    powersource_url: str | None
    log_path: Path | str = Path("weldlog.sqlite")
    trace: JobTrace = field(default_factory=JobTrace)
    out_dir: Path = Path("weldcell-out")
    part_serial: str = ""
    use_power_source_jobs: bool | None = None
    job_timeout: float = 3600.0
    stamp_key: Path | None = None
    config: CellConfig | None = None
    driver_options: Mapping[str, Any] = field(default_factory=dict)
    connect_timeout: float | None = None
    program_mode: bool = False
    arc_output: int | None = None
    arc_input: int = 0
    positioner_url: str | None = None
    opcua: str | None = None
    cell_setup: CellSetup | None = None

    def program(self) -> ProgramMode | None:
        """The cell's program mode for these options (None: stream mode)."""
        if not self.program_mode:
            return None
        if self.powersource_url is not None:
            return ProgramMode(ProgramArc.FIELDBUS)
        if self.arc_output is not None:
            return ProgramMode(ProgramArc.ROBOT_IO, self.arc_output, self.arc_input)
        return ProgramMode(ProgramArc.DRY_RUN)


def run_job(options: RunOptions, progress: ProgressFn | None = None) -> CellRunResult:
    """Run a program or validated trajectory on a cell (see the module docstring).

    The robot driver comes from the driver registry (:func:`~weldcell.app.devices.connect_cell_robot`): ``ur://``,
    ``kuka-rsi://`` or any registered scheme. Without a power source (``powersource_url`` None) the
    job runs with the arc disabled (a dry run,
    :class:`~weldcell.drivers.powersource.dryrun.ArcDisabled`) through the same controller,
    interlocks, validated moves and weld log. ``robot_url`` ``"virtual"`` runs it on an in-process
    :class:`~weldcell.drivers.virtual.VirtualRobot` standing at the program's first sample.
    """
    from weldcell.drivers.powersource.modbus import parse_modbus_url
    from weldcell.drivers.registry import program_mode_needs, runs_programs

    # both addresses and the job are checked before the (slow) planning, before the log and the
    # output folder are created, and before anything connects
    robot_url = check_robot_url(options.robot_url)
    check_driver_options(robot_url, options.driver_options)
    program_mode = options.program()
    if program_mode is not None and not runs_programs(robot_url.scheme):
        raise DriverConnectionError(
            f"program mode runs the job as one program on the controller: {program_mode_needs()}, not "
            f"{options.robot_url!r}; stream the job instead (--mode stream)"
        )
    if program_mode is None and options.arc_output is not None:
        raise WeldcellError(
            "an arc output on the robot is for program mode; in stream mode the cell switches the arc "
            "through its power source"
        )
    if options.arc_output is not None and options.powersource_url is not None:
        raise WeldcellError(
            "give either a power source (the cell switches the arc) or a robot arc output (the program "
            "switches it), not both"
        )
    if options.powersource_url is not None:
        parse_modbus_url(options.powersource_url)
    if options.opcua is not None:
        from weldcell.cell.opcua import check_opcua_endpoint

        check_opcua_endpoint(options.opcua)
    key = resolve_stamp_key(FROM_ENVIRONMENT if options.stamp_key is None else options.stamp_key)
    check_job_input(Path(options.job), stamp_key=key, setup=options.cell_setup)
    WeldLog(options.log_path).close()  # a bad log path fails here, before anything connects
    job = Path(options.job)
    say = progress or (lambda p: None)
    loaded: Program | None = None
    if job.suffix.lower() in (".yaml", ".yml"):
        loaded, use = load_program_for_cell(job, options.cell_setup)  # frames resolved, TCP applied
        for line in use.lines():
            say(Progress("stage", line))
    if loaded is not None and loaded.touch and (program_mode is not None or options.powersource_url is None):
        raise WeldcellError(
            f"{job}: the program has touch patterns; they need a power source with touch sensing "
            "(--powersource modbus://…) and stream mode (docs/touch-and-calibration.md)"
        )
    planned: tuple[Any, JointTrajectory] | None = None
    if job.suffix.lower() not in (".yaml", ".yml"):
        traj = load_trajectory(job)
        verify_stamp(job, traj, key=key)
        check_trajectory_tcp(traj, options.cell_setup, str(job))
        check_positioner_option(traj, options.positioner_url, str(job))
        found = program_for(traj, job)
        if found is None and program_mode is None:
            raise ValidationError(
                f"{job}: cannot find the weld program it was planned from (hash "
                f"{traj.program_hash[:12]}); run the program .yaml instead"
            )
        planned = (found, traj)
    out = Path(options.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report_path: Path | None = None
    if planned is None:
        program, traj, traj_path, report_path = plan_and_validate(
            job, out, say, stamp_key=key, program=loaded
        )
        check_positioner_option(traj, options.positioner_url, str(job))
    else:
        program, traj = planned
        traj_path = job
    with contextlib.ExitStack() as stack:
        config = options.config or CellConfig()
        approver = prebuilt_approver(program, out, key)  # before the robot connects (its GIL pause)
        if approver is not None:
            stack.callback(approver.close)  # idempotent: weld() closes it too
        devices = open_devices(
            stack,
            robot_url=robot_url,
            traj=traj,
            powersource_url=options.powersource_url,
            positioner_url=options.positioner_url,
            config=config,
            say=say,
            driver_options=options.driver_options,
            connect_timeout=options.connect_timeout,
            program_mode=program_mode,
        )
        robot, power = devices.robot, devices.power
        if program is not None and program.touch:  # locate the parts first (docs/touch-and-calibration.md)
            regs, program, traj, traj_path, report_path = locate_and_replan(
                robot, power, program, job, out, say, stamp_key=key
            )
        else:
            regs = ()
        state, message, job_id = weld(
            robot=robot,
            power=power,
            program=program,
            traj=traj,
            traj_path=traj_path,
            log_path=options.log_path,
            out_dir=out,
            part_serial=options.part_serial,
            params=params_from_program(program, use_jobs=options.use_power_source_jobs)
            if program is not None
            else {},
            config=config,
            timeout=options.job_timeout,
            stamp_key=key,
            progress=say,
            program_mode=program_mode,
            positioner=devices.positioner,
            trace=options.trace,
            opcua=options.opcua,
            approver=approver,
        )
        if regs:
            record_part_offsets(options.log_path, job_id, regs)
        end_robot_session(robot, options.log_path, job_id, say)
    return CellRunResult(
        state,
        message,
        job_id,
        options.log_path,
        traj_path,
        report_path,
        Path(program.path) if program is not None else None,
        sync_figures(options.log_path, job_id),
    )
