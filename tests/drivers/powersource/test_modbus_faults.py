"""ModbusPowerSource against a misbehaving Modbus server on 127.0.0.1: a bad reply is a fault, no dead thread.

After each kind of misbehaviour the client must report a power-source fault through the contract's
fault path (``status()`` raises :class:`DriverConnectionError` naming the last error, commands fail
with a driver error instead of hanging), keep its I/O thread alive, and recover by itself once the
server behaves again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from misbehaving_modbus import Fault, MisbehavingModbusServer
from waiting import wait_until

from weldcell.drivers.powersource import ModbusOptions, ModbusPowerSource, WeldParams
from weldcell.drivers.powersource.image import ProcessImage, decode_status_registers
from weldcell.errors import DriverConnectionError, DriverError, ProtocolError

FAST = ModbusOptions(
    poll_period=0.01,
    comm_timeout=0.15,
    request_timeout=0.05,
    reconnect_delay=0.02,
    max_reconnect_delay=0.16,
)
LIMIT = 3.0  # [s] longest wait for a fault to show or to clear (generous: the machine is shared)


@pytest.fixture
def server() -> Iterator[MisbehavingModbusServer]:
    with MisbehavingModbusServer(seed=3) as srv:
        yield srv


@pytest.fixture
def client(server: MisbehavingModbusServer) -> Iterator[ModbusPowerSource]:
    ps = ModbusPowerSource("127.0.0.1", server.port, FAST)
    ps.connect(2.0)
    try:
        yield ps
    finally:
        ps.close()


def _wait_fault(ps: ModbusPowerSource) -> DriverConnectionError:
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        try:
            ps.status()
        except DriverConnectionError as err:
            return err
        time.sleep(0.005)
    raise AssertionError(f"no power-source fault reported within {LIMIT} s")


def _wait_recovered(ps: ModbusPowerSource) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < LIMIT:
        try:
            st_ = ps.status()
        except DriverConnectionError:
            time.sleep(0.005)
            continue
        assert st_.ready and st_.error_code == 0
        return time.monotonic() - t0
    raise AssertionError(f"client did not recover within {LIMIT} s")


def _worker_alive(ps: ModbusPowerSource) -> bool:
    thread = ps._thread
    return thread is not None and thread.is_alive()


EXPECTED_TEXT = {
    Fault.SHORT: "expected 5 registers",
    Fault.WRONG_FUNCTION: "function code",
    Fault.EXCEPTION: "Modbus exception",
    Fault.RESET: "DriverConnectionError",
}


@pytest.mark.parametrize("fault", [f for f in Fault if f is not Fault.NONE], ids=lambda f: f.value)
def test_fault_is_reported_and_recovered(
    fault: Fault, server: MisbehavingModbusServer, client: ModbusPowerSource
) -> None:
    assert client.status().ready
    failures_before = client.failures
    server.set_fault(fault)
    err = _wait_fault(client)
    assert _worker_alive(client), f"{fault.value}: the I/O thread died"
    assert "last error:" in str(err) and "none" not in str(err).split("last error:")[1], str(err)
    if fault in EXPECTED_TEXT:
        assert EXPECTED_TEXT[fault] in str(err), str(err)
    assert client.failures > failures_before
    # a command during the fault fails with a driver error, it does not hang or kill anything
    with pytest.raises(DriverError):
        client.set_parameters(WeldParams(wire_feed=5.0 / 60), timeout=0.3)
    server.set_fault(Fault.NONE)
    _wait_recovered(client)
    assert _worker_alive(client)
    reads, _, _ = server.counts()
    wait_until(lambda: server.counts()[0] > reads + 3, what="the client cycling again")
    # and commands work again
    client.set_parameters(WeldParams(wire_feed=5.0 / 60), timeout=1.0)


def test_reconnect_backs_off(server: MisbehavingModbusServer, client: ModbusPowerSource) -> None:
    """A server that resets every connection is retried with a growing pause, not 100 times a second."""
    server.set_fault(Fault.RESET)
    _wait_fault(client)
    _, _, conns0 = server.counts()
    t0 = time.monotonic()
    time.sleep(1.0)
    _, _, conns1 = server.counts()
    elapsed = time.monotonic() - t0  # a loaded host oversleeps: the bound follows the real window
    # back-off 0.02, 0.04, 0.08, then 0.16 s: about 7 attempts per second; without it ~50-100
    assert conns1 - conns0 <= 4 + 1.5 * elapsed / FAST.max_reconnect_delay, (conns1 - conns0, elapsed)
    # but it keeps trying (a starved client thread may take longer than the window)
    wait_until(lambda: server.counts()[2] >= conns0 + 3, what="3 further connection attempts")
    server.set_fault(Fault.NONE)
    assert _wait_recovered(client) < 1.0  # the pause is capped at max_reconnect_delay


def test_fault_while_waiting_for_the_arc(server: MisbehavingModbusServer, client: ModbusPowerSource) -> None:
    """The cell's wait for the arc ends with the connection fault, not with a hang or a thread death."""
    server.set_fault(Fault.SHORT)
    t0 = time.monotonic()
    with pytest.raises(DriverConnectionError):
        client.wait_arc_stable(timeout=30.0)
    assert time.monotonic() - t0 < 10.0  # on the fault (comm_timeout 0.15 s), not this 30 s wait
    server.set_fault(Fault.NONE)
    _wait_recovered(client)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=st.binary(min_size=1, max_size=300))
def test_random_garbage_replies(
    payload: bytes, server: MisbehavingModbusServer, client: ModbusPowerSource
) -> None:
    """Arbitrary bytes in place of a reply: a fault at worst, and the client recovers."""
    server.garbage = payload
    server.set_fault(Fault.GARBAGE)
    time.sleep(0.1)
    server.set_fault(Fault.NONE)
    _wait_recovered(client)
    assert _worker_alive(client)


IMG = ProcessImage()


@settings(deadline=None)  # a loaded host can stall one example past hypothesis' 200 ms default
@given(regs=st.lists(st.integers(min_value=-(2**20), max_value=2**20), max_size=12))
def test_decoder_rejects_malformed_register_lists(regs: list[int]) -> None:
    """The status decoder returns a status for exactly 5 words 0 … 65535, else raises ProtocolError."""
    well_formed = len(regs) == 5 and all(0 <= w <= 0xFFFF for w in regs)
    try:
        status = decode_status_registers(IMG, regs)
    except ProtocolError as err:
        assert not well_formed, err
        assert "input registers" in str(err)
    else:
        assert well_formed
        assert status.error_code == regs[4]
