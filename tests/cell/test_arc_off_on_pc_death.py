"""When the PC running the cell dies mid-weld, the arc goes off no later than the robot stops.

A real ``weldcell cell run`` (child process) welds on the virtual UR controller and the virtual
power source; it is killed with SIGKILL mid-seam. An RTDE observer (a second client of the
controller) records the joint speeds, and a poller records the power source's current flow, both on
this process's monotonic clock. The power source's own communication timeout, set by the cell
(``CellConfig.power_source_comm_timeout``, 0.15 s), ends the arc; the servo program's PC watchdog
(0.2 s) stops the robot, decelerating within 0.15 s.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
from clicell import LAP, cli_args, cli_env, virtual_cell
from test_cli_resume import _first_seam_progress

from weldcell.cell.jobtypes import CellConfig
from weldcell.drivers.ur.client.rtde_client import RTDEClient

CELL_RUN = ("cell", "run", LAP)
WATCHDOG_S = 0.2  # URDriverConfig.watchdog_hz = 5 Hz


class _Recorder:
    """Joint speeds from the controller and the power source's current flow, with receive times."""

    def __init__(self, host: str, psu: object) -> None:
        self.rtde = RTDEClient(host, 30004)
        self.rtde.connect(5.0)
        self.rtde.negotiate_protocol()
        self.rtde.setup_outputs(["timestamp", "actual_qd"], 500.0)
        self.rtde.start()
        self.psu = psu
        self.qd: list[tuple[float, float]] = []
        self.flow: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._robot, daemon=True),
            threading.Thread(target=self._power, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _robot(self) -> None:
        while not self._stop.is_set():
            d = self.rtde.receive(2.0)
            self.qd.append((time.monotonic(), float(np.max(np.abs(d["actual_qd"])))))

    def _power(self) -> None:
        while not self._stop.is_set():
            st = self.psu.model.status()  # type: ignore[attr-defined]
            self.flow.append((time.monotonic(), bool(st.current_flow)))
            time.sleep(0.001)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5.0)
        self.rtde.close()


def test_arc_goes_off_before_the_robot_stops_when_the_cell_process_dies(tmp_path: Path) -> None:
    db, out, log = tmp_path / "log.sqlite", tmp_path / "out", tmp_path / "cell.txt"
    with virtual_cell("127.0.0.86") as cell:
        proc = subprocess.Popen(
            cli_args(
                "cell",
                "run",
                LAP,
                "--robot",
                cell.robot_url,
                "--powersource",
                cell.psu_url,
                "--db",
                db,
                "--out",
                out,
            ),
            env=cli_env(),
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        rec: _Recorder | None = None
        try:
            deadline = time.monotonic() + 180.0
            while _first_seam_progress(db) < 0.012:
                assert proc.poll() is None, "the cell process ended early:\n" + log.read_text()[-3000:]
                assert time.monotonic() < deadline, "the job did not reach its first seam"
                time.sleep(0.02)
            rec = _Recorder("127.0.0.86", cell.psu)
            time.sleep(0.3)
            # the power source's timeout was set by the cell
            ct = cell.psu.model._comm_timeout
            assert abs(ct - (CellConfig().power_source_comm_timeout or 0.0)) < 1e-3
            t_kill = time.monotonic()
            proc.send_signal(signal.SIGKILL)
            proc.wait(10.0)
            time.sleep(1.5)
        finally:
            if rec is not None:
                rec.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait(10.0)
    assert rec is not None
    qd = np.array(rec.qd)
    flow = np.array(rec.flow)
    before = qd[qd[:, 0] < t_kill]
    assert before[-50:, 1].min() > 1e-3, "the robot was not moving when the process died"
    assert flow[flow[:, 0] < t_kill][-1, 1], "the arc was not on when the process died"
    after = flow[flow[:, 0] >= t_kill]
    t_arc_off = after[np.flatnonzero(after[:, 1] == 0)[0], 0] - t_kill
    moving = qd[(qd[:, 0] >= t_kill) & (qd[:, 1] > 1e-4)]
    t_standstill = moving[-1, 0] - t_kill
    print(
        f"\nPC killed mid-seam: arc off after {t_arc_off * 1e3:.0f} ms, "
        f"robot standing still after {t_standstill * 1e3:.0f} ms"
    )
    assert t_arc_off <= t_standstill
    assert t_arc_off < WATCHDOG_S + 0.02  # off before the robot's watchdog even starts the stop
