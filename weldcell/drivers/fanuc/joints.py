"""FANUC joint conventions: weldcell's model joints q [rad] <-> the controller's joint angles [deg].

FANUC's serial arms (ARC Mate / M-series) report and take J3 as the forearm's angle to the
horizontal (the "J2/J3 interaction"), not as a joint relative to J2. weldcell's models use the
relative J3 of the URDF, so for those arms ``J3_controller = q3 - q2`` (ROS-Industrial
``fanuc_driver``'s ``J23_factor`` = 1; the arm's published motion range of J3 is in the controller's
convention). Joints 1, 2, 4, 5 and 6 are the same angle in both, converted rad <-> deg.

FANUC's robot world frame (user frame 0) has its origin on the J1 axis at the height of the J2
axis, axes as weldcell's base frame; :data:`WORLD_Z` holds that height above the mounting face
(weldcell's ``base``). Positions are X, Y, Z [mm] and W, P, R [deg], the fixed-axis rotations
``Rz(R) Ry(P) Rx(W)``.

The tables are per model; an arm not in them must be added here before a FANUC driver drives it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from weldcell.errors import DriverError

NDArrayF = npt.NDArray[np.float64]

#: Model -> J2/J3 interaction (True: the controller's J3 is the forearm angle to the horizontal).
J23_COUPLED: dict[str, bool] = {
    "arcmate100id": True,
}


#: Model -> height [m] of FANUC's world frame above weldcell's base frame (the J2 axis height).
WORLD_Z: dict[str, float] = {
    "arcmate100id": 0.450,
}


def T_base_world(robot: str) -> NDArrayF:
    """Pose of FANUC's world frame (user frame 0) in weldcell's base frame, shape (4, 4)."""
    j23_coupled(robot)  # raises for a model not in the tables
    T = np.eye(4)
    T[2, 3] = WORLD_Z[robot]
    return T


def xyzwpr_from_pose(T: npt.ArrayLike) -> NDArrayF:
    """FANUC position X, Y, Z [mm], W, P, R [deg] of poses [m], shape (..., 4, 4) -> (..., 6)."""
    from weldcell.spatial.se3 import xyz_rpy_from_se3

    xyz, rpy = xyz_rpy_from_se3(np.asarray(T, dtype=np.float64))
    return np.concatenate([xyz * 1000.0, np.degrees(rpy)], axis=-1)


def pose_from_xyzwpr(p: npt.ArrayLike) -> NDArrayF:
    """Inverse of :func:`xyzwpr_from_pose`: poses [m], shape (..., 4, 4)."""
    from weldcell.spatial.se3 import se3_from_xyz_rpy

    a = np.asarray(p, dtype=np.float64)
    return se3_from_xyz_rpy(a[..., :3] / 1000.0, np.radians(a[..., 3:6]))


def j23_coupled(robot: str) -> bool:
    """Whether ``robot``'s controller uses the J2/J3 interaction.

    Raises:
        DriverError: ``robot`` is not a FANUC model weldcell knows.
    """
    try:
        return J23_COUPLED[robot]
    except KeyError:
        raise DriverError(
            f"robot {robot!r} is not a FANUC model weldcell knows the joint convention of; "
            f"known: {', '.join(sorted(J23_COUPLED))}"
        ) from None


def controller_deg_from_q(q: npt.ArrayLike, coupled: bool) -> NDArrayF:
    """Controller joint angles [deg] from model joints ``q`` [rad], shape (..., n)."""
    deg = np.degrees(np.asarray(q, dtype=np.float64))
    if coupled:
        deg[..., 2] = deg[..., 2] - deg[..., 1]
    return deg


def q_from_controller_deg(deg: npt.ArrayLike, coupled: bool) -> NDArrayF:
    """Model joints [rad] from controller joint angles [deg], shape (..., n)."""
    d = np.array(deg, dtype=np.float64)
    if coupled:
        d[..., 2] = d[..., 2] + d[..., 1]
    return np.radians(d)
