"""I/O counts are a property of each driver (issue 13): the base class checks every I/O number against
the counts the driver declares, not against UR's numbers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from weldcell.drivers.abb.config import EgmConfig
from weldcell.drivers.abb.driver import EgmDriver
from weldcell.drivers.base import IoCounts, RobotDriver
from weldcell.drivers.fanuc.config import FanucConfig
from weldcell.drivers.fanuc.driver import FanucDriver
from weldcell.drivers.kuka.config import RsiConfig
from weldcell.drivers.kuka.driver import RsiDriver
from weldcell.drivers.ur.driver import URDriver, URDriverConfig
from weldcell.drivers.ur.virtual.controller import Ports, VirtualControllerHandle, start_virtual_controller
from weldcell.drivers.ur.virtual.core import CoreConfig
from weldcell.drivers.virtual import VirtualRobot
from weldcell.errors import DriverError, InvalidValueError

HOST = "127.0.0.37"


def test_io_counts_are_validated() -> None:
    assert IoCounts() == IoCounts(0, 0, 0, 0)
    for bad in ({"digital_out": -1}, {"analog_in": 1.5}, {"digital_in": True}):
        with pytest.raises(InvalidValueError, match=f"IoCounts.{next(iter(bad))}"):
            IoCounts(**bad)  # type: ignore[arg-type]


def test_each_driver_declares_its_own_counts() -> None:
    """UR: 8 standard + 8 configurable digital outputs and inputs, 2 analog each (RTDE); the streaming
    vendors: their packet's I/O map, no analog I/O; FANUC: the GPIO map it configures."""
    assert IoCounts(digital_out=16, digital_in=16, analog_out=2, analog_in=2) == URDriver.IO
    assert IoCounts(16, 16, 2, 2) == VirtualRobot.IO
    assert IoCounts() == RobotDriver.IO  # the base class names no vendor's numbers
    assert RsiDriver(RsiConfig()).io_counts == IoCounts(digital_out=32, digital_in=32)
    assert EgmDriver(EgmConfig()).io_counts == IoCounts(digital_out=32, digital_in=32)
    fanuc = FanucDriver(FanucConfig(host="127.0.0.1", do_count=4, di_count=12))
    assert fanuc.io_counts == IoCounts(digital_out=4, digital_in=12)
    no_io = FanucDriver(FanucConfig(host="127.0.0.1", io=False, arc_output=None, arc_established_input=None))
    assert no_io.io_counts == IoCounts()


def test_the_base_checks_against_the_drivers_counts() -> None:
    fanuc = FanucDriver(FanucConfig(host="127.0.0.1", do_count=4, di_count=12))
    with pytest.raises(
        DriverError, match=r"FanucDriver: digital input 12 does not exist; digital inputs are 0 … 11"
    ):
        fanuc.get_digital_in(12)
    with pytest.raises(DriverError, match=r"digital output 4 does not exist; digital outputs are 0 … 3"):
        fanuc.get_digital_out(4)
    with pytest.raises(
        DriverError, match="RsiDriver: analog output 0 does not exist; it has no analog outputs"
    ):
        RsiDriver(RsiConfig()).io_counts.check("analog_out", 0, "RsiDriver")
    with pytest.raises(DriverError, match="is not an I/O number"):
        IoCounts(8, 8).check("digital_out", 1.0, "X")  # type: ignore[arg-type]


def test_virtual_robot_io_range() -> None:
    with VirtualRobot("ur5e", time_scale=5.0) as robot:
        robot.set_digital_out(15, True)  # a configurable output of a UR-like controller
        assert robot.get_digital_out(15) and robot.state().digital_out == 1 << 15
        with pytest.raises(
            DriverError, match=r"digital output 16 does not exist; digital outputs are 0 … 15"
        ):
            robot.set_digital_out(16, True)
        with pytest.raises(DriverError, match="analog output 2 does not exist"):
            robot.set_analog_out(2, 1.0)
        with pytest.raises(DriverError, match="digital input -1 does not exist"):
            robot.wait_for_digital_in(-1, True, timeout=0.01)
        with pytest.raises(DriverError, match="analog input 2 does not exist"):
            robot.set_analog_in(2, 0.5)


class _NoIoDriver(VirtualRobot):
    """A plug-in's driver that declares no I/O (the base default)."""

    IO = IoCounts()


def test_a_driver_without_declared_io_refuses_every_number() -> None:
    with _NoIoDriver("ur5e") as robot:
        with pytest.raises(
            DriverError, match="_NoIoDriver: digital output 0 does not exist; it has no digital outputs"
        ):
            robot.set_digital_out(0, True)
        with pytest.raises(DriverError, match="it has no digital inputs"):
            robot.get_digital_in(0)


@pytest.fixture(scope="module")
def controller() -> Iterator[VirtualControllerHandle]:
    h = start_virtual_controller(HOST, CoreConfig(unlock_delay=0.2), Ports(0, 0, 0, 0, 0))
    yield h
    h.stop()


def test_ur_configurable_outputs_over_rtde(controller: VirtualControllerHandle) -> None:
    """Outputs 8-15 go out as RTDE ``configurable_digital_output``; the standard ones and the analog
    outputs keep their values (each package writes only its own mask)."""
    cfg = URDriverConfig(
        rtde_port=controller.ports.rtde,
        dashboard_port=controller.ports.dashboard,
        script_port=controller.ports.secondary,
    )
    with URDriver(HOST, cfg) as d:
        d.connect(5.0)
        d.set_digital_out(3, True, timeout=2.0)
        d.set_digital_out(9, True, timeout=2.0)
        d.set_digital_out(15, True, timeout=2.0)
        d.set_analog_out(1, 2.5, timeout=2.0)
        s = d.state()
        assert s.digital_out & 0xFFFF == (1 << 3) | (1 << 9) | (1 << 15)
        assert np.isclose(s.analog_out[1], 2.5)
        d.set_digital_out(9, False, timeout=2.0)
        d.set_digital_out(3, False, timeout=2.0)
        s = d.state()
        assert s.digital_out & 0xFFFF == 1 << 15 and np.isclose(s.analog_out[1], 2.5)
        with pytest.raises(
            DriverError, match=r"URDriver: digital output 16 does not exist; digital outputs are 0 … 15"
        ):
            d.set_digital_out(16, True)
        d.set_digital_out(15, False, timeout=2.0)
