"""CLI: ``weldcell demo``, ``weldcell cell run`` and ``weldcell log list|show|export|plot``."""

from __future__ import annotations

import datetime as dt
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from weldcell.cli.common import (
    announce_kernel_compile,
    console,
    default_out_dir,
    err_console,
    exit_on_error,
    output_folder,
    robot_driver_options,
)
from weldcell.drivers.registry import DEFAULT_VENDOR

if TYPE_CHECKING:
    from rich.table import Table

    from weldcell.app.progress import CellRunResult
    from weldcell.cell.weldlog import WeldLog

DEFAULT_LOG = Path("weldlog.sqlite")

cell_app = typer.Typer(help="Run weld jobs on a real or virtual cell.", no_args_is_help=True)
log_app = typer.Typer(help="Query the weld log: jobs, seams, process signals.", no_args_is_help=True)

DEMO_LOG = Path("weldcell-demo") / "weldlog.sqlite"
_DB_HELP = "Weld log: a SQLite file, sqlite:///PATH, or postgresql://USER:PASSWORD@HOST[:PORT]/DB"
DbOption = typer.Option(
    None, "--db", help=f"{_DB_HELP}; default ./{DEFAULT_LOG}, else ./{DEMO_LOG} (the demo's)."
)
CellIdOption = typer.Option(
    None,
    "--cell-id",
    help="Cell name recorded with each job (several cells share one database). "
    "Default: this computer's host name.",
)
OperatorOption = typer.Option("", "--operator", help="Welding operator recorded with the job.")
WireBatchOption = typer.Option(
    "", "--wire-batch", help="Filler wire batch / lot number recorded with the job."
)
GasBatchOption = typer.Option(
    "", "--gas-batch", help="Shielding gas batch / lot number recorded with the job."
)
WpsOption = typer.Option(
    "",
    "--wps",
    help="WPS id for seams without a program (a trajectory run in program mode); with a program each "
    "seam's WPS is the name of its procedure.",
)


DashboardPortOption = typer.Option(
    None, "--dashboard-port", help="Dashboard port of the UR controller (default 29999)."
)
ScriptPortOption = typer.Option(
    None, "--script-port", help="URScript port the servo program is sent to (default 30002)."
)
DriverOptionOption = typer.Option(
    None,
    "--driver-option",
    help="A connection option of the robot's driver, NAME=VALUE (repeatable; the driver lists the "
    "options it takes when given one it does not; --dashboard-port and --script-port are two of them).",
)
OpcUaOption = typer.Option(
    None,
    "--opcua",
    help="Publish the cell state, job, seam and live weld values over OPC UA, e.g. opc.tcp://127.0.0.1:4840 "
    "(needs the opcua extra).",
)
CellConfigOption = typer.Option(
    None,
    "--cell-config",
    help="Cell configuration YAML: interlocks, power source (use_jobs, comm_timeout_s), arc, moves "
    "(see docs/cell.md).",
)


def _cell_setup(path: Path | None) -> Any:
    from weldcell.cell.cellconfig import CellSetup, load_cell_config
    from weldcell.cell.jobtypes import CellConfig

    return load_cell_config(path) if path is not None else CellSetup(CellConfig(), None)


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _mm(x: float | None) -> str:
    return "-" if x is None else f"{x * 1e3:.1f}"


def _open_log(db: str | None, *, readonly: bool = True) -> WeldLog:
    from weldcell.cell.weldlog import WeldLog

    if db is None:
        return WeldLog(
            DEMO_LOG if not DEFAULT_LOG.is_file() and DEMO_LOG.is_file() else DEFAULT_LOG, readonly=readonly
        )
    return WeldLog(db, readonly=readonly)


def _trace(cell_id: str | None, operator: str, wire_batch: str, gas_batch: str, wps: str) -> Any:
    """The job's traceability fields from the command line (docs/weld-log.md)."""
    import socket

    from weldcell.cell.weldlog import JobTrace

    return JobTrace(
        cell_id=cell_id if cell_id is not None else socket.gethostname(),
        operator=operator,
        wire_batch=wire_batch,
        gas_batch=gas_batch,
        wps_id=wps,
    )


