"""The narrow view of a :class:`~weldcell.drivers.base.RobotDriver` the cell controller uses.

Keeping every driver call the cell makes in one small class means the sequencing code reads in
welding terms (run this slice, where are we, stop) and a change in the driver contract touches one
file. Nothing here talks to a socket directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import DriverTimeoutError
from weldcell.planning.trajectory import JointTrajectory


@dataclass(frozen=True, slots=True)
class RobotSnapshot:
    """Joint positions [rad] (n,) and digital inputs of the robot controller at one instant."""

    q: npt.NDArray[np.float64]
    digital_inputs: tuple[bool, ...]


class Motion:
    """A trajectory slice running on the robot."""

    def __init__(self, handle: Any, traj: JointTrajectory) -> None:
        self._h = handle
        self.traj = traj

    def index(self) -> int:
        """Index of the sample the robot was last commanded (0 … N-1)."""
        return int(min(max(int(self._h.progress.index), 0), self.traj.n_samples - 1))

    def done(self) -> bool:
        """True once the slice has ended (finished, stopped or failed)."""
        return bool(self._h.done)

    def stop(self) -> None:
        """Request a stop (non-blocking; the robot decelerates)."""
        self._h.stop()

    def wait(self, timeout: float) -> None:
        """Wait for the end of the slice; re-raise the driver's error if it failed.

        Raises:
            DriverTimeoutError: not done within ``timeout`` [s].
            DriverError: the driver's own error (connection lost, protective stop, ...).
        """
        self._h.wait(timeout=timeout)


class RobotPort:
    """The calls the cell makes on a robot driver.

    Args:
        driver: A connected ``RobotDriver``.
        force_unvalidated: Pass the driver's simulation-only override for recovery moves the cell
            plans itself (used only with virtual robots).
    """

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def ensure_connected(self, timeout: float = 5.0) -> None:
        """Reconnect when the link dropped (after a controller restart)."""
        if not bool(getattr(self.driver, "connected", True)):
            self.driver.connect(timeout=timeout)

    def execute(self, traj: JointTrajectory) -> Motion:
        """Start a slice (non-blocking)."""
        return Motion(self.driver.execute(traj), traj)

    def snapshot(self) -> RobotSnapshot:
        """Joint positions and digital inputs now."""
        st = self.driver.state()
        return RobotSnapshot(np.array(st.q, dtype=np.float64), tuple(bool(b) for b in st.digital_in))

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
