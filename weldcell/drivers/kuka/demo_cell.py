"""The virtual KUKA cell of ``weldcell demo --robot kuka``: a virtual KRC sending RSI telegrams.

Registered in :mod:`weldcell.drivers.kuka.plugin`; the application layer (:mod:`weldcell.app.demo`)
connects the RSI driver to it, runs the job and records :func:`report` in the weld log.
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

#: RSI cycle of the KUKA demo [s]: 12 ms (``#IPO``). The 4 ms ``#IPO_FAST`` cycle (``rsi_cycle``)
#: needs a PC that answers within 4 ms every cycle, which a loaded desktop running the whole virtual
#: cell (controller, power source, planner) in Python does not reliably do.
DEMO_RSI_CYCLE = 0.012


def start_virtual_cell(
    stack: contextlib.ExitStack[Any], host: str, traj: JointTrajectory, settings: Mapping[str, Any]
) -> VirtualCell:
    """The virtual KRC (own process, standing at the trajectory's first sample as the exported KRL
    program's ``PTP XSTART`` leaves it), its KRL program started; the RSI driver connects to it.

    The KRC's arc loopback answers DiO bit 0 (``$OUT[1]``, the robot's arc command) on DiL bit 0
    after 50 ms, and reports its outputs in ``DoutW``.

    Args:
        stack: Owns the KRC process.
        host: Loopback address.
        traj: The job's trajectory (robot model, start pose).
        settings: ``rsi_cycle`` [s] (default :data:`DEMO_RSI_CYCLE`).
    """
    from weldcell.drivers.kuka.krc_process import virtual_krc_process
    from weldcell.drivers.kuka.virtual_krc import KrcConfig

    port = free_udp_port(host)
    config = KrcConfig(
        robot=traj.robot,
        sensor_host=host,
        sensor_port=port,
        bind_host=host,
        cycle=float(settings.get("rsi_cycle", DEMO_RSI_CYCLE)),
        q_start_deg=tuple(float(v) for v in np.degrees(traj.q[0])),
        arc_loopback=(0, 0, 0.05),
    )
    krc = stack.enter_context(virtual_krc_process(config, log_level=logging.CRITICAL))
    url = f"kuka-rsi://{host}:{port}?cycle_ms={config.cycle_ms}"
    krc.go()  # the operator starts the KRL program: RSI_ON, RSI_MOVECORR

    def shutdown(robot: RobotDriver | None) -> None:  # the driver first: it ends the RSI session (Stop=1)
        if robot is not None:
            robot.close()
        krc.stop()

    def report(robot: RobotDriver) -> ControllerReport:
        return _report(krc, robot)

    return VirtualCell(
        url=url,
        description=f"{url} (virtual KRC {traj.robot}, {config.cycle_ms} ms RSI cycle)",
        report=report,
        shutdown=shutdown,
    )


def _report(krc: Any, robot: RobotDriver) -> ControllerReport:
    """Stop the virtual KRC (after the driver, whose session the caller has ended) and summarise what
    it saw: cycles, late packets, the arc output's on intervals, how RSI ended."""
    robot.close()
    status = krc.stop()
    if status is None:
        return ControllerReport("", "the virtual KRC ended without reporting its counters", fault=True)
    bit = 1
    on: list[tuple[float, float]] = []
    t_on: float | None = None
    for ipoc, dout in status.output_log:
        t = ipoc / 1000.0
        if dout & bit and t_on is None:
            t_on = t
        elif not dout & bit and t_on is not None:
            on.append((t_on, t))
            t_on = None
    total = sum(b - a for a, b in on)
    message = (
        f"virtual KRC: {status.cycles} RSI cycles, {status.late} late packet(s), "
        f"arc output $OUT[1] on {len(on)} time(s) for {total:.1f} s in all"
        + ("" if t_on is None else ", still on at the end")
        + (f"; {status.stop_reason}" if status.ended_by_sensor else "")
        + (
            f"; RSI stopped: {status.stop_reason}"
            if not status.running and status.stop_reason and not status.ended_by_sensor
            else ""
        )
    )
    data = {
        "cycles": status.cycles,
        "late": status.late,
        "arc_output_on_s": [[a, b] for a, b in on],
        "stop_reason": status.stop_reason,
        "ended_by_sensor": status.ended_by_sensor,
    }
    return ControllerReport("virtual_krc", message, data)