def _job_result(log: WeldLog, job: Any) -> str:
    """The job's result; ``interrupted`` for a ``running`` job whose writer on this host died."""
    return "interrupted (writer gone)" if log.writer_gone(job) else str(job.result)


def _seam_table(log: WeldLog, job_id: int, title: str) -> Table:
    """One row per seam attempt: result, welded interval, path deviation and mean process values."""
    import numpy as np
    from rich.table import Table

    from weldcell.cell.weldlog import SEAM_DONE

    seams = log.seams(job_id)
    with_faults = any(s.faults for s in seams)
    table = Table(title=title)
    cols = [
        ("rec", "right"),
        ("seam", "left"),
        ("try", "right"),
        ("result", "left"),
        ("welded [mm]", "right"),
        ("dev [mm]", "right"),
        ("I [A]", "right"),
        ("U [V]", "right"),
        ("WPS", "left"),
        ("inspection", "left"),
    ]
    if with_faults:
        cols.append(("faults", "left"))
    for col, just in cols:
        table.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
    writer_gone = bool(seams) and log.writer_gone(log.job(job_id))
    for s in seams:
        style = "green" if s.result == SEAM_DONE else "red"
        result = "interrupted (writer gone)" if writer_gone and s.result == "running" else s.result
        sig = log.signals(s.id)
        cur = f"{np.nanmean(sig.current):.0f}" if len(sig) and np.isfinite(sig.current).any() else "-"
        volt = f"{np.nanmean(sig.voltage):.1f}" if len(sig) and np.isfinite(sig.voltage).any() else "-"
        end = s.s_stop if s.s_stop is not None else s.s_reached
        dev = "-" if s.deviation_max_m is None else f"{s.deviation_max_m * 1e3:.2f}"
        row = [
            str(s.id),
            s.seam_id + (f" p{s.pass_index}" if s.pass_index else ""),
            str(s.attempt),
            f"[{style}]{result}[/]",
            f"{_mm(s.s_start)}–{_mm(end)}/{_mm(s.s_end_planned)}",
            dev,
            cur,
            volt,
            s.wps_id or "-",
            s.inspection_status + (f" ({s.inspected_by})" if s.inspected_by else ""),
        ]
        if with_faults:
            row.append("; ".join(s.faults))
        table.add_row(*row)
    return table


@log_app.command("list")
def log_list(db: str | None = DbOption, limit: int = typer.Option(20, help="Newest jobs to show.")) -> None:
    """List jobs in the weld log, newest first."""
    from rich.table import Table

    from weldcell.errors import WeldcellError

    if limit < 1:
        raise WeldcellError(f"--limit {limit}: expected the number of jobs to show, >= 1")
    with _open_log(db) as log:
        table = Table(title=f"jobs in {log.path}")
        for col in ("job", "cell", "started", "ended", "result", "part serial", "program", "seams ok/total"):
            table.add_column(col)
        for j in log.jobs(limit):
            seams = log.seams(j.id)
            done = {(s.seam_id, s.pass_index) for s in seams if s.result == "ok"}
            total = {(s.seam_id, s.pass_index) for s in seams}
            table.add_row(
                str(j.id),
                j.cell_id or "-",
                _when(j.started),
                _when(j.ended),
                _job_result(log, j),
                j.part_serial or "-",
                Path(j.program_path).name or "-",
                f"{len(done)}/{len(total)}",
            )
        console.print(table)


