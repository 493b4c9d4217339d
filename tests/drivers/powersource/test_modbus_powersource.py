"""ModbusPowerSource against the virtual power source over 127.0.0.1 (real sockets, real timing)."""

from __future__ import annotations

import os
import threading
import time

import pytest
from pymodbus.client import ModbusTcpClient
from waiting import wait_until

from weldcell.drivers.powersource import ErrorCode, ModbusOptions, ModbusPowerSource, WeldParams
from weldcell.drivers.powersource.base import PowerSourceValueError
from weldcell.drivers.powersource.modbus import parse_modbus_url
from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle
from weldcell.drivers.powersource.virtual_model import ProcessState, TestRegister
from weldcell.errors import DriverConnectionError, DriverFaultError

PARAMS = WeldParams(wire_feed=8.0 / 60, voltage=0.0, current=0.0, arc_length_correction=1.0)


def _client(psu: VirtualPowerSourceHandle, **kw: float) -> ModbusPowerSource:
    return ModbusPowerSource(*psu.address, ModbusOptions(**kw))  # type: ignore[arg-type]


def test_full_weld_cycle(psu: VirtualPowerSourceHandle) -> None:
    with _client(psu) as ps:
        ps.set_parameters(PARAMS)
        assert psu.model.commands().wire_feed == pytest.approx(8.0 / 60, abs=1e-4)
        assert psu.model.commands().arc_length_correction == pytest.approx(1.0)
        st = ps.status()
        assert st.ready and not st.process_active and st.error_code == 0
        t0 = time.monotonic()
        ps.start_weld()
        seen_preflow = ps.wait_for(lambda s: s.process_active and not s.current_flow, 5.0)
        assert seen_preflow is not None  # gas pre-flow: process active, no current yet
        assert ps.wait_arc_stable(2.0)
        t_arc = time.monotonic() - t0
        # pre-flow 0.05 s + ignition 0.05 ± 0.01 s + settle 0.03 s, plus a few 20 ms I/O cycles
        assert 0.11 <= t_arc <= 0.6, t_arc
        st = ps.status()
        assert st.current_flow and st.motion_release
        # actual values consistent with the set-points: 190 A, 14 + 0.05·190 + 0.5 = 24 V, 8 m/min
        assert st.current == pytest.approx(190.0, rel=0.1)
        assert st.voltage == pytest.approx(24.0, rel=0.06)
        assert st.wire_feed == pytest.approx(8.0 / 60, rel=0.05)
        ps.stop_weld()
        crater = ps.wait_for(lambda s: s.current_flow and not s.motion_release, 5.0)
        assert crater is not None  # crater fill: current still flows, the robot must not move
        assert ps.wait_for(lambda s: s.process_active and not s.current_flow, 5.0) is not None  # post-flow
        assert ps.wait_for(lambda s: not s.process_active, 5.0) is not None
        assert ps.status().error_code == 0
    states = [to for _, _, to in psu.model.transitions()]
    assert states == [
        ProcessState.PREFLOW,
        ProcessState.IGNITION,
        ProcessState.ARC,
        ProcessState.CRATER,
        ProcessState.POSTFLOW,
        ProcessState.IDLE,
    ]
    # close() dropped robot ready and welding start
    assert not psu.model.robot_outputs().robot_ready


def test_no_ignition(psu: VirtualPowerSourceHandle) -> None:
    psu.model.inject_no_ignition(1)
    with _client(psu) as ps:
        ps.set_parameters(PARAMS)
        ps.start_weld()
        t0 = time.monotonic()
        assert ps.wait_arc_stable(30.0) is False
        assert time.monotonic() - t0 < 10.0  # returned on the error, not on this 30 s timeout
        assert ps.status().error_code == ErrorCode.NO_IGNITION
        ps.stop_weld()
        with pytest.raises(DriverFaultError) as info:
            ps.start_weld()
        assert info.value.error_code == ErrorCode.NO_IGNITION
        ps.reset_error()
        assert ps.wait_for(lambda s: s.error_code == 0, 5.0) is not None
        ps.start_weld()
        assert ps.wait_arc_stable(2.0)  # the retry ignites
        ps.stop_weld()


