"""Clearance and singularity floors shared by the planner and the simulator that judges its plans.

One place so that a planned program passes validation by construction: the planner's checker and
seam search use these numbers as written, and ``weldcell.sim.validate.ValidationOptions`` uses the
same numbers as its limits. The singularity measure is
``weldcell.kinematics.singularity_distance_from_jacobian`` in both (the planner on its own
Jacobian, the validator on pybullet's).
"""

from __future__ import annotations

NOZZLE_CLEARANCE = 0.001
"""Smallest distance [m] of the torch nozzle and contact tip to workpieces and fixtures."""

SELF_CLEARANCE = 0.002
"""Smallest distance [m] between non-adjacent robot links, and between the torch and the robot."""

MIN_SINGULARITY = 0.005
"""Smallest singularity measure (dimensionless, ``singularity_distance_from_jacobian``) with the arc on.

The planner's seam search uses no configuration below it and checks every weld sample against it; the
validator reports weld samples below it."""

SINGULARITY_MARGIN = 0.05
"""Singularity measure below which the planner's seam search penalises a configuration (prefers others)."""
