"""RTDE robot and safety modes as weldcell states (RTDE guide: ``robot_mode``, ``safety_mode``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from weldcell.drivers.base import (
    RobotMode,
    SafetyStatus,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

ROBOT_MODES = {
    3: RobotMode.POWER_OFF,
    4: RobotMode.IDLE,
    5: RobotMode.IDLE,
    7: RobotMode.RUNNING,
    2: RobotMode.BOOTING,
    0: RobotMode.DISCONNECTED,
    -1: RobotMode.DISCONNECTED,
}
SAFETY_STATUS = {
    1: SafetyStatus.NORMAL,
    2: SafetyStatus.REDUCED,
    3: SafetyStatus.PROTECTIVE_STOP,
    4: SafetyStatus.FAULT,
    5: SafetyStatus.SAFEGUARD_STOP,
    6: SafetyStatus.EMERGENCY_STOP,
    7: SafetyStatus.EMERGENCY_STOP,
    8: SafetyStatus.FAULT,
    9: SafetyStatus.FAULT,
}
SAFETY_MODE_NAMES = {
    1: "NORMAL",
    2: "REDUCED",
    3: "PROTECTIVE_STOP",
    4: "RECOVERY",
    5: "SAFEGUARD_STOP",
    6: "SYSTEM_EMERGENCY_STOP",
    7: "ROBOT_EMERGENCY_STOP",
    8: "VIOLATION",
    9: "FAULT",
}
