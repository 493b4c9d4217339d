"""Connect the devices of a cell run through the driver registry: the robot
(:func:`check_robot_url`, :func:`connect_cell_robot`), the power source (:func:`connect_power_source`,
or the arc disabled for a dry run), the positioner, all at once for a job (:func:`open_devices`), and
the end of the robot's streaming session after the job (:func:`end_robot_session`).

The vendors' drivers decide their own connection options (``driver_options``, checked against what the
driver accepts, :func:`weldcell.drivers.registry.check_driver_options`); nothing here names a vendor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weldcell.app.progress import Progress, ProgressFn
from weldcell.cell.positioner_cell import connect_cell_positioner
from weldcell.cell.weldlog import WeldLog
from weldcell.errors import DriverError

if TYPE_CHECKING:
    from weldcell.cell.controller import CellConfig
    from weldcell.cell.jobtypes import ProgramMode
    from weldcell.drivers.base import RobotDriver
    from weldcell.drivers.positioner import PositionerPort
    from weldcell.drivers.powersource.base import PowerSource
    from weldcell.drivers.registry import RobotUrl
    from weldcell.trajectory import JointTrajectory


def check_robot_url(url: str) -> RobotUrl:
    """Parse and check a robot address (fast; nothing connects): the scheme must have a driver in the
    registry (:mod:`weldcell.drivers.registry`), and the driver checks the rest (``check_url``: a host
    where one is needed, its query settings).

    ``virtual`` is short for ``virtual://`` (an in-process simulated robot).

    Raises:
        DriverError: no ``SCHEME://``, an unknown scheme (the message lists the known ones), or what
            the driver finds wrong (a missing host, a bad port, a bad setting in the query).
    """
    from weldcell.drivers.registry import check_url_settings, driver_table, parse_robot_url, url_forms

    parsed = parse_robot_url("virtual://" if url == "virtual" else url)
    table = driver_table()
    if parsed.scheme not in table:
        raise DriverError(
            f"robot address {url!r}: no driver for scheme {parsed.scheme!r}; expected "
            f"{', '.join(url_forms())} or virtual (known schemes: {', '.join(sorted(table))})"
        )
    try:
        check_url_settings(parsed)  # the driver's own checks (host, host to bind, query, settings)
    except DriverError as err:
        text = str(err)
        raise DriverError(text if url in text else f"robot address {url!r}: {text}") from err
    return parsed


def connect_cell_robot(
    url: str,
    robot: str,
    *,
    q0: Any | None = None,
    timeout: float | None = None,
    **settings: Any,
) -> RobotDriver:
    """A connected robot driver for the cell, built by the driver registry from ``url``.

    The driver decides its options (``cell_options``, see
    :func:`weldcell.drivers.registry.cell_driver_options`) from the job's robot model, ``q0`` (a
    virtual robot's start) and the driver's own connection options in ``settings`` (those it declares
    in ``driver_options``, e.g. a UR controller's ``dashboard_port``; a job's options are checked
    against them first, :func:`check_driver_options`). The vendors' drivers describe their addresses
    and how their arc command follows the trajectory's arc flags (docs/drivers.md).

    Args:
        url: Robot address (``SCHEME://HOST[:PORT][?…]`` of a registered driver, or ``virtual``).
        robot: The weldcell robot model the trajectory was planned for (``traj.robot``).
        q0: Joint positions [rad] of a virtual robot, shape (n,).
        timeout: Connection timeout [s] (None: the driver's ``default_connect_timeout``, else 15 s).
        **settings: The driver's own connection options (None: the driver's default).

    Raises:
        DriverError: a bad address, a model in the address that is not the trajectory's robot, or a
            connection that failed (``DriverConnectionError`` / ``DriverTimeoutError``).
    """
    from weldcell.drivers.registry import cell_driver_options, connect_robot, default_connect_timeout

    parsed = check_robot_url(url)
    opts = cell_driver_options(parsed, robot, {"q0": q0, **settings})
    wait = default_connect_timeout(parsed.scheme, 15.0) if timeout is None else timeout
    return connect_robot(parsed.url, timeout=wait, **opts)


def connect_power_source(url: str, config: CellConfig) -> Any:
    """A connected Modbus power source whose heartbeat is fast enough for the communication timeout
    the cell sets on it (``CellConfig.power_source_comm_timeout``: at least five toggles per timeout)."""
    from weldcell.drivers.powersource.modbus import ModbusOptions, ModbusPowerSource

    t = config.power_source_comm_timeout
    options = ModbusOptions()
    if t is not None and t > 0:
        options = ModbusOptions(
            heartbeat_period=min(options.heartbeat_period, t / 5),
            poll_period=min(options.poll_period, t / 5),
        )
    power = ModbusPowerSource.from_url(url, options)
    power.connect()
    return power


def end_robot_session(robot: Any, log_path: Path | str, job_id: int, say: ProgressFn) -> None:
    """End the robot's streaming session after the job, if its driver has one (KUKA RSI: Stop=1, so the
    KRL program runs RSI_OFF and ends instead of breaking off with RSITimeout), and record how it ended
    in the job's weld log (event ``rsi_session_end``) and the progress. Other drivers: nothing to do."""
    end_session = getattr(robot, "end_session", None)
    if end_session is None or not robot.connected:
        return
    end = end_session()
    data = {
        "ended": end.ended,
        "stop_replies": end.stop_replies,
        "waited_s": round(end.waited, 3),
        "message": end.message,
    }
    with WeldLog(log_path) as wlog:
        wlog.add_event(job_id, "rsi_session_end", end.message, data=data)
    say(Progress("stage" if end.ended else "fault", end.message, data))


