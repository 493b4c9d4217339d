"""Independent clients against the virtual power source: pymodbus's own client and Debian's mbpoll.

They use only the documented addresses (docs/powersource.md), not weldcell's encoder.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from pymodbus.client import ModbusTcpClient

from weldcell.drivers.powersource import ErrorCode, ModbusPowerSource, WeldParams
from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle, VirtualPowerSourceRemote
from weldcell.drivers.powersource.virtual_model import ProcessState
from weldcell.errors import DriverConnectionError

# documented default image: coils 0 heartbeat, 1 robot ready, 2 welding start; discrete inputs 1 ready,
# 3 process active, 4 current flow, 5 arc stable, 9 motion release; input registers 0 status word,
# 1 voltage [0.01 V], 2 current [0.1 A], 3 wire feed [0.01 m/min], 4 error number; holding registers
# 0 job, 1 wire feed command [0.01 m/min]; test registers from 900 (904 = process state).
HB, ROBOT_READY, WELD_START = 0, 1, 2
DI_READY, DI_PROCESS, DI_FLOW, DI_STABLE, DI_RELEASE = 1, 3, 4, 5, 9
TEST_STATE = 904


def _wait(pred: object, timeout: float) -> bool:
    assert callable(pred)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def test_pymodbus_client_runs_a_weld_on_documented_addresses(psu: VirtualPowerSourceHandle) -> None:
    host, port = psu.address
    c = ModbusTcpClient(host, port=port, timeout=1.0)
    assert c.connect()
    try:
        assert not c.write_registers(0, [0, 800]).isError()  # job 0, wire feed 8.00 m/min
        assert not c.write_coils(0, [True, True, False]).isError()  # heartbeat edge, robot ready
        assert c.read_discrete_inputs(0, count=12).bits[DI_READY]
        assert not c.write_coil(WELD_START, True).isError()
        hb = True

        def arc_released() -> bool:
            nonlocal hb
            hb = not hb
            c.write_coil(HB, hb)
            bits = c.read_discrete_inputs(0, count=12).bits
            return bool(bits[DI_PROCESS] and bits[DI_FLOW] and bits[DI_STABLE] and bits[DI_RELEASE])

        assert _wait(arc_released, 2.0)
        regs = c.read_input_registers(0, count=5).registers
        status_word = regs[0]
        assert status_word & (1 << DI_STABLE) and status_word & (1 << DI_RELEASE)
        assert regs[2] * 0.1 == pytest.approx(190.0, rel=0.1)  # current 30 + 20·8 A
        assert regs[1] * 0.01 == pytest.approx(23.5, rel=0.06)  # voltage 14 + 0.05·190 V
        assert regs[3] * 0.01 == pytest.approx(8.0, rel=0.05)  # wire feed m/min
        assert regs[4] == 0
        assert c.read_holding_registers(TEST_STATE, count=1).registers == [3]  # ARC
        assert c.read_coils(0, count=3).bits[:3] == [hb, True, True]
        assert not c.write_coil(WELD_START, False).isError()
        assert _wait(lambda: not c.read_discrete_inputs(0, count=12).bits[DI_FLOW], 1.0)
        # unmapped addresses answer with a Modbus exception, not garbage
        assert c.read_holding_registers(500, count=1).isError()
    finally:
        c.close()


def _mbpoll(*args: str) -> str:
    exe = shutil.which("mbpoll")
    assert exe is not None
    out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=10, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _values(text: str) -> dict[int, int]:
    """Parse mbpoll's "[ref]: value" lines."""
    vals = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and "]:" in line:
            ref, val = line[1:].split("]:", 1)
            vals[int(ref)] = int(val.split()[0])
    return vals


@pytest.mark.skipif(
    shutil.which("mbpoll") is None, reason="Debian's mbpoll is not installed (apt-get install mbpoll)"
)
def test_mbpoll_reads_registers_and_writes_coils(psu: VirtualPowerSourceHandle) -> None:
    host, port = psu.address
    common = ["-m", "tcp", "-a", "1", "-p", str(port), "-0", "-1", "-o", "2"]
    # mbpoll cannot keep a heartbeat toggling between calls: switch the supervision off (test register 903)
    _mbpoll(*common, "-t", "4", "-r", "903", host, "0")
    assert psu.model.read_holding_registers(903, 1) == [0]
    # write command registers 0..1 (job 0, wire feed 800 = 8.00 m/min) and read them back
    _mbpoll(*common, "-t", "4", "-r", "0", host, "0", "800")
    assert _values(_mbpoll(*common, "-t", "4", "-r", "0", "-c", "2", host)) == {0: 0, 1: 800}
    assert psu.model.commands().wire_feed == pytest.approx(8.0 / 60)
    # write coils: heartbeat edge, robot ready, then welding start as a single coil
    _mbpoll(*common, "-t", "0", "-r", "0", host, "1", "1")
    _mbpoll(*common, "-t", "0", "-r", "2", host, "1")
    assert psu.model.robot_outputs().welding_start
    assert _values(_mbpoll(*common, "-t", "0", "-r", "0", "-c", "3", host)) == {0: 1, 1: 1, 2: 1}
    # discrete inputs: process active at once (gas pre-flow)
    di = _values(_mbpoll(*common, "-t", "1", "-r", "0", "-c", "12", host))
    assert di[DI_PROCESS] == 1 and di[DI_READY] == 1
    # input registers: status word mirrors the discrete inputs; then read the arc values
    assert _wait(lambda: psu.model.status().arc_stable, 1.0)
    ir = _values(_mbpoll(*common, "-t", "3", "-r", "0", "-c", "5", host))
    assert ir[0] & (1 << DI_STABLE) and ir[0] & (1 << DI_PROCESS)
    assert ir[2] / 10 == pytest.approx(190.0, rel=0.1)
    assert ir[4] == 0
    # fault injection over Modbus: lose the arc now (test register 901)
    _mbpoll(*common, "-t", "4", "-r", "901", host, "1")
    ir = _values(_mbpoll(*common, "-t", "3", "-r", "0", "-c", "5", host))
    assert ir[4] == 2 and not ir[0] & (1 << DI_STABLE)  # error 2 = arc break
    _mbpoll(*common, "-t", "0", "-r", "2", host, "0")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_power_source_in_another_process() -> None:
    """``weldcell powersource`` in its own process; our client welds, a remote injects an arc loss."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-c",
        "from weldcell.cli import main; main()",
        "powersource",
        "--port",
        str(port),
        "--duration",
        "20",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        remote = VirtualPowerSourceRemote("127.0.0.1", port, timeout=0.5)
        deadline = time.monotonic() + 15.0
        while True:
            try:
                assert remote.state() == ProcessState.IDLE
                break
            except DriverConnectionError:
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "weldcell powersource did not start"
                time.sleep(0.1)
        with remote, ModbusPowerSource("127.0.0.1", port) as ps:
            ps.set_parameters(WeldParams(job=1))
            ps.start_weld()
            assert ps.wait_arc_stable(2.0)
            assert remote.state() == ProcessState.ARC and remote.start_count() == 1
            remote.lose_arc()
            st = ps.wait_for(lambda s: s.error_code != 0, 1.0)
            assert st is not None and st.error_code == ErrorCode.ARC_BREAK and not st.motion_release
            ps.stop_weld()
        time.sleep(0.4)  # the command prints transitions every 0.1 s
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out = proc.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0]
    assert proc.returncode == 0, out
    assert "listening on modbus://127.0.0.1" in out and "IGNITION -> ARC" in out and "arc break" in out
    assert "stopping" in out
