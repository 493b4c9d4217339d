"""Per-seam monitoring: process-signal sampling into the weld log, arc-loss detection, executed path.

A :class:`SeamMonitor` is fed one observation per cell poll while a seam's arc-on slice runs: the
robot's commanded sample (mapped to the planned trajectory's fractional index, hence to the seam
arc length), the robot's actual joint positions and the power source's status. It buffers the
process signals and writes them to the weld log in small committed batches, keeps the executed
path, and reports the first poll at which the arc is no longer stable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from weldcell.cell.logschema import SIGNAL_COLUMNS
from weldcell.cell.segments import SeamStep
from weldcell.cell.weldlog import WeldLog
from weldcell.drivers.powersource.base import PowerSourceStatus
from weldcell.trajectory import JointTrajectory

if TYPE_CHECKING:
    from weldcell.kinematics import Robot

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AttemptTrace:
    """What the robot did during one seam attempt (from the cell's polls).

    Attributes:
        seam_id: Seam.
        segment: Pass/stitch ordinal of the arc-on block.
        record: Weld-log seam record id.
        t: Poll times [s] (monotonic), shape (M,).
        s_cmd: Seam arc length of the commanded sample [m], shape (M,).
        q: Actual joint positions [rad], shape (M, n).
        arc: Arc stable at the poll, shape (M,).
    """

    seam_id: str
    segment: int
    record: int
    t: NDArrayF
    s_cmd: NDArrayF
    q: NDArrayF
    arc: npt.NDArray[np.bool_]

    def executed_s(self, traj: JointTrajectory, step: SeamStep) -> NDArrayF:
        """Seam arc length [m] of the *actual* robot positions: nearest planned sample of the seam block
        in joint space (independent of the commanded index), shape (M,)."""
        if self.q.shape[0] == 0:
            return np.zeros(0)
        block = traj.q[step.i0 : step.i1 + 1]
        _, idx = cKDTree(block).query(self.q)
        return np.asarray(traj.seam_s[step.i0 + np.asarray(idx)], dtype=np.float64)

    def welded_interval(self, traj: JointTrajectory, step: SeamStep) -> tuple[float, float] | None:
        """(first, last) executed seam arc length [m] with the arc stable, or None."""
        s = self.executed_s(traj, step)[self.arc]
        s = s[np.isfinite(s)]
        if s.size == 0:
            return None
        return float(s.min()), float(s.max())


class SeamMonitor:
    """Collects one seam attempt's observations and writes the signals to the weld log.

    Args:
        log: The weld log.
        record: Seam record id.
        traj: Planned trajectory.
        step: The arc-on block being welded.
        index_map: Fractional index into ``traj`` of each sample of the running slice, shape (K,), or
            None when the slice is ``traj`` itself.
        flush_period: Time between committed signal batches [s].
    """

    def __init__(
        self,
        log: WeldLog,
        record: int,
        traj: JointTrajectory,
        step: SeamStep,
        index_map: NDArrayF | None,
        flush_period: float = 0.25,
    ) -> None:
        self.log = log
        self.record = record
        self.traj = traj
        self.step = step
        self.index_map = None if index_map is None else np.asarray(index_map, dtype=np.float64)
        self.flush_period = flush_period
        self._rows: list[tuple[float, ...]] = []  # one per poll, in logschema.SIGNAL_COLUMNS order
        self._last_flush = time.monotonic()
        self._t: list[float] = []
        self._s: list[float] = []
        self._q: list[NDArrayF] = []
        self._arc: list[bool] = []
        self._robot_arc: list[tuple[float, bool]] = []  # (seam arc length [m], robot arc output on)
        self.s_now = float(np.nan)
        self.s_max = float(step.s0)

    def seam_s_at(self, position: float) -> float:
        """Seam arc length [m] at path ``position`` (fractional sample index) of the running slice."""
        if self.index_map is None:
            u = float(np.clip(position, 0, self.traj.n_samples - 1))
        else:
            m = self.index_map
            u = float(np.interp(position, np.arange(m.shape[0]), m))
        lo = int(np.floor(u))
        hi = min(lo + 1, self.traj.n_samples - 1)
        a, b = self.traj.seam_s[lo], self.traj.seam_s[hi]
        if not np.isfinite(b):
            return float(a)
        w = u - lo
        return float((1 - w) * a + w * b)

    def observe(
        self, position: float, q: NDArrayF, st: PowerSourceStatus, robot_arc: bool | None = None
    ) -> float:
        """Record one poll at path ``position`` of the running slice. Returns the seam arc length [m].

        ``robot_arc``: the robot controller's arc output as it reports it (None: it drives none).
        """
        s = self.seam_s_at(position)
        if robot_arc is not None:
            self._robot_arc.append((s, robot_arc))
        now = time.time()
        self.s_now = s
        if np.isfinite(s):
            self.s_max = self.step.further(self.s_max, s)
        sample = {
            "t": now,
            "seam_s": s,
            "current": st.current,
            "voltage": st.voltage,
            "wire_feed": st.wire_feed,
        }
        self._rows.append(tuple(sample[c.name] for c in SIGNAL_COLUMNS))  # the log's column order
        self._t.append(time.monotonic())
        self._s.append(s)
        self._q.append(np.array(q, dtype=np.float64))
        self._arc.append(bool(st.arc_stable))
        if time.monotonic() - self._last_flush >= self.flush_period:
            self.flush()
        return s

    def flush(self) -> None:
        """Commit the buffered signal samples (and the progress) to the log."""
        if self._rows:
            self.log.add_signals(self.record, np.array(self._rows), s_reached=self.s_max)
            self._rows.clear()
        self._last_flush = time.monotonic()

    def robot_arc_summary(self) -> dict[str, float | int] | None:
        """What the robot controller reported of its arc output during the attempt: polls, polls with
        the output on, and the first/last seam arc length [m] with it on; None when not observed."""
        if not self._robot_arc:
            return None
        on = [s for s, v in self._robot_arc if v and np.isfinite(s)]
        out: dict[str, float | int] = {
            "polls": len(self._robot_arc),
            "polls_on": sum(1 for _, v in self._robot_arc if v),
        }
        if on:
            out["s_first_on"] = float(min(on))
            out["s_last_on"] = float(max(on))
        return out

    def trace(self) -> AttemptTrace:
        """The executed path so far."""
        n = len(self.traj.joint_names)
        return AttemptTrace(
            self.step.seam_id,
            self.step.segment,
            self.record,
            np.array(self._t),
            np.array(self._s),
            np.array(self._q).reshape(-1, n),
            np.array(self._arc, dtype=bool),
        )

    def deviation(self, robot: Robot | None) -> tuple[float | None, float | None]:
        """Planned-vs-executed TCP path deviation (max, RMS) [m] over the arc-on polls.

        The actual TCP positions (forward kinematics of the actual joints) are compared with the
        nearest point of the planned TCP path of the seam block (sampled every controller period,
        i.e. well below 0.1 mm at welding speeds). None without a kinematic model.
        """
        tr = self.trace()
        if robot is None or not tr.arc.any():
            return None, None
        T = self.traj.T_world_base @ robot.fk(tr.q[tr.arc]) @ self.traj.T_flange_tcp
        planned = self.traj.T_world_tcp[self.step.i0 : self.step.i1 + 1, :3, 3]
        d, _ = cKDTree(planned).query(T[:, :3, 3])
        d = np.asarray(d, dtype=np.float64)
        return float(d.max()), float(np.sqrt(np.mean(d * d)))
