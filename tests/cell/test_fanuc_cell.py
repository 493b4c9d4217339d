"""Whole cell runs on a FANUC arm over Stream Motion (J519): ``weldcell demo --robot fanuc``,
``weldcell cell run --robot fanuc://…`` against a virtual FANUC controller the test starts, and the
arc output's loopback seen in the status packets' I/O.

The jobs run in real time (8 ms Stream Motion cycle), so the programs are short: the demo's two
65 mm fillets, and a 25 mm fillet (``tests/cell/programs/arcmate_short_fillet.yaml``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cellsynth import FAST_TIMING
from waiting import run_child, wait_until

from weldcell.app.devices import check_robot_url, connect_cell_robot
from weldcell.cell.weldlog import SEAM_DONE, WeldLog
from weldcell.drivers.fanuc.joints import controller_deg_from_q, j23_coupled
from weldcell.drivers.fanuc.virtual_controller import VirtualFanuc, VirtualFanucConfig
from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle, start_virtual_power_source
from weldcell.drivers.powersource.virtual_model import VirtualConfig
from weldcell.errors import DriverError
from weldcell.program import load_program

PROGRAM = Path(__file__).parent / "programs" / "arcmate_short_fillet.yaml"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("WELDCELL_STAMP_KEY", None)  # unkeyed stamps, as a user without a cell key runs it
    return env


@pytest.fixture
def psu() -> Iterator[VirtualPowerSourceHandle]:
    handle = start_virtual_power_source("127.0.0.1", 0, VirtualConfig(timing=FAST_TIMING), seed=7)
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


def test_demo_fanuc_cli_welds_both_seams(tmp_path: Path) -> None:
    res = run_child(
        [sys.executable, "-m", "weldcell", "demo", "--robot", "fanuc", "--out", "demo"],
        cwd=tmp_path,
        env=_env(),
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "fanuc://127.0.0.1:" in res.stdout and "virtual FANUC" in res.stdout
    with WeldLog(tmp_path / "demo" / "weldlog.sqlite", readonly=True) as log:
        job = log.latest_job()
        assert job.result == "ok" and job.robot == "arcmate100id"
        assert job.program_path.endswith("demo_tjoint_fanuc.yaml")
        seams = log.seams(job.id)
        assert [s.seam_id for s in seams] == ["fillet_left", "fillet_right"]
        for s in seams:
            assert s.result == SEAM_DONE and s.attempt == 1
            assert s.s_start == 0.0
            assert s.s_stop == pytest.approx(0.065, abs=1e-6) and s.s_end_planned == pytest.approx(0.065)
            sig = log.signals(s.id)
            assert len(sig) > 20 and float(np.nanmean(sig.current)) > 50.0  # the arc burned
        # the robot's arc command (DO[101] through the GPIO map) was on during both seams ...
        polls = _arc_polls(log, job.id)
        assert set(polls) == {"fillet_left", "fillet_right"} and min(polls.values()) > 10
        # ... and the controller's own output log has it switched on twice and off again
        ev = [e for e in log.events(job.id) if e.kind == "virtual_fanuc"]
        assert len(ev) == 1
        data = ev[0].data
        intervals = data["arc_output_on_s"]
        assert len(intervals) == 2, intervals
        for a, b in intervals:
            assert 6.5 < b - a < 9.5  # 6.5 s of weld plus the arc start dwell and crater fill
        assert data["alarm"] == "" and data["coast_stops"] == 0 and data["double"] == 0
        assert data["commands"] >= data["cycles"] - 5 and data["cycles"] > 2000


def test_cell_run_cli_on_a_virtual_fanuc(tmp_path: Path, psu: VirtualPowerSourceHandle) -> None:
    home = load_program(PROGRAM).cell.home_q
    ctrl = VirtualFanuc(
        VirtualFanucConfig(
            robot="arcmate100id",
            port=0,
            q_start_deg=tuple(float(v) for v in controller_deg_from_q(home, j23_coupled("arcmate100id"))),
            arc_loopback=(101, 101, 0.05),
        )
    ).start()
    cmd = [
        sys.executable,
        "-m",
        "weldcell",
        "cell",
        "run",
        str(PROGRAM),
        "--robot",
        f"fanuc://127.0.0.1:{ctrl.address[1]}?silence_ms=300",
        "--powersource",
        psu.url,
        "--db",
        str(tmp_path / "log.sqlite"),
        "--out",
        str(tmp_path / "out"),
    ]
    try:
        res = run_child(cmd, env=_env())
    finally:
        st = ctrl.status()
        ctrl.close()
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    with WeldLog(tmp_path / "log.sqlite", readonly=True) as log:
        job = log.latest_job()
        assert job.result == "ok" and job.robot == "arcmate100id"
        (seam,) = log.seams(job.id)
        assert seam.seam_id == "short_fillet" and seam.result == SEAM_DONE
        assert seam.s_stop == pytest.approx(0.025, abs=1e-6)
        assert _arc_polls(log, job.id)["short_fillet"] > 5
    # the controller saw the arc output DO[101] switched on and off once, the loopback answered on
    # DI[101], and the cell's driver ended the stream cleanly (IBGN end, no alarm, no coast stop)
    assert [v for _, n, v in st.output_log if n == 101] == [True, False]
    assert st.di.get(101) is False and not st.alarm and st.coast_stops == 0
    assert st.commands > 300 and st.double == 0
    # the power source made the arc (and ended it)
    assert psu.model.start_count >= 1 and not psu.model.status().current_flow


def test_arc_loopback_is_visible_in_the_status_io() -> None:
    """The driver's arc output (DO[101]) comes back on DI[101] after the loopback delay, both read
    from the status packets' I/O bytes (GPIO map), and is off again after the output drops."""
    with VirtualFanuc(
        VirtualFanucConfig(port=0, q_start_deg=(0, 0, 0, 0, -90, 0), arc_loopback=(101, 101, 0.05))
    ) as ctrl:
        robot = connect_cell_robot(f"fanuc://127.0.0.1:{ctrl.address[1]}", "arcmate100id", timeout=5.0)
        try:
            st = robot.state(timeout=1.0)
            assert st.digital_out & 1 == 0 and st.digital_in & 1 == 0
            robot.set_digital_out(0, True)
            # judged on controller time (the state's t and the controller's output log): the test's
            # own clock, read after set_digital_out returned and between polls, is stretched or
            # squeezed by a loaded host
            out_seen = wait_until(lambda: (st := robot.state(timeout=1.0)).digital_out & 1 and st)
            in_seen = wait_until(lambda: (st := robot.state(timeout=1.0)).digital_in & 1 and st)
            t_do = next(t for t, n, v in ctrl.status().output_log if n == 101 and v) / 1000.0
            assert out_seen.t >= t_do  # the read-back follows the controller's switch
            # the DI follows the DO after the 0.05 s loopback delay (8 ms cycles): never earlier
            assert in_seen.t - t_do >= 0.05 - 1e-9, (in_seen.t, t_do)
            assert ctrl.status().di[101] and ctrl.output(101)
            robot.set_digital_out(0, False)
            wait_until(lambda: robot.state(timeout=1.0).digital_in & 1 == 0, what="the DI off")
        finally:
            robot.close()
    assert [(n, v) for _, n, v in ctrl.status().output_log] == [(101, True), (101, False)]


