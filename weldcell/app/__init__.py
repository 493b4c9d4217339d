"""weldcell.app: the application layer between the command line and cell control (the composition root).

* :mod:`weldcell.app.job`: ``weldcell cell run``: :func:`run_job` with :class:`RunOptions` (plan and
  validate or load a validated trajectory, connect the devices, touch sensing, weld).
* :mod:`weldcell.app.resume`: ``weldcell cell resume``: continue an interrupted job of the weld log.
* :mod:`weldcell.app.demo`: ``weldcell demo``: a vendor's virtual cell (looked up in the vendor
  registry, :mod:`weldcell.drivers.registry`), the virtual power source and the viewer, wired to the
  cell controller.
* :mod:`weldcell.app.planvalidate`: plan a program and validate it in simulation (report and stamp).
* :mod:`weldcell.app.devices`: connect robot (per-driver ``driver_options``), power source and
  positioner through the driver registry, once for every run.
* :mod:`weldcell.app.weld`: weld one job on connected devices through the cell controller.
* :mod:`weldcell.app.touchjob`: touch sensing, re-planning of the corrected program, weld.
* :mod:`weldcell.app.children`: child processes of virtual cells.

``weldcell.cell`` stays cell control (jobs, arc I/O, interlocks, weld log); what composes devices,
planner and simulator for a whole run lives here. Import-linter keeps the direction
``cli > app > cell`` and forbids ``cell`` the planner's and the simulator's program-level entries.
"""

from weldcell.app.demo import DEMO_PROGRAMS, DemoOptions, demo_programs, run_demo
from weldcell.app.job import RunOptions, run_job
from weldcell.app.planvalidate import collision_checker_for, plan_and_validate
from weldcell.app.progress import CellRunResult, Progress, ProgressFn
from weldcell.app.resume import ResumeOptions, resume_job

__all__ = [
    "DEMO_PROGRAMS",
    "CellRunResult",
    "DemoOptions",
    "Progress",
    "ProgressFn",
    "ResumeOptions",
    "RunOptions",
    "collision_checker_for",
    "demo_programs",
    "plan_and_validate",
    "resume_job",
    "run_demo",
    "run_job",
]
