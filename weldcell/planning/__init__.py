"""Planning: from tool paths to an executable, time-stamped joint trajectory.

* :func:`plan_program` — seam search over IK branches and torch rotations, seam ordering, transit
  moves and weld timing; returns a :class:`PlanResult`.
* :func:`plan_joint_move` — a collision-free, time-optimal rest-to-rest joint move.
* Every move keeps the TCP and the elbow under the planning speed limits
  (:mod:`~weldcell.planning.speed_limits`); arm configurations are chosen across the job
  (:mod:`~weldcell.planning.job_branches`).
* :class:`CollisionChecker` (protocol) and the fast :class:`CapsuleCollisionChecker`.
* :class:`JointTrajectory`, :class:`ArcEvent`, :func:`save_trajectory`, :func:`load_trajectory` —
  the trajectory artifact, re-exported from the layer below (:mod:`weldcell.trajectory`, schema
  ``weldcell.trajectory/2``, docs/trajectory-format.md).
"""

from weldcell.planning.collision import CapsuleCollisionChecker, CollisionChecker, CollisionQuery
from weldcell.planning.dispatch import plan_program
from weldcell.planning.planner import PlanOptions, PlanResult, PlanStatus, SeamReport
from weldcell.planning.seam import LadderOptions
from weldcell.planning.transit import TransitError, TransitOptions, plan_joint_move
from weldcell.trajectory import ArcEvent, JointTrajectory, load_trajectory, save_trajectory

__all__ = [
    "ArcEvent",
    "CapsuleCollisionChecker",
    "CollisionChecker",
    "CollisionQuery",
    "JointTrajectory",
    "LadderOptions",
    "PlanOptions",
    "PlanResult",
    "PlanStatus",
    "SeamReport",
    "TransitError",
    "TransitOptions",
    "load_trajectory",
    "plan_joint_move",
    "plan_program",
    "save_trajectory",
]
