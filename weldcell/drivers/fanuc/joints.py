"""FANUC joint conventions: weldcell's model joints q [rad] <-> the controller's joint angles [deg].

One per-model linear map (:class:`FanucJointMap`) used by the Stream Motion driver, the virtual FANUC
controller and the TP export: ``controller_deg = A @ degrees(q)`` for the first six joints.

* ARC Mate / M-series (``arcmate100id``): FANUC's controller reports and takes J3 as the forearm's
  angle to the horizontal (the "J2/J3 interaction"), not as a joint relative to J2. weldcell's model
  uses the relative J3 of the URDF with FANUC's axis directions, so ``J3 = q3 - q2`` and the other
  joints are equal (ROS-Industrial ``fanuc_driver``'s ``J23_factor`` = 1).
* CRX (``crx10ial``): the CRX has the same interaction. Sources: ROS-Industrial ``fanuc``
  ``fanuc_crx10ia_support/launch/robot_interface_streaming_crx10ial.launch`` ("Defaults provided for
  CRX-10iA/L: J23_factor = 1") with its URDF ``urdf/crx10ial_macro.xacro`` (J2 about +y, J3 about -y,
  relative), and mattj23's CRX kinematics (``industrial-robots`` crate, ``fanuc/crx.rs``:
  ``joints_to_rad`` adds J2 to J3, "the linked J2/J3 quirk common to the FANUC robots"). In FANUC's
  frame, at all joints zero the upper arm is vertical and the forearm horizontal, J2+ leans the upper
  arm forward and J3+ lifts the forearm. weldcell's CRX DH model (:mod:`weldcell.kinematics.crx`) has
  the same zero pose but its q2 turns the other way (its J2 axis is FANUC's -y), and its q3 is the
  relative joint about the J2 axis direction; hence ``J2 = -q2`` and ``J3 = q3 + q2`` (= q3 - J2). The
  map was checked against an independent FK of the ROS-Industrial URDF in FANUC's joint convention
  (tests/drivers/fanuc/test_joints.py).

FANUC's robot world frame (user frame 0) has its origin on the J1 axis at the height of the J2
axis, axes as weldcell's base frame; :func:`T_base_world` gives it from the model's J2 height above
the mounting face (weldcell's ``base``): OPW ``c1`` for ARC Mate, ``base_height`` for CRX (245 mm
on the CRX-10iA/L: ROS-Industrial ``crx10ial_macro.xacro``, joint_1 and the ``base`` frame at z =
0.245). Positions are X, Y, Z [mm] and W, P, R [deg], the fixed-axis rotations ``Rz(R) Ry(P) Rx(W)``.

An arm not in :data:`JOINT_MAPS` must be added here before a FANUC driver drives it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.errors import DriverError

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FanucJointMap:
    """A FANUC model's joint convention: ``controller_deg[:6] = A @ degrees(q[:6])``.

    Attributes:
        signs: Controller direction of each of the six joints relative to the model's (+1 or -1).
        j3_from_q2: Coefficient of model q2 in the controller J3 (the J2/J3 interaction):
            ``J3 = signs[2]·q3 + j3_from_q2·q2`` (0: no interaction).
        world_z: Height [m] of FANUC's world frame (the J2 axis) above weldcell's base frame.
    """

    signs: tuple[float, float, float, float, float, float]
    j3_from_q2: float
    world_z: float

    def matrix(self) -> NDArrayF:
        """``A``, shape (6, 6): controller degrees from model degrees."""
        A = np.diag(np.asarray(self.signs, dtype=np.float64))
        A[2, 1] = self.j3_from_q2
        return A


#: Identity map (a model whose joints are the controller's), used for ``coupled=False``.
_IDENTITY = FanucJointMap((1.0, 1.0, 1.0, 1.0, 1.0, 1.0), 0.0, 0.0)
#: The ARC Mate interaction alone (``coupled=True``): ``J3 = q3 - q2``.
_ARCMATE = FanucJointMap((1.0, 1.0, 1.0, 1.0, 1.0, 1.0), -1.0, 0.0)


def _spec_heights() -> dict[str, float]:
    from weldcell.kinematics.specs import CRX_SPECS, OPW_SPECS

    return {"arcmate100id": OPW_SPECS["arcmate100id"].c1, "crx10ial": CRX_SPECS["crx10ial"].base_height}


_H = _spec_heights()

#: Model -> joint convention (see module docstring for the sources).
JOINT_MAPS: dict[str, FanucJointMap] = {
    "arcmate100id": FanucJointMap((1.0, 1.0, 1.0, 1.0, 1.0, 1.0), -1.0, _H["arcmate100id"]),
    "crx10ial": FanucJointMap((1.0, -1.0, 1.0, 1.0, 1.0, 1.0), 1.0, _H["crx10ial"]),
}

#: Model -> whether the controller uses the J2/J3 interaction (kept for callers that ask just that).
J23_COUPLED: dict[str, bool] = {name: m.j3_from_q2 != 0.0 for name, m in JOINT_MAPS.items()}

#: Model -> height [m] of FANUC's world frame above weldcell's base frame (the J2 axis height).
WORLD_Z: dict[str, float] = {name: m.world_z for name, m in JOINT_MAPS.items()}


def joint_map(robot: str) -> FanucJointMap:
    """The joint convention of FANUC model ``robot``.

    Raises:
        DriverError: ``robot`` is not a FANUC model weldcell knows.
    """
    try:
        return JOINT_MAPS[robot]
    except KeyError:
        raise DriverError(
            f"robot {robot!r} is not a FANUC model weldcell knows the joint convention of; "
            f"known: {', '.join(sorted(JOINT_MAPS))}"
        ) from None


def T_base_world(robot: str) -> NDArrayF:
    """Pose of FANUC's world frame (user frame 0) in weldcell's base frame, shape (4, 4)."""
    T = np.eye(4)
    T[2, 3] = joint_map(robot).world_z
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
    return joint_map(robot).j3_from_q2 != 0.0


def _as_map(mapping: FanucJointMap | bool) -> FanucJointMap:
    if isinstance(mapping, FanucJointMap):
        return mapping
    return _ARCMATE if mapping else _IDENTITY


def controller_deg_from_q(q: npt.ArrayLike, mapping: FanucJointMap | bool) -> NDArrayF:
    """Controller joint angles [deg] from model joints ``q`` [rad], shape (..., n), n ≥ 6.

    Args:
        q: Model joints [rad].
        mapping: The model's :class:`FanucJointMap` (:func:`joint_map`); ``True`` is the ARC Mate
            interaction alone (``J3 = q3 - q2``), ``False`` no change but the unit.
    """
    deg = np.degrees(np.asarray(q, dtype=np.float64))
    m = _as_map(mapping)
    out = deg.copy()
    out[..., :6] = np.einsum("ij,...j->...i", m.matrix(), deg[..., :6])
    return out


def q_from_controller_deg(deg: npt.ArrayLike, mapping: FanucJointMap | bool) -> NDArrayF:
    """Model joints [rad] from controller joint angles [deg], shape (..., n): the inverse of
    :func:`controller_deg_from_q`."""
    d = np.array(deg, dtype=np.float64)
    m = _as_map(mapping)
    out = d.copy()
    out[..., :6] = np.einsum("ij,...j->...i", np.linalg.inv(m.matrix()), d[..., :6])
    return np.radians(out)
