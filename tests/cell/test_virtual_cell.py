"""End to end on the virtual cell: the virtual UR controller (own process, RTDE streaming through
the UR driver) and the virtual power source over Modbus TCP, with validation stamps on every motion.

Faults: arc loss with resume (gap/overlap checked from the executed path), the robot controller
dropping the connection, and the weldcell process killed mid-job (log intact, job resumed by a new
process).
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from cellchild import OPTIONS, bare_cell, cell_child, modbus_power, ur_driver
from cellsynth import FAST_TIMING, JOB1, PSU_COMM_TIMEOUT, make_trajectory
from waiting import wait_until

from weldcell.cell.approval import SimApprover
from weldcell.cell.controller import CellConfig, CellController
from weldcell.cell.segments import SeamStep
from weldcell.cell.state import CellState
from weldcell.cell.weldlog import WeldLog, WeldLogError
from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle, start_virtual_power_source
from weldcell.drivers.powersource.virtual_model import VirtualConfig
from weldcell.drivers.ur.virtual.controller import Ports, VirtualControllerHandle, start_virtual_controller
from weldcell.drivers.ur.virtual.core import CoreConfig
from weldcell.sim.stamping import write_validation_stamp
from weldcell.sim.validate import validate_trajectory
from weldcell.trajectory import JointTrajectory, save_trajectory


@pytest.fixture
def stamped(tmp_path: Path) -> tuple[JointTrajectory, Path]:
    traj = make_trajectory(weld_time=1.0)
    path = save_trajectory(traj, tmp_path / "job.traj.npz")
    report = validate_trajectory(traj, cell=bare_cell(), options=OPTIONS)
    assert report.passed, [v.message() for v in report.violations]
    write_validation_stamp(report, path, key=None)
    return traj, path


def _start_controller() -> VirtualControllerHandle:
    q0 = make_trajectory(weld_time=1.0).q[0]
    return start_virtual_controller(
        "127.0.0.1", CoreConfig(q_home=tuple(float(x) for x in q0)), ports=Ports(0, 0, 0, 0, 0)
    )


@pytest.fixture(scope="module")
def ur() -> Iterator[VirtualControllerHandle]:
    """One virtual UR controller for the tests that leave it running (each job ends at home)."""
    h = _start_controller()
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture
def ur_own() -> Iterator[VirtualControllerHandle]:
    """A virtual UR controller the test may kill."""
    h = _start_controller()
    try:
        yield h
    finally:
        h.stop()


CONFIG = CellConfig(power_source_comm_timeout=PSU_COMM_TIMEOUT)


@pytest.fixture
def psu_e2e() -> Iterator[VirtualPowerSourceHandle]:
    # three processes share two cores in CI: a heartbeat timeout of 1 s instead of 0.4 s (the cells
    # below set the same, CONFIG; the killed cell child sets the product's 0.15 s)
    timing = dataclasses.replace(FAST_TIMING, comm_timeout=1.0)
    handle = start_virtual_power_source("127.0.0.1", 0, VirtualConfig(timing=timing), seed=5)
    try:
        yield handle
    finally:
        handle.stop()


def _ports(h: VirtualControllerHandle) -> dict[str, int]:
    return {k: getattr(h.ports, k) for k in ("rtde", "dashboard", "primary", "secondary", "realtime")}


def _seam(ctl: CellController, seam_id: str) -> SeamStep:
    return next(s for s in ctl.steps if isinstance(s, SeamStep) and s.seam_id == seam_id)


def test_arc_loss_and_resume_on_the_virtual_ur_cell(
    stamped: tuple[JointTrajectory, Path],
    ur: VirtualControllerHandle,
    psu_e2e: VirtualPowerSourceHandle,
    tmp_path: Path,
) -> None:
    traj, path = stamped
    robot = ur_driver("127.0.0.1", _ports(ur))
    power = modbus_power(*psu_e2e.address)
    approver = SimApprover(None, tmp_path / "motions", OPTIONS, cell=bare_cell())
    with WeldLog(tmp_path / "log.sqlite") as wlog:
        ctl = CellController(robot, power, wlog, CONFIG, approver=approver, params={"A": JOB1, "B": JOB1})
        try:
            ctl.load(traj, trajectory_path=path, part_serial="E2E-1")
            job = ctl.start()
            step = _seam(ctl, "B")
            mid = step.weld0 + (step.weld1 - step.weld0) // 2
            wait_until(lambda: ctl._motion is not None and ctl._motion.position() >= mid, 15.0)
            assert psu_e2e.model.inject_arc_loss()
            assert ctl.wait(20.0) is CellState.FAULT, ctl.last_error
            ctl.reset()
            ctl.resume()
            assert ctl.wait(30.0) is CellState.READY, ctl.last_error
        finally:
            ctl.close()
            approver.close()
            robot.close()
            power.close()
        seams = wlog.seams(job)
        assert [(s.seam_id, s.attempt, s.result) for s in seams] == [
            ("A", 1, "ok"),
            ("B", 1, "arc_loss"),
            ("B", 2, "ok"),
        ]
        b1, b2 = seams[1], seams[2]
        assert b1.s_stop is not None and b2.s_start == pytest.approx(b1.s_stop - 0.005, abs=1e-4)
        # executed path (actual joint positions streamed back over RTDE) while the arc burned
        w1 = ctl.traces[1].welded_interval(traj, step)
        w2 = ctl.traces[2].welded_interval(traj, step)
        assert w1 is not None and w2 is not None
        assert w2[1] == pytest.approx(step.s1, abs=2e-4)
        executed_overlap = w1[1] - w2[0]
        assert 0 < executed_overlap <= 0.005 + 5e-4  # no gap, no overlap beyond the programmed 5 mm
        assert executed_overlap >= 0.005 - (b1.s_stop - w1[1]) - 5e-4  # the polls see the arc end late
        assert all(s.deviation_max_m is not None and s.deviation_max_m < 0.002 for s in seams)
        # every motion the cell planned itself was validated and stamped before it was sent
        stamps = sorted((tmp_path / "motions").glob("*.stamp.json"))
        assert any("retract" in p.name for p in stamps) and any("reapproach" in p.name for p in stamps)


def test_robot_controller_dropping_the_connection_mid_seam(
    stamped: tuple[JointTrajectory, Path],
    ur_own: VirtualControllerHandle,
    psu_e2e: VirtualPowerSourceHandle,
    tmp_path: Path,
) -> None:
    traj, path = stamped
    robot = ur_driver("127.0.0.1", _ports(ur_own))
    power = modbus_power(*psu_e2e.address)
    approver = SimApprover(None, tmp_path / "motions", OPTIONS, cell=bare_cell())
    with WeldLog(tmp_path / "log.sqlite") as wlog:
        ctl = CellController(robot, power, wlog, CONFIG, approver=approver, params={"A": JOB1, "B": JOB1})
        try:
            ctl.load(traj, trajectory_path=path)
            job = ctl.start()
            step = _seam(ctl, "A")
            wait_until(lambda: ctl._motion is not None and ctl._motion.position() >= step.weld0 + 100, 15.0)
            ur_own.kill()  # controller power loss: the RTDE link drops
            assert ctl.wait(20.0) is CellState.FAULT
            wait_until(lambda: not psu_e2e.model.status().current_flow, 10.0)  # arc is off
        finally:
            ctl.close()
            approver.close()
            robot.close()
            power.close()
        (rec,) = wlog.seams(job)
        assert rec.result == "robot_fault" and rec.s_stop is not None and 0 < rec.s_stop < step.s1
        assert wlog.integrity_ok() and len(wlog.signals(rec.id)) > 10


def test_killed_weldcell_process_leaves_the_log_intact_and_the_job_resumes(
    stamped: tuple[JointTrajectory, Path],
    ur: VirtualControllerHandle,
    psu_e2e: VirtualPowerSourceHandle,
    tmp_path: Path,
    log_target: str,
) -> None:
    """SIGKILL of the cell process mid-seam, on both back ends: nothing committed is lost, the job
    is marked interrupted when the log is next opened, and it resumes where the arc stopped."""
    traj, path = stamped
    log_path = log_target
    ctx = mp.get_context("spawn")
    ports = _ports(ur)
    child = ctx.Process(
        target=cell_child,
        args=(ports, psu_e2e.address, str(log_path), str(path), str(tmp_path / "motions")),
        daemon=True,
    )
    child.start()
    try:

        def welding_b() -> bool:
            try:
                with WeldLog(log_path, readonly=True) as lg:
                    jobs = lg.jobs()
                    seams = lg.seams(jobs[0].id) if jobs else []
            except WeldLogError:  # the child has not created it yet
                return False
            return len(seams) == 2 and (seams[1].s_reached or 0.0) > 0.008

        wait_until(welding_b, 120.0)  # the child plans nothing, but a loaded host runs it slowly
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(5.0)
    finally:
        if child.is_alive():
            child.kill()
            child.join(5.0)
    # the power source ends the weld when the heartbeat stops; the robot stops on the RTDE watchdog
    wait_until(lambda: not psu_e2e.model.status().current_flow, 10.0)
    robot = ur_driver("127.0.0.1", _ports(ur))
    power = modbus_power(*psu_e2e.address)
    approver = SimApprover(None, tmp_path / "motions2", OPTIONS, cell=bare_cell())
    with WeldLog(log_path) as wlog:
        assert wlog.integrity_ok()
        job = wlog.latest_job()
        assert job.result == "interrupted"  # marked on this opening: its writer is dead
        before = wlog.seams(job.id)
        assert [(s.seam_id, s.result) for s in before] == [("A", "ok"), ("B", "interrupted")]
        ctl = CellController(robot, power, wlog, CONFIG, approver=approver, params={"A": JOB1, "B": JOB1})
        try:
            ctl.recover_job(job.id, traj, trajectory_path=path)
            assert ctl.state is CellState.PAUSED
            ctl.resume()
            assert ctl.wait(30.0) is CellState.READY, ctl.last_error
        finally:
            ctl.close()
            approver.close()
            robot.close()
            power.close()
        seams = wlog.seams(job.id)
        assert [(s.seam_id, s.attempt, s.result) for s in seams] == [
            ("A", 1, "ok"),
            ("B", 1, "interrupted"),
            ("B", 2, "ok"),
        ]
        reached = seams[1].s_reached
        assert reached is not None and seams[2].s_start == pytest.approx(reached - 0.005, abs=1e-4)
        assert wlog.job(job.id).result == "ok"