def test_arc_loss_injected_over_modbus_from_another_client(psu: VirtualPowerSourceHandle) -> None:
    host, port = psu.address
    with _client(psu) as ps:
        ps.set_parameters(PARAMS)
        ps.start_weld()
        assert ps.wait_arc_stable(2.0)
        other = ModbusTcpClient(host, port=port, timeout=1.0)
        try:
            assert other.connect()
            other.write_register(psu.model.image.test_base + TestRegister.ARC_LOSS, 1)
        finally:
            other.close()
        st = ps.wait_for(lambda s: not s.arc_stable, 5.0)
        assert st is not None and not st.motion_release and st.error_code == ErrorCode.ARC_BREAK
        ps.stop_weld()


def test_wire_stick_at_arc_end(psu: VirtualPowerSourceHandle) -> None:
    psu.model.inject_wire_stick()
    with _client(psu) as ps:
        ps.set_parameters(PARAMS)
        ps.start_weld()
        assert ps.wait_arc_stable(2.0)
        ps.stop_weld()
        st = ps.wait_for(lambda s: s.wire_stick, 5.0)
        assert st is not None and st.error_code == ErrorCode.WIRE_STICK
        ps.reset_error()
        st = ps.wait_for(lambda s: not s.wire_stick and s.error_code == 0, 5.0)
        assert st is not None


def test_heartbeat_timeout_ends_the_weld(psu: VirtualPowerSourceHandle) -> None:
    # a client whose heartbeat toggles once and then never again: the power source must end the weld.
    # 2 s: the weld must be stable before the timeout (a loaded host took > 1 s from connect to arc)
    timeout = 2.0
    psu.model.set_comm_timeout(timeout)
    t_connect = time.monotonic()  # the single heartbeat edge comes after this
    with _client(psu, heartbeat_period=60.0) as ps:
        ps.set_parameters(PARAMS)
        ps.start_weld()
        assert ps.wait_arc_stable(10.0)
        burning = len(psu.model.transitions())
        st = ps.wait_for(lambda s: s.error_code != 0, 10.0)
        assert st is not None and st.error_code == ErrorCode.COMM_TIMEOUT
        assert not st.current_flow and not st.motion_release
        # when the arc went off, on the power source's clock (its transition log; this process's
        # monotonic clock): after the timeout, and not a timeout later (a late or missing
        # supervision), whenever this thread got to see it
        log = psu.model.transitions()
        ended = [t for t, _, new in log[burning:] if new is ProcessState.POSTFLOW]
        started = [t for t, _, new in log[:burning] if new is ProcessState.PREFLOW]
        assert ended and started, log
        # never before the timeout after the connect (the single edge came later) ...
        elapsed = psu.model._t0 + ended[0] - t_connect  # _t0: the origin of its transition times
        assert elapsed >= timeout, elapsed
        # ... nor a timeout late after the weld start (which needs the edge first); the power source
        # extends the window by its own stalls (> 40 ms, its thread held), a loaded host's allowance
        assert ended[0] - started[-1] < 3 * timeout, (ended[0] - started[-1], psu.model.own_stalls)
        ps.stop_weld()


def test_power_source_gone_raises_connection_error(psu: VirtualPowerSourceHandle) -> None:
    ps = _client(psu, comm_timeout=0.2, request_timeout=0.1, reconnect_delay=0.05)
    ps.connect()
    try:
        ps.status()
        psu.stop()
        deadline = time.monotonic() + 2.0
        with pytest.raises(DriverConnectionError, match="no answer"):
            while time.monotonic() < deadline:
                ps.status()
                time.sleep(0.02)
    finally:
        ps.close()


def test_connect_refused_is_a_clear_error() -> None:
    ps = ModbusPowerSource("127.0.0.1", 1, ModbusOptions(request_timeout=0.1, reconnect_delay=0.05))
    with pytest.raises(DriverConnectionError, match=r"127\.0\.0\.1:1 did not answer"):
        ps.connect(timeout=0.3)
    assert not ps.connected


def test_gas_and_inching(psu: VirtualPowerSourceHandle) -> None:
    with _client(psu) as ps:
        ps.gas_test(True)
        assert psu.model.gas_valve
        ps.gas_test(False)
        ps.wire_inch("forward", True)
        st = ps.wait_for(lambda s: s.wire_feed > 0, 5.0)
        assert st is not None and st.wire_feed == pytest.approx(5.0 / 60, rel=0.01)
        assert psu.model.robot_outputs().wire_forward
        ps.wire_inch("backward", True)
        assert psu.model.robot_outputs().wire_backward and not psu.model.robot_outputs().wire_forward
        ps.wire_inch("backward", False)
        ps.select_job(2)
        assert psu.model.commands().job == 2


