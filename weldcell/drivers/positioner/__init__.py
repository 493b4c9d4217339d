"""Positioners and other external servo axes the cell streams in sync with the robot.

:mod:`.base` holds the device contract (:class:`~.base.PositionerPort`, :class:`~.base.AxisSpec`,
:class:`~.base.PositionerStatus`); :mod:`.registers` the documented Modbus TCP register map;
:mod:`.modbus` the client (``modbus-positioner://HOST:PORT``); :mod:`.servo` the simulated servo
axes and :mod:`.virtual` the virtual positioner device serving them over Modbus TCP.
"""

from weldcell.drivers.positioner.base import (
    AxisSpec,
    PositionerFault,
    PositionerPort,
    PositionerStatus,
    check_axes_match,
)

__all__ = ["AxisSpec", "PositionerFault", "PositionerPort", "PositionerStatus", "check_axes_match"]
