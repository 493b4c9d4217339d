"""Our virtual KRC (``weldcell controller kuka-rsi``) driven by rsipi's RSIClient, an independent RSI sensor.

Both run as separate processes, as on a real cell; the controller's summary (JSON on stdout) and the
client's view of the robot data are compared.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streaming_helpers import free_udp_port

from weldcell.drivers.kuka.config import RsiConfig
from weldcell.drivers.kuka.rsi_files import ethernet_config_xml

pytest.importorskip("RSIPI.rsi_client", reason="rsipi==0.3.0 (test extra, installed with --no-deps)")

CLIENT = Path(__file__).resolve().parent / "rsipi_client_peer.py"
START = (10.0, -80.0, 95.0, 5.0, 50.0, -20.0)


class ClientPeer:
    def __init__(self, tmp: Path, config: RsiConfig) -> None:
        xml = tmp / "rsi_eth.xml"
        xml.write_text(ethernet_config_xml(config))
        self.proc = subprocess.Popen(
            [sys.executable, str(CLIENT), str(xml), "--mode", config.mode, "--cycle", str(config.cycle)],
            cwd=tmp,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.ask("")["ready"]

    def ask(self, cmd: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if cmd:
            self.proc.stdin.write(cmd + "\n")
            self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            assert line, "rsipi client exited"
            if line.startswith("{"):
                return dict(json.loads(line))

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(AssertionError, BrokenPipeError):
                self.ask("stop")
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def run_krc(port: int, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    return subprocess.Popen(
        [sys.executable, "-m", "weldcell", "controller", "kuka-rsi", "--sensor", f"127.0.0.1:{port}",
         "--start-deg", ",".join(str(v) for v in START), "--digin", "6", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip


def summary(proc: subprocess.Popen[str]) -> tuple[int, dict[str, Any]]:
    out, err = proc.communicate(timeout=60)
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    assert lines, out + err
    return proc.returncode, dict(json.loads(lines[-1]))


@pytest.mark.parametrize("cycle_ms", [4, 12])
def test_rsipi_client_moves_virtual_krc(tmp_path: Path, cycle_ms: int) -> None:
    port = free_udp_port()
    client = ClientPeer(tmp_path, RsiConfig(port=port, cycle=cycle_ms / 1000))
    krc = run_krc(port, "--cycle-ms", str(cycle_ms), "--duration", "4")
    try:
        assert client.ask("wait 10")["connected"]
        for k in range(1, 11):  # a ramp of absolute corrections on A1, 0.1° per step
            assert client.ask(f"akorr {0.1 * k:.1f} 0 0 0 0 0")["applied"]
        time.sleep(0.3)
        seen = client.ask("status")
        code, st = summary(krc)
    finally:
        client.close()
        if krc.poll() is None:
            krc.kill()
    assert code == 0 and st["running"], st
    # the client saw our telegrams: axis positions, inputs
    assert seen["AIPos"]["A1"] == pytest.approx(START[0] + 1.0, abs=1e-3)
    assert seen["DiL"] == 6
    np.testing.assert_allclose(st["q_deg"], [START[0] + 1.0, *START[1:]], atol=1e-6)
    # it echoed the IPOC and SENTYPE: replies accepted; the few late ones are what Delay reported
    assert st["invalid"] == 0 and st["accepted"] > 0.8 * st["cycles"], st
    assert seen["Delay"]["D"] <= st["late"]


def test_wrong_sentype_breaks_off(tmp_path: Path) -> None:
    port = free_udp_port()
    client = ClientPeer(tmp_path, RsiConfig(port=port, sentype="OtherSensor"))
    krc = run_krc(port, "--timeout", "30", "--duration", "5")
    try:
        code, st = summary(krc)
    finally:
        client.close()
    assert code == 1 and not st["running"]
    assert "RSITimeout" in st["stop_reason"] and "KSS29002" in st["stop_reason"]
    assert st["accepted"] == 0 and st["late"] == 31 and st["invalid"] >= 25


def test_silent_sensor_breaks_off() -> None:
    port = free_udp_port()
    krc = run_krc(port, "--timeout", "10", "--duration", "5", "--cycle-ms", "12")
    code, st = summary(krc)
    assert code == 1 and st["late"] == 11 and st["cycles"] == 11 and "RSITimeout" in st["stop_reason"]


@pytest.mark.parametrize("cycle_ms", [4, 12])
def test_our_driver_against_krc_process(tmp_path: Path, cycle_ms: int) -> None:
    """Our driver and the virtual KRC in separate processes: the rate a loaded machine sustains."""
    from stamp_helpers import stamp_for_test

    from weldcell.drivers.base import ExecutionOutcome, joint_move
    from weldcell.drivers.kuka.driver import RsiDriver
    from weldcell.trajectory import save_trajectory

    port = free_udp_port()
    drv = RsiDriver(RsiConfig(port=port, cycle=cycle_ms / 1000))
    krc = run_krc(port, "--cycle-ms", str(cycle_ms), "--duration", "4")
    try:
        drv.connect(10.0)
        q0 = drv.state().q
        traj = joint_move(drv.robot, q0, q0 + 0.1, drv.dt, speed_fraction=0.3)
        p = tmp_path / "m.npz"
        save_trajectory(traj, p)
        stamp_for_test(p, traj)
        assert drv.execute(traj, traj_path=p).wait_until_done(10.0).outcome is ExecutionOutcome.COMPLETED
        code, st = summary(krc)
    finally:
        drv.close()
        if krc.poll() is None:
            krc.kill()
    assert code == 0 and st["invalid"] == 0
    np.testing.assert_allclose(np.radians(st["q_deg"]), traj.q[-1], atol=1e-6)
    print(f"{cycle_ms} ms: {st['cycles']} cycles, {st['late']} late, {st['overruns']} controller overruns")
    assert st["late"] <= 0.05 * st["cycles"], st
