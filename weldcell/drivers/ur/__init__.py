"""Universal Robots: RTDE and Dashboard clients, streaming and program-mode driver, a virtual UR controller.

Split by job:

- :class:`URDriver` / :class:`URDriverConfig` (``driver.py``, ``config.py``): connection, reader thread,
  state and I/O; the shared state and helpers of both execution modes are in ``link.py``
  (:class:`~weldcell.drivers.ur.link.URLink`).
- streaming: ``stream_mode.py`` (the control loop) on ``streaming/`` (servo program, register window).
- program mode: ``program_mode.py`` (:meth:`URDriver.execute_program`) on ``program/`` (URScript
  exporter, replay check, run progress).
- ``client/``: :class:`RTDEClient`, :class:`DashboardClient`, the RTDE protocol and the robot/safety
  mode tables.
- ``virtual/``: the virtual controller (:func:`start_virtual_controller`; ``weldcell controller ur``):
  RTDE, Dashboard and script servers, core, motion, safety, URScript built-ins and interpreter.
- ``models.py``: the UR arm model (DH, FK/IK) shared by the exporter and the virtual controller.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weldcell.drivers.ur.client.dashboard import DashboardClient
    from weldcell.drivers.ur.client.rtde_client import RTDEClient
    from weldcell.drivers.ur.driver import URDriver, URDriverConfig
    from weldcell.drivers.ur.virtual.controller import (
        Ports,
        VirtualController,
        VirtualControllerHandle,
        start_virtual_controller,
    )
    from weldcell.drivers.ur.virtual.core import CoreConfig

#: Where each public name lives: imported on first use (PEP 562), so that the vendor registry can
#: read :mod:`weldcell.drivers.ur.plugin` without loading the driver.
_LAZY = {
    "DashboardClient": "weldcell.drivers.ur.client.dashboard",
    "URDriver": "weldcell.drivers.ur.driver",
    "URDriverConfig": "weldcell.drivers.ur.driver",
    "RTDEClient": "weldcell.drivers.ur.client.rtde_client",
    "Ports": "weldcell.drivers.ur.virtual.controller",
    "VirtualController": "weldcell.drivers.ur.virtual.controller",
    "VirtualControllerHandle": "weldcell.drivers.ur.virtual.controller",
    "start_virtual_controller": "weldcell.drivers.ur.virtual.controller",
    "CoreConfig": "weldcell.drivers.ur.virtual.core",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CoreConfig",
    "DashboardClient",
    "Ports",
    "RTDEClient",
    "URDriver",
    "URDriverConfig",
    "VirtualController",
    "VirtualControllerHandle",
    "start_virtual_controller",
]
