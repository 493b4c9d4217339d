"""Simulation with pybullet: scene building, trajectory validation, viewer and recorder.

Only this subpackage imports pybullet. Every pybullet client is owned by a :class:`PybulletWorld`
and passed explicitly; nothing here keeps a global client.
"""

from weldcell.sim.cell_model import CellBody, CellModel
from weldcell.sim.collision import ClearanceRules, Proximity, PybulletCollisionChecker
from weldcell.sim.report import SeamMetrics, ValidationReport, ValidationSeries, Violation, ViolationKind
from weldcell.sim.scene import Scene, TorchPart, build_scene
from weldcell.sim.validate import ValidationOptions, validate_in_scene, validate_trajectory
from weldcell.sim.world import Mode, PybulletWorld, SimConnectionError

__all__ = [
    "CellBody",
    "CellModel",
    "ClearanceRules",
    "Mode",
    "Proximity",
    "PybulletCollisionChecker",
    "PybulletWorld",
    "Scene",
    "SeamMetrics",
    "SimConnectionError",
    "TorchPart",
    "ValidationOptions",
    "ValidationReport",
    "ValidationSeries",
    "Violation",
    "ViolationKind",
    "build_scene",
    "validate_in_scene",
    "validate_trajectory",
]
