"""Fixtures for the cell tests: a virtual power source on loopback (Modbus TCP), an in-process
VirtualRobot, a weld log, and a controller wired to them; plus a leaked-thread check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cellsynth import FAST_TIMING, JOB1, PSU_COMM_TIMEOUT, make_trajectory

from weldcell.cell.approval import SimulationOnly
from weldcell.cell.controller import CellConfig, CellController, CellEvent
from weldcell.cell.weldlog import WeldLog
from weldcell.drivers.powersource.modbus import ModbusOptions, ModbusPowerSource
from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle, start_virtual_power_source
from weldcell.drivers.powersource.virtual_model import VirtualConfig
from weldcell.drivers.virtual import VirtualRobot
from weldcell.trajectory import JointTrajectory


@pytest.fixture(autouse=True)
def _no_leaked_threads(no_leaked_threads: None) -> None:
    """Every test in this folder checks for leaked threads (tests/conftest.py)."""


@pytest.fixture
def traj() -> JointTrajectory:
    return make_trajectory()


@pytest.fixture
def psu() -> Iterator[VirtualPowerSourceHandle]:
    handle = start_virtual_power_source("127.0.0.1", 0, VirtualConfig(timing=FAST_TIMING), seed=3)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def power(psu: VirtualPowerSourceHandle) -> Iterator[ModbusPowerSource]:
    host, port = psu.address
    ps = ModbusPowerSource(host, port, ModbusOptions(poll_period=0.01, heartbeat_period=0.05))
    ps.connect(timeout=5.0)
    try:
        yield ps
    finally:
        ps.close()


@pytest.fixture
def robot(traj: JointTrajectory) -> Iterator[VirtualRobot]:
    # motion at twice real time keeps the tests short; the power source runs in real time
    r = VirtualRobot("ur5e", traj.q[0], stop_time=0.08, time_scale=2.0)
    r.connect()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def wlog(tmp_path: Path) -> Iterator[WeldLog]:
    with WeldLog(tmp_path / "weldlog.sqlite") as log:
        yield log


@pytest.fixture
def make_controller(
    robot: VirtualRobot, power: ModbusPowerSource, wlog: WeldLog
) -> Iterator[Callable[..., tuple[CellController, list[CellEvent]]]]:
    made: list[CellController] = []

    def make(config: CellConfig | None = None, **kw: Any) -> tuple[CellController, list[CellEvent]]:
        events: list[CellEvent] = []
        ctl = CellController(
            robot,
            power,
            wlog,
            config or CellConfig(power_source_comm_timeout=PSU_COMM_TIMEOUT),
            approver=SimulationOnly(),
            params={"A": JOB1, "B": JOB1},
            on_event=events.append,
            **kw,
        )
        made.append(ctl)
        return ctl, events

    yield make
    for c in made:
        c.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A weld log on the test PostgreSQL server, in a schema of its own (tests/cell/pgserver.py)."""
    from pgserver import pg_schema_url

    with pg_schema_url() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def log_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The weld log's location on each back end: a SQLite file, or a PostgreSQL URL."""
    if request.param == "sqlite":
        yield str(tmp_path / "weldlog.sqlite")
        return
    from pgserver import pg_schema_url

    with pg_schema_url() as url:
        yield url