@log_app.command("show")
def log_show(
    job: int | None = typer.Argument(None, help="Job id (default: the newest job)."),
    db: str | None = DbOption,
    events: bool = typer.Option(False, "--events", help="Also list the job's events."),
) -> None:
    """Show one job: program, part, and every seam attempt with result, positions and deviation."""
    from rich.table import Table

    with _open_log(db) as log:
        j = log.job(job) if job is not None else log.latest_job()
        console.print(
            f"[bold]job {j.id}[/] result [bold]{_job_result(log, j)}[/]  part {j.part_serial or '-'}  "
            f"robot {j.robot}  cell {j.cell_id or '-'}"
        )
        console.print(
            f"operator {j.operator or '-'}  wire batch {j.wire_batch or '-'}  gas batch {j.gas_batch or '-'}"
        )
        console.print(f"program {j.program_path or '-'} (sha256 {j.program_hash[:16] or '-'})")
        console.print(f"trajectory {j.trajectory_path or '-'} (hash {j.trajectory_hash[:16] or '-'})")
        console.print(f"validation stamp sha256 {j.validation_stamp[:16] or '-'}")
        console.print(f"started {_when(j.started)}  ended {_when(j.ended)}")
        console.print(_seam_table(log, j.id, f"seams of job {j.id}"))
        if events:
            table = Table(title="events")
            for col in ("time", "kind", "seam", "message"):
                table.add_column(col)
            for e in log.events(j.id):
                table.add_row(_when(e.t), e.kind, e.seam_id or "", e.message)
            console.print(table)


@log_app.command("export")
def log_export(
    out: Path = typer.Argument(
        ..., help="Output file: .json, or .csv (writes <stem>_seams/_signals/_events.csv)."
    ),
    job: int | None = typer.Option(None, help="Job id (default: the newest job)."),
    db: str | None = DbOption,
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="json (docs/weld-log.schema.json) or csv; default: from the file suffix. "
        "weldx is not available (docs/weld-log.md says why).",
    ),
) -> None:
    """Export a job with its traceable records (statistics, faults, inspection) to JSON or CSV."""
    from weldcell.cell.logexport import export_csv, export_json
    from weldcell.errors import WeldcellError

    kind = (fmt or out.suffix.lstrip(".")).lower()
    if kind == "weldx":
        raise WeldcellError(
            "--format weldx: the weldx package does not install with this weldcell (see docs/weld-log.md); "
            "export --format json, whose schema is docs/weld-log.schema.json"
        )
    if kind not in ("json", "csv"):
        if fmt:
            raise WeldcellError(f"--format {fmt!r}: expected json or csv")
        raise WeldcellError(
            f"{out}: export format must be .json or .csv, got {out.suffix or 'no suffix'!r} "
            "(or give --format)"
        )
    with _open_log(db) as log:
        job_id = job if job is not None else log.latest_job().id
        files = [export_json(log, job_id, out)] if kind == "json" else export_csv(log, job_id, out)
    for f in files:
        console.print(f"wrote {f}")


@log_app.command("plot")
def log_plot(
    record: int | None = typer.Argument(
        None, help="Seam record id (see 'weldcell log show'); default: all of a job."
    ),
    job: int | None = typer.Option(None, help="Job id when plotting all its seams (default: newest)."),
    out: Path = typer.Option(Path(), "--out", help="Folder for the PNG files."),
    db: str | None = DbOption,
) -> None:
    """Plot current, voltage and wire feed over the seam for one seam attempt (or all of a job)."""
    from weldcell.cell.logexport import plot_seam
    from weldcell.cell.weldlog import WeldLogError

    with _open_log(db) as log:
        if record is not None:
            records = [log.seam(record)]
        else:
            job_id = log.job(job).id if job is not None else log.latest_job().id
            records = [s for s in log.seams(job_id) if len(log.signals(s.id)) > 0]
            if not records:
                raise WeldLogError(
                    f"{log.path}: job {job_id} has no seam with process-signal samples to plot"
                )
        for s in records:
            p = plot_seam(log, s.id, out / f"job{s.job_id}_{s.seam_id}_p{s.pass_index}_a{s.attempt}.png")
            console.print(f"wrote {p}")


@log_app.command("inspect")
def log_inspect(
    record: int = typer.Argument(..., help="Seam record id (see 'weldcell log show')."),
    status: str = typer.Option(..., "--status", help="accepted, rejected or pending."),
    by: str = typer.Option(..., "--by", help="Inspector's name."),
    note: str = typer.Option("", "--note", help="Note, e.g. the NDT report number."),
    db: str | None = DbOption,
) -> None:
    """Record the inspection of a seam attempt (kept on the record and as an event of its job)."""
    with _open_log(db, readonly=False) as log:
        s = log.inspect_seam(record, status, by=by, note=note)
    console.print(
        f"seam record {s.id} (job {s.job_id}, seam {s.seam_id}, attempt {s.attempt}): "
        f"[bold]{s.inspection_status}[/] by {s.inspected_by} at {_when(s.inspected_at)}"
    )


