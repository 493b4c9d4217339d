"""Universal Robots: RTDE and Dashboard clients, the streaming driver, and a virtual UR controller.

- :class:`URDriver` / :class:`URDriverConfig` (``driver.py``): streams validated trajectory slices
  to the controller through RTDE registers and an uploaded URScript servo program.
- :class:`RTDEClient` (``rtde_client.py``), :class:`DashboardClient` (``dashboard.py``).
- :func:`start_virtual_controller` (``virtual_controller.py``): RTDE/Dashboard/script servers around a
  simulated arm, in its own process (``weldcell controller ur`` on the command line).
- ``export.py``: the URScript program exporter.
"""

from weldcell.drivers.ur.dashboard import DashboardClient
from weldcell.drivers.ur.driver import URDriver, URDriverConfig
from weldcell.drivers.ur.rtde_client import RTDEClient
from weldcell.drivers.ur.virtual_controller import (
    Ports,
    VirtualController,
    VirtualControllerHandle,
    start_virtual_controller,
)
from weldcell.drivers.ur.virtual_core import CoreConfig

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
