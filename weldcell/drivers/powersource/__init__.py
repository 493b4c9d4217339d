"""Welding power sources: the :class:`PowerSource` contract and its implementations.

- :class:`IoPowerSource`: a power source wired to the robot controller's digital/analog I/O;
- :class:`ModbusPowerSource`: a power source over Modbus TCP with a configurable
  :class:`ProcessImage`;
- :mod:`weldcell.drivers.powersource.virtual`: a virtual power source (Modbus TCP server) with
  realistic process behaviour and fault injection, for tests, the demo and ``weldcell powersource``.

See ``docs/powersource.md``.
"""

from weldcell.drivers.powersource.base import (
    ErrorCode,
    PowerSource,
    PowerSourceStatus,
    PowerSourceValueError,
    WeldParams,
    WireDirection,
)
from weldcell.drivers.powersource.image import ProcessImage, RegisterSignal, load_process_image
from weldcell.drivers.powersource.io import AnalogChannel, IoMap, IoPowerSource, IoTiming, RobotIo
from weldcell.drivers.powersource.modbus import ModbusOptions, ModbusPowerSource, parse_modbus_url

__all__ = [
    "AnalogChannel",
    "ErrorCode",
    "IoMap",
    "IoPowerSource",
    "IoTiming",
    "ModbusOptions",
    "ModbusPowerSource",
    "PowerSource",
    "PowerSourceStatus",
    "PowerSourceValueError",
    "ProcessImage",
    "RegisterSignal",
    "RobotIo",
    "WeldParams",
    "WireDirection",
    "load_process_image",
    "parse_modbus_url",
]
