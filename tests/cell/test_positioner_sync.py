"""A positioner streamed with the robot on the virtual cell: the virtual positioner device in its own
process (Modbus TCP on 127.0.0.1), the cell's synchronisation skew measured and reported, a lagging
drive faults the job (robot and arc stopped), and the refusals (no positioner, wrong axes)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cellsynth import make_trajectory
from waiting import wait_until

from weldcell.app.children import virtual_positioner_process
from weldcell.cell.controller import CellController, CellEvent
from weldcell.cell.joinmove import external_profile
from weldcell.cell.positioner_cell import (
    check_positioner_option,
    connect_cell_positioner,
    device_axes,
    sync_figures,
)
from weldcell.cell.positioner_sync import SYNC_EVENT, PositionerSyncConfig
from weldcell.cell.segments import SeamStep, continue_from
from weldcell.cell.state import CellState
from weldcell.cell.weldlog import WeldLog
from weldcell.drivers.positioner import AxisSpec
from weldcell.drivers.positioner.servo import ServoConfig
from weldcell.drivers.positioner.virtual import VirtualPositioner, VirtualPositionerConfig
from weldcell.drivers.virtual import VirtualRobot
from weldcell.errors import CellStateError, DriverError, InvalidValueError
from weldcell.trajectory import ExternalAxes, JointTrajectory

AXES = (
    AxisSpec("tilt", "revolute", -2.4, 2.4, 1.5, 4.0),
    AxisSpec("rotate", "revolute", -12.0, 12.0, 2.5, 30.0),
)


def with_positioner(traj: JointTrajectory) -> JointTrajectory:
    """``traj`` with a tilt-rotate positioner: tilted 30° throughout, turning while the arc is on
    (0.1 rad per seam, up to 0.14 rad/s), holding during the transits."""
    on = np.asarray(traj.arc_on, dtype=float)
    k = np.convolve(on, np.hanning(61) / np.hanning(61).sum(), mode="same")  # smooth speed profile
    rot = 0.1 * np.cumsum(k) / max(float(np.sum(k)), 1e-9) * 2
    qe = np.column_stack([np.full(traj.n_samples, np.radians(30.0)), rot])
    ext = ExternalAxes(
        "tilt_rotate_2ax", "positioner", ("tilt", "rotate"), ("revolute", "revolute"),
        qe, np.gradient(qe, traj.dt, axis=0), np.zeros_like(qe), np.eye(4),
    )  # fmt: skip
    return dataclasses.replace(traj, external=ext)


@pytest.fixture
def traj() -> JointTrajectory:
    return with_positioner(make_trajectory())


@pytest.fixture
def robot(traj: JointTrajectory) -> Iterator[VirtualRobot]:
    # real time (the skew is measured against the robot's own clock)
    r = VirtualRobot("ur5e", traj.q[0], stop_time=0.08)
    r.connect()
    plain = make_trajectory()  # a first motion: the virtual robot's first execute compiles its checks
    warm = plain.with_samples(np.repeat(plain.q[:1], 4, 0), np.repeat(plain.T_world_tcp[:1], 4, 0))
    r.execute(warm, force_unvalidated=True).wait_until_done(10.0)
    try:
        yield r
    finally:
        r.close()


def test_moves_carry_the_external_axes(traj: JointTrajectory) -> None:
    assert traj.external is not None
    with pytest.raises(Exception, match="q_ext"):
        traj.with_samples(traj.q[:3], traj.T_world_tcp[:3])
    cont, _ = continue_from(traj, 300, traj.n_samples - 1)
    assert cont.external is not None
    np.testing.assert_allclose(cont.external.q[0], traj.external.q[300])
    np.testing.assert_allclose(cont.external.q[-1], traj.external.q[-1])
    q = np.linspace(traj.q[0], traj.q[50], 20)
    held = external_profile(traj, q, traj.external.q[10])
    assert held is not None and np.ptp(held, axis=0).max() == 0.0
    moved = external_profile(traj, q, traj.external.q[0], traj.external.q[-1])
    assert moved is not None
    np.testing.assert_allclose(moved[[0, -1]], traj.external.q[[0, -1]])
    assert np.all(np.diff(moved[:, 1]) >= 0)
    with pytest.raises(Exception, match="must say where its axes are"):
        external_profile(traj, q, None)


def _run(  # type: ignore[no-untyped-def]
    make_controller, traj: JointTrajectory, url: str, robot: VirtualRobot | None = None
) -> tuple[CellController, list[CellEvent], CellState]:
    """Run the job; with ``robot``, pause it in seam B and resume (retract, re-approach and the
    continuation carry the external axes)."""
    assert traj.external is not None
    port = connect_cell_positioner(url, traj.external, watchdog=1.0)  # a loaded CI box stalls threads
    ctl, events = make_controller(positioner=port)
    try:
        ctl.load(traj, part_serial="POS-1")
        ctl.start()
        if robot is not None:
            step = next(s for s in ctl.steps if isinstance(s, SeamStep) and s.seam_id == "B")
            wait_until(
                lambda: robot._handle is not None and robot._handle.progress.position >= step.weld0 + 60
            )
            ctl.pause()
            assert ctl.wait(20.0) is CellState.PAUSED, ctl.last_error
            ctl.resume()
        state = ctl.wait(60.0)
    finally:
        ctl.close()
        port.close()
    return ctl, events, state


def test_positioner_follows_the_robot_with_measured_skew(  # type: ignore[no-untyped-def]
    make_controller, traj: JointTrajectory, wlog: WeldLog, robot: VirtualRobot
) -> None:
    assert traj.external is not None
    # the device stands 0.02 rad away on its rotary axis: the cell indexes it onto the first sample
    elsewhere = dataclasses.replace(traj.external, q=traj.external.q + np.array([0.0, 0.02]))
    with virtual_positioner_process(elsewhere, axes=AXES) as (url, proc):
        ctl, events, state = _run(make_controller, traj, url, robot)
        counters = proc.stop()
    assert state is CellState.READY, ctl.last_error
    assert [x.result for x in wlog.seams(wlog.latest_job().id)] == ["ok", "paused", "ok"]
    index = [e for e in events if e.kind == "positioner_index"]
    assert len(index) == 1
    np.testing.assert_allclose(index[0].data["q_from"], elsewhere.q[0], atol=1e-5)
    per_motion = [e for e in events if e.kind == "positioner_sync"]
    assert len(per_motion) >= 5  # the index move, transits and both seams
    job = sync_figures(wlog.path, wlog.latest_job().id)
    assert job is not None and job["cycles"] > 500
    print(
        f"\nskew median {job['skew_p50_ms']} ms, mean {job['skew_mean_ms']} ms, p99 {job['skew_p99_ms']} ms, "
        f"max {job['skew_max_ms']} ms, lag {job['lag_max']:.5f} rad, round trip {job['rtt_median_ms']} ms"
    )
    # synchronisation: the device runs the buffered stream on the robot's time base, so a descheduled
    # Python thread does not show: p99 within 1 ms (the max shows the rare stall of the in-process
    # virtual robot or of the device's process on a loaded machine)
    assert job["skew_p50_ms"] <= 0.2
    assert job["skew_p99_ms"] <= 1.0
    assert job["start_delay_max_ms"] < 100.0
    assert job["lag_max"] < 0.02  # within the lag tolerance, or the job would have faulted
    assert counters is not None and counters.fault == 0 and counters.setpoints > 500
    # the timing figures of both ends (issue 18): the stream's lateness and the look-ahead it used;
    # the device's buffer never ran dry (every timed set-point arrived before it was due)
    assert 0.0 <= job["send_late_p99_ms"] <= job["send_late_max_ms"]
    assert job["lookahead_max_ms"] >= 250.0
    assert job["lead_min_ms"] is not None and job["lead_min_ms"] > 0.0
    # the device's own figures are there (this test's in-process robot runs faster than planned, so
    # its time base keeps moving earlier and a few set-points fall due before they arrive)
    assert counters.lead_min is not None and counters.max_step_gap > 0.0
    np.testing.assert_allclose(counters.q, traj.external.q[-1], atol=2e-3)
    assert [e.kind for e in events].count(SYNC_EVENT) == 2  # the job's figures at the pause and at its end


def test_lagging_positioner_stops_robot_and_arc(
    make_controller,
    traj: JointTrajectory,
    wlog: WeldLog,  # type: ignore[no-untyped-def]
) -> None:
    assert traj.external is not None
    # a sluggish drive (250 ms response delay), in this process: only the lag supervision is tested
    q0 = tuple(float(v) for v in traj.external.q[0])
    dev = VirtualPositioner(
        VirtualPositionerConfig(ServoConfig(AXES, response_delay=0.25, watchdog=0.5), q0=q0)
    )
    try:
        host, port = dev.address
        ctl, events, state = _run(make_controller, traj, f"modbus-positioner://{host}:{port}")
    finally:
        dev.stop()
    assert state is CellState.FAULT
    assert "lags" in ctl.last_error and "robot and arc stopped" in ctl.last_error
    job = wlog.latest_job()
    seams = wlog.seams(job.id)
    assert seams and seams[0].result == "fault" and "lags" in " ".join(seams[0].faults)
    assert job.result == "interrupted"
    assert ctl.port.snapshot().q is not None
    assert not any(e.kind == "seam_end" and e.data.get("result") == "ok" for e in events)


def test_refusals(make_controller, traj: JointTrajectory) -> None:  # type: ignore[no-untyped-def]
    plain = make_trajectory()
    ctl, _ = make_controller()
    with pytest.raises(CellStateError, match="has no positioner"):
        ctl.load(traj)
    with pytest.raises(DriverError, match="give the device with --positioner"):
        check_positioner_option(traj, None, "job.npz")
    with pytest.raises(DriverError, match="nothing to move"):
        check_positioner_option(plain, "modbus-positioner://127.0.0.1:1502", "job.npz")
    assert traj.external is not None
    nowhere = dataclasses.replace(traj.external, device="no_such_positioner")
    with pytest.raises(DriverError, match="no model of positioner 'no_such_positioner'"):
        device_axes(nowhere)
    other = (AxisSpec("rotate", "revolute", -6.0, 6.0, 2.0, 4.0),)
    dev = VirtualPositioner(VirtualPositionerConfig(ServoConfig(other)))
    try:
        host, port = dev.address
        assert traj.external is not None
        with pytest.raises(DriverError, match="do not match"):
            connect_cell_positioner(f"modbus-positioner://{host}:{port}", traj.external)
    finally:
        dev.stop()


def test_cell_run_refuses_without_a_matching_positioner(traj: JointTrajectory, tmp_path: Path) -> None:
    from stamp_helpers import stamp_for_test
    from typer.testing import CliRunner

    from weldcell.cli import app
    from weldcell.trajectory import save_trajectory

    p = tmp_path / "pos.npz"
    save_trajectory(traj, p)
    stamp_for_test(p, traj)
    args = ["cell", "run", str(p), "--robot", "virtual://ur5e", "--powersource", "modbus://127.0.0.1:1"]
    r = CliRunner().invoke(app, [*args, "--db", str(tmp_path / "log.sqlite"), "--out", str(tmp_path / "o")])
    assert r.exit_code != 0
    assert "give the device with --positioner" in str(r.exception)
    r = CliRunner().invoke(app, [*args, "--positioner", "profibus://10.0.0.1"])
    assert r.exit_code != 0 and "modbus-positioner" in str(r.exception)


def test_lookahead_grows_with_the_measured_lateness_within_the_device_buffer() -> None:
    cfg = PositionerSyncConfig()  # 0.25 s look-ahead, 4 ms stride, at most 1 s
    assert cfg.lookahead_for(0.0) == pytest.approx(0.252)  # whole strides
    assert cfg.lookahead_for(0.1) == pytest.approx(0.252)  # twice 100 ms + margin: within it
    # a stream thread once 200 ms late: twice that plus 4 strides
    assert cfg.lookahead_for(0.2) == pytest.approx(0.4 + 4 * 0.004)
    assert cfg.lookahead_for(5.0) == pytest.approx(1.0)  # the cap
    for bad in (
        {"fifo_priority": 0},
        {"max_lookahead": 0.2},
        {"max_lookahead": 2.0},  # 500 strides: more than the device buffers
    ):
        with pytest.raises(InvalidValueError, match="PositionerSyncConfig"):
            PositionerSyncConfig(**bad)  # type: ignore[arg-type]
