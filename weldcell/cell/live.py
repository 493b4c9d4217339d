"""Live values of a running job for plant systems (OPC UA, dashboards): one :class:`LiveSample` per cell poll.

The cell's supervision loop hands each poll's sample to a sink (``CellController(on_sample=...)``)
that must only store it (no I/O on the loop thread, H9): :mod:`weldcell.cell.opcua` keeps the latest
one and publishes it from its own thread.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from weldcell.cell.monitor import SeamMonitor
    from weldcell.drivers.powersource.base import PowerSourceStatus
    from weldcell.trajectory import JointTrajectory

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LiveSample:
    """The cell at one poll of its supervision loop.

    Attributes:
        t: ``time.monotonic()`` of the poll [s].
        q: Actual joint positions [rad], shape (n_joints,).
        seam_id: Seam being welded (None between welds).
        seam_s: Arc length reached on that seam [m] (NaN between welds).
        travel_speed: Planned TCP speed at the commanded sample [m/s].
        arc_on: The power source reports a stable arc (False between welds).
        current: Actual welding current [A] (0 between welds).
        voltage: Actual welding voltage [V] (0 between welds).
        wire_feed: Actual wire feed speed [m/s] (0 between welds).
    """

    t: float
    q: NDArrayF
    seam_id: str | None
    seam_s: float
    travel_speed: float
    arc_on: bool
    current: float
    voltage: float
    wire_feed: float


def tcp_speed_at(traj: JointTrajectory, position: float) -> float:
    """Planned TCP speed [m/s] of ``traj`` at fractional sample index ``position`` (0 at its ends)."""
    n = traj.n_samples
    if n < 2 or not math.isfinite(position):
        return 0.0
    i = int(min(max(math.floor(position), 0), n - 2))
    d = traj.T_world_tcp[i + 1, :3, 3] - traj.T_world_tcp[i, :3, 3]
    return float(np.linalg.norm(d)) / traj.dt


def live_sample(
    traj: JointTrajectory,
    position: float,
    q: NDArrayF,
    status: PowerSourceStatus | None = None,
    monitor: SeamMonitor | None = None,
) -> LiveSample:
    """The sample of one poll: robot at ``q`` commanded at ``position`` of ``traj``; ``status`` and
    ``monitor`` while a seam is welded (None between welds)."""
    welding = status is not None and monitor is not None

    def val(x: float) -> float:
        return float(x) if welding and math.isfinite(x) else 0.0

    return LiveSample(
        t=time.monotonic(),
        q=np.array(q, dtype=np.float64),
        seam_id=monitor.step.seam_id if monitor is not None else None,
        seam_s=float(monitor.s_now) if monitor is not None else math.nan,
        travel_speed=tcp_speed_at(traj, position),
        arc_on=bool(status.arc_stable) if status is not None and welding else False,
        current=val(status.current) if status is not None else 0.0,
        voltage=val(status.voltage) if status is not None else 0.0,
        wire_feed=val(status.wire_feed) if status is not None else 0.0,
    )
