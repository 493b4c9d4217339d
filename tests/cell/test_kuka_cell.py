"""Whole cell runs on a KUKA arm over RSI: ``weldcell demo --robot kuka``, ``weldcell cell run --robot
kuka-rsi://…`` against a virtual KRC the test starts, and a KRC that goes silent in the middle of a seam.

The jobs run in real time (RSI has no time scale), so the programs are short: the demo's two 65 mm
fillets, and a 30 mm fillet on a KR 6 R900 (``programs/kr6_short_fillet.yaml``, not in programs/).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cellsynth import FAST_TIMING
from waiting import CHILD_TIMEOUT, run_child

from weldcell.app.devices import check_robot_url
from weldcell.app.job import RunOptions, run_job
from weldcell.app.progress import Progress
from weldcell.cell.state import CellState
from weldcell.cell.weldlog import SEAM_DONE, WeldLog
from weldcell.drivers.kuka.virtual_krc import KrcConfig, VirtualKrc
from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle, start_virtual_power_source
from weldcell.drivers.powersource.virtual_model import VirtualConfig
from weldcell.errors import DriverError
from weldcell.program import load_program

PROGRAM = Path(__file__).parent / "programs" / "kr6_short_fillet.yaml"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("WELDCELL_STAMP_KEY", None)  # unkeyed stamps, as a user without a cell key runs it
    return env


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _krc(port: int, cycle: float = 0.012) -> VirtualKrc:
    """A virtual KR 6 standing at the program's home pose, with the arc loopback DiO0 -> DiL0."""
    home = tuple(float(v) for v in np.degrees(load_program(PROGRAM).cell.home_q))
    return VirtualKrc(
        KrcConfig(
            robot="kr6_r900",
            sensor_port=port,
            cycle=cycle,
            q_start_deg=home,
            arc_loopback=(0, 0, 0.05),
        )
    )


@pytest.fixture
def psu() -> Iterator[VirtualPowerSourceHandle]:
    handle = start_virtual_power_source("127.0.0.1", 0, VirtualConfig(timing=FAST_TIMING), seed=5)
    try:
        yield handle
    finally:
        handle.stop()


def _arc_polls(log: WeldLog, job_id: int) -> dict[str, int]:
    """Polls with the robot's arc output on, per seam, from the ``robot_arc_output`` events."""
    return {
        str(e.seam_id): int(e.data["polls_on"])
        for e in log.events(job_id)
        if e.kind == "robot_arc_output" and e.seam_id
    }


