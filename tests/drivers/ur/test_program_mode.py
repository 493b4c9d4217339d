"""URDriver program mode: the whole trajectory as one URScript program on the virtual UR controller.

The controller runs in its own process (arc established follows the arc output after 30 ms); the
driver uploads the exported program, follows it through RTDE and gets its servo program back for
streaming afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from stamp_helpers import stamp_for_test
from waiting import wait_until

from weldcell.cell.weldlog import WeldLog
from weldcell.drivers.base import ExecutionOutcome
from weldcell.drivers.ur.client.dashboard import DashboardClient
from weldcell.drivers.ur.driver import URDriver, URDriverConfig
from weldcell.drivers.ur.virtual.controller import Ports, VirtualControllerHandle, start_virtual_controller
from weldcell.drivers.ur.virtual.core import CoreConfig
from weldcell.errors import DriverFaultError, StampError
from weldcell.trajectory import ArcEvent, JointTrajectory, save_trajectory

HOST = "127.0.0.77"
Q_HOME = np.array(CoreConfig().q_home)
DT = 0.002
NAMES = ("shoulder_pan", "shoulder_lift", "elbow", "wrist_1", "wrist_2", "wrist_3")


@pytest.fixture(scope="module")
def controller() -> Iterator[VirtualControllerHandle]:
    h = start_virtual_controller(
        HOST, CoreConfig(unlock_delay=0.2, arc_loopback=(0, 0, 0.03)), Ports(0, 0, 0, 0, 0)
    )
    yield h
    h.stop()


@pytest.fixture
def driver(controller: VirtualControllerHandle) -> Iterator[URDriver]:
    cfg = URDriverConfig(
        rtde_port=controller.ports.rtde,
        dashboard_port=controller.ports.dashboard,
        script_port=controller.ports.secondary,
    )
    d = URDriver(HOST, cfg)
    d.connect(5.0)
    try:  # a failing setup must still release the driver's RTDE input registers
        if np.max(np.abs(d.state().q - Q_HOME)) > 1e-6:
            d.move_to(Q_HOME, speed_fraction=1.0, force_unvalidated=True).wait_until_done(10.0)
        yield d
    finally:
        d.close()


def _dash(h: VirtualControllerHandle, cmd: str) -> str:
    with DashboardClient(HOST, h.ports.dashboard) as d:
        return d.command(cmd)


def _ramp(qa: np.ndarray, qb: np.ndarray, duration: float) -> np.ndarray:
    """Minimum-jerk joint move qa -> qb, without its first sample (shape (n, 6))."""
    tau = np.linspace(0.0, 1.0, round(duration / DT) + 1)[:, None]
    return (qa + (10 * tau**3 - 15 * tau**4 + 6 * tau**5) * (qb - qa))[1:]


def _job() -> tuple[JointTrajectory, int, int]:
    """Home -> transit -> weld (dwell, travel, crater fill) -> transit home; (traj, i_on, i_off)."""
    qa = Q_HOME + np.array([0.25, 0.1, -0.15, 0.1, 0.0, 0.2])
    qb = qa + np.array([-0.2, 0.05, 0.05, 0.0, 0.0, -0.1])
    transit_1 = _ramp(Q_HOME, qa, 0.4)
    weld = np.concatenate(
        [np.repeat(qa[None], 25, axis=0), _ramp(qa, qb, 0.5), np.repeat(qb[None], 25, axis=0)]
    )
    transit_2 = _ramp(qb, Q_HOME, 0.4)
    q = np.concatenate([Q_HOME[None], transit_1, weld, transit_2])
    n = q.shape[0]
    i_on = 1 + len(transit_1)
    i_off = i_on + len(weld) - 1
    arc = np.zeros(n, bool)
    arc[i_on : i_off + 1] = True
    t = np.arange(n) * DT
    qd = np.gradient(q, DT, axis=0)
    traj = JointTrajectory(
        robot="ur5e",
        joint_names=NAMES,
        dt=DT,
        t=t,
        q=q,
        qd=qd,
        qdd=np.gradient(qd, DT, axis=0),
        T_world_tcp=np.repeat(np.eye(4)[None], n, axis=0),
        arc_on=arc,
        seam_index=np.where(arc, 0, -1).astype(np.int32),
        seam_s=np.where(arc, 0.0, np.nan),
        T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4),
        seam_ids=("S1",),
        events=(ArcEvent(float(t[i_on]), "arc_on", "S1"), ArcEvent(float(t[i_off]), "arc_off", "S1")),
    )
    return traj, i_on, i_off


def _stamped(traj: JointTrajectory, tmp: Path) -> Path:
    p = tmp / "job.npz"
    save_trajectory(traj, p)
    stamp_for_test(p, traj)
    return p


def test_program_runs_to_the_end_with_arc_and_monotone_progress(driver: URDriver, tmp_path: Path) -> None:
    traj, i_on, i_off = _job()
    h = driver.execute_program(traj, traj_path=_stamped(traj, tmp_path))
    # (progress before, arc output, progress after): the reader thread publishes the progress of an
    # RTDE package right after it made that package the newest state, so the state read in between
    # was at a sample in [before, after + 1] however long a loaded host stalls between the reads
    seen: list[tuple[int, bool, int]] = []
    deadline = time.monotonic() + 30.0
    while not h.done and time.monotonic() < deadline:
        before = h.progress.index
        arc = driver.state().digital_output(0)
        seen.append((before, arc, h.progress.index))
        time.sleep(0.005)
    res = h.wait_until_done(10.0)
    assert res.outcome is ExecutionOutcome.COMPLETED and res.reached_index == traj.n_samples - 1
    np.testing.assert_allclose(driver.state().q, traj.q[-1], atol=1e-6)
    assert not driver.state().digital_output(0)
    idx = np.array([i for i, _, _ in seen])
    assert np.all(np.diff(idx) >= 0) and idx[-1] > i_off  # monotone, and it followed the run
    assert h.progress.index == traj.n_samples - 1
    on = [(lo, hi + 1) for lo, a, hi in seen if a]
    assert on, "the arc was never seen on"
    # arc on only over the weld samples: never seen on where the whole bracket is outside them
    assert all(hi >= i_on - 3 and lo <= i_off + 3 for lo, hi in on), on
    assert any(i_on + 30 < lo and hi < i_off - 30 for lo, hi in on)  # and on while the weld travels
    # the streaming servo program comes back for the next execute()
    q_goal = Q_HOME + 0.05
    h2 = driver.move_to(q_goal, speed_fraction=1.0, force_unvalidated=True)
    assert h2.wait_until_done(20.0).outcome is ExecutionOutcome.COMPLETED
    np.testing.assert_allclose(driver.state().q, q_goal, atol=1e-9)


def test_protective_stop_mid_program_faults_with_reason(
    controller: VirtualControllerHandle, driver: URDriver, tmp_path: Path
) -> None:
    traj, _, _ = _job()
    h = driver.execute_program(traj, traj_path=_stamped(traj, tmp_path))
    deadline = time.monotonic() + 30.0
    while not driver.state().digital_output(0):  # wait until the arc is on
        assert not h.done and time.monotonic() < deadline
        time.sleep(0.005)
    assert _dash(controller, "weldcell protective_stop torch collision sensor") == "ok"
    with pytest.raises(DriverFaultError, match="torch collision sensor") as err:
        h.wait_until_done(10.0)
    assert err.value.error_code == "PROTECTIVE_STOP"
    res = h.result
    assert (
        res is not None and res.outcome is ExecutionOutcome.FAULTED and res.reached_index < traj.n_samples - 1
    )
    assert not driver.state().digital_output(0)
    assert not driver.state().program_running
    time.sleep(0.25)
    assert _dash(controller, "unlock protective stop") == "Protective stop releasing"


def test_stop_ends_the_program_with_the_arc_off(driver: URDriver, tmp_path: Path) -> None:
    traj, i_on, _ = _job()
    h = driver.execute_program(traj, traj_path=_stamped(traj, tmp_path))
    deadline = time.monotonic() + 30.0
    while h.progress.index < i_on + 80 and not h.done:
        assert not h.done and time.monotonic() < deadline
        time.sleep(0.005)
    h.stop()
    res = h.wait_until_done(10.0)
    assert res.outcome is ExecutionOutcome.STOPPED and i_on + 80 <= res.reached_index < traj.n_samples - 1
    # the newest state may predate the program's end by a cycle or two: wait for it (fails if the
    # arc stays on, the program runs on or the arm keeps moving)
    wait_until(
        lambda: (
            (s := driver.state())
            and not s.digital_output(0)
            and not s.program_running
            and np.max(np.abs(s.qd)) < 1e-6
        ),
        what="program ended, arc off, arm standing",
    )


def test_unstamped_trajectory_is_refused(driver: URDriver, tmp_path: Path) -> None:
    traj, _, _ = _job()
    with pytest.raises(StampError, match="stamp"):
        driver.execute_program(traj)
    # force_unvalidated is for simulation drivers; a UR controller (virtual or not) refuses it too
    with pytest.raises(StampError, match="simulation"):
        driver.execute_program(traj, force_unvalidated=True)
    save_trajectory(traj, tmp_path / "job.npz")  # a file without a stamp
    with pytest.raises(StampError):
        driver.execute_program(traj, traj_path=tmp_path / "job.npz")
    assert driver.state().program_running  # nothing was uploaded: the servo program still idles


def test_cli_run_mode_program(controller: VirtualControllerHandle, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from weldcell.cli import app

    traj, _, _ = _job()
    p = _stamped(traj, tmp_path)
    ports = controller.ports
    args = ["run", str(p), "--robot", f"ur://{HOST}:{ports.rtde}", "--dashboard-port", str(ports.dashboard)]
    args += ["--script-port", str(ports.secondary), "--move-to-start", "--mode", "program"]
    args = [*args[:-2], "--db", str(tmp_path / "log.sqlite"), *args[-2:]]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "S1" in res.output and "completed" in res.output
    # a power source wired to the robot: the program switches DO0 and waits for DI0 (the controller's
    # arc loopback answers after 30 ms); the cell records the arc from those I/O
    db = tmp_path / "io.sqlite"
    res = CliRunner().invoke(app, [*args[:-2], "--arc-output", "0", "--db", str(db), "--mode", "program"])
    assert res.exit_code == 0, res.output
    with WeldLog(db, readonly=True) as log:
        job = log.jobs()[0]
        assert job.result == "ok" and job.part_serial == ""
        kinds = [e.kind for e in log.events(job.id)]
        assert "dry_run" not in kinds and "program_end" in kinds
        (seam,) = log.seams(job.id)
        assert seam.result == "ok"
        sig = log.signals(seam.id)
        assert len(sig) > 10 and np.all(np.isnan(sig.current))  # a discrete interface measures nothing
    res = CliRunner().invoke(app, ["run", str(p), "--robot", "virtual", "--mode", "program"])
    assert "needs a UR robot" in str(res.exception)
    res = CliRunner().invoke(app, [*args[:-1], "batch"])
    assert "'stream' or 'program'" in str(res.exception)


def test_speed_slider_held_at_100_percent_and_a_drop_during_the_weld_stops_the_program(
    controller: VirtualControllerHandle, driver: URDriver, tmp_path: Path
) -> None:
    """The driver sets the slider to 100 % over RTDE when the job program starts (an operator had left
    it at 40 %); an operator who pulls it down while the arc is on stops the weld with the arc off."""
    traj, i_on, i_off = _job()
    assert _dash(controller, "weldcell speed_slider 0.4") == "ok"
    deadline = time.monotonic() + 10.0
    while driver.state().speed_fraction != pytest.approx(0.4):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    h = driver.execute_program(traj, traj_path=_stamped(traj, tmp_path))
    deadline = time.monotonic() + 30.0
    while not driver.state().digital_output(0):  # the arc is on: the weld block runs
        assert not h.done and time.monotonic() < deadline
        time.sleep(0.005)
    assert driver.state().speed_fraction == 1.0  # held at 100 % through RTDE
    assert driver.program_block() == 1  # the program reports its weld block
    assert _dash(controller, "weldcell speed_slider 0.5") == "ok"
    with pytest.raises(DriverFaultError, match=r"speed slider at 50 % while the arc is on") as err:
        h.wait_until_done(10.0)
    assert err.value.error_code == "speed_slider"
    res = h.result
    assert res is not None and i_on - 1 <= res.reached_index < i_off  # in the arc-start dwell or later
    deadline = time.monotonic() + 10.0
    while driver.state().program_running or driver.state().digital_output(0):
        assert time.monotonic() < deadline, "program still running or arc still on"
        time.sleep(0.01)
    assert _dash(controller, "weldcell speed_slider 1.0") == "ok"


def test_dry_run_and_fieldbus_programs_switch_no_robot_output() -> None:
    """A dry run never switches the arc; a fieldbus arc goes through RTDE registers, and the program
    waits for the PC to report the arc's end before it moves on; both report their weld block."""
    from weldcell.drivers.ur.program.export import UrExportOptions, urscript_from_trajectory

    traj, _, _ = _job()
    dry = urscript_from_trajectory(traj, UrExportOptions(arc_enabled=False, progress_register=31))
    assert "set_standard_digital_out(0, True)" not in dry and "get_standard_digital_in" not in dry
    assert "write_output_integer_register(31, 1)" in dry and "write_output_integer_register(31, -1)" in dry
    bus = urscript_from_trajectory(
        traj,
        UrExportOptions(arc_request_register=64, arc_established_register=64, pc_watchdog_hz=5.0),
    )
    assert "set_standard_digital_out(0, True)" not in bus
    assert "write_output_boolean_register(64, True)" in bus
    assert bus.count("read_input_boolean_register(64)") >= 4  # arc on wait, arc checks, arc end wait
    assert 'rtde_set_watchdog("input_int_register_32", 5, "stop")' in bus
