"""The narrow view of a :class:`~weldcell.drivers.base.RobotDriver` the cell controller uses.

Keeping every driver call the cell makes in one small class means the sequencing code reads in
welding terms (run this slice, where are we, stop) and a change in the driver contract touches one
file. Nothing here talks to a socket directly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.cell.approval import Approval
from weldcell.errors import DriverError, DriverTimeoutError
from weldcell.trajectory import JointTrajectory

if TYPE_CHECKING:
    from weldcell.drivers.base import ExecutionHandle, RobotDriver

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RobotSnapshot:
    """Joint positions [rad] (n,) and digital inputs of the robot controller at one instant."""

    q: npt.NDArray[np.float64]
    digital_inputs: tuple[bool, ...]


class Motion:
    """A trajectory slice running on the robot (wraps the driver's ``ExecutionHandle``)."""

    def __init__(self, handle: ExecutionHandle, traj: JointTrajectory) -> None:
        self._h = handle
        self.traj = traj

    def position(self) -> float:
        """Path position as a fractional sample index into :attr:`traj` (absolute)."""
        return float(self._h.progress.position)

    def done(self) -> bool:
        """True once the slice has ended (finished, stopped or failed)."""
        return bool(self._h.done)

    def stop(self) -> None:
        """Request a stop (non-blocking; the robot decelerates along the path).

        A link that is already down cannot carry the request; the controller then stops the arm on
        its own (RTDE watchdog), so the error is logged, not raised.
        """
        try:
            self._h.stop()
        except DriverError as err:
            log.error("stop request not delivered: %s", err)

    def wait(self, timeout: float) -> None:
        """Wait for the end of the slice; re-raise the driver's error if it faulted.

        Raises:
            DriverTimeoutError: not done within ``timeout`` [s].
            DriverFaultError: protective stop, e-stop, lost connection (the driver's reason).
        """
        self._h.wait_until_done(timeout)


class RobotPort:
    """The calls the cell makes on a robot driver.

    Args:
        driver: A connected ``RobotDriver``.
    """

    def __init__(self, driver: RobotDriver) -> None:
        self.driver = driver

    def ensure_connected(self, timeout: float = 10.0) -> None:
        """Reconnect when the link dropped (after a controller restart)."""
        if not bool(self.driver.connected):
            self.driver.connect(timeout=timeout)

    def execute(
        self, traj: JointTrajectory, approval: Approval, start: int = 0, end: int | None = None
    ) -> Motion:
        """Start samples ``[start, end)`` of ``traj`` (non-blocking) with its validation approval."""
        handle = self.driver.execute(
            traj,
            start_index=start,
            end_index=end,
            force_unvalidated=approval.force_unvalidated,
            traj_path=approval.path,
        )
        return Motion(handle, traj)

    def snapshot(self) -> RobotSnapshot:
        """Joint positions and digital inputs 0-15 now."""
        st = self.driver.state(timeout=1.0)
        bits = int(st.digital_in)
        return RobotSnapshot(np.array(st.q, dtype=np.float64), tuple(bool(bits >> n & 1) for n in range(16)))

    def wait_still(self, timeout: float = 2.0, tol: float = 1e-5) -> npt.NDArray[np.float64]:
        """Wait until the joints stop moving; return the rest position [rad]."""
        deadline = time.monotonic() + timeout
        q_prev = self.snapshot().q
        while True:
            time.sleep(0.02)
            q = self.snapshot().q
            if float(np.max(np.abs(q - q_prev))) < tol:
                return q
            if time.monotonic() > deadline:
                raise DriverTimeoutError(f"robot still moving {timeout:.1f} s after a stop request")
            q_prev = q
