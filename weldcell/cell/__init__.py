"""weldcell.cell: cell control for robotic arc welding.

* :class:`CellController` runs a planned, validated trajectory as a welding job on any
  ``RobotDriver`` and :class:`~weldcell.drivers.powersource.PowerSource`: arc start handshake,
  supervised welding, crater fill, arc end, interlocks, faults (arc loss, e-stop, lost links), pause,
  resume with a programmed overlap, and recovery of a job a crashed process left behind.
* :class:`CellStateMachine` / :class:`CellState`: the explicit states and allowed transitions.
* :class:`WeldLog`: the weld log on SQLite or PostgreSQL (jobs, seam attempts, process signals, events);
  :func:`export_json`, :func:`export_csv`, :func:`plot_seam`.
* :class:`SimApprover` / :class:`SimulationOnly`: nothing moves without a validation stamp.
* :func:`run_job`: the wiring behind ``weldcell cell run`` (``weldcell demo`` composes its virtual
  cells in :mod:`weldcell.app.demo`).

See ``docs/cell.md``.
"""

from weldcell.cell.approval import Approval, MotionApprover, SimApprover, SimulationOnly, StampOnly
from weldcell.cell.arc import ArcProcedure, ArcStartError, WireStickError
from weldcell.cell.controller import CellConfig, CellController, CellEvent
from weldcell.cell.demo import (
    CellRunResult,
    Progress,
    RunOptions,
    collision_checker_for,
    params_from_program,
    plan_and_validate,
    run_job,
    virtual_power_source_process,
)
from weldcell.cell.jobtypes import ProgramArc, ProgramMode
from weldcell.cell.logexport import export_csv, export_json, plot_seam
from weldcell.cell.logstats import SeamStatistics, seam_statistics
from weldcell.cell.monitor import AttemptTrace
from weldcell.cell.moves import MoveLimits
from weldcell.cell.segments import MoveStep, SeamStep, job_steps
from weldcell.cell.state import (
    CellState,
    CellStateMachine,
    Command,
    InterlockConfig,
    InterlockStatus,
    evaluate_interlocks,
)
from weldcell.cell.weldlog import (
    JobRecord,
    JobTrace,
    ResumePoint,
    SeamRecord,
    SignalTrace,
    WeldLog,
    WeldLogError,
)

__all__ = [
    "Approval",
    "ArcProcedure",
    "ArcStartError",
    "AttemptTrace",
    "CellConfig",
    "CellController",
    "CellEvent",
    "CellRunResult",
    "CellState",
    "CellStateMachine",
    "Command",
    "InterlockConfig",
    "InterlockStatus",
    "JobRecord",
    "JobTrace",
    "MotionApprover",
    "MoveLimits",
    "MoveStep",
    "ProgramArc",
    "ProgramMode",
    "Progress",
    "ResumePoint",
    "RunOptions",
    "SeamRecord",
    "SeamStatistics",
    "SeamStep",
    "SignalTrace",
    "SimApprover",
    "SimulationOnly",
    "StampOnly",
    "WeldLog",
    "WeldLogError",
    "WireStickError",
    "collision_checker_for",
    "evaluate_interlocks",
    "export_csv",
    "export_json",
    "job_steps",
    "params_from_program",
    "plan_and_validate",
    "plot_seam",
    "run_job",
    "seam_statistics",
    "virtual_power_source_process",
]


def __getattr__(name: str) -> object:
    """``run_demo`` and ``DemoOptions`` moved to :mod:`weldcell.app.demo`; still importable from here."""
    if name in ("DemoOptions", "run_demo"):
        from weldcell.cell import demo

        return getattr(demo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
