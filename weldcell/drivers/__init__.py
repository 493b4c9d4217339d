"""Robot drivers and welding power sources.

- :class:`RobotDriver` (``weldcell.drivers.base``): the contract every robot driver follows;
  :class:`VirtualRobot` is its in-process simulated implementation.
- :class:`URDriver` (``weldcell.drivers.ur``): Universal Robots over RTDE / Dashboard / URScript,
  with :func:`start_virtual_controller` for a protocol-faithful virtual UR controller.
- :class:`PowerSource` and its implementations (``weldcell.drivers.powersource``).

See ``docs/drivers.md`` and ``docs/powersource.md``.
"""

from weldcell.drivers.base import (
    ExecutionHandle,
    ExecutionOutcome,
    ExecutionResult,
    JointLimits,
    Progress,
    RobotDriver,
    RobotMode,
    RobotState,
    SafetyStatus,
    check_trajectory_limits,
    joint_move,
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

__all__ = [
    "ArcLoopback",
    "ExecutionHandle",
    "ExecutionOutcome",
    "ExecutionResult",
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
