"""weldcell.app: the application layer between the command line and cell control (the composition root).

* :mod:`weldcell.app.demo`: ``weldcell demo``: a vendor's virtual cell (looked up in the vendor
  registry, :mod:`weldcell.drivers.registry`), the virtual power source and the viewer, wired to the
  cell controller.

``weldcell.cell`` stays cell control (jobs, arc I/O, interlocks, weld log); what composes devices,
planner and simulator for a whole run lives here. Import-linter keeps the direction
``cli > app > cell``.
"""

from weldcell.app.demo import DEMO_PROGRAMS, DemoOptions, demo_programs, run_demo

__all__ = ["DEMO_PROGRAMS", "DemoOptions", "demo_programs", "run_demo"]
