"""Deprecated alias of :mod:`weldcell.trajectory.margins`; import from there. Will be removed."""

from weldcell.trajectory.margins import MIN_SINGULARITY, NOZZLE_CLEARANCE, SELF_CLEARANCE, SINGULARITY_MARGIN

__all__ = ["MIN_SINGULARITY", "NOZZLE_CLEARANCE", "SELF_CLEARANCE", "SINGULARITY_MARGIN"]
