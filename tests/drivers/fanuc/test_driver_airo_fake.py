"""Our Stream Motion driver against airo-fanuc's FakeCRXController in strict conformance mode.

The fake (an independent implementation of the controller's side of J519, pinned in the test extra)
raises on a zero data style, a non-increasing sequence number, version drift, a double send in one
cycle, an unclean stop and do_motn_ctrl != 1; it runs its 8 ms status clock in a thread of this
process. Its RMI side is not used: ``stream_motn_launched`` stands for the TP program started on the
pendant. It maps no GPIO (its strict mode rejects non-zero I/O bytes), so the driver runs with
``io=False`` here; the arc output is tested against our virtual controller.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fanuc_helpers import Validated
from streaming_helpers import stamped_move
from waiting import wait_until

from weldcell.drivers.base import ExecutionOutcome, joint_move
from weldcell.drivers.fanuc.config import FanucConfig
from weldcell.drivers.fanuc.driver import FanucDriver
from weldcell.drivers.fanuc.joints import controller_deg_from_q
from weldcell.errors import DriverFaultError, StampError
from weldcell.trajectory import load_trajectory, save_trajectory

airo = pytest.importorskip("airo_fanuc.testing", reason="airo-fanuc==0.1.0 (test extra)")

ROBOT = "arcmate100id"
Q0 = np.radians([0.0, 10.0, -5.0, 0.0, -60.0, 0.0])


def _fake(q0: np.ndarray) -> object:
    deg = np.zeros(9)
    deg[:6] = controller_deg_from_q(q0, True)
    fake = airo.FakeCRXController(airo.FakeCRXConfig(strict=True), initial_q_deg=deg)
    fake.state.stream_motn_launched = True  # the IBGN program is running (started on the pendant)
    fake.start_realtime()
    return fake


@pytest.fixture
def rig() -> Iterator[tuple[FanucDriver, object]]:
    fake = _fake(Q0)
    # silence 0.5 s (default 0.1): the fake's cycle is a Python thread in this process, which a
    # loaded test box can starve for more than 0.1 s (the 0.1 s fault then ended a healthy stream)
    cfg = FanucConfig(
        robot=ROBOT, port=fake.sm_port, io=False, arc_output=None, arc_established_input=None, silence=0.5
    )
    d = FanucDriver(cfg)
    d.stamp_key = None
    try:
        d.connect(5.0)
        yield d, fake
    finally:
        d.close()
        fake.close()
    # every packet the driver sent passed the fake's strict checks (also the clean stop at close)
    assert fake.violations == []


def wait_settled(d: FanucDriver, q: np.ndarray, tol: float = 1e-3, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if np.max(np.abs(d.state().q - q)) < tol:
            return
        time.sleep(0.02)
    raise AssertionError(f"robot did not settle at {q}: {d.state().q}")


def test_handshake_state_and_stream(rig: tuple[FanucDriver, object], tmp_path: Path) -> None:
    d, fake = rig
    assert d.dt == pytest.approx(0.008)  # the fake's capability: 8 ms
    assert d.version == 3
    s = d.state()
    np.testing.assert_allclose(s.q, Q0, atol=1e-6)  # J2/J3 interaction undone
    np.testing.assert_allclose(s.T_base_flange, d._model.fk(Q0), atol=1e-6)
    delta = np.radians([8.0, -5.0, 6.0, 10.0, 8.0, -12.0])
    traj, path = stamped_move(d, tmp_path, delta)
    n0 = d.stats["status"]
    res = d.execute(traj, traj_path=path).wait_until_done(10.0)
    assert res.outcome is ExecutionOutcome.COMPLETED and res.reached_index == traj.n_samples - 1
    # one command per 8 ms status: the streamed cycles cover the trajectory's duration
    cycles = d.stats["status"] - n0
    assert cycles >= round(traj.duration / 0.008) - 1
    wait_settled(d, traj.q[-1])  # the fake's plant lags ~125 ms behind the set-points
    np.testing.assert_allclose(fake.q_meas_deg[:6], controller_deg_from_q(traj.q[-1], True), atol=0.06)
    assert d.stats["seq_gaps"] == d.stats["missed_status"] == d.stats["duplicates"] == 0


def test_validated_program_slice(arcmate_validated: Validated) -> None:
    """The first 1.5 s of the validated ARC Mate program, with its validation stamp."""
    traj = load_trajectory(arcmate_validated.traj)
    fake = _fake(traj.q[0])
    # silence 0.5 s (default 0.1): the fake's cycle is a Python thread in this process, which a
    # loaded test box can starve for more than 0.1 s (the 0.1 s fault then ended a healthy stream)
    cfg = FanucConfig(
        robot=ROBOT, port=fake.sm_port, io=False, arc_output=None, arc_established_input=None, silence=0.5
    )
    d = FanucDriver(cfg)
    d.stamp_key = None
    try:
        d.connect(5.0)
        end = int(1.5 / traj.dt)
        h = d.execute(traj, end_index=end, traj_path=arcmate_validated.traj)
        res = h.wait_until_done(10.0)
        assert res.outcome is ExecutionOutcome.COMPLETED and res.reached_index == end - 1
        wait_settled(d, traj.q[end - 1], tol=2e-3)
    finally:
        d.close()
        fake.close()
    assert fake.violations == []


def test_stamp_required(rig: tuple[FanucDriver, object], tmp_path: Path) -> None:
    d = rig[0]
    q = d.state().q
    traj = joint_move(d.robot, q, q + 0.1, d.dt)
    with pytest.raises(StampError):
        d.execute(traj)
    with pytest.raises(StampError):
        d.execute(traj, force_unvalidated=True)
    save_trajectory(traj, tmp_path / "t.npz")  # no stamp file
    with pytest.raises(StampError):
        d.execute(traj, traj_path=tmp_path / "t.npz")
    np.testing.assert_allclose(d.state().q, q, atol=1e-9)


def test_stop_decelerates_along_the_path(rig: tuple[FanucDriver, object], tmp_path: Path) -> None:
    d = rig[0]
    traj, path = stamped_move(d, tmp_path, np.radians([30.0, 0, 0, 0, 0, 0]), speed=0.2)
    h = d.execute(traj, traj_path=path)
    wait_until(lambda: h.progress.index > 0 or h.done, what="the robot leaving its first sample")
    h.stop()
    res = h.wait_until_done(10.0)
    assert res.outcome is ExecutionOutcome.STOPPED
    assert 0 < res.reached_index < traj.n_samples - 1


@pytest.mark.parametrize(
    ("inject", "code"),
    [
        (lambda f: f.press_estop(), "estop"),
        (lambda f: f.drop_motion_possible(), "motion_not_possible"),
        (lambda f: f.inject_seq_gap(3), "seq_gap"),
        (lambda f: f.drop_status(1), "missed_status"),
        (lambda f: f.inject_alarm("SRVO-023", "Stop error excess"), "alarm"),
    ],
    ids=["estop", "motion_not_possible", "seq_gap", "dropped_status", "alarm"],
)
def test_fault_ends_execution(
    rig: tuple[FanucDriver, object], tmp_path: Path, inject: object, code: str
) -> None:
    d, fake = rig
    traj, path = stamped_move(d, tmp_path, np.radians([25.0, 0, 0, 0, 0, 0]), speed=0.2)
    h = d.execute(traj, traj_path=path)
    wait_until(lambda: h.progress.index > 0 or h.done, what="the robot leaving its first sample")
    inject(fake)  # type: ignore[operator]
    with pytest.raises(DriverFaultError) as err:
        h.wait_until_done(10.0)
    assert err.value.error_code == code
    assert h.result is not None and h.result.reached_index < traj.n_samples - 1
    # the stream goes on after a driver-side fault: the driver holds, one command per status
    if code in ("seq_gap", "missed_status"):
        n = d.stats["status"]
        wait_until(lambda: d.stats["status"] > n + 10, what="the driver answering further statuses")
        assert d.state().mode.value == "running"


def test_no_status_is_a_timeout(tmp_path: Path) -> None:
    """Nothing answers at the address: connect fails with a timeout naming the handshake step."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        d = FanucDriver(
            FanucConfig(
                port=port, io=False, arc_output=None, arc_established_input=None, handshake_timeout=0.3
            )
        )
        with pytest.raises(Exception) as err:
            d.connect(1.0)
        assert "packet type 7" in str(err.value)
        assert not d.connected


def test_registry_builds_the_driver() -> None:
    from weldcell.drivers.registry import driver_for_url
    from weldcell.errors import DriverError

    d = driver_for_url("fanuc://192.168.1.20:60016?robot=arcmate100id&io=0&local_port=50000")
    assert isinstance(d, FanucDriver)
    assert (d.config.host, d.config.port, d.config.local_port) == ("192.168.1.20", 60016, 50000)
    assert not d.config.io and d.config.arc_output is None
    assert driver_for_url("fanuc://10.0.0.5").config.port == 60015  # type: ignore[attr-defined]
    for bad in ("fanuc://10.0.0.5?speed=3", "fanuc://10.0.0.5?io=maybe", "fanuc://?robot=arcmate100id"):
        with pytest.raises(DriverError):
            driver_for_url(bad)
    with pytest.raises(DriverError, match="joint convention"):
        driver_for_url("fanuc://10.0.0.5?robot=ur5e")
