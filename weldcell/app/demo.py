"""``weldcell demo``: weld the demo program on a virtual cell of any registered vendor.

:func:`run_demo` looks the vendor up in the registry (:func:`weldcell.drivers.registry.vendor`),
starts its virtual controller (:class:`~weldcell.drivers.vendor.DemoCell`: UR, KUKA RSI, FANUC
Stream Motion, ABB EGM, or a plug-in's) and the virtual Modbus power source, each in its own process
on loopback, loads the vendor's demo program (``programs/demo_tjoint*.yaml``), plans it, validates
it in simulation (writing the report and the stamp), runs its touch patterns when it has any (the
part may stand off nominal in the virtual cell, :attr:`DemoOptions.part_offset`; the virtual power
source sees it and the robot's actual joints, :mod:`weldcell.cell.touchscene`), and welds it
through the robot's streaming driver with the arc controlled over Modbus TCP. What the virtual
controller saw goes into the weld log. Returns a :class:`~weldcell.app.progress.CellRunResult` and
reports progress through a callback; it never prints. Child processes are stopped on return, on
error and on KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weldcell.app.children import (
    children_ignore_sigint,
    virtual_positioner_process,
    virtual_power_source_child,
    virtual_power_source_process,
)
from weldcell.app.devices import connect_cell_robot, connect_power_source, end_robot_session
from weldcell.app.planvalidate import collision_checker_for, plan_and_validate
from weldcell.app.progress import CellRunResult, Progress, ProgressFn
from weldcell.app.weld import prebuilt_approver, weld
from weldcell.cell.controller import CellConfig
from weldcell.cell.jobparams import params_from_program
from weldcell.cell.positioner_cell import connect_cell_positioner, sync_figures
from weldcell.cell.touch import PartRegistration, locate_parts, program_with_part_pose, record_part_offsets
from weldcell.cell.touchscene import TouchScene
from weldcell.cell.touchsim import PartOffset
from weldcell.cell.weldlog import JobTrace, WeldLog
from weldcell.drivers.registry import DEFAULT_VENDOR, resolve_target, vendor, vendors
from weldcell.errors import ProgramError, WeldcellError
from weldcell.program import load_program
from weldcell.resources import data_dir
from weldcell.trajectory.stamp import FROM_ENVIRONMENT, resolve_stamp_key

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.drivers.positioner.servo import ServoCounters
    from weldcell.drivers.vendor import VirtualCell, VirtualCellStarter


def demo_programs() -> dict[str, Path]:
    """The demo program per ``weldcell demo --robot`` choice: every registered vendor with a demo cell
    (the same T-joint, placed for each arm), then the arms a vendor's demo cell names by model."""
    folder = data_dir("programs")
    out = {name: folder / v.demo.program for name, v in vendors().items() if v.demo is not None}
    for v in vendors().values():
        if v.demo is not None:
            out.update({model: folder / prog for model, prog in v.demo.models.items() if model not in out})
    return out


def demo_vendor(choice: str) -> str:
    """The vendor whose virtual cell runs the ``weldcell demo --robot`` ``choice`` (a vendor or a model)."""
    for name, v in vendors().items():
        if name == choice or (v.demo is not None and choice in v.demo.models):
            return name
    raise WeldcellError(f"demo robot {choice!r}: expected one of {', '.join(demo_programs())}")


#: The demo program per built-in ``weldcell demo --robot`` choice (:func:`demo_programs` adds plug-ins).
DEMO_PROGRAMS = demo_programs()


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """Options of :func:`run_demo`.

    Attributes:
        out_dir: Folder for the weld log, validation report, trajectory and stamps.
        view: Open the 3D viewer (``weldcell view``) alongside.
        robot: The vendor whose virtual cell runs the job (a name of the vendor registry): ``"ur"``:
            a virtual UR controller (RTDE streaming); ``"kuka"``: a virtual KRC driven over RSI
            (``kuka-rsi://``); ``"fanuc"``: a virtual FANUC controller driven over Stream Motion
            (``fanuc://``); ``"abb"``: a virtual ABB controller driven over EGM (``abb-egm://``,
            4 ms samples).
        rsi_cycle: RSI cycle of the KUKA demo [s]: 0.004 (``#IPO_FAST``) or 0.012 (``#IPO``); None:
            the vendor's default (12 ms, ``weldcell.drivers.kuka.demo_cell.DEMO_RSI_CYCLE``).
        program: Weld program (default: the vendor's demo program, ``programs/demo_tjoint.yaml`` for
            UR, ``programs/demo_tjoint_kuka.yaml`` for KUKA, …); its robot must be of that make.
        host: Loopback address for the virtual devices.
        part_serial: Serial recorded in the weld log.
        job_timeout: Longest time the job may take [s].
        log: The weld log: a file, ``sqlite:///PATH`` or ``postgresql://…`` (None: out_dir/weldlog.sqlite).
        trace: Cell, operator, consumable batches and WPS recorded with the job (see :class:`JobTrace`).
        opcua: Publish the cell over OPC UA on this ``opc.tcp://HOST:PORT`` endpoint (None: no server).
        part_offset: Where the real part stands off its nominal pose *in the virtual cell only* (the
            planner keeps the nominal pose): translation [m] and rotation about the first workpiece
            body's origin. The program's touch patterns find it (None: the part is where the program
            says). Needs a program with touch patterns.
    """

    out_dir: Path = Path("weldcell-demo")
    view: bool = False
    robot: str = DEFAULT_VENDOR
    rsi_cycle: float | None = None
    program: Path | None = None
    host: str = "127.0.0.1"
    part_serial: str = "DEMO-0001"
    job_timeout: float = 300.0
    log: str | None = None
    trace: JobTrace = field(default_factory=JobTrace)
    opcua: str | None = None
    part_offset: PartOffset | None = None


