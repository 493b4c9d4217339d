"""Deprecated alias of :mod:`weldcell.trajectory` (the trajectory type moved below planning).

Kept importable so that code written against ``weldcell.planning.trajectory`` keeps working; import
from :mod:`weldcell.trajectory` instead. This module will be removed.
"""

from weldcell.trajectory.io import SCHEMA, load_trajectory, save_trajectory
from weldcell.trajectory.types import CONTENT_HASH_SCHEME, ArcEvent, JointTrajectory, NDArrayF

__all__ = [
    "CONTENT_HASH_SCHEME",
    "SCHEMA",
    "ArcEvent",
    "JointTrajectory",
    "NDArrayF",
    "load_trajectory",
    "save_trajectory",
]
