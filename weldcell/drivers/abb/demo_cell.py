"""The virtual ABB cell of ``weldcell demo --robot abb``: a virtual controller in EGM joint mode.

Registered in :mod:`weldcell.drivers.abb.plugin`; the application layer (:mod:`weldcell.app.demo`)
connects the EGM driver to it, runs the job and records :func:`report` in the weld log.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from weldcell.drivers.controller_process import free_udp_port
from weldcell.drivers.vendor import ControllerReport, VirtualCell

if TYPE_CHECKING:
    from weldcell.drivers.base import RobotDriver
    from weldcell.trajectory import JointTrajectory


def start_virtual_cell(
    stack: contextlib.ExitStack[Any], host: str, traj: JointTrajectory, settings: Mapping[str, Any]
) -> VirtualCell:
    """The virtual ABB controller (own process, standing at the trajectory's first sample as the
    RAPID program's ``MoveAbsJ`` before ``EGMRunJoint`` leaves it), its RAPID program started; the
    EGM driver connects to it (4 ms samples).

    The controller's arc loopback answers output bit 0 (the RAPID side's arc DO) on input bit 0
    after 50 ms, and reports its digital-output word back in every ``EgmRobot``.
    """
    from weldcell.drivers.abb.egm_process import virtual_egm_process
    from weldcell.drivers.abb.virtual_egm import VirtualEgmConfig

    port = free_udp_port(host)
    config = VirtualEgmConfig(
        robot=traj.robot,
        sensor_host=host,
        sensor_port=port,
        bind_host=host,
        q_start_deg=tuple(float(v) for v in np.degrees(traj.q[0])),
        arc_loopback=(0, 0, 0.05),
    )
    egm = stack.enter_context(virtual_egm_process(config, log_level=logging.CRITICAL))
    url = f"abb-egm://{host}:{port}"
    egm.go()  # the operator starts the RAPID program: EGMRunJoint

    def shutdown(robot: RobotDriver | None) -> None:
        egm.stop()  # the controller first: a sensor that stops answering ends the EGM session
        if robot is not None:
            robot.close()

    def report(robot: RobotDriver) -> ControllerReport:
        return _report(egm, robot)

    ms = round(config.cycle * 1000)
    return VirtualCell(
        url=url,
        description=f"{url} (virtual ABB controller {traj.robot}, EGM joint mode, {ms} ms samples)",
        report=report,
        shutdown=shutdown,
    )


def _report(egm: Any, robot: RobotDriver) -> ControllerReport:
    """Stop the virtual ABB controller, then the driver, and summarise what the controller saw
    (samples, missed replies, the arc output's on intervals)."""
    status = egm.stop()
    robot.close()
    if status is None:
        return ControllerReport(
            "", "the virtual ABB controller ended without reporting its counters", fault=True
        )
    on: list[tuple[float, float]] = []
    t_on: float | None = None
    for tm, dout in status.output_log:
        t = tm / 1000.0
        if dout & 1 and t_on is None:
            t_on = t
        elif not dout & 1 and t_on is not None:
            on.append((t_on, t))
            t_on = None
    total = sum(b - a for a, b in on)
    message = (
        f"virtual ABB controller: {status.cycles} EGM samples, {status.missed} without a reply in time, "
        f"arc output DO bit 0 on {len(on)} time(s) for {total:.1f} s in all"
        + ("" if t_on is None else ", still on at the end")
        + (f"; EGM ended: {status.stop_reason}" if status.stop_reason else "")
    )
    data = {
        "cycles": status.cycles,
        "accepted": status.accepted,
        "missed": status.missed,
        "clamped": status.clamped,
        "arc_output_on_s": [[a, b] for a, b in on],
        "stop_reason": status.stop_reason,
    }
    return ControllerReport("virtual_abb", message, data)
