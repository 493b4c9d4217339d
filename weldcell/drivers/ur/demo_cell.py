"""The virtual UR cell of ``weldcell demo`` (``--robot ur``): a virtual UR controller (RTDE, Dashboard,
script ports) in its own process; registered in :mod:`weldcell.drivers.ur.plugin`."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from weldcell.drivers.vendor import ControllerReport, VirtualCell
from weldcell.errors import DriverError

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
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
        report=controller_timing_report,
    )


def controller_timing_report(robot: RobotDriver) -> ControllerReport:
    """The virtual controller's cycle timing after the job (Dashboard ``weldcell state``:
    ``cycle_timing``, ``missed_cycles``), for the weld log (event ``virtual_ur_timing``): how late
    its 500 Hz cycle ran on this machine, and how many cycles it skipped (each one a jump of its
    clock, seen by everything that follows the robot's reported path). Leaves the controller running.
    """
    dash = getattr(robot, "dashboard", None)
    if dash is None:
        return ControllerReport("", "virtual UR controller: no Dashboard connection; no cycle timing")
    try:
        state = json.loads(dash.command("weldcell state"))
    except (DriverError, ValueError) as err:
        return ControllerReport("", f"virtual UR controller: cycle timing not read ({err})")
    timing = dict(state.get("cycle_timing") or {})
    data = {
        "cycles": timing.get("cycles", 0),
        "late_cycles": timing.get("late_cycles", 0),
        "missed_cycles": state.get("missed_cycles", 0),
        **{k[:-2] + "_ms": round(float(v) * 1e3, 3) for k, v in timing.items() if k.endswith("_s")},
    }
    message = (
        f"virtual UR controller: {data['cycles']} cycles, {data['late_cycles']} late by more than a "
        f"cycle, {data['missed_cycles']} skipped; lateness p99 {data.get('lateness_p99_ms', 0.0)} ms, "
        f"max {data.get('lateness_max_ms', 0.0)} ms"
    )
    return ControllerReport("virtual_ur_timing", message, data)
