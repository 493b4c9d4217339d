"""The virtual FANUC cell of ``weldcell demo --robot fanuc``: a virtual controller serving Stream Motion.

Registered in :mod:`weldcell.drivers.fanuc.plugin`; the application layer (:mod:`weldcell.app.demo`)
connects the Stream Motion driver to it, runs the job and records :func:`report` in the weld log.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from weldcell.drivers.vendor import ControllerReport, VirtualCell

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.trajectory import JointTrajectory

#: Stream Motion silence [ms] after which the demo's driver faults (the driver's default is 100 ms): a
#: loaded desktop running the whole virtual cell in Python can hold the controller's process longer
#: than that. The virtual controller still coasts and stops after 120 ms without commands.
DEMO_FANUC_SILENCE_MS = 300
#: The demo's arc loopback on the virtual FANUC controller: the arc output DO[101] (the driver's
#: ``arc_output`` 0 with ``do_first`` 101) answers on DI[101] (``arc_established_input`` 0) after 50 ms.
FANUC_ARC_LOOPBACK = (101, 101, 0.05)


def start_virtual_cell(
    stack: contextlib.ExitStack[Any], host: str, traj: JointTrajectory, settings: Mapping[str, Any]
) -> VirtualCell:
    """The virtual FANUC controller (own process, standing at the trajectory's first sample, its
    ``IBGN start`` program running); the Stream Motion driver connects to it."""
    from weldcell.drivers.fanuc.fanuc_process import virtual_fanuc_process
    from weldcell.drivers.fanuc.joints import controller_deg_from_q, j23_coupled
    from weldcell.drivers.fanuc.virtual_controller import VirtualFanucConfig

    config = VirtualFanucConfig(
        robot=traj.robot,
        host=host,
        port=0,
        q_start_deg=tuple(float(v) for v in controller_deg_from_q(traj.q[0], j23_coupled(traj.robot))),
        arc_loopback=FANUC_ARC_LOOPBACK,
    )
    ctrl = stack.enter_context(virtual_fanuc_process(config, log_level=logging.CRITICAL))
    url = f"fanuc://{host}:{ctrl.address[1]}?silence_ms={DEMO_FANUC_SILENCE_MS}"

    def shutdown(robot: RobotDriver | None) -> None:  # the driver first: it ends the stream
        if robot is not None:
            robot.close()
        ctrl.stop()

    def report(robot: RobotDriver) -> ControllerReport:
        return _report(ctrl, robot)

    return VirtualCell(
        url=url,
        description=f"{url} (virtual FANUC {traj.robot}, {config.cycle_ms} ms Stream Motion cycle)",
        report=report,
        shutdown=shutdown,
    )


def _report(ctrl: Any, robot: RobotDriver) -> ControllerReport:
    """Close the driver, stop the virtual FANUC controller and summarise what it saw (status cycles,
    commands, late and double commands, the arc output's on intervals)."""
    robot.close()
    status = ctrl.stop()
    if status is None:
        return ControllerReport(
            "", "the virtual FANUC controller ended without reporting its counters", fault=True
        )
    do_n = FANUC_ARC_LOOPBACK[0]
    on: list[tuple[float, float]] = []
    t_on: float | None = None
    for t_ms, n, value in status.output_log:
        if n != do_n:
            continue
        if value and t_on is None:
            t_on = t_ms / 1000.0
        elif not value and t_on is not None:
            on.append((t_on, t_ms / 1000.0))
            t_on = None
    total = sum(b - a for a, b in on)
    message = (
        f"virtual FANUC: {status.cycles} status cycles, {status.commands} commands "
        f"({status.stale} late, {status.double} double), arc output DO[{do_n}] on {len(on)} time(s) "
        f"for {total:.1f} s in all"
        + ("" if t_on is None else ", still on at the end")
        + (f"; alarm: {status.alarm}" if status.alarm else "")
        + (f"; {status.coast_stops} coast stop(s)" if status.coast_stops else "")
    )
    data = {
        "cycles": status.cycles,
        "commands": status.commands,
        "stale": status.stale,
        "double": status.double,
        "coast_stops": status.coast_stops,
        "alarm": status.alarm,
        "arc_output_on_s": [[a, b] for a, b in on],
    }
    return ControllerReport("virtual_fanuc", message, data)
