"""Program mode of the UR driver: the whole trajectory as one exported URScript program, followed
through RTDE (:class:`ProgramMode`, mixed into :class:`~weldcell.drivers.ur.driver.URDriver`)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from weldcell.drivers.base import (
    ExecutionHandle,
    ExecutionOutcome,
    ExecutionResult,
)
from weldcell.drivers.ur.client import rtde_protocol as rp
from weldcell.drivers.ur.program.export import UrExportOptions, arc_set, urscript_from_trajectory
from weldcell.drivers.ur.streaming import servo_program as sp
from weldcell.errors import (
    DriverConnectionError,
    DriverError,
    DriverTimeoutError,
)
from weldcell.trajectory import JointTrajectory

if TYPE_CHECKING:
    pass

from weldcell.drivers.ur.client.states import SAFETY_MODE_NAMES
from weldcell.drivers.ur.link import URLink
from weldcell.drivers.ur.program.progress import K_ARC_REQUEST, K_BLOCK, ProgramRun

log = logging.getLogger(__name__)


class ProgramMode(URLink):
    """Program execution (:meth:`execute_program`) and its RTDE inputs and progress."""

    def program_options(
        self,
        *,
        arc_timeout: float,
        arc_output: int | None = None,
        arc_input: int = 0,
        arc_registers: tuple[int, int] | None = None,
    ) -> UrExportOptions:
        """The options of the job program :meth:`execute_program` runs, from the cell's arc wiring.

        Args:
            arc_timeout: Longest wait of the program for arc established (and arc end) [s].
            arc_output: The power source is wired to the robot: the arc on this standard digital output
                and arc established on ``arc_input``.
            arc_input: Standard digital input "arc established" (with ``arc_output``).
            arc_registers: The cell switches the arc on its power source: the RTDE output and input bit
                registers (arc request, arc established) the program hands the arc over through; its
                PC watchdog is this driver's (``watchdog_hz``).

        Without ``arc_output`` and ``arc_registers`` the program runs with the arc disabled.
        """
        if arc_registers is not None:
            return UrExportOptions(
                arc_timeout=arc_timeout,
                arc_request_register=arc_registers[0],
                arc_established_register=arc_registers[1],
                pc_watchdog_hz=float(self.config.watchdog_hz) if self.config.watchdog_hz else None,
            )
        if arc_output is not None:
            return UrExportOptions(arc_do=arc_output, arc_di=arc_input, arc_timeout=arc_timeout)
        return UrExportOptions(arc_enabled=False)

    def execute_program(
        self,
        traj: JointTrajectory,
        *,
        traj_path: str | Path | None = None,
        force_unvalidated: bool = False,
        options: UrExportOptions | None = None,
    ) -> ExecutionHandle:
        """Run the whole trajectory as one URScript program on the controller; returns at once.

        The program is the one ``weldcell export --format urscript`` writes
        (:func:`~weldcell.drivers.ur.program.export.urscript_from_trajectory`): ``movej`` transits, a servoj
        table per weld with the arc output switched, and the arc-established wait, on the robot. The
        driver replaces its streaming servo program with it (the servo program is uploaded again
        by the next :meth:`execute`) and follows it through RTDE: progress is the trajectory sample
        nearest to ``actual_q``; the program ending at the last sample completes the handle, a
        safety stop or a program that ends elsewhere (halt, runtime error) faults it. ``stop()``
        replaces the program with ``stopj`` (arc output off).

        Args:
            traj: The trajectory; the robot must be at its first sample.
            traj_path: The trajectory file whose validation stamp certifies ``traj``.
            force_unvalidated: As in :meth:`execute` (refused on a real controller).
            options: Export options; default: arc output/input from the driver config.

        Returns:
            The handle of the whole trajectory ``[0, n_samples)``.

        Raises:
            StampError: no matching validation stamp.
            ExportError: the trajectory cannot be expressed as a program (limits, arc events).
            DriverError: as :meth:`execute`; DriverTimeoutError when the program does not start.
        """
        cfg = self.config
        opt = options or UrExportOptions(
            arc_do=cfg.arc_output if cfg.arc_output is not None else 0,
            arc_di=cfg.arc_established_input if cfg.arc_established_input is not None else 0,
        )
        if opt.progress_register is None:  # the driver follows the weld blocks in output int 33
            opt = dataclasses.replace(opt, progress_register=sp.OUT_BLOCK)
        self._program_options = opt
        try:  # the base class checks stamp, limits, start pose, then calls _execute -> _start_program
            return self.execute(traj, traj_path=traj_path, force_unvalidated=force_unvalidated)
        finally:
            self._program_options = None

    def _start_program(self, handle: ExecutionHandle, opt: UrExportOptions) -> None:
        try:
            # over the script port the controller runs a lone "def … end"; no trailing call
            script = urscript_from_trajectory(handle.traj, dataclasses.replace(opt, call_at_end=False))
            stop_script = (
                f"def weldcell_stop():\n  {arc_set(opt, False)}\n  stopj({opt.stop_acceleration:g})\nend\n"
            )
            run = ProgramRun(handle, script, stop_script, max(50, round(0.5 / handle.traj.dt)), opt)
            timeout = self.config.upload_timeout
            # the servo program is given up: the next execute() finds it gone and uploads it again
            self._stream = None
            self._session += 1
            self._reset_request = self._session
            if self._wait_latest(1.0)["runtime_state"] == 2:
                self._send_script(stop_script, "the stop program")  # replaces the idle servo program
                self._wait_runtime(lambda rs: rs != 2, timeout, "the servo program did not stop")
            self._program = run
            # the speed slider scales every motion of the program (and so the weld's travel speed):
            # held at 100 % through RTDE for the whole run (speed_slider_mask = 1)
            self._write_program_inputs(slider_mask=1, slider_fraction=1.0, arc_established=False)
            self._send_script(script, "the weld program")
            self._wait_runtime(
                lambda rs: run.started or run.handle.done, timeout, "the weld program did not start"
            )
        except Exception as err:
            if not handle.done:
                handle._finish(ExecutionResult(ExecutionOutcome.FAULTED, handle.start_index, 0.0, str(err)))
            raise

    def _wait_runtime(self, cond: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fb = self._latest
            if fb is not None and cond(fb["runtime_state"]):
                return
            time.sleep(0.002)
        recent = [m for m, _, _ in self.controller_messages()[-3:]]
        raise DriverTimeoutError(
            f"{self.host}: {what} within {timeout} s; last controller messages: {recent or 'none'}"
        )

    def _stop_program(self, run: ProgramRun) -> None:
        """Replace the running weld program by ``stopj`` with the arc output off (non-blocking)."""
        run.handle.stop_requested = True
        try:
            self._send_script(run.stop_script, "the stop program")
        except DriverConnectionError:
            if self.dashboard is None:
                raise
            self.dashboard.stop()  # abrupt, but the program does stop

    def _stop_quietly(self, run: ProgramRun) -> None:
        try:
            self._stop_program(run)
        except DriverError as err:
            log.error("%s: stopping the weld program failed: %s", self.host, err)

    def _write_program_inputs(
        self,
        *,
        slider_mask: int | None = None,
        slider_fraction: float | None = None,
        arc_established: bool | None = None,
    ) -> None:
        """Queue the program-mode RTDE inputs (speed slider override, arc-established bit)."""
        with self._io_lock:
            v = self._program_values
            if slider_mask is not None:
                v[0] = slider_mask
            if slider_fraction is not None:
                v[1] = slider_fraction
            if arc_established is not None:
                v[2] = arc_established
            self._program_request = rp.pack_package(rp.DATA_PACKAGE, self._program_recipe.pack(list(v)))

    def set_arc_established(self, on: bool) -> None:
        """Write "arc established" to the job program (RTDE input bit register 64), for a program
        exported with ``arc_established_register`` (a fieldbus power source the PC talks to)."""
        self._write_program_inputs(arc_established=on)

    def program_block(self) -> int:
        """The running job program's weld block register (output int 33): k + 1 in weld block k,
        0 outside the welds, -1 once done (see ``UrExportOptions.progress_register``)."""
        return int(self._wait_latest(1.0)[K_BLOCK])

    def program_arc_request(self) -> bool:
        """The job program's arc request in RTDE output bit register 64 (fieldbus power source)."""
        return bool(self._wait_latest(1.0)[K_ARC_REQUEST])

    def _advance_program(self, run: ProgramRun, fb: dict[str, Any]) -> None:
        """Update a program run from one RTDE output package (reader thread)."""
        h = run.handle
        safety = fb["safety_mode"]
        if safety != 1 and safety != 2:
            code = SAFETY_MODE_NAMES.get(safety, safety)
            self._fail_stream(self._error_messages() or f"safety mode {code}", code)
            self._request_arc_off(run)
            return
        running = fb["runtime_state"] == 2
        if not run.started:
            run.started = running
            return
        in_weld = (
            fb[run.block_key] > 0
            if run.block_key is not None
            else bool(fb["actual_digital_output_bits"] & run.arc_bit)
        )
        if running and in_weld and fb["target_speed_fraction"] < 1.0 - 1e-6:
            # the slider scales the travel speed but not the power source's wire feed: a weld that
            # goes on slower is a different weld (undercut, excess fill); stop it, arc off
            h._finish(
                ExecutionResult(
                    ExecutionOutcome.FAULTED,
                    run.index,
                    float(run.index),
                    f"speed slider at {fb['target_speed_fraction'] * 100:.0f} % while the arc is on (program "
                    "mode holds it at 100 %: the travel speed would no longer match the weld procedure); "
                    "program stopped, arc off",
                    "speed_slider",
                )
            )
            self._request_arc_off(run)
            threading.Thread(
                target=self._stop_quietly, args=(run,), name="ur-program-stop", daemon=True
            ).start()
            return
        # nearest sample to actual_q in a forward window (vectorised; monotone by construction)
        lo = run.index
        hi = min(lo + run.window, h.end_index)
        d = np.square(run.q[lo:hi] - np.asarray(fb["actual_q"], dtype=np.float64)).sum(axis=1)
        k = lo + int(np.argmin(d))
        if k > run.index:
            run.index = k
            h._update(float(k))
        if running:
            return
        last = h.end_index - 1
        err = float(np.max(np.abs(run.q[last] - np.asarray(fb["actual_q"], dtype=np.float64))))
        if h.stop_requested:
            result = ExecutionResult(ExecutionOutcome.STOPPED, run.index, float(run.index), "stop requested")
        elif err < 1e-4 and run.index >= run.final_from - run.end_slack:
            # at the last pose, and progress reached the final move: the last motion command's target
            # is written with 6 decimals, so a sample just before the final rest can be the nearest
            result = ExecutionResult(ExecutionOutcome.COMPLETED, last, float(last))
        else:
            reason = self._error_messages() or "the weld program ended before the last sample"
            result = ExecutionResult(
                ExecutionOutcome.FAULTED, run.index, float(run.index), reason, "program_stopped"
            )
            self._request_arc_off(run)
        h._finish(result)
