"""When the PC running the cell dies mid-weld, the arc goes off no later than the robot stops.

A real ``weldcell cell run`` (child process) welds on the virtual UR controller and the virtual
power source; it is killed with SIGKILL mid-seam. An RTDE observer (a second client of the
controller) records the joint speeds with their receive times, and the power source's own transition
log gives the time its current stopped, both on this process's monotonic clock (the power source
runs in this process; a receive time is never earlier than the controller's sample). The power
source's own communication timeout, set by the cell (``CellConfig.power_source_comm_timeout``,
0.15 s), ends the arc; the servo program's PC watchdog
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
from waiting import CHILD_TIMEOUT, wait_until

from weldcell.cell.jobtypes import CellConfig
from weldcell.drivers.powersource.virtual_model import ProcessState
from weldcell.drivers.ur.client.rtde_client import RTDEClient

CELL_RUN = ("cell", "run", LAP)
WATCHDOG_S = 0.2  # URDriverConfig.watchdog_hz = 5 Hz


BURNING = (ProcessState.ARC, ProcessState.CRATER)  # the power source's states with current flowing


class _Recorder:
    """Joint speeds from the controller, with receive times."""

    def __init__(self, host: str) -> None:
        self.rtde = RTDEClient(host, 30004)
        self.rtde.connect(5.0)
        self.rtde.negotiate_protocol()
        self.rtde.setup_outputs(["timestamp", "actual_qd"], 500.0)
        self.rtde.start()
        self.qd: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._robot, daemon=True)
        self._thread.start()

    def _robot(self) -> None:
        while not self._stop.is_set():
            d = self.rtde.receive(2.0)
            self.qd.append((time.monotonic(), float(np.max(np.abs(d["actual_qd"])))))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self.rtde.close()


def _psu_times(model: object) -> list[tuple[float, ProcessState]]:
    """The power source's transitions: (time on this process's monotonic clock [s], new state)."""
    t0 = model._t0  # type: ignore[attr-defined]  # the origin of its transition times
    return [(t0 + t, new) for t, _, new in model.transitions()]  # type: ignore[attr-defined]


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
            # planning and validating the job first: 180 s ran out on a host loaded 2 + 8 deep
            deadline = time.monotonic() + CHILD_TIMEOUT
            while _first_seam_progress(db) < 0.012:
                assert proc.poll() is None, "the cell process ended early:\n" + log.read_text()[-3000:]
                assert time.monotonic() < deadline, "the job did not reach its first seam"
                time.sleep(0.02)
            rec = _Recorder("127.0.0.86")
            # some samples of the moving robot first (waited for: a loaded host delays the reader)
            wait_until(lambda: len(rec.qd) >= 100, 30.0, what="100 RTDE samples before the kill")
            # the power source's timeout was set by the cell
            ct = cell.psu.model._comm_timeout
            assert abs(ct - (CellConfig().power_source_comm_timeout or 0.0)) < 1e-3
            t_kill = time.monotonic()
            proc.send_signal(signal.SIGKILL)
            proc.wait(10.0)
            # the current off (in the power source's log) and 1.5 s of the robot after the kill
            # (received, however late the reader runs): the robot stands still after ~0.35 s
            wait_until(
                lambda: any(t >= t_kill and new not in BURNING for t, new in _psu_times(cell.psu.model)),
                30.0,
                what="the power source's current off after the kill",
            )
            wait_until(lambda: rec.qd[-1][0] > t_kill + 1.5, 30.0, what="1.5 s of RTDE after the kill")
        finally:
            if rec is not None:
                rec.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait(10.0)
    assert rec is not None
    qd = np.array(rec.qd)
    before = qd[qd[:, 0] < t_kill]
    assert before[-50:, 1].min() > 1e-3, "the robot was not moving when the process died"
    states = _psu_times(cell.psu.model)
    before_kill = [new for t, new in states if t < t_kill]
    assert before_kill and before_kill[-1] == ProcessState.ARC, "the arc was not on when the process died"
    t_arc_off = next(t for t, new in states if t >= t_kill and new not in BURNING) - t_kill
    moving = qd[(qd[:, 0] >= t_kill) & (qd[:, 1] > 1e-4)]
    t_standstill = moving[-1, 0] - t_kill
    print(
        f"\nPC killed mid-seam: arc off after {t_arc_off * 1e3:.0f} ms, "
        f"robot standing still after {t_standstill * 1e3:.0f} ms"
    )
    assert t_arc_off <= t_standstill
    assert t_arc_off < WATCHDOG_S + 0.02  # off before the robot's watchdog even starts the stop