def test_demo_kuka_cli_welds_both_seams(tmp_path: Path) -> None:
    res = run_child(
        [sys.executable, "-m", "weldcell", "demo", "--robot", "kuka", "--out", "demo"],
        cwd=tmp_path,
        env=_env(),
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "kuka-rsi://127.0.0.1:" in res.stdout and "virtual KRC" in res.stdout
    with WeldLog(tmp_path / "demo" / "weldlog.sqlite", readonly=True) as log:
        job = log.latest_job()
        assert job.result == "ok" and job.robot == "kr10_r1420"
        assert job.program_path.endswith("demo_tjoint_kuka.yaml")
        seams = log.seams(job.id)
        assert [s.seam_id for s in seams] == ["fillet_left", "fillet_right"]
        for s in seams:
            assert s.result == SEAM_DONE and s.attempt == 1
            assert s.s_start == 0.0
            assert s.s_stop == pytest.approx(0.065, abs=1e-6) and s.s_end_planned == pytest.approx(0.065)
            sig = log.signals(s.id)
            assert len(sig) > 20 and float(np.nanmean(sig.current)) > 50.0  # the arc burned
        # the robot's arc command arrived at the controller during both seams ...
        polls = _arc_polls(log, job.id)
        assert set(polls) == {"fillet_left", "fillet_right"} and min(polls.values()) > 10
        # ... and the controller's own output log has it switched on twice and off again
        krc = [e for e in log.events(job.id) if e.kind == "virtual_krc"]
        assert len(krc) == 1
        intervals = krc[0].data["arc_output_on_s"]
        assert len(intervals) == 2
        for a, b in intervals:
            assert 6.0 < b - a < 9.0  # 6.5 s of weld plus the arc start dwell and crater fill
        assert krc[0].data["late"] <= 100 and krc[0].data["ended_by_sensor"]
        assert "ended by the sensor" in krc[0].data["stop_reason"]  # Stop=1, no RSITimeout


def test_cell_run_cli_on_a_virtual_krc(tmp_path: Path, psu: VirtualPowerSourceHandle) -> None:
    port = _free_udp_port()
    cmd = [
        sys.executable,
        "-m",
        "weldcell",
        "cell",
        "run",
        str(PROGRAM),
        "--robot",
        f"kuka-rsi://127.0.0.1:{port}?cycle_ms=12",
        "--powersource",
        psu.url,
        "--db",
        str(tmp_path / "log.sqlite"),
        "--out",
        str(tmp_path / "out"),
    ]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    waiting = threading.Event()

    def read() -> None:
        assert proc.stdout is not None  # mypy
        for line in proc.stdout:
            lines.append(line)
            if "RSI telegrams" in line:
                waiting.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    krc = _krc(port)
    try:
        # the operator starts the RSI program once the cell listens (after planning and validation)
        assert waiting.wait(CHILD_TIMEOUT), "".join(lines)[-3000:]
        krc.start()
        rc = proc.wait(CHILD_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        st = krc.stop()
        reader.join(10)
    out = "".join(lines)
    assert rc == 0, out[-3000:]
    with WeldLog(tmp_path / "log.sqlite", readonly=True) as log:
        job = log.latest_job()
        assert job.result == "ok" and job.robot == "kr6_r900"
        (seam,) = log.seams(job.id)
        assert seam.seam_id == "short_fillet" and seam.result == SEAM_DONE
        assert seam.s_stop == pytest.approx(0.030, abs=1e-6)
        assert _arc_polls(log, job.id)["short_fillet"] > 5
        # after the job the cell ended the RSI session (Stop=1) and recorded it
        (end,) = [e for e in log.events(job.id) if e.kind == "rsi_session_end"]
        assert end.data["ended"] and end.data["stop_replies"] >= 1, end.message
    # the KRC saw the arc output switched on and off (DoutW) once, and closing the driver at the end
    # of the job ended RSI with Stop=1 (the exported STOP object): no late-packet count to RSITimeout
    assert st.accepted > 100
    assert st.ended_by_sensor and "RSITimeout" not in st.stop_reason, st.stop_reason
    assert [d & 1 for _, d in st.output_log] == [1, 0]
    # the power source made the arc (and ended it)
    assert psu.model.start_count >= 1 and not psu.model.status().current_flow


def test_krc_silent_mid_seam_faults_the_job_with_the_arc_off(
    tmp_path: Path, psu: VirtualPowerSourceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WELDCELL_STAMP_KEY", raising=False)
    port = _free_udp_port()
    krc = _krc(port)
    silenced = threading.Event()
    arc_at_silence: list[bool] = []

    def progress(p: Progress) -> None:
        if p.kind == "stage" and "RSI telegrams" in p.message:
            krc.start()
        elif p.kind == "seam_start":
            # the controller stops sending in the middle of the seam (cable pulled, KRC stopped)
            def silence() -> None:
                arc_at_silence.append(bool(psu.model.status().arc_stable))
                krc.stop()
                silenced.set()

            threading.Timer(0.8, silence).start()

    t0 = time.monotonic()
    try:
        res = run_job(
            RunOptions(
                job=PROGRAM,
                robot_url=f"kuka-rsi://127.0.0.1:{port}?cycle_ms=12",
                powersource_url=psu.url,
                log_path=tmp_path / "log.sqlite",
                out_dir=tmp_path / "out",
                connect_timeout=120.0,
            ),
            progress=progress,
        )
    finally:
        silenced.wait(10)
        krc.stop()
    assert silenced.is_set() and arc_at_silence == [True]
    assert res.state is CellState.FAULT
    assert "stopped sending RSI telegrams" in res.message and "RSITimeout" in res.message
    with WeldLog(tmp_path / "log.sqlite", readonly=True) as log:
        job = log.latest_job()
        assert job.result == "interrupted"
        (seam,) = log.seams(job.id)
        assert seam.result == "robot_fault"
        assert any("stopped sending RSI telegrams" in f for f in seam.faults)
        assert 0.0 < (seam.s_stop or 0.0) < 0.030  # interrupted on the seam, where the arc went out
        assert any(e.kind == "fault" and "RSI" in e.message for e in log.events(job.id))
    # the cell dropped weld start; the power source ends the arc (crater fill, burn-back) at once
    assert not psu.model.robot_outputs().welding_start
    deadline = time.monotonic() + 10.0  # generous: the power source thread may be held
    while (psu.model.status().current_flow or psu.model.status().arc_stable) and time.monotonic() < deadline:
        time.sleep(0.01)
    st = psu.model.status()
    assert not st.current_flow and not st.arc_stable, psu.model.transitions()
    assert time.monotonic() - t0 < 120


@pytest.mark.parametrize(
    ("url", "fragments"),
    [
        ("nosuchvendor://10.0.0.1", ("'nosuchvendor'", "kuka-rsi", "ur", "virtual")),
        ("kuka-rsi://127.0.0.1:59152?mode=sideways", ("mode", "absolute", "relative")),
        ("kuka-rsi://127.0.0.1:59152?speed=3", ("speed", "cycle_ms")),
        ("kuka-rsi://:59152", ("address to listen on",)),
        ("ur://", ("host is missing",)),
    ],
)
def test_robot_url_errors_name_the_problem(url: str, fragments: tuple[str, ...]) -> None:
    with pytest.raises(DriverError) as info:
        check_robot_url(url)
    text = str(info.value)
    assert repr(url) in text or url in text
    for f in fragments:
        assert f in text
