"""Robot drivers and welding power sources.

- :class:`RobotDriver` (``weldcell.drivers.base``): the contract every robot driver follows;
  :class:`VirtualRobot` is its in-process simulated implementation.
- :class:`URDriver` (``weldcell.drivers.ur``): Universal Robots over RTDE / Dashboard / URScript,
  with :func:`start_virtual_controller` for a protocol-faithful virtual UR controller.
- :class:`PowerSource` and its implementations (``weldcell.drivers.powersource``).

See ``docs/drivers.md`` and ``docs/powersource.md``.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weldcell.drivers.base import (
        ExecutionHandle,
        ExecutionOutcome,
        ExecutionResult,
        IoCounts,
        JointLimits,
        Progress,
        RobotDriver,
        RobotMode,
        RobotState,
        SafetyStatus,
        check_trajectory_limits,
    )
    from weldcell.drivers.powersource import (
        IoPowerSource,
        ModbusPowerSource,
        PowerSource,
        PowerSourceStatus,
        WeldParams,
    )
    from weldcell.drivers.ur import URDriver, URDriverConfig, start_virtual_controller
    from weldcell.drivers.virtual import ArcLoopback, VirtualRobot
    from weldcell.trajectory.moves import joint_move

#: Where each public name lives: imported on first use (PEP 562), so that importing a vendor package
#: or the registry (``weldcell controller …``, ``weldcell --help``) loads neither numpy nor the UR code.
_LAZY = {
    **dict.fromkeys(
        (
            "ExecutionHandle",
            "ExecutionOutcome",
            "ExecutionResult",
            "IoCounts",
            "JointLimits",
            "Progress",
            "RobotDriver",
            "RobotMode",
            "RobotState",
            "SafetyStatus",
            "check_trajectory_limits",
        ),
        "weldcell.drivers.base",
    ),
    "joint_move": "weldcell.trajectory.moves",
    **dict.fromkeys(
        ("IoPowerSource", "ModbusPowerSource", "PowerSource", "PowerSourceStatus", "WeldParams"),
        "weldcell.drivers.powersource",
    ),
    **dict.fromkeys(("URDriver", "URDriverConfig", "start_virtual_controller"), "weldcell.drivers.ur"),
    **dict.fromkeys(("ArcLoopback", "VirtualRobot"), "weldcell.drivers.virtual"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ArcLoopback",
    "ExecutionHandle",
    "ExecutionOutcome",
    "ExecutionResult",
    "IoCounts",
    "IoPowerSource",
    "JointLimits",
    "ModbusPowerSource",
    "PowerSource",
    "PowerSourceStatus",
    "Progress",
    "RobotDriver",
    "RobotMode",
    "RobotState",
    "SafetyStatus",
    "URDriver",
    "URDriverConfig",
    "VirtualRobot",
    "WeldParams",
    "check_trajectory_limits",
    "joint_move",
    "start_virtual_controller",
]
