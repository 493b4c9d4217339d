"""FANUC joint conventions: weldcell's model joints q [rad] <-> the controller's joint angles [deg].

FANUC's serial arms (ARC Mate / M-series) report and take J3 as the forearm's angle to the
horizontal (the "J2/J3 interaction"), not as a joint relative to J2. weldcell's models use the
relative J3 of the URDF, so for those arms ``J3_controller = q3 - q2`` (ROS-Industrial
``fanuc_driver``'s ``J23_factor`` = 1; the arm's published motion range of J3 is in the controller's
convention). Joints 1, 2, 4, 5 and 6 are the same angle in both, converted rad <-> deg.

The table is per model; an arm not in it must be added here before a FANUC driver drives it.
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
