"""Welding power sources: the :class:`PowerSource` contract and its implementations.

- :class:`IoPowerSource`: a power source wired to the robot controller's digital/analog I/O;
- :class:`ModbusPowerSource`: a power source over Modbus TCP with a configurable
  :class:`ProcessImage`;
- :mod:`weldcell.drivers.powersource.virtual`: a virtual power source (Modbus TCP server) with
  realistic process behaviour and fault injection, for tests, the demo and ``weldcell powersource``.

See ``docs/powersource.md``.
"""

import importlib
from typing import TYPE_CHECKING, Any

from weldcell.drivers.powersource.base import (
    ErrorCode,
    PowerSource,
    PowerSourceStatus,
    PowerSourceValueError,
    WeldParams,
    WireDirection,
)

if TYPE_CHECKING:
    from weldcell.drivers.powersource.image import ProcessImage, RegisterSignal, load_process_image
    from weldcell.drivers.powersource.io import AnalogChannel, IoMap, IoPowerSource, IoTiming, RobotIo
    from weldcell.drivers.powersource.modbus import ModbusOptions, ModbusPowerSource, parse_modbus_url

# The implementations are imported on first use (PEP 562): the contract in ``base`` is what the
# cell configuration and ``weldcell check`` need, and ``modbus`` pulls in pymodbus and asyncio
# (a tenth of a warm ``weldcell check``, issue #14).
_LAZY = {
    "ProcessImage": "image",
    "RegisterSignal": "image",
    "load_process_image": "image",
    "AnalogChannel": "io",
    "IoMap": "io",
    "IoPowerSource": "io",
    "IoTiming": "io",
    "RobotIo": "io",
    "ModbusOptions": "modbus",
    "ModbusPowerSource": "modbus",
    "parse_modbus_url": "modbus",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
