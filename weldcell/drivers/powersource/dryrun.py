"""Arc disabled: the power-source interface of a dry run (weld-off mode), no machine attached.

A welding robot is commonly run through a job with the arc disabled to prove the path, the
approaches and the timing before the first part is welded. :class:`ArcDisabled` lets the cell
controller do exactly that through its normal sequence (interlocks, arc handshake, supervision,
weld log): a weld start is acknowledged at once as "arc stable" and "motion release" without any
current, so the robot follows the seams at the programmed speed; dropping weld start ends the
"process" at once. The status reports no current, voltage or wire feed (0), and never an error.
"""

from __future__ import annotations

import threading
import time

from weldcell.drivers.powersource.base import PowerSource, PowerSourceStatus, WeldParams, WireDirection


class ArcDisabled(PowerSource):
    """A dry-run power source: the handshake succeeds at once, no arc, no current (see module docs)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._start = False
        self.params = WeldParams()
        self.weld_starts = 0  # diagnostics: weld starts acknowledged without an arc

    def _connect_internal(self, timeout: float | None) -> None:
        """Nothing to connect."""

    def _close_internal(self) -> None:
        with self._lock:
            self._start = False

    def select_job(self, job: int, timeout: float | None = 1.0) -> None:
        """Remember the job number (nothing is sent)."""
        self.params = WeldParams(job=job)

    def set_parameters(self, params: WeldParams, timeout: float | None = 1.0) -> None:
        """Remember the parameters (nothing is sent)."""
        self.params = params

    def start_weld(self, timeout: float | None = 1.0) -> None:
        """Acknowledge weld start: arc stable and motion release at once, without an arc."""
        with self._lock:
            self._start = True
            self.weld_starts += 1

    def stop_weld(self, timeout: float | None = 1.0) -> None:
        """Drop weld start: the dry-run process ends at once."""
        with self._lock:
            self._start = False

    def gas_test(self, on: bool, timeout: float | None = 1.0) -> None:
        """No gas in a dry run."""

    def wire_inch(self, direction: WireDirection | str, on: bool, timeout: float | None = 1.0) -> None:
        """No wire in a dry run."""

    def reset_error(self, timeout: float | None = 1.0) -> None:
        """Nothing to reset: a dry run has no errors."""

    def set_comm_timeout(self, seconds: float, timeout: float | None = 1.0) -> None:
        """Nothing burns when the PC dies in a dry run: accepted, no effect."""

    def status(self) -> PowerSourceStatus:
        """Ready; while weld start is raised: process active, arc stable, motion release; no current."""
        with self._lock:
            on = self._start
        return PowerSourceStatus(
            ready=not on,
            process_active=on,
            current_flow=False,
            arc_stable=on,
            motion_release=on,
            timestamp=time.monotonic(),
        )
