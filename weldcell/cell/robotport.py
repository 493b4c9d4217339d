"""The narrow view of a :class:`~weldcell.drivers.base.RobotDriver` the cell controller uses.

Keeping every driver call the cell makes in one small class means the sequencing code reads in
welding terms (run this slice, where are we, stop) and a change in the driver contract touches one
file. Nothing here talks to a socket directly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    """Joint positions [rad] (n,), digital inputs and outputs of the robot controller at one instant."""

    q: npt.NDArray[np.float64]
    digital_inputs: tuple[bool, ...]
    digital_outputs: tuple[bool, ...] = ()


@dataclass(frozen=True, slots=True)
class ProgramSnapshot:
    """The controller while a whole-job program runs (program mode), from one RTDE state.

    Attributes:
        q: Actual joint positions [rad], shape (n,).
        digital_inputs: Digital inputs 0-15.
        digital_outputs: Digital output bits.
        block: The program's weld-block register: k + 1 in weld block k, 0 elsewhere, -1 when done.
        arc_request: The program's arc request (its arc output or RTDE register) is high.
    """

    q: npt.NDArray[np.float64]
    digital_inputs: tuple[bool, ...]
    digital_outputs: int
    block: int
    arc_request: bool


class Motion:
    """A trajectory slice running on the robot (wraps the driver's ``ExecutionHandle``)."""

    def __init__(self, handle: ExecutionHandle, traj: JointTrajectory) -> None:
        self._h = handle
        self.traj = traj

    @property
    def handle(self) -> ExecutionHandle:
        """The driver's execution handle (a positioner streamed in sync follows it)."""
        return self._h

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

    @property
    def arc_output(self) -> int | None:
        """The digital output the driver switches on the trajectory's arc flags (the robot-side arc
        command, e.g. RSI ``DiO`` bit 0 → ``$OUT[1]``), or None when the robot drives no arc output."""
        n = getattr(getattr(self.driver, "config", None), "arc_output", None)
        return n if isinstance(n, int) and 0 <= n < 16 else None

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

    def supports_programs(self) -> bool:
        """True when the driver runs a whole job as one controller program (UR program mode)."""
        return callable(getattr(self.driver, "execute_program", None))

    def program_options(
        self,
        *,
        arc_timeout: float,
        arc_output: int | None = None,
        arc_input: int = 0,
        arc_registers: tuple[int, int] | None = None,
    ) -> Any:
        """The driver's options of the job program for the cell's arc wiring (the driver's
        ``program_options``; see :meth:`weldcell.drivers.ur.driver.URDriver.program_options`)."""
        driver: Any = self.driver  # a program-mode driver, checked by supports_programs()
        return driver.program_options(
            arc_timeout=arc_timeout, arc_output=arc_output, arc_input=arc_input, arc_registers=arc_registers
        )

    def execute_program(self, traj: JointTrajectory, approval: Approval, options: Any) -> Motion:
        """Start the whole of ``traj`` as one controller program (non-blocking)."""
        driver: Any = self.driver  # a program-mode driver (UR), checked by supports_programs()
        handle = driver.execute_program(
            traj, traj_path=approval.path, force_unvalidated=approval.force_unvalidated, options=options
        )
        return Motion(handle, traj)

    def program_snapshot(self, arc_request_register: int | None, arc_output: int) -> ProgramSnapshot:
        """The controller's state while a job program runs (see :class:`ProgramSnapshot`).

        ``arc_request_register``: the RTDE output bit the program raises as arc request, or None for
        the digital output ``arc_output``.
        """
        driver: Any = self.driver  # a program-mode driver (UR)
        st = driver.state(timeout=1.0)
        bits = int(st.digital_in)
        block = int(driver.program_block())
        if arc_request_register is not None:
            request = bool(driver.program_arc_request())
        else:
            request = bool(int(st.digital_out) >> arc_output & 1)
        return ProgramSnapshot(
            np.array(st.q, dtype=np.float64),
            tuple(bool(bits >> n & 1) for n in range(16)),
            int(st.digital_out),
            block,
            request,
        )

    def set_arc_established(self, on: bool) -> None:
        """Tell the job program the arc is established (fieldbus power source switched by the PC)."""
        driver: Any = self.driver  # a program-mode driver (UR)
        driver.set_arc_established(on)

    def snapshot(self) -> RobotSnapshot:
        """Joint positions, digital inputs and outputs 0-15 now (outputs as the controller reports them)."""
        st = self.driver.state(timeout=1.0)
        bits = int(st.digital_in)
        outs = int(st.digital_out)
        return RobotSnapshot(
            np.array(st.q, dtype=np.float64),
            tuple(bool(bits >> n & 1) for n in range(16)),
            tuple(bool(outs >> n & 1) for n in range(16)),
        )

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
