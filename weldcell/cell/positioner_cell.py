"""A cell's positioner: connect the real one, or start the virtual one a trajectory needs.

:func:`connect_cell_positioner` connects the device at a positioner URL (driver registry,
``modbus-positioner://HOST:PORT``) and checks it against the trajectory's external axes.
:func:`device_axes` gives the axes of the device's URDF (``urdf/<device>.urdf``); the virtual
positioner a demo starts in its own process is the application's
(:func:`weldcell.app.children.virtual_positioner_process`). :func:`sync_figures` reads a job's
synchronisation figures back from the weld log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from weldcell.cell.positioner_sync import SYNC_EVENT
from weldcell.cell.weldlog import WeldLog
from weldcell.drivers.positioner.base import AxisSpec, PositionerPort, check_axes_match
from weldcell.drivers.positioner.virtual import (
    DEFAULT_ACCEL_M_S2,
    DEFAULT_ACCEL_RAD_S2,
    axes_from_urdf,
)
from weldcell.drivers.registry import connect_positioner
from weldcell.errors import DriverError
from weldcell.resources import data_dir
from weldcell.trajectory import ExternalAxes, JointTrajectory


def check_positioner_option(traj: JointTrajectory, url: str | None, source: str) -> None:
    """Refuse a trajectory with external axes and no positioner, and a positioner with nothing to move.

    Args:
        traj: The job's trajectory.
        url: The positioner address given (None: none).
        source: The job file, for messages.

    Raises:
        DriverError: naming the file and what is missing.
    """
    ext = traj.external
    if ext is not None and url is None:
        raise DriverError(
            f"{source}: the trajectory moves {ext.role} {ext.device!r} (axes {', '.join(ext.names)}) with "
            "the robot; give the device with --positioner modbus-positioner://HOST:PORT"
        )
    if ext is None and url is not None:
        raise DriverError(
            f"{source}: the trajectory has no external axes; --positioner {url} has nothing to move "
            "(plan the program with its positioner, or leave the option out)"
        )


def connect_cell_positioner(url: str, external: ExternalAxes, *, watchdog: float = 0.2) -> PositionerPort:
    """Connect the positioner at ``url`` and check its axes against ``external``.

    Args:
        url: ``modbus-positioner://HOST[:PORT]``.
        external: The trajectory's external axes.
        watchdog: Watchdog time the cell asks of the device [s].

    Raises:
        DriverError: unknown scheme, nobody answers, or axes that do not match.
    """
    port = connect_positioner(url, watchdog=watchdog)
    try:
        check_axes_match(external, port.axes, url)
    except DriverError:
        port.close()
        raise
    return port


def device_axes(external: ExternalAxes) -> tuple[AxisSpec, ...]:
    """The axes of the device the trajectory was planned for, from its URDF in ``urdf/``.

    Raises:
        DriverError: no URDF of that device is shipped.
    """
    path = data_dir("urdf") / f"{external.device}.urdf"
    if not path.is_file():
        raise DriverError(
            f"no model of {external.role} {external.device!r} ({path} not found): start its virtual "
            "device yourself (weldcell controller positioner --axis ... or --urdf FILE) and pass --positioner"
        )
    return axes_from_urdf(path, DEFAULT_ACCEL_RAD_S2, DEFAULT_ACCEL_M_S2)


def sync_figures(log_path: Path | str, job_id: int) -> dict[str, Any] | None:
    """The job's positioner synchronisation figures from the weld log (None: no positioner)."""
    with WeldLog(log_path, readonly=True) as wlog:
        found = [e for e in wlog.events(job_id) if e.kind == SYNC_EVENT]
    return dict(found[-1].data) if found else None