def _finish(res: CellRunResult) -> None:
    """Print the job's result; exit 1 when the job did not complete (the cell is not READY)."""
    _print_result(res)
    if res.state.name != "READY":
        err_console.print(f"[red]the job did not complete: {res.message}[/]")
        raise typer.Exit(1)


def _print_result(res: CellRunResult) -> None:
    from weldcell.cell.weldlog import WeldLog

    with WeldLog(res.log_path, readonly=True) as log:
        console.print(_seam_table(log, res.job_id, f"job {res.job_id}: {res.state.name.lower()}"))
        where = log.path  # a server URL without its password
    for label, path in (
        ("weld log", where),
        ("validation report", res.report_path),
        ("trajectory", res.trajectory_path),
        ("program", res.program_path),
    ):
        if path is not None:
            console.print(f"{label:>18}: {path}")
    if res.positioner_sync is not None:
        f = res.positioner_sync
        console.print(
            f"{'positioner sync':>18}: skew median {f['skew_p50_ms']:.3f} ms, p99 {f['skew_p99_ms']:.3f} ms, "
            f"max {f['skew_max_ms']:.3f} ms over {f['cycles']} cycles; largest lag {f['lag_max']:.5f}",
            highlight=False,
        )
    console.print(f"inspect with: weldcell log show --db {where}")


def _progress_printer() -> Any:
    from weldcell.app.progress import Progress

    def show(p: Progress) -> None:
        style = {"fault": "red", "estop": "red", "seam_end": "green", "stage": "bold"}.get(p.kind, "")
        text = f"[{style}]{p.message}[/]" if style else p.message
        console.print(text, highlight=False)

    return show


def _log_to_file(path: Path) -> None:
    """Send library logging (driver timing warnings, ...) to ``path``; only errors reach the console."""
    import logging

    output_folder(path.parent)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    fh = logging.FileHandler(path)
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(fh)
    console_handler = logging.StreamHandler()
    console_handler.setLevel(logging.ERROR)
    # third-party libraries (pymodbus logs every refused reconnect) stay in the file; the failure
    # itself reaches the user as one WeldcellError line
    console_handler.addFilter(logging.Filter("weldcell"))
    root.addHandler(console_handler)


def _check_opcua(endpoint: str | None) -> None:
    """A bad ``--opcua`` address or a missing asyncua fails before anything starts."""
    if endpoint is None:
        return
    from weldcell.cell.opcua import check_opcua_endpoint
    from weldcell.errors import WeldcellError

    check_opcua_endpoint(endpoint)
    try:
        import asyncua  # noqa: F401
    except ImportError as err:
        raise WeldcellError(
            "--opcua needs asyncua, which is not installed: pip install 'weldcell[opcua]'"
        ) from err