@dataclass(frozen=True, slots=True)
class CellDevices:
    """The connected devices of one job (closed by the ``ExitStack`` :func:`open_devices` was given).

    Attributes:
        robot: The robot driver.
        power: The power source (``ArcDisabled`` for a dry run or an arc on the robot's I/O).
        positioner: The positioner streamed with the robot (None: the trajectory has no external axes).
    """

    robot: RobotDriver
    power: PowerSource
    positioner: PositionerPort | None


def check_driver_options(url: RobotUrl, options: Mapping[str, Any]) -> None:
    """Check the driver options given for ``url`` (nothing connects): each must be one the driver
    accepts (:func:`weldcell.drivers.registry.driver_options`), then the driver checks their values.

    Raises:
        DriverError: an option the driver does not take (the message lists those it does), or a value
            the driver rejects (a port out of range, ...).
    """
    from weldcell.drivers.registry import check_cell_settings, driver_options

    accepted = driver_options(url.scheme)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = ", ".join(f"{k} ({v})" for k, v in sorted(accepted.items())) or "none"
        raise DriverError(
            f"robot address {url.url!r}: driver option(s) {', '.join(map(repr, unknown))} do not apply to "
            f"a {url.scheme}:// robot; its options: {takes}"
        )
    check_cell_settings(url, options)


def open_devices(
    stack: contextlib.ExitStack[Any],
    *,
    robot_url: RobotUrl,
    traj: JointTrajectory,
    powersource_url: str | None,
    positioner_url: str | None,
    config: CellConfig,
    say: ProgressFn,
    driver_options: Mapping[str, Any] | None = None,
    connect_timeout: float | None = None,
    program_mode: ProgramMode | None = None,
) -> CellDevices:
    """Connect robot, power source and positioner for a job on ``traj``; each is closed by ``stack``.

    The one device set-up of ``weldcell cell run`` and ``cell resume``. Without ``powersource_url``
    the arc is disabled (a dry run, or in program mode an arc on the robot's own I/O).

    Args:
        stack: Closes the devices (in reverse order) when the job ends.
        robot_url: The checked robot address (:func:`check_robot_url`).
        traj: The job's trajectory: its robot model, first sample (a virtual robot's start) and
            external axes.
        powersource_url: ``modbus://HOST:PORT`` (None: arc disabled).
        positioner_url: The positioner of a trajectory with external axes (None: none).
        config: The cell settings (the power source's communication timeout).
        say: Progress callback.
        driver_options: The robot driver's own connection options (checked with
            :func:`check_driver_options` before).
        connect_timeout: Longest wait for the robot [s] (None: the driver's default, else 15 s).
        program_mode: The job's program mode (None: stream mode); only changes the messages.

    Raises:
        DriverError: a device that does not connect.
    """
    from weldcell.cell.jobtypes import ProgramArc
    from weldcell.drivers.registry import default_connect_timeout, waiting_for

    hint = waiting_for(robot_url)
    if hint is not None:
        wait = connect_timeout
        if wait is None:
            wait = default_connect_timeout(robot_url.scheme, 15.0)
        say(Progress("stage", f"waiting up to {wait:g} s for {hint} …"))
    robot = connect_cell_robot(
        robot_url.url, traj.robot, q0=traj.q[0], timeout=connect_timeout, **dict(driver_options or {})
    )
    stack.callback(robot.close)
    say(Progress("stage", f"robot connected: {robot_url.url} ({type(robot).__name__}, {traj.robot})"))
    power: PowerSource
    if powersource_url is None:
        from weldcell.drivers.powersource.dryrun import ArcDisabled

        power = ArcDisabled()
        power.connect()
        if program_mode is not None and program_mode.arc is ProgramArc.ROBOT_IO:
            say(
                Progress(
                    "stage",
                    f"power source on the robot's I/O: arc on DO {program_mode.arc_output}, "
                    f"arc established on DI {program_mode.arc_input}",
                )
            )
        else:
            say(Progress("stage", "no power source: dry run with the arc disabled"))
    else:
        power = connect_power_source(powersource_url, config)
    stack.callback(power.close)
    positioner = None
    if traj.external is not None and positioner_url is not None:
        positioner = connect_cell_positioner(positioner_url, traj.external)
        stack.callback(positioner.close)
        say(Progress("stage", f"{traj.external.role} connected: {positioner_url}"))
    return CellDevices(robot, power, positioner)
