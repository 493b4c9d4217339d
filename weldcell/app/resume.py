"""Continue a job a previous ``weldcell cell run`` left unfinished (``weldcell cell resume``).

The weld log records, per job, the program and trajectory files with their hashes and every seam
attempt with its committed progress. :func:`resume_job` re-reads that record, checks that the
program and the validated trajectory are still the ones the job started with, connects to the cell,
and lets :meth:`~weldcell.cell.controller.CellController.recover_job` adopt the job: the torch backs
off, travels (planned collision-free and validated, like every move the cell plans) above the restart
point ``ArcProcedure.restart_overlap`` before the last recorded progress, comes down, re-strikes and
welds on along the planned path. The seam attempts are added to the *same* job record.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weldcell.app.devices import check_driver_options, check_robot_url, end_robot_session, open_devices
from weldcell.app.progress import CellRunResult, ProgressFn
from weldcell.app.weld import prebuilt_approver, weld
from weldcell.cell.calibrated import check_trajectory_tcp, load_program_for_cell
from weldcell.cell.cellconfig import CellSetup
from weldcell.cell.controller import CellConfig
from weldcell.cell.jobparams import params_from_program
from weldcell.cell.logrecords import JobRecord
from weldcell.cell.positioner_cell import check_positioner_option
from weldcell.cell.weldlog import WeldLog, WeldLogError
from weldcell.errors import CellStateError, StampError

RESUMABLE = ("running", "interrupted")
"""Job results that can be resumed (``running``: the process died; ``interrupted``: a fault or stop)."""


@dataclass(frozen=True, slots=True)
class ResumeOptions:
    """Options of :func:`resume_job`.

    Attributes:
        log_path: The weld log holding the job (a file, ``sqlite:///PATH`` or ``postgresql://…``).
        robot_url: Robot address for the driver registry (``ur://HOST[:RTDE_PORT]``,
            ``kuka-rsi://BIND_HOST:PORT``, ...; see :func:`weldcell.app.devices.connect_cell_robot`).
        powersource_url: ``modbus://HOST:PORT``.
        job_id: The job to continue (None: the newest resumable job).
        out_dir: Folder for the motions the cell plans and stamps.
        use_power_source_jobs: As :attr:`weldcell.app.job.RunOptions.use_power_source_jobs`.
        config: Cell settings (interlocks, arc procedure, …).
        job_timeout: Longest time the rest of the job may take [s].
        driver_options: The robot driver's own connection options (as
            :attr:`weldcell.app.job.RunOptions.driver_options`).
        stamp_key: The cell's stamp key file (None: ``$WELDCELL_STAMP_KEY`` if set, else unkeyed).
        positioner_url: The positioner of a job with external axes (``modbus-positioner://HOST:PORT``).
        opcua: Publish the cell over OPC UA on this ``opc.tcp://HOST:PORT`` endpoint (None: no server).
        cell_setup: The cell configuration whose calibration (user frames, TCP) the job was planned
            with (``--cell-config``; :mod:`weldcell.cell.calibrated`). None: no calibration.
    """

    log_path: Path | str
    robot_url: str
    powersource_url: str
    job_id: int | None = None
    out_dir: Path = Path("weldcell-out")
    use_power_source_jobs: bool | None = None
    config: CellConfig | None = None
    job_timeout: float = 3600.0
    driver_options: Mapping[str, Any] = field(default_factory=dict)
    stamp_key: Path | None = None
    positioner_url: str | None = None
    opcua: str | None = None
    cell_setup: CellSetup | None = None


def resumable_jobs(log: WeldLog) -> list[JobRecord]:
    """Jobs of ``log`` that can be resumed, newest first."""
    return [j for j in log.jobs() if j.result in RESUMABLE]


def pick_job(log: WeldLog, job_id: int | None) -> JobRecord:
    """The job to resume: ``job_id``, or the newest resumable one.

    Raises:
        WeldLogError: no such job, or none to resume.
        CellStateError: the job is finished.
    """
    if job_id is None:
        jobs = resumable_jobs(log)
        if not jobs:
            raise WeldLogError(f"{log.path}: no interrupted job to resume (see 'weldcell cell jobs')")
        return jobs[0]
    job = log.job(job_id)
    if job.result not in RESUMABLE:
        raise CellStateError(
            f"job {job_id} in {log.path} is {job.result}; only {' or '.join(RESUMABLE)} jobs can be resumed"
        )
    return job


def _job_files(job: JobRecord, setup: CellSetup | None = None) -> tuple[Path, Path]:
    """(program, trajectory) of ``job``, checked against the hashes the log recorded.

    A program placed in calibrated user frames is hashed with their values (``Program.hash``), so it
    is loaded with ``setup``'s frames for the check."""
    prog, traj = Path(job.program_path), Path(job.trajectory_path)
    for what, p in (("program", prog), ("trajectory", traj)):
        if not job.program_path or not job.trajectory_path or not p.is_file():
            raise StampError(
                f"job {job.id}: its {what} file {str(p) or '(not recorded)'} is gone; the job can only "
                "resume with the files it started with"
            )
    digest = hashlib.sha256(prog.read_bytes()).hexdigest()
    if job.program_hash and digest != job.program_hash and setup is not None:
        digest = load_program_for_cell(prog, setup)[0].hash
    if job.program_hash and digest != job.program_hash:
        raise StampError(
            f"job {job.id}: {prog} has changed since the job started (SHA-256 differs); "
            "resume needs the program the job was planned from"
        )
    return prog, traj


def resume_job(options: ResumeOptions, progress: ProgressFn | None = None) -> CellRunResult:
    """Continue an interrupted job on the cell (see the module docstring).

    Raises:
        WeldLogError: no such job / nothing to resume.
        CellStateError: the job is finished, or the trajectory hash differs.
        StampError: program or trajectory changed or missing, or the trajectory has no valid stamp.
    """
    from weldcell.drivers.powersource.modbus import parse_modbus_url
    from weldcell.trajectory import load_trajectory
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, resolve_stamp_key, verify_stamp

    key = resolve_stamp_key(FROM_ENVIRONMENT if options.stamp_key is None else options.stamp_key)
    robot_url = check_robot_url(options.robot_url)
    check_driver_options(robot_url, options.driver_options)
    parse_modbus_url(options.powersource_url)
    with WeldLog(options.log_path, readonly=True) as log:  # a missing file: "weld log not found"
        job = pick_job(log, options.job_id)
    prog_path, traj_path = _job_files(job, options.cell_setup)
    traj = load_trajectory(traj_path)
    verify_stamp(traj_path, traj, key=key)
    check_positioner_option(traj, options.positioner_url, str(traj_path))
    check_trajectory_tcp(traj, options.cell_setup, str(traj_path))
    program, _ = load_program_for_cell(prog_path, options.cell_setup)
    say = progress or (lambda p: None)
    out = Path(options.out_dir)
    out.mkdir(parents=True, exist_ok=True)
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
        )
        state, message, job_id = weld(
            robot=devices.robot,
            power=devices.power,
            program=program,
            traj=traj,
            traj_path=traj_path,
            log_path=options.log_path,
            out_dir=out,
            part_serial=job.part_serial,
            params=params_from_program(program, use_jobs=options.use_power_source_jobs),
            config=config,
            timeout=options.job_timeout,
            progress=say,
            recover_job=job.id,
            stamp_key=key,
            positioner=devices.positioner,
            opcua=options.opcua,
            approver=approver,
        )
        end_robot_session(devices.robot, options.log_path, job_id, say)
    return CellRunResult(state, message, job_id, options.log_path, traj_path, None, prog_path)
