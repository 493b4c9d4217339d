"""Replay an exported URScript program on the virtual UR controller and compare it with the plan.

:func:`replay_program` runs the program text on a :class:`~weldcell.drivers.ur.virtual.core.ControllerCore`
(the arm at the trajectory's first sample, the arc output looped back to the arc-established input
after ``arc_delay``), records ``actual_q`` and the arc output every controller cycle, and
:func:`compare_with_plan` measures what matters for the weld: for every arc-on run of the replay,
the nearest-point distance between the TCP path (controller forward kinematics of the replayed
joints) and the plan's weld TCP poses, both ways, and the cycle time against the planned one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.drivers.ur import models
from weldcell.drivers.ur.program.export import ExportError, weld_blocks
from weldcell.drivers.ur.program.export_motion import densify, nearest_distance
from weldcell.drivers.ur.virtual.core import ControllerCore, CoreConfig, SafetyMode
from weldcell.drivers.ur.virtual.motion import tcp_positions
from weldcell.trajectory import JointTrajectory

NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What the virtual controller did.

    Attributes:
        q: ``actual_q`` per controller cycle [rad], shape (K, 6).
        arc: Arc output per cycle, shape (K,).
        cycle: Controller cycle [s].
        duration: Program run time [s] (start to end).
        finished: The program ended normally (no popup, no safety stop, not cut off at ``max_time``).
        messages: Controller log.
        popup: Last popup text ("" if none).
    """

    q: NDArrayF
    arc: npt.NDArray[np.bool_]
    cycle: float
    duration: float
    finished: bool
    messages: tuple[str, ...]
    popup: str


@dataclass(frozen=True, slots=True)
class ReplayComparison:
    """Replay against plan.

    Attributes:
        weld_deviation: Largest TCP distance [m] between replayed and planned weld path, per weld block.
        max_deviation: The largest of them [m].
        cycle_time: Replayed duration [s].
        planned_cycle_time: Trajectory duration [s].
    """

    weld_deviation: tuple[float, ...]
    max_deviation: float
    cycle_time: float
    planned_cycle_time: float

    @property
    def cycle_time_error(self) -> float:
        """Relative cycle time difference (replay / plan - 1)."""
        return self.cycle_time / self.planned_cycle_time - 1.0


def replay_program(
    text: str,
    traj: JointTrajectory,
    *,
    arc_do: int = 0,
    arc_di: int = 0,
    arc_delay: float = 0.05,
    speed_slider: float = 1.0,
    max_time: float | None = None,
    q_start: npt.ArrayLike | None = None,
    version: tuple[int, int, int, int] = (5, 11, 1, 108318),
) -> ReplayResult:
    """Run ``text`` on a virtual controller for ``traj.robot`` standing at ``traj.q[0]``.

    Args:
        text: URScript program.
        traj: The trajectory it was exported from (robot, start position).
        arc_do: Arc-on output (looped back to ``arc_di``).
        arc_di: Arc-established input.
        arc_delay: Delay of the loop-back [s] (arc ignition time).
        speed_slider: Speed slider fraction during the run.
        max_time: Stop after this much controller time [s] (default 1.5 × planned duration + 10 s).
        q_start: Joint positions the arm stands at [rad] (6,) (default: the first sample).
        version: Controller software version (major 3: CB3, 8 ms cycle).

    Raises:
        ExportError: the program does not start (compile error, robot model unknown).
    """
    core = ControllerCore(
        CoreConfig(
            arm=traj.robot,
            version=version,
            q_home=tuple(float(x) for x in (traj.q[0] if q_start is None else np.asarray(q_start))),
            arc_loopback=(arc_do, arc_di, arc_delay),
        )
    )
    core.speed_slider = float(speed_slider)
    err = core.start_program(text, "weldcell_export")
    if err is not None:
        raise ExportError(f"the virtual controller does not run the program: {err}")
    limit = max_time if max_time is not None else 1.5 * traj.duration + 10.0
    n_max = int(limit / core.cycle) + 1
    q = np.empty((n_max, 6))
    arc = np.empty(n_max, dtype=bool)
    k = 0
    mask = 1 << arc_do
    while core.program_running and k < n_max:
        core.step()
        q[k] = core.actual_q
        arc[k] = bool(core.digital_out & mask)
        k += 1
    finished = (
        not core.program_running
        and core.popup == ""
        and core.safety_mode == SafetyMode.NORMAL
        and any("stopped: finished" in m for m in core.log[-3:])
    )
    return ReplayResult(
        q[:k].copy(), arc[:k].copy(), core.cycle, k * core.cycle, finished, tuple(core.log), core.popup
    )


def compare_with_plan(traj: JointTrajectory, replay: ReplayResult) -> ReplayComparison:
    """Nearest-point TCP deviation per weld block and cycle time of a replay (see module docstring).

    Raises:
        ExportError: the replay has a different number of arc-on runs than the plan has weld blocks.
    """
    arm = models.get_arm(traj.robot)
    T_tcp = np.asarray(traj.T_flange_tcp, dtype=np.float64)
    T_plan = np.linalg.inv(traj.T_world_base) @ traj.T_world_tcp
    blocks = weld_blocks(traj)
    on = replay.arc.astype(np.int8)
    edges = np.diff(np.concatenate(([0], on, [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(starts) != len(blocks):
        raise ExportError(
            f"the replay switched the arc on {len(starts)} time(s); the plan has {len(blocks)} weld block(s)"
        )
    devs = []
    for b, s0, s1 in zip(blocks, starts.tolist(), ends.tolist(), strict=True):
        planned = T_plan[b.i_on : b.i_off + 1, :3, 3]
        got = tcp_positions(arm, replay.q[s0:s1], T_tcp)
        d = max(
            float(nearest_distance(planned, densify(got, 5e-6)).max()),
            float(nearest_distance(got, densify(planned, 5e-6)).max()),
        )
        devs.append(d)
    return ReplayComparison(tuple(devs), max(devs, default=0.0), replay.duration, traj.duration)
