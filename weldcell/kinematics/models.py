"""Loaders for the shipped models in ``urdf/``: robots by name, torches by name.

Nothing is loaded at import time; every call parses its URDF afresh and returns a new object.
Importing this module does not import numba (the robot model and its kernels load in ``load_robot``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from weldcell.errors import UnknownModelError
from weldcell.kinematics.specs import CRX_SPECS, GOFA_SPECS, OPW_SPECS, SERIAL_SPECS, TORCH_SPECS, UR_SPECS
from weldcell.kinematics.urdf import load_chain
from weldcell.resources import data_dir

if TYPE_CHECKING:
    from weldcell.kinematics.robot import Robot
    from weldcell.kinematics.tool import Torch

URDF_DIR = data_dir("urdf")


def robot_names() -> tuple[str, ...]:
    """Names accepted by :func:`load_robot`: UR e-series, OPW arms, CRX arms, GoFa arms, then
    numerical-only arms."""
    return (*UR_SPECS, *OPW_SPECS, *CRX_SPECS, *GOFA_SPECS, *SERIAL_SPECS)


def torch_names() -> tuple[str, ...]:
    """Names accepted by :func:`load_torch`."""
    return tuple(TORCH_SPECS)


def urdf_path(name: str) -> Path:
    """Path of the URDF of a shipped robot or torch.

    Raises:
        UnknownModelError: ``name`` is not a shipped model (the message lists the known names).
    """
    if name not in robot_names() and name not in torch_names():
        raise UnknownModelError(
            f"unknown model {name!r}; known robots: {', '.join(robot_names())}; "
            f"known torches: {', '.join(torch_names())}"
        )
    return URDF_DIR / f"{name}.urdf"


def load_robot(name: str) -> Robot:
    """Load a shipped robot by name (``ur3e``, ``ur5e``, ``ur10e``, ``ur16e``, ``kr6_r900``, ``srs7``).

    Raises:
        UnknownModelError: unknown name; the message lists the known names.
    """
    from weldcell.kinematics.robot import Robot  # compiled kernels (numba): imported on first use

    if name not in robot_names():
        raise UnknownModelError(f"unknown robot {name!r}; known robots: {', '.join(robot_names())}")
    path = urdf_path(name)
    chain = load_chain(path, tip="flange")
    if name in UR_SPECS:
        spec = UR_SPECS[name]
        return Robot(name, "ur", path, chain, np.array(spec.qdd_max), ur=spec)
    if name in OPW_SPECS:
        ospec = OPW_SPECS[name]
        return Robot(name, "opw", path, chain, np.array(ospec.qdd_max), opw=ospec)
    if name in CRX_SPECS:
        cspec = CRX_SPECS[name]
        return Robot(name, "crx", path, chain, np.array(cspec.qdd_max), crx=cspec)
    if name in GOFA_SPECS:
        gspec = GOFA_SPECS[name]
        return Robot(name, "gofa", path, chain, np.array(gspec.qdd_max), gofa=gspec)
    sspec = SERIAL_SPECS[name]
    return Robot(name, "numerical", path, chain, np.array(sspec.qdd_max))


def load_torch(name: str) -> Torch:
    """Load a shipped welding torch by name (``torch_mig_22``).

    Raises:
        UnknownModelError: unknown name; the message lists the known names.
    """
    from weldcell.kinematics.tool import Torch

    if name not in TORCH_SPECS:
        raise UnknownModelError(f"unknown torch {name!r}; known torches: {', '.join(torch_names())}")
    return Torch(TORCH_SPECS[name], urdf_path(name))
