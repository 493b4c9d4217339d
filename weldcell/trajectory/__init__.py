"""The trajectory layer: the timed joint trajectory and what every consumer does with it.

Below ``planning`` (which produces trajectories) and above ``kinematics``; ``sim``, ``drivers`` and
``cell`` consume trajectories through this package and never need the planner:

* :class:`JointTrajectory`, :class:`ArcEvent` (:mod:`~weldcell.trajectory.types`), with the shared
  operations as methods: :meth:`~JointTrajectory.arc_segments`, :meth:`~JointTrajectory.resample`
  (to a controller cycle), :meth:`~JointTrajectory.with_samples`, :meth:`~JointTrajectory.at_time`;
* :func:`save_trajectory`, :func:`load_trajectory` (:mod:`~weldcell.trajectory.io`, schema
  ``weldcell.trajectory/2``, docs/trajectory-format.md);
* :mod:`~weldcell.trajectory.ops`: the array functions behind them (runs of a flag, resampling,
  differentiation, the quintic rest-to-rest profile) and :func:`joint_move`
  (:mod:`~weldcell.trajectory.moves`), a rest-to-rest joint move under the robot's limits;
* :mod:`~weldcell.trajectory.stamp`: the validation stamp (read and verify; the simulator writes it);
* :mod:`~weldcell.trajectory.margins`: the clearance and singularity floors shared by the planner and
  the simulator.
"""

from weldcell.trajectory.io import SCHEMA, load_trajectory, save_trajectory
from weldcell.trajectory.moves import joint_move
from weldcell.trajectory.ops import differentiate, quintic_rest_to_rest, rest_to_rest_duration, true_runs
from weldcell.trajectory.types import (
    CONTENT_HASH_SCHEME,
    ArcEvent,
    ArcSegment,
    ExternalAxes,
    JointTrajectory,
    Resampled,
)

__all__ = [
    "CONTENT_HASH_SCHEME",
    "SCHEMA",
    "ArcEvent",
    "ArcSegment",
    "ExternalAxes",
    "JointTrajectory",
    "Resampled",
    "differentiate",
    "joint_move",
    "load_trajectory",
    "quintic_rest_to_rest",
    "rest_to_rest_duration",
    "save_trajectory",
    "true_runs",
]