def _sigterm_as_interrupt() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def demo(
    view: bool = typer.Option(False, "--view", help="Open the 3D viewer alongside."),
    out: Path = typer.Option(
        Path("weldcell-demo"), "--out", help="Folder for the log, report and trajectory."
    ),
    program: Path | None = typer.Option(
        None, "--program", help="Another weld program (default: the T-joint demo for the chosen robot)."
    ),
    robot: str = typer.Option(
        DEFAULT_VENDOR,
        "--robot",
        help="ur: a virtual UR controller over RTDE; kuka: a virtual KUKA KRC over RSI (KR 10 R1420); "
        "fanuc: a virtual FANUC controller over Stream Motion J519 (ARC Mate 100iD); "
        "abb: a virtual ABB controller over EGM (IRB 1520ID); "
        "crx10ial: the FANUC controller with a CRX-10iA/L; crb15000_5_95: the ABB controller with a GoFa.",
    ),
    rsi_cycle_ms: int = typer.Option(
        12, "--rsi-cycle-ms", help="KUKA demo: RSI cycle, 12 (#IPO) or 4 (#IPO_FAST, needs a quiet PC)."
    ),
    db: str | None = typer.Option(None, "--db", help=f"{_DB_HELP}; default: weldlog.sqlite in --out."),
    cell_id: str | None = CellIdOption,
    operator: str = OperatorOption,
    wire_batch: str = WireBatchOption,
    gas_batch: str = GasBatchOption,
    opcua: str | None = OpcUaOption,
    part_offset_mm: str | None = typer.Option(
        None,
        "--part-offset-mm",
        help="Place the part X,Y,Z mm off nominal in the virtual cell only (not in the planner); the "
        "program's touch patterns find it before welding.",
    ),
    part_rotate_deg: float = typer.Option(
        0.0,
        "--part-rotate-deg",
        help="Rotate the part in the virtual cell about world z through the first workpiece body's "
        "origin [deg] (with touch patterns, like --part-offset-mm).",
    ),
) -> None:
    """Run the whole virtual cell: robot controller + power source on loopback, plan, validate, weld."""
    import numpy as np

    from weldcell.app.demo import DemoOptions, demo_programs, run_demo
    from weldcell.cell.touchscene import part_offset_from_user
    from weldcell.cell.touchsim import PartOffset
    from weldcell.errors import WeldcellError

    programs = demo_programs()
    if robot not in programs:
        raise WeldcellError(f"--robot {robot!r}: expected one of {', '.join(programs)}")
    if rsi_cycle_ms not in (4, 12):
        raise WeldcellError(f"--rsi-cycle-ms {rsi_cycle_ms}: expected 4 (#IPO_FAST) or 12 (#IPO)")
    shift, angle = part_offset_from_user(part_offset_mm, part_rotate_deg)
    offset = (
        PartOffset(shift, np.array([0.0, 0.0, angle]))
        if part_offset_mm is not None or part_rotate_deg != 0.0
        else None
    )
    if db is not None:
        from weldcell.cell.logdb import parse_log_target

        parse_log_target(db)  # a bad URL fails before the demo plans
    _check_opcua(opcua)
    _sigterm_as_interrupt()
    _log_to_file(out / "weldcell.log")
    announce_kernel_compile()
    res = run_demo(
        DemoOptions(
            out_dir=out,
            view=view,
            robot=robot,
            rsi_cycle=rsi_cycle_ms / 1000.0,
            program=program,
            log=db,
            trace=_trace(cell_id, operator, wire_batch, gas_batch, ""),
            opcua=opcua,
            part_offset=offset,
        ),
        progress=_progress_printer(),
    )
    _finish(res)