def test_demo_refuses_a_program_for_another_make(tmp_path: Path) -> None:
    """``--robot fanuc`` with the UR demo program, or with an ABB GoFa program: a ProgramError naming
    the file and the field (and the make to use), before anything starts."""
    from weldcell.app.demo import DemoOptions, run_demo
    from weldcell.errors import ProgramError

    root = Path(__file__).resolve().parents[2] / "programs"
    with pytest.raises(ProgramError) as info:
        run_demo(DemoOptions(out_dir=tmp_path, robot="fanuc", program=root / "demo_tjoint.yaml"))
    text = str(info.value)
    assert "cell.robot" in text and "'ur5e'" in text and "--robot ur" in text and "demo_tjoint.yaml" in text
    with pytest.raises(ProgramError, match=r"arcmate100id, crx10ial.*--robot abb"):
        run_demo(DemoOptions(out_dir=tmp_path, robot="fanuc", program=root / "gofa_tjoint.yaml"))
    with pytest.raises(ProgramError, match="--robot fanuc"):
        run_demo(DemoOptions(out_dir=tmp_path, robot="kuka", program=root / "demo_tjoint_fanuc.yaml"))


@pytest.mark.parametrize(
    ("url", "fragments"),
    [
        ("fanuc://", ("host is missing",)),
        ("fanuc://10.0.0.1?speed=3", ("speed", "silence_ms", "do_first")),
        ("fanuc://10.0.0.1?silence_ms=fast", ("silence_ms", "not a number")),
        ("fanuc://10.0.0.1?do_first=0", ("do_first", "≥ 1")),
    ],
)
def test_fanuc_url_errors_name_the_problem(url: str, fragments: tuple[str, ...]) -> None:
    with pytest.raises(DriverError) as info:
        check_robot_url(url)
    text = str(info.value)
    assert url in text
    for f in fragments:
        assert f in text
