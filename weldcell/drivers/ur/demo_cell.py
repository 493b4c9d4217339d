"""The virtual UR cell of ``weldcell demo`` (``--robot ur``): a virtual UR controller (RTDE, Dashboard,
script ports) in its own process; registered in :mod:`weldcell.drivers.ur.plugin`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from weldcell.drivers.vendor import VirtualCell

if TYPE_CHECKING:
    from weldcell.trajectory import JointTrajectory


def start_virtual_cell(
    stack: contextlib.ExitStack[Any], host: str, traj: JointTrajectory, settings: Mapping[str, Any]
) -> VirtualCell:
    """The virtual UR controller standing at the trajectory's first sample; the UR driver connects to
    it over RTDE (powered on through the Dashboard server)."""
    from weldcell.drivers.ur.virtual.controller import Ports, start_virtual_controller
    from weldcell.drivers.ur.virtual.core import CoreConfig

    core = CoreConfig(arm=traj.robot, q_home=tuple(float(x) for x in traj.q[0]))
    ur = stack.enter_context(
        start_virtual_controller(host, core, ports=Ports(0, 0, 0, 0, 0), log_level=logging.ERROR)
    )
    url = f"ur://{host}:{ur.ports.rtde}"
    return VirtualCell(
        url=url,
        description=f"{url} (RTDE {ur.ports.rtde})",
        connect_options={
            "power_on": True,
            "dashboard_port": ur.ports.dashboard,
            "script_port": ur.ports.secondary,
        },
        joint_feed="weldcell.drivers.ur.joint_feed:open_joint_feed",
    )
