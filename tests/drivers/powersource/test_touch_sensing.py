"""Touch sensing in the PowerSource contract: ModbusPowerSource against the virtual power source on
127.0.0.1, contact computed from a geometry sensor (the wire tip's distance to the part)."""

from __future__ import annotations

import pytest

from weldcell.drivers.powersource import ErrorCode, ModbusOptions, ModbusPowerSource, WeldParams
from weldcell.drivers.powersource.dryrun import ArcDisabled
from weldcell.drivers.powersource.image import ProcessImage, decode_status_registers, encode_status
from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle
from weldcell.errors import DriverError, DriverFaultError


def test_contact_follows_the_geometry_only_while_sensing(psu: VirtualPowerSourceHandle) -> None:
    distance = [0.004]  # [m] wire tip to part
    psu.model.set_contact_sensor(lambda: distance[0])
    with ModbusPowerSource(*psu.address, ModbusOptions()) as ps:  # type: ignore[arg-type]
        distance[0] = -0.0001
        assert ps.wait_for(lambda s: s.touch_contact, 0.2) is None  # sensing off: no contact signal
        distance[0] = 0.004
        ps.set_touch_sensing(True)
        st = ps.wait_for(lambda s: s.voltage > 40, 5.0)
        assert st is not None and not st.touch_contact  # sensing voltage on the open wire
        distance[0] = 0.0
        st = ps.wait_for(lambda s: s.touch_contact, 5.0)
        assert st is not None and st.voltage == 0.0  # shorted by the part
        # no weld while the sensing voltage is on
        ps.set_parameters(WeldParams(wire_feed=8.0 / 60))
        with pytest.raises(DriverFaultError) as err:
            ps.start_weld()
        assert err.value.error_code == ErrorCode.INVALID_COMMAND
        ps.reset_error()
        distance[0] = 0.002
        assert ps.wait_for(lambda s: not s.touch_contact, 5.0) is not None
        ps.set_touch_sensing(False)
        assert ps.wait_for(lambda s: s.voltage == 0.0, 5.0) is not None
        assert not psu.model.robot_outputs().touch_sensing


def test_touch_contact_rides_in_the_status_word() -> None:
    from weldcell.drivers.powersource import PowerSourceStatus

    img = ProcessImage()
    _, regs = encode_status(img, PowerSourceStatus(ready=True, touch_contact=True))
    assert regs[0] >> img.touch_contact & 1
    assert decode_status_registers(img, regs).touch_contact


def test_interfaces_without_touch_sensing_say_so() -> None:
    with ArcDisabled() as ps, pytest.raises(DriverError, match="touch"):
        ps.set_touch_sensing(True)