@cell_app.command("run")
def cell_run(
    job: Path = typer.Argument(..., help="Weld program (.yaml) or planned trajectory (.npz)."),
    robot: str = typer.Option(
        ...,
        "--robot",
        help="Robot controller: ur://HOST[:RTDE_PORT], kuka-rsi://BIND_HOST:PORT (this PC's RSI address), "
        "fanuc://HOST[:PORT] (Stream Motion, UDP 60015), "
        "abb-egm://BIND_HOST:PORT (this PC's EGM sensor address), or another registered driver scheme.",
    ),
    powersource: str = typer.Option(
        ..., "--powersource", help="Power source, e.g. modbus://192.168.0.20:502"
    ),
    db: str = typer.Option(str(DEFAULT_LOG), "--db", help=_DB_HELP + "."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder for the trajectory, report and the cell's motions (default: ./weldcell-out/<job>/).",
    ),
    part_serial: str = typer.Option("", "--part", help="Serial number of the part."),
    cell_id: str | None = CellIdOption,
    operator: str = OperatorOption,
    wire_batch: str = WireBatchOption,
    gas_batch: str = GasBatchOption,
    wps: str = WpsOption,
    use_jobs: bool | None = typer.Option(
        None,
        "--use-jobs/--send-parameters",
        help="Select the procedure's stored power-source job, or send wire feed and voltage "
        "(default: the cell configuration's power_source.use_jobs, else the parameters when the "
        "procedure has them, else its job).",
    ),
    stamp_key: Path | None = typer.Option(
        None,
        "--stamp-key",
        help="The cell's stamp key file: refuse stamps not signed with it, sign the cell's own motions. "
        "Default: $WELDCELL_STAMP_KEY, else unkeyed stamps.",
    ),
    cell_config: Path | None = CellConfigOption,
    dashboard_port: int | None = DashboardPortOption,
    script_port: int | None = ScriptPortOption,
    driver_option: list[str] | None = DriverOptionOption,
    positioner: str | None = typer.Option(
        None,
        "--positioner",
        help="Positioner or track streamed in sync with the robot, e.g. "
        "modbus-positioner://192.168.0.30:502 (required when the trajectory has external axes).",
    ),
    mode: str = typer.Option(
        "stream",
        "--mode",
        help="stream: the cell streams the job slice by slice; program: the controller runs the whole "
        "job as one URScript program and the cell switches the arc, watches the interlocks and logs.",
    ),
    opcua: str | None = OpcUaOption,
) -> None:
    """Weld a program or a validated trajectory on a real cell (UR, KUKA or FANUC robot + power source)."""
    from weldcell.app.devices import check_driver_options, check_robot_url
    from weldcell.app.job import RunOptions, run_job
    from weldcell.app.planvalidate import check_job_input
    from weldcell.errors import WeldcellError
    from weldcell.trajectory.stamp import FROM_ENVIRONMENT, resolve_stamp_key

    if mode not in ("stream", "program"):
        raise WeldcellError(f"--mode {mode!r}: expected 'stream' or 'program'")
    options = robot_driver_options(driver_option, dashboard_port=dashboard_port, script_port=script_port)
    # an unknown scheme, a bad address or an option the driver does not take fails before anything else
    check_driver_options(check_robot_url(robot), options)
    if positioner is not None:
        from weldcell.drivers.registry import positioner_for_url

        positioner_for_url(positioner)  # a bad positioner address fails before anything else, too
    _check_opcua(opcua)
    key = resolve_stamp_key(FROM_ENVIRONMENT if stamp_key is None else stamp_key)
    setup = _cell_setup(cell_config)
    # before the log file and the output folder are created
    check_job_input(job, stamp_key=key, setup=setup if cell_config is not None else None)
    if out is None:
        out = default_out_dir(job)
    _sigterm_as_interrupt()
    _log_to_file(out / "weldcell.log")
    res = run_job(
        RunOptions(
            job=job,
            robot_url=robot,
            powersource_url=powersource,
            log_path=db,
            out_dir=out,
            part_serial=part_serial,
            trace=_trace(cell_id, operator, wire_batch, gas_batch, wps),
            use_power_source_jobs=use_jobs if use_jobs is not None else setup.use_jobs,
            stamp_key=stamp_key,
            config=setup.config,
            driver_options=options,
            program_mode=mode == "program",
            positioner_url=positioner,
            opcua=opcua,
            cell_setup=setup if cell_config is not None else None,
        ),
        progress=_progress_printer(),
    )
    _finish(res)


def _jobs_table(log: WeldLog) -> Table:
    from rich.table import Table

    from weldcell.app.resume import resumable_jobs

    table = Table(title=f"resumable jobs in {log.path}")
    for col in ("job", "started", "result", "part serial", "program", "seams ok", "continues at"):
        table.add_column(col)
    for j in resumable_jobs(log):
        rp = log.resume_point(j.id)
        at = "-" if rp.seam_id is None else f"{rp.seam_id} p{rp.pass_index} at {_mm(rp.s_stop)} mm"
        table.add_row(
            str(j.id),
            _when(j.started),
            j.result,
            j.part_serial or "-",
            Path(j.program_path).name or "-",
            str(len(rp.done_seams)),
            at,
        )
    return table


@cell_app.command("jobs")
def cell_jobs(db: str = typer.Option(str(DEFAULT_LOG), "--db", help=_DB_HELP + ".")) -> None:
    """List the jobs that can be resumed with 'weldcell cell resume' (interrupted or left running)."""
    from weldcell.cell.weldlog import WeldLog

    with WeldLog(db, readonly=True) as log:  # a missing file: "weld log not found"
        console.print(_jobs_table(log))


