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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Imported on first use (PEP 562): ``weldcell check`` reads a cell configuration through
# weldcell.cell.calibrated without loading the controller, the weld log (SQLAlchemy) or scipy.
_LAZY = {
    "Approval": "weldcell.cell.approval",
    "MotionApprover": "weldcell.cell.approval",
    "SimApprover": "weldcell.cell.approval",
    "SimulationOnly": "weldcell.cell.approval",
    "StampOnly": "weldcell.cell.approval",
    "ArcProcedure": "weldcell.cell.arc",
    "ArcStartError": "weldcell.cell.arc",
    "WireStickError": "weldcell.cell.arc",
    "CellConfig": "weldcell.cell.controller",
    "CellController": "weldcell.cell.controller",
    "CellEvent": "weldcell.cell.controller",
    "params_from_program": "weldcell.cell.jobparams",
    "ProgramArc": "weldcell.cell.jobtypes",
    "ProgramMode": "weldcell.cell.jobtypes",
    "export_csv": "weldcell.cell.logexport",
    "export_json": "weldcell.cell.logexport",
    "plot_seam": "weldcell.cell.logexport",
    "SeamStatistics": "weldcell.cell.logstats",
    "seam_statistics": "weldcell.cell.logstats",
    "AttemptTrace": "weldcell.cell.monitor",
    "MoveLimits": "weldcell.cell.moves",
    "MoveStep": "weldcell.cell.segments",
    "SeamStep": "weldcell.cell.segments",
    "job_steps": "weldcell.cell.segments",
    "CellState": "weldcell.cell.state",
    "CellStateMachine": "weldcell.cell.state",
    "Command": "weldcell.cell.state",
    "InterlockConfig": "weldcell.cell.state",
    "InterlockStatus": "weldcell.cell.state",
    "evaluate_interlocks": "weldcell.cell.state",
    "JobRecord": "weldcell.cell.weldlog",
    "JobTrace": "weldcell.cell.weldlog",
    "ResumePoint": "weldcell.cell.weldlog",
    "SeamRecord": "weldcell.cell.weldlog",
    "SignalTrace": "weldcell.cell.weldlog",
    "WeldLog": "weldcell.cell.weldlog",
    "WeldLogError": "weldcell.cell.weldlog",
}


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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'weldcell.cell' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
