"""Robot and torch facts the loader needs, taken from :mod:`weldcell.kinematics` when it provides them.

The program loader validates robot and torch names, the length of the home configuration and the
TCP of the torch. Those facts belong to ``weldcell.kinematics`` (``robot_names``, ``load_robot``,
``torch_names``, ``load_torch``). While that package is incomplete this module falls back to a small
table of the same models so that programs can still be loaded; the fallback is used only when the
kinematics function is missing, never to override it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.spatial import se3_from_rotation_translation

log = logging.getLogger(__name__)
NDArrayF = npt.NDArray[np.float64]

# Fallback facts (used only if weldcell.kinematics lacks the function).
_FALLBACK_ROBOTS = {"ur3e": 6, "ur5e": 6, "ur10e": 6, "ur16e": 6, "kr6_r900": 6}
# torch name -> (neck angle [rad], length flange → contact tip along the neck [m], nominal stick-out [m])
_FALLBACK_TORCHES = {"torch_mig_22": (math.radians(22.0), 0.33, 0.015)}


def _kinematics_attr(name: str) -> Any:
    try:
        from weldcell import kinematics
    except ImportError:  # pragma: no cover - the package always exists in the tree
        return None
    return getattr(kinematics, name, None)


def robot_names() -> tuple[str, ...]:
    """Known robot model names."""
    fn = _kinematics_attr("robot_names")
    if fn is not None:
        return tuple(fn())
    return tuple(_FALLBACK_ROBOTS)


def torch_names() -> tuple[str, ...]:
    """Known torch model names."""
    fn = _kinematics_attr("torch_names")
    if fn is not None:
        return tuple(fn())
    return tuple(_FALLBACK_TORCHES)


def robot_joint_limits(name: str) -> tuple[int, NDArrayF | None, NDArrayF | None]:
    """Number of joints and joint limits [rad] (None when unknown) of robot ``name``."""
    fn = _kinematics_attr("load_robot")
    if fn is not None:
        robot = fn(name)
        return int(robot.n_joints), np.asarray(robot.q_lower), np.asarray(robot.q_upper)
    return _FALLBACK_ROBOTS[name], None, None


def torch_nominal_stickout(name: str) -> float:
    """Nominal stick-out [m] of torch ``name``."""
    fn = _kinematics_attr("load_torch")
    if fn is not None:
        return float(fn(name).nominal_stickout)
    return _FALLBACK_TORCHES[name][2]


def torch_T_flange_tcp(name: str, stickout: float) -> NDArrayF:
    """TCP (wire tip) of torch ``name`` in the flange frame at ``stickout`` [m], shape (4, 4).

    Fallback geometry: the neck leaves the flange along z, bent by the neck angle about the flange
    y axis; the contact tip sits at the neck length and the wire tip ``stickout`` further along the
    TCP z axis (the torch approach direction).
    """
    fn = _kinematics_attr("load_torch")
    if fn is not None:
        return np.asarray(fn(name).T_flange_tcp(stickout), dtype=np.float64)
    neck, length, _ = _FALLBACK_TORCHES[name]
    c, s = math.cos(neck), math.sin(neck)
    R = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    z = R[:, 2]
    return se3_from_rotation_translation(R, (length + stickout) * z)
