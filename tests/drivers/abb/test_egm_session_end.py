"""EGM session end: EGMRunJoint finishing by its convergence condition (``\\CondTime``) on the virtual
ABB controller, and how the driver reads it (a clean end outside a motion, a fault inside one);
the ABB GoFa streamed through EGM."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from stamp_helpers import stamp_for_test

from weldcell.drivers.abb import egm_messages
from weldcell.drivers.abb.config import EgmConfig
from weldcell.drivers.abb.driver import EgmDriver
from weldcell.drivers.abb.virtual_egm import VirtualEgm, VirtualEgmConfig
from weldcell.drivers.base import ExecutionOutcome, joint_move
from weldcell.errors import DriverError, DriverFaultError
from weldcell.trajectory import save_trajectory

GOFA = "crb15000_5_95"
START = (0.0, 10.0, -20.0, 0.0, 60.0, 0.0)


def _port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def session(silence: float = 0.5, **cfg: object) -> Iterator[tuple[EgmDriver, VirtualEgm]]:
    port = _port()
    d = EgmDriver(EgmConfig(robot=GOFA, port=port, silence=silence))
    d.stamp_key = None
    ctrl = VirtualEgm(VirtualEgmConfig(robot=GOFA, sensor_port=port, q_start_deg=START, **cfg))  # type: ignore[arg-type]
    ctrl.start()
    try:
        d.connect(10.0)
        yield d, ctrl
    finally:
        d.close()
        ctrl.stop()


def _wait(cond: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_last_message_of_a_converged_session() -> None:
    """The robot's last EgmRobot: MCI STOPPED, convergence met, RAPID still RUNNING; then silence."""
    msgs = egm_messages
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sensor:
        sensor.bind(("127.0.0.1", 0))
        sensor.settimeout(10.0)  # the first message waits for the model's compiled kernels
        port = sensor.getsockname()[1]
        cfg = VirtualEgmConfig(robot=GOFA, sensor_port=port, q_start_deg=START, cond_time=0.2)
        ctrl = VirtualEgm(cfg)
        ctrl.start()
        try:
            last = None
            t0 = time.monotonic()
            while time.monotonic() - t0 < 15.0:
                try:
                    data, addr = sensor.recvfrom(4096)
                except TimeoutError:
                    break  # silent: the session has ended
                sensor.settimeout(1.0)
                last = msgs.EgmRobot()
                last.ParseFromString(data)
                reply = msgs.EgmSensor()
                reply.header.seqno, reply.header.mtype = last.header.seqno, 3
                reply.planned.joints.joints.extend(START)
                sensor.sendto(reply.SerializeToString(), addr)
            assert last is not None
            assert last.mciState.state == 2 and last.mciConvergenceMet and last.rapidExecState.state == 2
            st = ctrl.status()
            assert not st.running and st.converged and "CondTime 0.2" in st.stop_reason
            assert 0.15 <= last.header.tm / 1000.0 < 1.5  # session time (re-based on host stalls)
        finally:
            ctrl.stop()


def test_driver_takes_a_converged_end_as_clean(tmp_path: Path) -> None:
    with session(cond_time=0.3) as (d, ctrl):
        assert _wait(lambda: d.session_end != "", 5.0), "the session did not end by convergence"
        assert "convergence" in d.session_end and d.fault == ""
        time.sleep(0.8)  # longer than the driver's silence: still no fault after the clean end
        st = d.state()
        assert d.fault == "" and st.safety.value == "normal" and not st.program_running
        assert ctrl.status().converged
        q = st.q
        traj = joint_move(GOFA, q, q + 0.05, d.dt)
        p = tmp_path / "after.npz"
        save_trajectory(traj, p)
        stamp_for_test(p, traj)
        with pytest.raises(DriverError, match="run EGMRunJoint again"):
            d.execute(traj, traj_path=p)


def test_convergence_during_a_motion_faults_the_execution(tmp_path: Path) -> None:
    """A slow path inside generous egm_minmax ranges converges all along: EGMRunJoint ends after
    \\CondTime in the middle of the motion, the execution faults with the reason, the arc output off."""
    with session(silence=3.0, cond_time=1.0, convergence_deg=5.0) as (d, ctrl):
        q = d.state().q
        traj = joint_move(GOFA, q, q + np.radians([4, 0, 0, 0, 0, 0]), d.dt, speed_fraction=0.01)
        p = tmp_path / "slow.npz"
        save_trajectory(traj, p)
        stamp_for_test(p, traj)
        h = d.execute(traj, traj_path=p)
        with pytest.raises(DriverFaultError, match="CondTime"):
            h.wait_until_done(15.0)
        assert h.result is not None and h.result.outcome is ExecutionOutcome.FAULTED
        assert 0 < h.result.position < traj.n_samples - 1
        assert ctrl.status().converged and not d.state().digital_output(0)


def test_gofa_streams_to_the_planned_end(tmp_path: Path) -> None:
    with session() as (d, ctrl):
        q = d.state().q
        np.testing.assert_allclose(np.degrees(q), START, atol=1e-6)
        traj = joint_move(GOFA, q, q + np.radians([10, -5, 8, 15, -10, 20]), d.dt, speed_fraction=0.3)
        p = tmp_path / "gofa.npz"
        save_trajectory(traj, p)
        stamp_for_test(p, traj)
        assert d.execute(traj, traj_path=p).wait_until_done(20.0).outcome is ExecutionOutcome.COMPLETED
        assert _wait(lambda: np.abs(np.radians(ctrl.status().q_deg) - traj.q[-1]).max() < 1e-6, 10.0)
        assert ctrl.status().running and not d.fault