def run_demo(options: DemoOptions | None = None, progress: ProgressFn | None = None) -> CellRunResult:
    """Run the demo program on the virtual cell (see the module docstring).

    Raises:
        WeldcellError: an unknown ``robot`` choice, a program for another make of robot, planning or
            validation failures, devices that do not start.
    """
    opt = options or DemoOptions()
    programs = demo_programs()
    if opt.robot not in programs:
        raise WeldcellError(f"demo robot {opt.robot!r}: expected one of {', '.join(programs)}")
    make = demo_vendor(opt.robot)
    spec = vendor(make)
    if opt.opcua is not None:
        from weldcell.cell.opcua import check_opcua_endpoint

        check_opcua_endpoint(opt.opcua)
    assert spec.demo is not None  # mypy: demo_programs() lists vendors with a demo cell only
    if opt.view and sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        # checked before anything starts: the viewer process would fail on its own, after the weld began
        from weldcell.sim.world import SimConnectionError

        raise SimConnectionError(
            "the demo viewer needs an X display (DISPLAY is not set); "
            "run it under xvfb-run, or leave out the viewer"
        )
    say = progress or (lambda p: None)
    out = Path(opt.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    program_path = Path(opt.program) if opt.program else programs[opt.robot]
    if not program_path.is_file():
        if opt.program:
            what = "is a folder" if program_path.is_dir() else "not found"
            raise ProgramError(f"{what}; expected a weld program file (.yaml)", file=str(program_path))
        raise ProgramError(
            f"demo program {program_path} not found (the programs/ folder is not installed with this copy "
            "of weldcell); pass a program with --program"
        )
    check_demo_robot(program_path, make)
    if opt.part_offset is not None and not load_program(program_path).touch:  # before planning
        raise ProgramError(
            "the part is placed off nominal (--part-offset-mm/--part-rotate-deg) but the program has no "
            "touch patterns (field touch) to find it; add them, or leave the part at its nominal pose",
            file=str(program_path),
        )
    key = resolve_stamp_key(FROM_ENVIRONMENT)
    program, traj, traj_path, report_path = plan_and_validate(program_path, out, say, stamp_key=key)
    log_path: Path | str = opt.log if opt.log is not None else out / "weldlog.sqlite"
    start: VirtualCellStarter = resolve_target(spec.demo.start, f"vendor {spec.name!r} demo cell")
    with contextlib.ExitStack() as stack:
        say(
            Progress(
                "stage", f"starting the virtual {spec.demo.label} controller and power source on {opt.host} …"
            )
        )
        approver = prebuilt_approver(program, out, key)  # before the robot connects (its GIL pause)
        if approver is not None:
            stack.callback(approver.close)
        if program.touch:  # the power source loads the part while the controller starts, then sees it
            off = opt.part_offset or PartOffset()
            scene = TouchScene(
                program=program_path.resolve(),
                translation=(float(off.translation[0]), float(off.translation[1]), float(off.translation[2])),
                rotvec=(float(off.rotvec[0]), float(off.rotvec[1]), float(off.rotvec[2])),
            )
            psu = stack.enter_context(virtual_power_source_child(opt.host, touch=scene))
            robot, cell = _connect_virtual_cell(stack, start, opt, traj)
            if not cell.joint_feed:
                raise WeldcellError(
                    f"the program has touch patterns, but the virtual {spec.name} cell gives the virtual "
                    "power source no joint feed to see the wire tip with; run it on a virtual cell with one "
                    "(e.g. --robot ur)"
                )
            psu.attach(cell.joint_feed, cell.url)
            psu_url = psu.url
        else:
            psu_url = stack.enter_context(virtual_power_source_process(opt.host))
            robot, cell = _connect_virtual_cell(stack, start, opt, traj)
        if opt.view:
            viewer = _start_viewer(traj_path, program_path)
            stack.callback(_stop_viewer, viewer)
        power = connect_power_source(psu_url, CellConfig())
        stack.callback(power.close)
        say(Progress("stage", f"robot: {cell.description}, power source: {psu_url}"))
        positioner = None
        pos_proc = None
        if traj.external is not None:
            pos_url, pos_proc = stack.enter_context(virtual_positioner_process(traj.external, opt.host))
            positioner = connect_cell_positioner(pos_url, traj.external, watchdog=0.5)
            stack.callback(positioner.close)
            say(Progress("stage", f"{traj.external.role}: virtual {traj.external.device} at {pos_url}"))
        regs: tuple[PartRegistration, ...] = ()
        if program.touch:  # locate the part, correct, plan and validate again (docs/touch-and-calibration.md)
            robot.stamp_key = key
            say(Progress("stage", f"touch sensing: {len(program.touch)} pattern(s) …"))
            regs = locate_parts(
                robot,
                power,
                program,
                out / "touch_motions",
                stamp_key=key,
                checker_for=collision_checker_for,
                say=lambda m: say(Progress("touch", m)),
            )
            program, traj, traj_path, report_path = plan_and_validate(
                program_path, out, say, stamp_key=key, program=program_with_part_pose(program, regs)
            )
        reset_heartbeat_figures(psu_url, power, say)  # the figures of the job only
        state, message, job_id = weld(
            robot=robot,
            power=power,
            program=program,
            traj=traj,
            traj_path=traj_path,
            log_path=log_path,
            out_dir=out,
            part_serial=opt.part_serial,
            params=params_from_program(program, use_jobs=False),
            config=CellConfig(),
            timeout=opt.job_timeout,
            stamp_key=key,
            progress=say,
            positioner=positioner,
            trace=opt.trace,
            opcua=opt.opcua,
            approver=approver,
        )
        record_power_source_link(log_path, job_id, psu_url, power, say)
        if regs:
            record_part_offsets(log_path, job_id, regs)
        if pos_proc is not None and positioner is not None:
            positioner.close()
            record_positioner_device(log_path, job_id, pos_proc.stop(), say)
        if cell.report is not None:
            end_robot_session(robot, log_path, job_id, say)
            report = cell.report(robot)
            if report.fault:
                say(Progress("fault", report.message))
            else:
                with WeldLog(log_path) as wlog:
                    wlog.add_event(job_id, report.event, report.message, data=report.data)
                say(Progress("stage", report.message, report.data))
    return CellRunResult(
        state, message, job_id, log_path, traj_path, report_path, program_path, sync_figures(log_path, job_id)
    )


def reset_heartbeat_figures(psu_url: str, power: Any, say: ProgressFn) -> None:
    """Restart the heartbeat figures of both ends (:func:`record_power_source_link`) for a job."""
    from weldcell.drivers.powersource.modbus import parse_modbus_url
    from weldcell.drivers.powersource.virtual import VirtualPowerSourceRemote

    try:
        host, port = parse_modbus_url(psu_url)
        with VirtualPowerSourceRemote(host, port) as remote:
            remote.reset_heartbeat_figures()
    except WeldcellError as err:  # diagnostics only: the job's own checks are the power source's
        say(Progress("fault", f"virtual power source: heartbeat figures not reset ({err})"))
    if hasattr(power, "cycle_gap_max"):
        power.cycle_gap_max = 0.0


def record_power_source_link(
    log_path: Path | str, job_id: int, psu_url: str, power: Any, say: ProgressFn
) -> None:
    """Record the robot heartbeat as both ends saw it during the job in its weld log (event
    ``power_source_heartbeat``): the longest gap between two good I/O cycles of the cell's power
    source worker (which toggles the heartbeat) and the longest gap between two toggles the virtual
    power source saw (its own scheduling stalls not counted), against its communication timeout."""
    from weldcell.drivers.powersource.modbus import parse_modbus_url
    from weldcell.drivers.powersource.virtual import VirtualPowerSourceRemote

    try:
        host, port = parse_modbus_url(psu_url)
        with VirtualPowerSourceRemote(host, port) as remote:
            seen, stalls = remote.heartbeat_figures()
    except WeldcellError as err:
        say(Progress("fault", f"virtual power source: heartbeat figures not read ({err})"))
        return
    sent = float(getattr(power, "cycle_gap_max", 0.0))
    data = {
        "worker_cycle_gap_max_ms": round(sent * 1e3, 3),
        "heartbeat_gap_max_ms": round(seen * 1e3, 3),
        "power_source_own_stalls": stalls,
        "comm_timeout_ms": round((CellConfig().power_source_comm_timeout or 0.0) * 1e3, 3),
    }
    message = (
        f"robot heartbeat: cell I/O cycles at most {data['worker_cycle_gap_max_ms']:.1f} ms apart, "
        f"toggles seen at most {data['heartbeat_gap_max_ms']:.1f} ms apart by the power source "
        f"({stalls} own stall(s)); timeout {data['comm_timeout_ms']:.0f} ms"
    )
    with WeldLog(log_path) as wlog:
        wlog.add_event(job_id, "power_source_heartbeat", message, data=data)
    say(Progress("stage", message, data))


def record_positioner_device(
    log_path: Path | str, job_id: int, counters: ServoCounters | None, say: ProgressFn
) -> None:
    """Record what the virtual positioner saw in the job's weld log (event ``virtual_positioner``):
    its own scheduling stalls and largest update gap, and how early or late the timed set-points
    arrived against the instant it executed them (``ServoCounters``)."""
    if counters is None:
        say(Progress("fault", "the virtual positioner ended without reporting its counters"))
        return
    lead = counters.lead_min
    message = (
        f"virtual positioner: {counters.setpoints} set-points, largest update gap "
        f"{counters.max_step_gap * 1e3:.1f} ms ({counters.stalls} own stall(s)), "
        f"{counters.late_setpoints} set-point(s) late (latest {counters.late_max * 1e3:.1f} ms), "
        + ("no timed set-point" if lead is None else f"smallest lead {lead * 1e3:.1f} ms")
        + (f"; fault {counters.fault} on axis {counters.fault_axis}" if counters.fault else "")
    )
    data = {
        "setpoints": counters.setpoints,
        "fault": counters.fault,
        "fault_axis": counters.fault_axis,
        "max_following_error": counters.max_following_error,
        "max_step_gap_ms": round(counters.max_step_gap * 1e3, 3),
        "own_stalls": counters.stalls,
        "late_setpoints": counters.late_setpoints,
        "late_max_ms": round(counters.late_max * 1e3, 3),
        "lead_min_ms": None if lead is None else round(lead * 1e3, 3),
    }
    with WeldLog(log_path) as wlog:
        wlog.add_event(job_id, "virtual_positioner", message, data=data)
    say(Progress("stage", message, data))


def _connect_virtual_cell(
    stack: contextlib.ExitStack[Any], start: VirtualCellStarter, opt: DemoOptions, traj: Any
) -> tuple[RobotDriver, VirtualCell]:
    """Start the vendor's virtual controller (children ignore Ctrl-C: the cell stops them) and connect
    the cell's driver to it through the driver registry; ``stack`` closes both in the vendor's order."""
    with children_ignore_sigint():
        settings = {} if opt.rsi_cycle is None else {"rsi_cycle": opt.rsi_cycle}
        cell = start(stack, opt.host, traj, settings)
    robot = connect_cell_robot(cell.url, traj.robot, timeout=cell.connect_timeout, **cell.connect_options)
    shutdown = cell.shutdown
    if shutdown is None:
        stack.callback(robot.close)
    else:
        stack.callback(shutdown, robot)
    return robot, cell


def check_demo_robot(program_path: Path, kind: str) -> None:
    """The program's robot must be of the make the demo's virtual controller simulates.

    Raises:
        ProgramError: a UR program for ``--robot kuka``, a KUKA one for ``--robot fanuc``, ...
    """

    model = load_program(program_path).cell.robot
    makes: dict[str, frozenset[str]] = {}
    for name, v in vendors().items():
        if v.models:
            makes[name] = frozenset(resolve_target(v.models, f"vendor {name!r} robot models")())
    own = makes.get(kind, frozenset())
    if model not in own:
        other = next((k for k, specs in makes.items() if model in specs), None)
        hint = f"; run it with --robot {other}" if other else ""
        raise ProgramError(
            f"field cell.robot: {model!r} is not {'an' if kind == 'abb' else 'a'} {kind.upper()} arm the "
            "demo's virtual controller can "
            f"run (expected one of {', '.join(sorted(own))}){hint}",
            file=str(program_path),
        )


def _start_viewer(traj_path: Path, program_path: Path) -> subprocess.Popen[bytes]:
    """``weldcell view TRAJ --program PROGRAM`` in its own process (the pybullet GUI).

    Started through the package's command line (``python -m weldcell``, the same entry point as the
    ``weldcell`` console script) with the interpreter running now, so it works in any venv.
    """
    args = ["view", str(traj_path), "--program", str(program_path), "--no-validate"]
    return subprocess.Popen([sys.executable, "-m", "weldcell", *args])


def _stop_viewer(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(2.0)