@cell_app.command("resume")
def cell_resume(
    job: int | None = typer.Argument(None, help="Job id (default: the newest resumable job)."),
    db: str = typer.Option(str(DEFAULT_LOG), "--db", help=_DB_HELP + "."),
    robot: str | None = typer.Option(
        None,
        "--robot",
        help="Robot controller, e.g. ur://192.168.0.10, kuka-rsi://192.168.1.10:59152 or fanuc://192.168.1.20",
    ),
    powersource: str | None = typer.Option(
        None, "--powersource", help="Power source, e.g. modbus://192.168.0.20:502"
    ),
    out: Path = typer.Option(Path("weldcell-out"), "--out", help="Folder for the moves the cell plans."),
    use_jobs: bool | None = typer.Option(
        None,
        "--use-jobs/--send-parameters",
        help="As for 'weldcell cell run'.",
    ),
    list_jobs: bool = typer.Option(False, "--list", help="Only list the resumable jobs."),
    positioner: str | None = typer.Option(
        None, "--positioner", help="The job's positioner (as for 'weldcell cell run')."
    ),
    stamp_key: Path | None = typer.Option(
        None,
        "--stamp-key",
        help="The cell's stamp key file (as for 'weldcell cell run'). "
        "Default: $WELDCELL_STAMP_KEY, else unkeyed stamps.",
    ),
    cell_config: Path | None = CellConfigOption,
    dashboard_port: int | None = DashboardPortOption,
    script_port: int | None = ScriptPortOption,
    driver_option: list[str] | None = DriverOptionOption,
    opcua: str | None = OpcUaOption,
) -> None:
    """Continue an interrupted job: back off, re-approach (validated), re-strike with the programmed
    overlap, and weld on; the attempts go into the same job record."""
    from weldcell.app.resume import ResumeOptions, resume_job
    from weldcell.cell.weldlog import WeldLog
    from weldcell.errors import WeldcellError

    if list_jobs:
        with WeldLog(db, readonly=True) as log:
            console.print(_jobs_table(log))
        return
    if robot is None or powersource is None:
        raise WeldcellError("resume needs --robot and --powersource (or --list to list resumable jobs)")
    _check_opcua(opcua)
    options = robot_driver_options(driver_option, dashboard_port=dashboard_port, script_port=script_port)
    setup = _cell_setup(cell_config)
    _sigterm_as_interrupt()
    _log_to_file(out / "weldcell.log")
    res = resume_job(
        ResumeOptions(
            log_path=db,
            robot_url=robot,
            powersource_url=powersource,
            job_id=job,
            out_dir=out,
            use_power_source_jobs=use_jobs if use_jobs is not None else setup.use_jobs,
            config=setup.config,
            driver_options=options,
            stamp_key=stamp_key,
            positioner_url=positioner,
            opcua=opcua,
            cell_setup=setup if cell_config is not None else None,
        ),
        progress=_progress_printer(),
    )
    _finish(res)


@cell_app.command("keygen")
def cell_keygen(
    path: Path = typer.Argument(..., help="Key file to create (mode 0600; never overwritten)."),
) -> None:
    """Create the cell's stamp key (256 random bits as hex, file mode 0600).

    Validate with it (``weldcell validate --stamp-key PATH`` or ``WELDCELL_STAMP_KEY=PATH``) and
    give it to the cell; the cell then refuses every trajectory its own validator did not stamp.
    """
    from weldcell.trajectory.stamp import STAMP_KEY_ENV, create_stamp_key

    with exit_on_error():
        key = create_stamp_key(path)
    console.print(f"created stamp key [bold]{key.path}[/] (key id {key.key_id}, mode 0600)")
    console.print(f"use it with --stamp-key {key.path} or export {STAMP_KEY_ENV}={key.path.resolve()}")


def register(app: typer.Typer) -> None:
    """Add ``demo``, ``cell`` and ``log`` to ``app``."""
    app.command("demo")(demo)
    app.add_typer(cell_app, name="cell")
    app.add_typer(log_app, name="log")
