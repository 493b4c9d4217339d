"""weldcell.kinematics: robot and torch models from ``urdf/``, FK, Jacobian, analytic and numerical IK.

Public API (docs/architecture.md, "kinematics"; conventions in docs/conventions.md)::

    robot_names(), load_robot(name) -> Robot
    Robot.fk(q) -> T_base_flange            Robot.ik(T_base_flange) -> q (..., 8, n)
    Robot.ik_numerical(T, q_seed, tol_m, tol_rad) -> IkResult
    Robot.jacobian(q), Robot.configuration_labels(q), Robot.singularity_distance(q)
    singularity_distance_from_jacobian(J, reach)   # the one singularity measure (planner, validator)
    Robot.nearest_equivalent(q, q_ref), Robot.link_poses(q), Robot.collision_capsules
    torch_names(), load_torch(name) -> Torch; Torch.T_flange_tcp(stickout)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weldcell.kinematics.models import load_robot, load_torch, robot_names, torch_names, urdf_path
    from weldcell.kinematics.robot import N_BRANCHES, IkResult, Robot, singularity_distance_from_jacobian
    from weldcell.kinematics.tool import Torch
    from weldcell.kinematics.urdf import Capsule

# Names load on first access (PEP 562) so that importing weldcell.kinematics (for instance through
# weldcell.kinematics.safety when a program is checked) does not import numba and compile nothing.
_LAZY = {
    "Capsule": "weldcell.kinematics.urdf",
    "load_robot": "weldcell.kinematics.models",
    "load_torch": "weldcell.kinematics.models",
    "robot_names": "weldcell.kinematics.models",
    "torch_names": "weldcell.kinematics.models",
    "urdf_path": "weldcell.kinematics.models",
    "N_BRANCHES": "weldcell.kinematics.robot",
    "IkResult": "weldcell.kinematics.robot",
    "Robot": "weldcell.kinematics.robot",
    "singularity_distance_from_jacobian": "weldcell.kinematics.robot",
    "Torch": "weldcell.kinematics.tool",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'weldcell.kinematics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "N_BRANCHES",
    "Capsule",
    "IkResult",
    "Robot",
    "Torch",
    "load_robot",
    "load_torch",
    "robot_names",
    "singularity_distance_from_jacobian",
    "torch_names",
    "urdf_path",
]
