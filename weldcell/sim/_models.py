"""Access to the robot and torch models of ``weldcell.kinematics`` (URDF paths, limits).

Used for URDF file paths and joint limits only; the validation's judgement never uses their
kinematics.
"""

from __future__ import annotations

from typing import Any

from weldcell.errors import ModelError


def _loader(name: str) -> Any:
    import weldcell.kinematics as kin

    fn = getattr(kin, name, None)
    if fn is None:
        try:
            from weldcell.kinematics import models
        except ImportError as err:
            raise ModelError(f"weldcell.kinematics has no {name}(); pass URDF paths explicitly") from err
        fn = getattr(models, name)
    return fn


def load_robot_model(name: str) -> Any:
    """``weldcell.kinematics.load_robot(name)`` (UnknownModelError lists the known names)."""
    return _loader("load_robot")(name)


def load_torch_model(name: str) -> Any:
    """``weldcell.kinematics.load_torch(name)`` (UnknownModelError lists the known names)."""
    return _loader("load_torch")(name)
