"""weldcell.cell: cell control for robotic arc welding.

* :class:`CellController` runs a planned, validated trajectory as a welding job on any
  ``RobotDriver`` and :class:`~weldcell.drivers.powersource.PowerSource`: arc start handshake,
  supervised welding, crater fill, arc end, interlocks, faults (arc loss, e-stop, lost links), pause,
  resume with a programmed overlap, and recovery of a job a crashed process left behind.
* :class:`CellStateMachine` / :class:`CellState`: the explicit states and allowed transitions.
* :class:`WeldLog`: the weld log on SQLite or PostgreSQL (jobs, seam attempts, process signals, events);
  :func:`export_json`, :func:`export_csv`, :func:`plot_seam`.
* :class:`SimApprover` / :class:`SimulationOnly`: nothing moves without a validation stamp.
* :func:`params_from_program`: the welding parameters of a job per seam.

Composing a whole run (planning, validation, connecting devices, ``weldcell cell run``, ``resume``,
``demo``) is the application layer's job: :mod:`weldcell.app`.

See ``docs/cell.md``.
"""

from weldcell.cell.approval import Approval, MotionApprover, SimApprover, SimulationOnly, StampOnly
from weldcell.cell.arc import ArcProcedure, ArcStartError, WireStickError
from weldcell.cell.controller import CellConfig, CellController, CellEvent
from weldcell.cell.jobparams import params_from_program
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
    "ResumePoint",
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
    "evaluate_interlocks",
    "export_csv",
    "export_json",
    "job_steps",
    "params_from_program",
    "plot_seam",
    "seam_statistics",
]
