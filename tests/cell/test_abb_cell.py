"""Whole cell runs on an ABB arm over EGM: ``weldcell demo --robot abb``, and ``weldcell cell run --robot
abb-egm://…`` against a virtual ABB controller (``weldcell controller abb-egm``) the test starts.

The jobs run in real time (EGM has no time scale), so the programs are short: the demo's two 40 mm
fillets, and a 30 mm fillet on a hanging IRB 1520ID (``programs/irb1520id_hanging_fillet.yaml``, not
in programs/).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cellsynth import FAST_TIMING
from waiting import CHILD_TIMEOUT, run_child

from weldcell.app.demo import DemoOptions, run_demo
from weldcell.app.devices import check_robot_url
from weldcell.cell.weldlog import SEAM_DONE, WeldLog
from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle, start_virtual_power_source
from weldcell.drivers.powersource.virtual_model import VirtualConfig
from weldcell.errors import DriverError, ProgramError
from weldcell.program import load_program

PROGRAM = Path(__file__).parent / "programs" / "irb1520id_hanging_fillet.yaml"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("WELDCELL_STAMP_KEY", None)  # unkeyed stamps, as a user without a cell key runs it
    return env


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def psu() -> Iterator[VirtualPowerSourceHandle]:
    handle = start_virtual_power_source("127.0.0.1", 0, VirtualConfig(timing=FAST_TIMING), seed=7)
    try:
        yield handle
    finally:
        handle.stop()


def _arc_polls(log: WeldLog, job_id: int) -> dict[str, tuple[int, int]]:
    """(polls with the robot's reported arc output on, polls) per seam, from ``robot_arc_output`` events."""
    return {
        str(e.seam_id): (int(e.data["polls_on"]), int(e.data["polls"]))
        for e in log.events(job_id)
        if e.kind == "robot_arc_output" and e.seam_id
    }


def test_demo_abb_cli_welds_both_seams(tmp_path: Path) -> None:
    res = run_child(
        [sys.executable, "-m", "weldcell", "demo", "--robot", "abb", "--out", "demo"],
        cwd=tmp_path,
        env=_env(),
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "abb-egm://127.0.0.1:" in res.stdout and "virtual ABB controller" in res.stdout
    with WeldLog(tmp_path / "demo" / "weldlog.sqlite", readonly=True) as log:
        job = log.latest_job()
        assert job.result == "ok" and job.robot == "irb1520id"
        assert job.program_path.endswith("demo_tjoint_abb.yaml")
        seams = log.seams(job.id)
        assert [s.seam_id for s in seams] == ["fillet_left", "fillet_right"]
        for s in seams:
            assert s.result == SEAM_DONE and s.attempt == 1
            assert s.s_start == 0.0
            assert s.s_stop == pytest.approx(0.040, abs=1e-6) and s.s_end_planned == pytest.approx(0.040)
            assert s.deviation_max_m is not None and s.deviation_max_m < 0.5e-3  # followed the plan
            sig = log.signals(s.id)
            assert len(sig) > 20 and float(np.nanmean(sig.current)) > 50.0  # the arc burned
        # the controller reported the arc output (looped back from RAPIDtoRobot) during both seams ...
        polls = _arc_polls(log, job.id)
        assert set(polls) == {"fillet_left", "fillet_right"}
        assert all(on > 10 and on >= 0.9 * n for on, n in polls.values()), polls
        # ... and its own output log has it switched on twice and off again
        (abb,) = [e for e in log.events(job.id) if e.kind == "virtual_abb"]
        intervals = abb.data["arc_output_on_s"]
        assert len(intervals) == 2
        for a, b in intervals:
            assert 4.0 < b - a < 6.5  # 4 s of weld plus the arc start dwell and crater fill
        assert abb.data["stop_reason"] == "stopped by the operator" and abb.data["cycles"] > 1000


def test_cell_run_cli_on_a_virtual_abb_controller(tmp_path: Path, psu: VirtualPowerSourceHandle) -> None:
    port = _free_udp_port()
    # Power-source heartbeat timeout 0.5 s instead of the default 0.15 s: while this cell waits for the
    # operator, the controller child starting beside it once held the cell's heartbeat > 0.15 s on a
    # loaded CI machine, so the power source latched "robot heartbeat lost" before the weld (the timeout
    # and its fault have their own tests in tests/cell and tests/drivers/powersource).
    cell_config = tmp_path / "cell.yaml"
    cell_config.write_text("power_source:\n  comm_timeout_s: 0.5\n")
    cmd = [
        sys.executable, "-m", "weldcell", "cell", "run", str(PROGRAM),
        "--robot", f"abb-egm://127.0.0.1:{port}", "--powersource", psu.url,
        "--db", str(tmp_path / "log.sqlite"), "--out", str(tmp_path / "out"),
        "--cell-config", str(cell_config),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    waiting = threading.Event()

    def read() -> None:
        assert proc.stdout is not None  # mypy
        for line in proc.stdout:
            lines.append(line)
            if "EGM messages" in line:
                waiting.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    home = ",".join(f"{v:.6f}" for v in np.degrees(load_program(PROGRAM).cell.home_q))
    ctrl: subprocess.Popen[str] | None = None
    try:
        # the operator starts the RAPID program (EGMRunJoint) once the cell listens
        assert waiting.wait(CHILD_TIMEOUT), "".join(lines)[-3000:]
        ctrl = subprocess.Popen(
            [sys.executable, "-m", "weldcell", "controller", "abb-egm", "--sensor", f"127.0.0.1:{port}",
             "--robot", "irb1520id", "--start-deg", home, "--arc-loopback", "0:0:0.05",
             "--comm-timeout-s", "1.0", "--start-timeout-s", "60"],
            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        rc = proc.wait(CHILD_TIMEOUT)
        # once the cell has closed its driver nothing answers: the EGM session ends after CommTimeout
        ctrl_out, ctrl_err = ctrl.communicate(timeout=60)
    finally:
        for p in (proc, ctrl):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
        reader.join(10)
    out = "".join(lines)
    assert rc == 0, out[-3000:]
    assert ctrl.returncode == 1, ctrl_out[-2000:] + ctrl_err[-2000:]
    status = json.loads(next(x for x in ctrl_out.splitlines() if x.startswith("{")))
    assert "CommTimeout" in status["stop_reason"]
    with WeldLog(tmp_path / "log.sqlite", readonly=True) as log:
        job = log.latest_job()
        assert job.result == "ok" and job.robot == "irb1520id"
        (seam,) = log.seams(job.id)
        assert seam.seam_id == "short_fillet" and seam.result == SEAM_DONE
        assert seam.s_stop == pytest.approx(0.030, abs=1e-6)
        on, n = _arc_polls(log, job.id)["short_fillet"]
        assert on > 5 and on >= 0.9 * n
    # the controller saw the arc output switched on once, for the seam's 2.5 s of weld plus dwell and
    # crater fill, then off, and followed the job to its last sample
    assert status["accepted"] > 500
    log_words = status["output_log"]
    assert [w & 1 for _, w in log_words] == [1, 0]
    assert 2.5 < (log_words[1][0] - log_words[0][0]) / 1000.0 < 4.0
    assert status["din"] == 0 and status["dout"] == 0  # the loopback input followed the output off
    # the power source made the arc (and ended it)
    assert psu.model.start_count >= 1 and not psu.model.status().current_flow


@pytest.mark.parametrize(
    ("url", "fragments"),
    [
        ("abb-egm://:6510", ("address to listen on", "UDPUC")),
        ("abb-egm://127.0.0.1:6510?sample_rate_ms=5", ("multiple of 0.004",)),
        ("abb-egm://127.0.0.1:6510?speed=3", ("speed", "sample_rate_ms")),
        ("abb-egm://localhost:6510", ("expected an IP address",)),
    ],
)
def test_abb_robot_url_errors_name_the_problem(url: str, fragments: tuple[str, ...]) -> None:
    with pytest.raises(DriverError) as info:
        check_robot_url(url)
    text = str(info.value)
    assert repr(url) in text or url in text
    for f in fragments:
        assert f in text


@pytest.mark.parametrize(("program", "hint"), [("demo_tjoint_kuka.yaml", "kuka"), ("demo_tjoint.yaml", "ur")])
def test_abb_demo_refuses_another_makes_program(tmp_path: Path, program: str, hint: str) -> None:
    path = Path(__file__).resolve().parents[2] / "programs" / program
    with pytest.raises(ProgramError) as info:
        run_demo(DemoOptions(out_dir=tmp_path, robot="abb", program=path))
    text = str(info.value)
    assert "cell.robot" in text and "ABB" in text and f"--robot {hint}" in text and program in text
    assert not (tmp_path / "weldlog.sqlite").exists()