def test_parse_url() -> None:
    assert parse_modbus_url("modbus://10.0.0.5:1502") == ("10.0.0.5", 1502)
    assert parse_modbus_url("psu.local") == ("psu.local", 502)
    with pytest.raises(ValueError, match="modbus://"):
        parse_modbus_url("http://x")


def test_restart_after_error_makes_a_new_rising_edge(psu: VirtualPowerSourceHandle) -> None:
    with _client(psu) as ps:
        ps.set_parameters(PARAMS)
        ps.start_weld()
        assert ps.wait_arc_stable(2.0)
        psu.model.inject_arc_loss()
        assert ps.wait_for(lambda s: s.error_code == ErrorCode.ARC_BREAK, 5.0) is not None
        ps.reset_error()  # the cell resets without dropping weld start first
        assert ps.wait_for(lambda s: s.error_code == 0, 5.0) is not None
        ps.start_weld()
        assert ps.wait_arc_stable(2.0)
        assert psu.model.start_count == 2
        ps.stop_weld()


def test_port_in_use_is_a_clear_error(psu: VirtualPowerSourceHandle) -> None:
    from weldcell.drivers.powersource.virtual import start_virtual_power_source

    with pytest.raises(DriverConnectionError, match="cannot listen"):
        start_virtual_power_source(*psu.address, timeout=3.0)


def test_out_of_range_command_over_modbus_is_error_6(psu: VirtualPowerSourceHandle) -> None:
    """A client writing 650 m/min over the wire gets error 6 and no arc (not a clamped 25 m/min weld)."""
    host, port = psu.address
    psu.model.set_comm_timeout(0.0)  # this plain client does not beat
    img = psu.model.image
    raw = ModbusTcpClient(host, port=port, timeout=1.0)
    try:
        assert raw.connect()
        assert not raw.write_registers(img.wire_feed_command.address, [65000]).isError()  # 650.00 m/min
        assert not raw.write_coils(img.heartbeat_robot, [True, True, True]).isError()  # hb, ready, start
        # the power source's cycle takes the command: wait for its error (a loaded host may need
        # longer than a fixed pause), then judge the whole status
        words = wait_until(
            lambda: (
                (w := raw.read_input_registers(img.status_word.address, count=5).registers)[
                    img.error_number.address
                ]
                and w
            ),
            what="the power source's answer to 650 m/min",
        )
    finally:
        raw.close()
    assert words[img.error_number.address] == ErrorCode.INVALID_COMMAND
    assert words[img.current.address] == 0  # no current
    assert not words[img.status_word.address] & (1 << img.current_flow)
    assert psu.model.state == ProcessState.IDLE and psu.model.start_count == 0


def _fifo_permitted() -> bool:
    """Whether this process may put a thread under SCHED_FIFO (tried on a throw-away thread)."""
    ok: list[bool] = []

    def probe() -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
            ok.append(True)
        except (AttributeError, OSError):
            ok.append(False)

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    return ok[0]


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="POSIX scheduling API (Linux)")
def test_the_heartbeat_worker_runs_at_fifo_priority_when_permitted(psu: VirtualPowerSourceHandle) -> None:
    """The I/O worker carries the robot heartbeat (a 0.15 s comm timeout in the cell): on a loaded
    machine it must not queue for a CPU behind ordinary processes."""
    for prio, want_fifo in ((4, _fifo_permitted()), (None, False)):
        with ModbusPowerSource(*psu.address, ModbusOptions(fifo_priority=prio)) as ps:
            assert ps._thread is not None and ps._thread.native_id is not None
            policy = os.sched_getscheduler(ps._thread.native_id)
            assert (policy == os.SCHED_FIFO) is want_fifo, (prio, policy)
            if want_fifo:
                assert os.sched_getparam(ps._thread.native_id).sched_priority == prio
            assert ps.status().heartbeat is not None
    with pytest.raises(PowerSourceValueError, match="fifo_priority must be 1-99 or None, got 0"):
        ModbusOptions(fifo_priority=0)
