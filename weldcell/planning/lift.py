"""Lift-over transit moves: back off, move across, go in — the way a welder moves between seams.

When the straight joint move between two seams is blocked (a rib, a flange, a clamp between
them), a sampling planner finds *a* way round, often a long detour through other joint
configurations. A welder backs the torch off along its axis (or lifts it), moves across and goes
in again. :func:`lifted_waypoints` tries exactly that before any random search: for growing
heights, the two end poses are backed off along the torch axis or lifted straight up in the
world, solved with IK on the arm configuration of each end, and the three straight joint pieces
are checked (densely and, with the capsule checker, continuously). The first free one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.planning.collision import CollisionChecker
from weldcell.planning.seam import nearest_equivalent
from weldcell.planning.transit import segment_free

if TYPE_CHECKING:
    from weldcell.kinematics import Robot

NDArrayF = npt.NDArray[np.float64]

LIFT_HEIGHTS = (0.05, 0.1, 0.2, 0.3)
"""Distances [m] the torch is backed off / lifted, tried in this order."""


def _solve_near(robot: Robot, T_base_flange: NDArrayF, q_near: NDArrayF) -> NDArrayF | None:
    """The IK solution of ``T_base_flange`` in the configuration of ``q_near``, nearest it; or None."""
    Q = np.asarray(robot.ik(T_base_flange), dtype=np.float64)
    Q = Q[np.all(np.isfinite(Q), axis=1)]
    if not len(Q):
        return None
    lab = np.asarray(robot.configuration_labels(Q))
    same = np.all(lab == np.asarray(robot.configuration_labels(q_near)), axis=1)
    Q = Q[same]
    if not len(Q):
        return None
    Q = nearest_equivalent(robot, Q, q_near)
    ok = np.all(np.isfinite(Q), axis=1) & np.asarray(robot.within_limits(Q), dtype=bool)
    Q = Q[ok]
    if not len(Q):
        return None
    return np.asarray(Q[np.argmin(np.sum((Q - q_near) ** 2, axis=1))], dtype=np.float64)


def lifted_waypoints(
    robot: Robot,
    checker: CollisionChecker,
    q0: NDArrayF,
    q1: NDArrayF,
    T_flange_tcp: NDArrayF,
    T_base_world: NDArrayF,
    resolution: float,
    heights: tuple[float, ...] = LIFT_HEIGHTS,
) -> NDArrayF | None:
    """Way points (4, n) q0 → lifted q0 → lifted q1 → q1 whose straight joint pieces are free; or None.

    Args:
        robot: ``weldcell.kinematics.Robot``.
        checker: Collision checker of the cell.
        q0, q1: Start and goal configurations [rad], shape (n,).
        T_flange_tcp: TCP in the flange frame, shape (4, 4).
        T_base_world: World in the robot base frame, shape (4, 4) ("up" is the world +z).
        resolution: Largest joint step between collision checks [rad].
        heights: Back-off / lift distances to try [m].
    """
    T_tcp_flange = np.linalg.inv(T_flange_tcp)
    T0 = np.asarray(robot.fk(q0), dtype=np.float64) @ T_flange_tcp
    T1 = np.asarray(robot.fk(q1), dtype=np.float64) @ T_flange_tcp
    up = np.asarray(T_base_world, dtype=np.float64)[:3, 2]
    for h in heights:
        for d0, d1 in ((-T0[:3, 2], -T1[:3, 2]), (up, up)):
            A, B = T0.copy(), T1.copy()
            A[:3, 3] += h * d0
            B[:3, 3] += h * d1
            qa = _solve_near(robot, A @ T_tcp_flange, q0)
            qb = _solve_near(robot, B @ T_tcp_flange, q1)
            if qa is None or qb is None:
                continue
            wp = np.stack([q0, qa, qb, q1])
            if all(segment_free(checker, wp[k], wp[k + 1], resolution) for k in range(3)):
                return wp
    return None
