"""Universal Robots: RTDE and Dashboard clients, the streaming driver, and a virtual UR controller.

- :class:`URDriver` / :class:`URDriverConfig` (``driver.py``): streams validated trajectory slices
  to the controller through RTDE registers and an uploaded URScript servo program.
- :class:`RTDEClient` (``rtde_client.py``), :class:`DashboardClient` (``dashboard.py``).
- :func:`start_virtual_controller` (``virtual_controller.py``): RTDE/Dashboard/script servers around a
  simulated arm, in its own process (``weldcell controller ur`` on the command line).
- ``export.py``: the URScript program exporter.
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
