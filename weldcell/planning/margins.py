"""Clearance defaults shared by the planner and the simulator that judges its plans.

One place so that a planned program passes validation by construction: the planner's checker uses
these (plus its own conservative pad) and ``weldcell.sim.validate.ValidationOptions`` uses the same
numbers as its limits.
"""

from __future__ import annotations

NOZZLE_CLEARANCE = 0.001
"""Smallest distance [m] of the torch nozzle and contact tip to workpieces and fixtures."""

SELF_CLEARANCE = 0.002
"""Smallest distance [m] between non-adjacent robot links, and between the torch and the robot."""
