"""One RobotDriver contract, run against every driver (python-can style contract tests).

``TestVirtualRobot`` and ``TestURDriverOnVirtualController`` run in CI. ``TestURDriverHardware`` runs
the same tests on a real UR when ``WELDCELL_UR_HOST`` is set and ``-m hardware`` is given; the arm
moves by about 0.1 rad per joint from wherever it stands, so clear the cell first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from stamp_helpers import stamp_for_test

from weldcell.drivers.base import ExecutionOutcome, RobotDriver, joint_move
from weldcell.drivers.ur.driver import URDriver, URDriverConfig
from weldcell.drivers.ur.virtual.controller import Ports, VirtualControllerHandle, start_virtual_controller
from weldcell.drivers.ur.virtual.core import CoreConfig
from weldcell.drivers.virtual import VirtualRobot
from weldcell.errors import DriverError, StampError
from weldcell.trajectory import save_trajectory

Q0 = np.array(CoreConfig().q_home)


class DriverContract:
    """Tests every RobotDriver must pass. Subclasses provide the ``driver`` fixture."""

    speed = 0.3

    def _traj(self, d: RobotDriver, tmp: Path, delta: float, slow: float = 1.0) -> tuple[object, Path]:
        q = d.state().q
        traj = joint_move(d.robot, q, q + delta, d.dt, speed_fraction=self.speed / slow)
        p = tmp / f"contract_{abs(hash(delta))}.npz"
        save_trajectory(traj, p)
        stamp_for_test(p, traj)  # synthetic small move; limits are still checked
        return traj, p

    def test_state(self, driver: RobotDriver) -> None:
        s = driver.state(1.0)
        assert s.q.shape == (6,) and s.T_base_flange.shape == (4, 4)
        assert s.mode.value == "running" and s.safety.value == "normal"

    def test_execute_and_return(self, driver: RobotDriver, tmp_path: Path) -> None:
        traj, p = self._traj(driver, tmp_path, 0.1)
        h = driver.execute(traj, traj_path=p)  # type: ignore[arg-type]
        assert not h.done
        res = h.wait_until_done(10.0)
        assert res.outcome is ExecutionOutcome.COMPLETED
        np.testing.assert_allclose(driver.state().q, traj.q[-1], atol=1e-4)  # type: ignore[attr-defined]
        back, pb = self._traj(driver, tmp_path, -0.1)
        assert driver.execute(back, traj_path=pb).wait_until_done(10.0).outcome is ExecutionOutcome.COMPLETED  # type: ignore[arg-type]

    def test_stop_reports_reached_sample(self, driver: RobotDriver, tmp_path: Path) -> None:
        # A move slow enough (several seconds) that a loaded machine's latency between "a third done"
        # and the stop taking effect cannot carry it to the end: the test does not depend on speed.
        traj, p = self._traj(driver, tmp_path, 0.1, slow=12.0)
        h = driver.execute(traj, traj_path=p)  # type: ignore[arg-type]
        n = traj.n_samples  # type: ignore[attr-defined]
        while h.progress.index < n // 3 and not h.done:
            driver.state(1.0)
        h.stop()
        res = h.wait_until_done(5.0)
        assert res.outcome is ExecutionOutcome.STOPPED and n // 3 <= res.reached_index < n - 1
        q_back = traj.q[0]  # type: ignore[attr-defined]
        back = joint_move(driver.robot, driver.state().q, q_back, driver.dt, speed_fraction=self.speed)
        pb = tmp_path / "back.npz"
        save_trajectory(back, pb)
        stamp_for_test(pb, back)
        assert driver.execute(back, traj_path=pb).wait_until_done(10.0).outcome is ExecutionOutcome.COMPLETED

    def test_refusals(self, driver: RobotDriver, tmp_path: Path) -> None:
        traj, _ = self._traj(driver, tmp_path, 0.1)
        with pytest.raises(StampError):
            driver.execute(traj)  # type: ignore[arg-type]
        n_out = driver.io_counts.digital_out  # each driver declares its own I/O (issue 13)
        with pytest.raises(DriverError, match=f"digital output {n_out} does not exist"):
            driver.set_digital_out(n_out, True)
        with pytest.raises(DriverError, match="digital output -1 does not exist"):
            driver.set_digital_out(-1, True)


class TestVirtualRobot(DriverContract):
    @pytest.fixture
    def driver(self) -> Iterator[RobotDriver]:
        with VirtualRobot("ur5e", Q0, time_scale=4.0) as r:
            yield r


@pytest.fixture(scope="module")
def controller() -> Iterator[VirtualControllerHandle]:
    h = start_virtual_controller("127.0.0.33", CoreConfig(), Ports(0, 0, 0, 0, 0))
    yield h
    h.stop()


class TestURDriverOnVirtualController(DriverContract):
    @pytest.fixture
    def driver(self, controller: VirtualControllerHandle) -> Iterator[RobotDriver]:
        cfg = URDriverConfig(
            rtde_port=controller.ports.rtde,
            dashboard_port=controller.ports.dashboard,
            script_port=controller.ports.secondary,
        )
        with URDriver("127.0.0.33", cfg) as d:
            yield d


@pytest.mark.hardware
class TestURDriverHardware(DriverContract):
    speed = 0.1

    @pytest.fixture
    def driver(self) -> Iterator[RobotDriver]:
        host = os.environ.get("WELDCELL_UR_HOST")
        if not host:
            pytest.skip("set WELDCELL_UR_HOST to run the contract on a real UR")
        with URDriver(host, URDriverConfig(robot=os.environ.get("WELDCELL_UR_MODEL", "ur5e"))) as d:
            yield d
