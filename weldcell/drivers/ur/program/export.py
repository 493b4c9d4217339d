"""Export a validated :class:`JointTrajectory` as URScript (``weldcell export --format urscript``).

The program can be loaded on the pendant or sent to the controller's script port. It defines the
job function ``def weldcell_job(): … end`` and calls it on its last line. Layout:

- ``set_tcp`` with the trajectory's TCP, arc output off, ``movej`` to the first sample;
- **transits** (arc off): ``movej`` through joint-space way points (a Ramer-Douglas-Peucker fit
  within ``transit_tolerance`` of the plan) at the plan's speed, with **blend radii** so the arm does
  not stop at every way point. The radii are checked with the virtual controller's blend model
  (:mod:`weldcell.drivers.ur.virtual.motion`): the blended joint path stays within
  ``transit_corridor`` of the validated path and within the joint speed limits (a radius is halved
  where it does not), and it is 0 on the move that reaches an arc start (FINE: the arm stops there);
- **welds** (arc on): weld parameters to the power source through the cell's I/O map (job bits and
  analog set-points, ``weldcell.drivers.powersource.IoMap``), arc output on only after the arm
  stands at the arc-start position, wait for "arc established" (timeout: arc off, popup, halt), the
  rest of the planned arc-start dwell, the weld motion, the crater fill (its set-points, if wired),
  arc output off at the arc end;
- **weld motion**: lines and arcs as ``movel``/``movec`` at the programmed travel speed, blended
  (``r`` > 0) between consecutive pieces. The trajectory format carries no segment geometry, so the
  pieces are *fitted* to the planned TCP samples: every sample lies within ``fit_tolerance``
  (0.05 mm) of its piece and within ``orientation_tolerance`` of the interpolated orientation, and
  the timed, blended path of the emitted moves (virtual controller model) stays within
  ``weld_tolerance`` (0.1 mm) of every planned weld sample. Where that fails (weave: URScript has no
  documented weave primitive), the weld is a **compact servo table**: ``servoj`` set-points at a
  subset of the samples whose linear joint interpolation reproduces every planned TCP position
  within ``servo_tolerance``;
- **checks during a weld** (``wc_check``, every ``arc_check_interval`` of weld time, between moves):
  arc established still on, and the target TCP speed not below ``speed_check_fraction`` of the
  planned speed. The **speed slider** cannot be set from URScript and scales every motion; the
  program therefore requires it at 100 % while the arc is on: a lower speed ends the weld (arc
  off, stop, popup, halt) instead of welding slower than the procedure.

A program above ``max_lines`` (5,000 by default, a common limit of UR post-processors) is refused, or
with ``split`` written as several programs cut at arc-off points (each starts where the previous
one ended).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from weldcell.drivers.external_export import refuse_external
from weldcell.drivers.powersource.io import IoMap
from weldcell.drivers.ur import models
from weldcell.drivers.ur.program.export_motion import (
    ChainMove,
    chain,
    decimate_servo,
    densify,
    fit_pieces,
    nearest_distance,
    rebalance,
    split_piece,
    tangent_angle,
)
from weldcell.drivers.ur.program.export_params import (
    ExportError,
    WeldBlock,
    WeldSetting,
    param_lines,
    weld_settings_from_program,
)
from weldcell.drivers.ur.streaming.servo_program import IN_ALIVE
from weldcell.drivers.ur.virtual.motion import fk_batch, joint_blend_length
from weldcell.trajectory import JointTrajectory, load_trajectory
from weldcell.trajectory.io import find_program
from weldcell.trajectory.stamp import FROM_ENVIRONMENT, KeySource, StampKey, verify_stamp

NDArrayF = npt.NDArray[np.float64]

__all__ = [
    "DEFAULT_MAX_LINES",
    "ExportError",
    "ExportSummary",
    "JointLimits",
    "SeamReport",
    "UrExportOptions",
    "WeldBlock",
    "WeldSetting",
    "check_trajectory",
    "export_summary",
    "export_urscript",
    "joint_limits_for",
    "simplify_joint_path",
    "urscript_from_trajectory",
    "weld_blocks",
    "weld_settings_from_program",
]

#: Default program size limit [lines] (common UR post-processors split programs at about 5,000 lines).
DEFAULT_MAX_LINES = 5000


@dataclass(frozen=True, slots=True)
class UrExportOptions:
    """Options of the URScript export.

    Attributes:
        arc_do: Standard digital output that switches the arc on.
        arc_di: Standard digital input that reports "arc established".
        arc_timeout: Longest wait for arc established after arc on [s].
        arc_poll: Poll period of that wait [s].
        arc_check_interval: Weld time between two arc/speed checks [s]; 0 switches them off.
        fit_tolerance: Largest distance of a weld sample from its fitted line/arc [m].
        orientation_tolerance: Largest torch orientation difference from the fitted move [rad].
        weld_tolerance: Largest distance of the exported weld path from the planned one [m].
        servo_tolerance: Largest TCP error of the servo table's interpolation [m].
        max_servo_period: Longest time between two servo set-points [s].
        lookahead_time: servoj look-ahead time [s] (UR range 0.03 … 0.2).
        gain: servoj proportional gain (UR range 100 … 2000).
        transit_tolerance: Largest joint-space deviation of the movej polyline from the plan [rad].
        transit_corridor: Largest joint-space deviation of the blended transit path from the plan [rad].
        max_transit_blend: Largest transit blend radius [m].
        speed_check_fraction: A weld is stopped below this fraction of the planned TCP speed.
        servo_speed_check_fraction: The same in servo tables (weave), looser: a real controller's
            servo filtering (look-ahead) shapes the speed at weave reversals.
        stop_acceleration: Joint deceleration of stopj [rad/s²].
        max_lines: Program size limit [lines].
        split: Above ``max_lines``, write several programs instead of refusing.
        io_map: Power-source wiring for the weld parameters (job bits, analog set-points).
        use_jobs: Select the procedure's job number (job bits) instead of sending set-points.
        program_name: Name of the URScript job function.
        call_at_end: End the text with the call of the job function (a program file for the pendant);
            False for the secondary/primary script port, where the controller runs a lone
            ``def … end`` itself and would take a trailing call for a second program.
        arc_enabled: False writes a dry run: the arc output is never switched on and nothing waits
            for or checks "arc established" (dwell times, motion and speed checks stay).
        arc_request_register: Raise this RTDE output boolean register (64 … 127) as the arc request
            instead of the digital output ``arc_do`` (a fieldbus power source that the PC switches);
            used together with ``arc_established_register``. After the arc off the program then
            waits up to ``arc_timeout`` for "arc established" to drop (the PC has seen the current
            stop and the wire free) before it moves on.
        arc_established_register: Read "arc established" from this RTDE input boolean register
            (64 … 127, written by the PC that talks to a fieldbus power source) instead of the
            digital input ``arc_di``. None: the digital input.
        progress_register: RTDE output integer register (0 … 47) the program writes its weld block
            to: k + 1 from the arc-on point of the k-th weld block (k = 0, 1, …) to its arc-off point,
            0 elsewhere; -1 once the job is done. None: not written.
        pc_watchdog_hz: Arm the controller's RTDE watchdog on the PC's alive counter (input int
            register 32, incremented in every package by the weldcell driver): the program stops
            when the PC falls silent for ``1 / pc_watchdog_hz`` s. None: no watchdog (pendant use).
    """

    arc_do: int = 0
    arc_di: int = 0
    arc_timeout: float = 2.0
    arc_poll: float = 0.01
    arc_check_interval: float = 0.5
    fit_tolerance: float = 5e-5
    orientation_tolerance: float = math.radians(0.5)
    weld_tolerance: float = 1e-4
    servo_tolerance: float = 5e-5
    max_servo_period: float = 0.2
    lookahead_time: float = 0.03
    gain: float = 300.0
    transit_tolerance: float = 1e-3
    transit_corridor: float = 3e-3
    max_transit_blend: float = 0.05
    speed_check_fraction: float = 0.95
    servo_speed_check_fraction: float = 0.8
    stop_acceleration: float = 4.0
    max_lines: int = DEFAULT_MAX_LINES
    split: bool = False
    io_map: IoMap = field(default_factory=IoMap)
    use_jobs: bool = False
    program_name: str = "weldcell_job"
    call_at_end: bool = True
    arc_enabled: bool = True
    arc_request_register: int | None = None
    arc_established_register: int | None = None
    progress_register: int | None = None
    pc_watchdog_hz: float | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.arc_do <= 7 and 0 <= self.arc_di <= 7):
            raise ExportError(
                f"standard digital I/O numbers must be 0 … 7, got DO {self.arc_do}, DI {self.arc_di}"
            )
        for name, value, low_ok in (
            ("arc_timeout", self.arc_timeout, False),
            ("arc_poll", self.arc_poll, False),
            ("arc_check_interval", self.arc_check_interval, True),
            ("fit_tolerance", self.fit_tolerance, False),
            ("orientation_tolerance", self.orientation_tolerance, False),
            ("weld_tolerance", self.weld_tolerance, False),
            ("servo_tolerance", self.servo_tolerance, False),
            ("max_servo_period", self.max_servo_period, False),
            ("transit_tolerance", self.transit_tolerance, False),
            ("transit_corridor", self.transit_corridor, False),
            ("max_transit_blend", self.max_transit_blend, True),
            ("stop_acceleration", self.stop_acceleration, False),
        ):
            if not (value >= 0 if low_ok else value > 0):  # also rejects NaN
                raise ExportError(f"{name} {value}: expected a number {'>=' if low_ok else '>'} 0")
        if not 0.03 <= self.lookahead_time <= 0.2:
            raise ExportError(f"servoj lookahead_time {self.lookahead_time} s is outside UR's 0.03 … 0.2 s")
        if not 100 <= self.gain <= 2000:
            raise ExportError(f"servoj gain {self.gain} is outside UR's 100 … 2000")
        if self.fit_tolerance >= self.weld_tolerance or self.servo_tolerance > self.weld_tolerance:
            raise ExportError(
                f"fit_tolerance {self.fit_tolerance} m and servo_tolerance {self.servo_tolerance} m must be "
                f"below weld_tolerance {self.weld_tolerance} m"
            )
        if self.transit_corridor < self.transit_tolerance:
            raise ExportError(
                f"transit_corridor {self.transit_corridor} rad must be at least transit_tolerance "
                f"{self.transit_tolerance} rad"
            )
        for name, f in (
            ("speed_check_fraction", self.speed_check_fraction),
            ("servo_speed_check_fraction", self.servo_speed_check_fraction),
        ):
            if not 0 < f <= 1:
                raise ExportError(f"{name} {f}: expected 0 < f <= 1")
        if not (isinstance(self.max_lines, int) and self.max_lines >= 100):
            raise ExportError(f"max_lines {self.max_lines}: expected an integer >= 100")
        if self.arc_established_register is not None and not 64 <= self.arc_established_register <= 127:
            raise ExportError(
                f"arc_established_register {self.arc_established_register}: expected an RTDE input "
                "boolean register 64 … 127 (the range for external RTDE clients)"
            )
        if self.arc_request_register is not None and not 64 <= self.arc_request_register <= 127:
            raise ExportError(
                f"arc_request_register {self.arc_request_register}: expected an RTDE output boolean register "
                "64 … 127"
            )
        if self.progress_register is not None and not 0 <= self.progress_register <= 47:
            raise ExportError(
                f"progress_register {self.progress_register}: expected an RTDE output integer register 0 … 47"
            )
        if self.pc_watchdog_hz is not None and not (
            math.isfinite(self.pc_watchdog_hz) and self.pc_watchdog_hz > 0
        ):
            raise ExportError(f"pc_watchdog_hz {self.pc_watchdog_hz}: expected a rate > 0 Hz")
        if not self.program_name.isidentifier():
            raise ExportError(f"program name {self.program_name!r} is not a valid URScript identifier")
        used = [b for b in self.io_map.job_bits]
        if self.arc_do in used or len(set(used)) != len(used) or any(not 0 <= b <= 7 for b in used):
            raise ExportError(
                f"job bits {list(used)} must be distinct standard outputs 0 … 7 other than the arc output "
                f"DO {self.arc_do}"
            )
        for ch in (self.io_map.wire_feed, self.io_map.voltage, self.io_map.current):
            if ch is not None and ch.index not in (0, 1):
                raise ExportError(f"analog channel {ch.index}: UR standard analog outputs are 0 and 1")


@dataclass(frozen=True, slots=True)
class JointLimits:
    """Joint limits the export enforces: positions [rad] and speeds [rad/s], each shape (n,)."""

    q_lower: NDArrayF
    q_upper: NDArrayF
    qd_max: NDArrayF


@dataclass(frozen=True, slots=True)
class SeamReport:
    """How one weld block was exported.

    Attributes:
        seam_id: Seam.
        mode: ``"movel"`` (lines/arcs) or ``"servo"`` (servo table).
        moves: Number of motion commands.
        deviation: Largest distance of the exported path from the planned one [m] (export model).
        unsent: Programmed parameters the I/O map cannot carry (names).
        nominal_mismatch: Largest distance [m] between the planned joints' TCP on this controller's
            kinematics and the plan's nominal weld TCP poses (large: planning and controller models
            differ, or the trajectory carries no real TCP poses).
    """

    seam_id: str
    mode: str
    moves: int
    deviation: float
    unsent: tuple[str, ...] = ()
    nominal_mismatch: float = 0.0


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What was written.

    Attributes:
        path: The program file (the first part when split).
        parts: Every program file written, in run order.
        lines: Lines in total.
        n_bytes: Bytes in total.
        movej / movel / movec / servoj: Motion commands of each kind.
        seams: Seam ids in weld order.
        cycle_time: Estimated cycle time [s] (virtual controller motion model; arc ignition within
            the planned arc-start dwell).
        planned_cycle_time: Duration of the trajectory [s].
        seam_reports: Per weld block: mode, moves, deviation.
        weld_parameters: Whether weld parameters are in the program.
    """

    path: Path | None
    parts: tuple[Path, ...]
    lines: int
    n_bytes: int
    movej: int
    movel: int
    movec: int
    servoj: int
    seams: tuple[str, ...]
    cycle_time: float
    planned_cycle_time: float
    seam_reports: tuple[SeamReport, ...] = ()
    weld_parameters: bool = True


def joint_limits_for(robot: str) -> JointLimits:
    """Joint limits of a weldcell robot model (``weldcell.kinematics.load_robot``)."""
    try:
        from weldcell.kinematics import load_robot
    except ImportError as err:
        raise ExportError(
            f"joint limits of {robot!r} are unknown: weldcell.kinematics.load_robot is not available"
        ) from err
    r = load_robot(robot)
    return JointLimits(
        np.asarray(r.q_lower, float), np.asarray(r.q_upper, float), np.asarray(r.qd_max, float)
    )


# --- analysis ----------------------------------------------------------------------------------
def weld_blocks(traj: JointTrajectory) -> tuple[WeldBlock, ...]:
    """Arc-on runs of the trajectory, checked against its arc events.

    Raises:
        ExportError: arc events that do not match the arc-on samples, or arc on/off while moving.
    """
    blocks: list[WeldBlock] = []
    for seg in traj.arc_segments():
        blocks.append(WeldBlock(seg.first, seg.last, seg.seam_id or f"segment{len(blocks) + 1}"))
    if traj.events:
        kinds = [e.kind for e in traj.events]
        if kinds != ["arc_on", "arc_off"] * len(blocks):
            raise ExportError(
                f"arc events {kinds} do not match the {len(blocks)} arc-on segment(s) of the trajectory"
            )
        tol = 1.5 * traj.dt
        for k, (b, e_on, e_off) in enumerate(zip(blocks, traj.events[0::2], traj.events[1::2], strict=True)):
            t_on, t_off = float(traj.t[b.i_on]), float(traj.t[b.i_off])
            if abs(e_on.t - t_on) > tol or abs(e_off.t - t_off) > tol:
                raise ExportError(
                    f"seam {e_on.seam_id}: arc events at {e_on.t:.4f}/{e_off.t:.4f} s do not match the "
                    f"arc-on samples {t_on:.4f} … {t_off:.4f} s"
                )
            blocks[k] = WeldBlock(b.i_on, b.i_off, e_on.seam_id)
    return tuple(blocks)


def check_trajectory(traj: JointTrajectory, limits: JointLimits, servo_stride: int = 1) -> None:
    """Refuse a trajectory a UR controller must not run.

    Checks: a 6-axis UR model, finite values, joint positions inside the limits, planned speeds and
    the speeds implied by the servoj table within ``qd_max``.

    Raises:
        ExportError: naming the joint, the time and the limit.
    """
    n = traj.q.shape[1]
    if not traj.robot.lower().startswith("ur") or n != 6:
        raise ExportError(
            f"URScript export needs a 6-axis Universal Robots model, got {traj.robot!r} ({n} joints)"
        )
    for name, arr in (("q_lower", limits.q_lower), ("q_upper", limits.q_upper), ("qd_max", limits.qd_max)):
        if np.shape(arr) != (n,):
            raise ExportError(f"joint limit {name} must have shape ({n},), got {np.shape(arr)}")
    if not (np.all(np.isfinite(traj.q)) and np.all(np.isfinite(traj.qd))):
        raise ExportError("trajectory contains NaN or infinite joint values")
    eps = 1e-9
    bad = (traj.q < limits.q_lower - eps) | (traj.q > limits.q_upper + eps)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ExportError(
            f"joint {j + 1} ({traj.joint_names[j]}) = {traj.q[i, j]:.4f} rad at t = {traj.t[i]:.3f} s "
            "is outside "
            f"{limits.q_lower[j]:.4f} … {limits.q_upper[j]:.4f} rad"
        )
    fast = np.abs(traj.qd) > limits.qd_max * (1 + 1e-6)
    if fast.any():
        i, j = np.argwhere(fast)[0]
        raise ExportError(
            f"joint {j + 1} ({traj.joint_names[j]}) speed {abs(traj.qd[i, j]):.3f} rad/s "
            f"at t = {traj.t[i]:.3f} s "
            f"exceeds {limits.qd_max[j]:.3f} rad/s"
        )
    if traj.n_samples > servo_stride:
        step = np.abs(np.diff(traj.q[::servo_stride], axis=0)) / (servo_stride * traj.dt)
        over = step > limits.qd_max * 1.05
        if over.any():
            i, j = np.argwhere(over)[0]
            raise ExportError(
                f"joint {j + 1} ({traj.joint_names[j]}) moves {step[i, j]:.3f} rad/s "
                "between servo samples near "
                f"t = {traj.t[i * servo_stride]:.3f} s, above {limits.qd_max[j]:.3f} rad/s"
            )


def simplify_joint_path(q: NDArrayF, tolerance: float) -> list[int]:
    """Indices of waypoints whose straight joint-space segments stay within ``tolerance`` of ``q``.

    Ramer-Douglas-Peucker on the Euclidean joint-space distance from each sample to its segment.

    Args:
        q: Joint path [rad], shape (M, n).
        tolerance: Largest allowed distance [rad].

    Returns:
        Sorted indices into ``q``, always containing 0 and M - 1.
    """
    m = q.shape[0]
    if m <= 2:
        return list(range(m))
    keep = np.zeros(m, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, m - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        seg = q[b] - q[a]
        pts = q[a + 1 : b] - q[a]
        L2 = float(seg @ seg)
        if L2 > 0:
            s = np.clip(pts @ seg / L2, 0.0, 1.0)
            d = np.linalg.norm(pts - s[:, None] * seg, axis=1)
        else:
            d = np.linalg.norm(pts, axis=1)
        k = int(np.argmax(d))
        if d[k] > tolerance:
            mid = a + 1 + k
            keep[mid] = True
            stack.extend(((a, mid), (mid, b)))
    return np.flatnonzero(keep).tolist()


# --- emission --------------------------------------------------------------------------------------
def _fmt_q(q: NDArrayF) -> str:
    return "[" + ", ".join(f"{float(x):.6f}" for x in q) + "]"


def _fmt_pose(T: NDArrayF) -> str:
    p = models.pose_from_matrix(T)
    return "p[" + ", ".join(f"{float(x):.6f}" for x in p) + "]"


def _fmt(x: float, digits: int = 4) -> str:
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _text(s: str) -> str:
    return '"' + s.replace("\\", "/").replace('"', "'") + '"'


@dataclass
class _Section:
    """Program lines of one transit or weld, with their estimated duration [s]."""

    kind: str  # "transit" or "weld"
    lines: list[str]
    duration: float
    start_q: NDArrayF
    counts: dict[str, int] = field(default_factory=dict)
    report: SeamReport | None = None


@dataclass(frozen=True, slots=True)
class _Built:
    parts: tuple[str, ...]
    sections: tuple[_Section, ...]
    blocks: tuple[WeldBlock, ...]


class _Context:
    """Shared data of one export: trajectory, options, controller-side kinematics, plan TCP poses."""

    def __init__(self, traj: JointTrajectory, opt: UrExportOptions, limits: JointLimits) -> None:
        self.traj, self.opt, self.limits = traj, opt, limits
        if traj.robot not in models.ARMS:
            raise ExportError(
                f"URScript export: no controller model for {traj.robot!r}; known: {sorted(models.ARMS)}"
            )
        self.arm = models.get_arm(traj.robot)
        self.T_tcp = np.asarray(traj.T_flange_tcp, dtype=np.float64)
        # the path to reproduce: the planned joints through the controller's own kinematics (what
        # streaming the plan does on this controller), T_base_tcp per sample; the plan's nominal TCP
        # poses are compared with it per weld (SeamReport.nominal_mismatch)
        self.T_plan = np.asarray(fk_batch(self.arm, traj.q) @ self.T_tcp, dtype=np.float64)
        self.T_nominal = np.asarray(np.linalg.inv(traj.T_world_base) @ traj.T_world_tcp, dtype=np.float64)

    def tcp(self, q: NDArrayF) -> NDArrayF:
        T = fk_batch(self.arm, q)
        return np.asarray(T[:, :3, :3] @ self.T_tcp[:3, 3] + T[:, :3, 3], dtype=np.float64)


def _transit(ctx: _Context, i0: int, i1: int) -> _Section:
    """Blended movej moves from sample i0 to i1 (at rest at both ends; 0 blend on the last move)."""
    traj, opt = ctx.traj, ctx.opt
    seg = traj.q[i0 : i1 + 1]
    idx = simplify_joint_path(seg, opt.transit_tolerance)
    if len(idx) < 2:
        return _Section("transit", [], 0.0, traj.q[i0])
    wp = seg[idx]
    n = len(idx) - 1
    lead = [int(np.argmax(np.abs(wp[k + 1] - wp[k]))) for k in range(n)]
    # planned speed of the leading joint on each segment; acceleration: the transit's largest
    # cruise speed: the planned mean speed of the leading joint over the segment (its planned
    # duration), the planned peak on the first and last segment (from / to rest)
    length = np.array([float(np.max(np.abs(wp[k + 1] - wp[k]))) for k in range(n)])
    span = np.diff(np.asarray(idx)) * traj.dt
    peak = np.array(
        [float(np.abs(traj.qd[i0 + idx[k] : i0 + idx[k + 1] + 1, lead[k]]).max()) for k in range(n)]
    )
    v = np.maximum(np.where((np.arange(n) == 0) | (np.arange(n) == n - 1), peak, length / span), 0.02)
    acc = np.array([max(float(np.abs(traj.qdd[i0 : i1 + 1, lead[k]]).max()), 0.5) for k in range(n)])
    chord = np.linalg.norm(np.diff(ctx.tcp(wp), axis=0), axis=1)
    radii = np.zeros(n)
    for k in range(n - 1):
        radii[k] = min(opt.max_transit_blend, 0.45 * float(min(chord[k], chord[k + 1])))
    planned = cKDTree(densify(seg, opt.transit_tolerance / 10))
    qd_ok = ctx.limits.qd_max * 0.98
    for _ in range(16):
        moves = [
            ChainMove(
                wp[k],
                wp[k + 1],
                float(np.max(np.abs(wp[k + 1] - wp[k]))),
                float(v[k]),
                float(acc[k]),
                joint_blend_length(ctx.arm, ctx.T_tcp, wp[k], wp[k + 1], float(radii[k])),
            )
            for k in range(n)
        ]
        qs, t_start, total, profiles = chain(moves, traj.dt)
        dev, _ = planned.query(qs)
        speed = np.abs(np.diff(qs, axis=0)) / traj.dt
        bad_t = (
            np.concatenate(
                [np.flatnonzero(dev > opt.transit_corridor), np.flatnonzero((speed > qd_ok).any(axis=1))]
            )
            * traj.dt
        )
        if bad_t.size == 0:
            break
        hit = np.zeros(n, dtype=bool)
        for k in range(n - 1):
            if radii[k] > 0:
                b0 = t_start[k] + profiles[k].decel_start
                b1 = t_start[k] + profiles[k].duration
                hit[k] = bool(np.any((bad_t >= b0 - 2 * traj.dt) & (bad_t <= b1 + 2 * traj.dt)))
        if not hit.any():
            raise ExportError(
                f"transit at t = {traj.t[i0]:.2f} … {traj.t[i1]:.2f} s: the movej path leaves the validated "
                f"corridor ({float(dev.max()):.4f} rad > {opt.transit_corridor} rad) or the joint speed "
                "limits "
                "even without blends"
            )
        radii[hit] = np.where(radii[hit] < 1e-4, 0.0, radii[hit] / 2)
    else:
        raise ExportError(
            f"transit at t = {traj.t[i0]:.2f} s: no blend radii keep the path inside the corridor"
        )
    # trapezoids are quicker than the plan's jerk-limited profiles: slow the whole transit down to the
    # planned time (v * f, a * f²: the same path, every duration / f)
    planned_time = (i1 - i0) * traj.dt
    if 0 < total < planned_time:
        f = total / planned_time
        v, acc, total = v * f, acc * f * f, planned_time
    lines = [
        f"  movej({_fmt_q(wp[k + 1])}, a={_fmt(float(acc[k]), 5)}, v={_fmt(float(v[k]), 5)}, "
        f"r={_fmt(float(radii[k]), 5)})"
        for k in range(n)
    ]
    return _Section("transit", lines, total, traj.q[i0], {"movej": len(lines)})


def _weld_range(traj: JointTrajectory, b: WeldBlock) -> tuple[int, int]:
    """First and last sample of the moving part of a weld block (dwell and crater are at rest)."""
    step = np.max(np.abs(np.diff(traj.q[b.i_on : b.i_off + 1], axis=0)), axis=1)
    moving = np.flatnonzero(step > 1e-12)
    if moving.size == 0:
        return b.i_on, b.i_on
    return b.i_on + int(moving[0]), b.i_on + int(moving[-1]) + 1


def arc_set(opt: UrExportOptions, on: bool) -> str:
    """URScript statement that switches the arc request (digital output or RTDE register)."""
    if opt.arc_request_register is not None:
        return f"write_output_boolean_register({opt.arc_request_register}, {on})"
    return f"set_standard_digital_out({opt.arc_do}, {on})"


def arc_established_expr(opt: UrExportOptions) -> str:
    """URScript expression that is True while the arc is established (input or RTDE register)."""
    if opt.arc_established_register is not None:
        return f"read_input_boolean_register({opt.arc_established_register})"
    return f"get_standard_digital_in({opt.arc_di})"


def _progress_line(opt: UrExportOptions, value: int) -> list[str]:
    if opt.progress_register is None:
        return []
    return [f"  write_output_integer_register({opt.progress_register}, {value})"]


def _check_line(v_min: float) -> str:
    return f"  wc_check({_fmt(v_min, 5)})"


def _movel_weld(ctx: _Context, w0: int, w1: int, seam: str) -> tuple[list[str], float, float, int] | None:
    """movel/movec lines of the weld w0 … w1, duration [s], deviation [m], moves; None if they do not fit."""
    traj, opt = ctx.traj, ctx.opt
    T = ctx.T_plan[w0 : w1 + 1]
    P, R = T[:, :3, 3], T[:, :3, :3]
    step = np.linalg.norm(np.diff(P, axis=0), axis=1)
    if step.sum() < 1e-4:
        return None
    speed = step / traj.dt
    # the planned cruise speed of this block (traj.travel_speed is per seam, passes may differ);
    # a weave makes the TCP faster than the travel speed, its pieces then fail the fit below
    v = float(speed.max())
    cum = np.concatenate([[0.0], np.cumsum(step)])
    fast = np.flatnonzero(speed >= 0.98 * v)
    if fast.size == 0:
        return None
    ramp = max(float(cum[fast[0]]), float(cum[-1] - cum[fast[-1] + 1]), 1e-5)
    acc = v * v / (2 * ramp)
    min_len = 2.2 * ramp
    pieces = fit_pieces(P, R, opt.fit_tolerance, opt.orientation_tolerance)
    pieces = rebalance(pieces, P, R, opt.fit_tolerance, opt.orientation_tolerance, min_len)
    if len(pieces) > 1 and min(p.length for p in pieces) < min_len:
        return None
    max_len = max(v * opt.arc_check_interval, min_len) if opt.arc_check_interval > 0 else math.inf
    pieces = [q for p in pieces for q in split_piece(p, P, max_len)]
    if len(pieces) > 1 and min(p.length for p in pieces) < 2 * ramp:
        return None
    radii = []
    for k in range(len(pieces) - 1):
        r = 0.45 * min(pieces[k].length, pieces[k + 1].length)
        theta = tangent_angle(pieces[k], pieces[k + 1], P)
        if theta > 1e-9:
            r = min(r, (opt.weld_tolerance - opt.fit_tolerance) / math.sin(min(theta, math.pi) / 2))
        radii.append(r)
    radii.append(0.0)
    moves = [
        ChainMove(P[p.i0], P[p.i1], p.length, v, acc, r, P[p.via] if p.kind == "arc" else None)
        for p, r in zip(pieces, radii, strict=True)
    ]
    path, t_start, duration, profiles = chain(moves, traj.dt)
    # the controller keeps the speed through a blend only where the pieces meet (nearly) tangent:
    # at a corner (a zigzag weave's reversal) the blend's superposed velocities dip far below the
    # travel speed, the arc check halts the weld there and the cycle time is not the plan's. Such a
    # weld is not reproduced by movel pieces, however close their path (the servo table is).
    if len(moves) > 1:
        speed_out = np.linalg.norm(np.diff(path, axis=0), axis=1) / traj.dt
        c0 = round(profiles[0].t_in / traj.dt) + 1
        c1 = int((t_start[-1] + profiles[-1].decel_start) / traj.dt) - 1
        if c1 > c0 and float(speed_out[c0:c1].min()) < opt.speed_check_fraction * v:
            return None
    tol_d = opt.fit_tolerance / 10
    dev = max(
        float(nearest_distance(P, densify(path, tol_d)).max()),
        float(nearest_distance(path, densify(P, tol_d)).max()),
    )
    if dev > opt.weld_tolerance * 0.9:
        return None
    lines = []
    for k, (p, r) in enumerate(zip(pieces, radii, strict=True)):
        a_s, v_s, r_s = _fmt(acc, 5), _fmt(v, 6), _fmt(r, 6)
        if p.kind == "arc":
            lines.append(
                f"  movec({_fmt_pose(T[p.via])}, {_fmt_pose(T[p.i1])}, "
                f"a={a_s}, v={v_s}, r={r_s}, mode={p.mode})"
            )
        else:
            lines.append(f"  movel({_fmt_pose(T[p.i1])}, a={a_s}, v={v_s}, r={r_s})")
        if opt.arc_check_interval > 0 and k < len(pieces) - 1:
            lines.append(_check_line(opt.speed_check_fraction * v if r > 0 else 0.0))
    return lines, duration, dev, len(pieces)


def _servo_weld(ctx: _Context, w0: int, w1: int, seam: str) -> tuple[list[str], float, float, int]:
    traj, opt = ctx.traj, ctx.opt
    q = traj.q[w0 : w1 + 1]
    P = ctx.T_plan[w0 : w1 + 1, :3, 3]
    max_step = max(1, round(opt.max_servo_period / traj.dt))
    idx, worst = decimate_servo(ctx.arm, q, P, ctx.T_tcp, opt.servo_tolerance, max_step)
    dev0 = float(np.linalg.norm(ctx.tcp(q[idx]) - P[idx], axis=1).max())
    dev = max(worst, dev0)
    if dev > opt.weld_tolerance:  # decimate_servo guarantees servo_tolerance; a bug otherwise
        raise ExportError(f"seam {seam}: servo table {dev * 1e3:.3f} mm off the plan")
    look, gain = _fmt(opt.lookahead_time), _fmt(opt.gain)
    lines = []
    check_every = opt.arc_check_interval
    since = 0.0
    for k in range(1, len(idx)):
        n = idx[k] - idx[k - 1]
        t = n * traj.dt
        lines.append(f"  servoj({_fmt_q(q[idx[k]])}, t={_fmt(t, 6)}, lookahead_time={look}, gain={gain})")
        since += t
        if check_every > 0 and since >= check_every and k < len(idx) - 1:
            since = 0.0
            # target TCP speed in the last controller cycle of this set-point's interpolation
            qa = q[idx[k]] - (q[idx[k]] - q[idx[k - 1]]) * (traj.dt / t)
            pa, pb = ctx.tcp(np.stack([qa, q[idx[k]]]))
            v_exp = float(np.linalg.norm(pb - pa)) / traj.dt
            lines.append(_check_line(opt.servo_speed_check_fraction * v_exp if v_exp > 2e-3 else 0.0))
    lines.append(f"  stopj({_fmt(opt.stop_acceleration)})")
    return lines, (idx[-1] - idx[0]) * traj.dt, dev, len(idx) - 1


def _weld(ctx: _Context, b: WeldBlock, setting: WeldSetting | None, ordinal: int = 0) -> _Section:
    traj, opt = ctx.traj, ctx.opt
    established = arc_established_expr(opt)
    seam = b.seam_id
    w0, w1 = _weld_range(traj, b)
    dwell = float(traj.t[w0] - traj.t[b.i_on])
    crater = float(traj.t[b.i_off] - traj.t[w1])
    lines = [f"  # --- seam {seam}: samples {b.i_on} to {b.i_off} ---"]
    unsent: list[str] = []
    if setting is not None:
        pl, un = param_lines(setting, opt.io_map, crater=False)
        unsent += un
        lines.append(
            f"  # weld parameters: procedure {setting.procedure}"
            + (f", job {setting.job}" if setting.job else "")
        )
        lines += pl
    polls = max(1, math.ceil(opt.arc_timeout / opt.arc_poll - 1e-9))
    lines += _progress_line(opt, ordinal + 1)
    if opt.arc_enabled:
        lines += [
            f"  textmsg({_text(f'weldcell: seam {seam} arc on')})",
            f"  {arc_set(opt, True)}",
            "  wc_wait = 0",
            f"  while (not {established}) and wc_wait < {polls}:",
            f"    sleep({_fmt(opt.arc_poll)})",
            "    wc_wait = wc_wait + 1",
            "  end",
            f"  if not {established}:",
            f"    {arc_set(opt, False)}",
            f"    popup({_text(f'weldcell: no arc on seam {seam} within {opt.arc_timeout:g} s')}, "
            '"Arc fault", error=True)',
            "    halt",
            "  end",
        ]
    else:
        lines += [f"  textmsg({_text(f'weldcell: seam {seam} dry run (arc disabled)')})", "  wc_wait = 0"]
    if dwell > 0:
        lines += [
            f"  wc_rest = {_fmt(dwell, 4)} - wc_wait * {_fmt(opt.arc_poll)}",
            "  if wc_rest > 0:",
            "    sleep(wc_rest)",
            "  end",
        ]
    counts: dict[str, int] = {}
    duration = dwell + crater
    report = SeamReport(seam, "none", 0, 0.0)
    if w1 > w0:
        fitted = _movel_weld(ctx, w0, w1, seam)
        if fitted is not None:
            body, t, dev, n = fitted
            report = SeamReport(seam, "movel", n, dev)
            counts["movel"] = sum(1 for x in body if x.startswith("  movel("))
            counts["movec"] = sum(1 for x in body if x.startswith("  movec("))
        else:
            body, t, dev, n = _servo_weld(ctx, w0, w1, seam)
            report = SeamReport(seam, "servo", n, dev)
            counts["servoj"] = n
        lines += body
        duration += t
    if setting is not None:
        pl, un = param_lines(setting, opt.io_map, crater=True)
        unsent += un
        lines += pl
    if crater > 0:
        lines.append(f"  sleep({_fmt(crater, 4)})")
    if opt.arc_enabled:
        lines += [
            f"  {arc_set(opt, False)}",
            f"  textmsg({_text(f'weldcell: seam {seam} arc off')})",
        ]
        if opt.arc_request_register is not None:  # the PC ends the weld: wait until it reports it ended
            lines += [
                "  wc_wait = 0",
                f"  while {established} and wc_wait < {polls}:",
                f"    sleep({_fmt(opt.arc_poll)})",
                "    wc_wait = wc_wait + 1",
                "  end",
                f"  if {established}:",
                f"    popup({_text(f'weldcell: the arc did not end on seam {seam} (wire stuck?)')}, "
                '"Arc fault", error=True)',
                "    halt",
                "  end",
            ]
    lines += _progress_line(opt, 0)
    nominal = float(
        np.linalg.norm(
            ctx.T_plan[b.i_on : b.i_off + 1, :3, 3] - ctx.T_nominal[b.i_on : b.i_off + 1, :3, 3], axis=1
        ).max()
    )
    rep = SeamReport(report.seam_id, report.mode, report.moves, report.deviation, tuple(unsent), nominal)
    return _Section("weld", lines, duration, traj.q[b.i_on], counts, rep)


def _preamble(ctx: _Context, part: int, n_parts: int, start_q: NDArrayF, weld_params: bool) -> list[str]:
    traj, opt = ctx.traj, ctx.opt
    do = opt.arc_do
    name = opt.program_name if n_parts == 1 else f"{opt.program_name}_{part}"
    sa = _fmt(opt.stop_acceleration)
    where = f"part {part}" if n_parts > 1 else "the job"
    out = [
        f"def {name}():",
        "  # weldcell URScript export: movel/movec welds (servo tables for weave), blended movej transits",
        f"  # part {part} of {n_parts}" if n_parts > 1 else "  # one program",
        f"  # robot {traj.robot}, planned duration {traj.duration:.3f} s",
        f"  # trajectory content hash {traj.content_hash()}",
    ]
    if traj.program_hash:
        out.append(f"  # weld program hash {traj.program_hash}")
    established = arc_established_expr(opt)
    request = (
        f"RTDE output boolean register {opt.arc_request_register} (the PC switches the power source)"
        if opt.arc_request_register is not None
        else f"standard digital output {do}"
    )
    source = (
        f"RTDE input boolean register {opt.arc_established_register}"
        if opt.arc_established_register is not None
        else f"standard digital input {opt.arc_di}"
    )
    out += [
        f"  # arc request: {request}; arc established: {source}"
        if opt.arc_enabled
        else "  # DRY RUN: the arc is disabled (the arc output stays off)",
        "  # weld parameters: "
        + ("per seam below (I/O map)" if weld_params else "NOT sent (set on the power source)"),
        "  # the speed slider must stay at 100 % while the arc is on (checked, the weld stops otherwise)",
        "  def wc_check(v_min):",
    ]
    if opt.arc_enabled:
        out += [
            f"    if not {established}:",
            f"      {arc_set(opt, False)}",
            f"      stopj({sa})",
            '      popup("weldcell: arc lost during the weld", "Arc fault", error=True)',
            "      halt",
            "    end",
        ]
    out += [
        "    if v_min > 0:",
        "      wc_v = get_target_tcp_speed()",
        "      if norm([wc_v[0], wc_v[1], wc_v[2]]) < v_min:",
        f"        {arc_set(opt, False)}",
        f"        stopj({sa})",
        '        popup("weldcell: travel speed below the programmed speed (speed slider below 100 %)", '
        '"Weld stopped", error=True)',
        "        halt",
        "      end",
        "    end",
        "  end",
        f"  set_tcp({_fmt_pose(ctx.T_tcp)})",
        *(
            [f'  rtde_set_watchdog("input_int_register_{IN_ALIVE}", {_fmt(opt.pc_watchdog_hz)}, "stop")']
            if opt.pc_watchdog_hz is not None
            else []
        ),
        *_progress_line(opt, 0),
        f"  {arc_set(opt, False)}",
        "  wc_wait = 0",
        "  wc_rest = 0",
        f"  textmsg({_text(f'weldcell: moving to the start of {where}')})",
        f"  movej({_fmt_q(start_q)}, a=1, v=0.5, r=0)",
    ]
    return out


def _postamble(ctx: _Context, part: int, n_parts: int) -> list[str]:
    name = ctx.opt.program_name if n_parts == 1 else f"{ctx.opt.program_name}_{part}"
    return [
        f"  {arc_set(ctx.opt, False)}",
        *(_progress_line(ctx.opt, -1) if part == n_parts else []),
        f"  textmsg({_text('weldcell: job done' if part == n_parts else f'weldcell: part {part} done')})",
        "end",
        *([f"{name}()"] if ctx.opt.call_at_end else []),
        "",
    ]


def _build(
    traj: JointTrajectory,
    opt: UrExportOptions,
    limits: JointLimits | None,
    settings: tuple[WeldSetting, ...] | None,
) -> _Built:
    refuse_external(traj, "URScript export")
    lim = limits if limits is not None else joint_limits_for(traj.robot)
    check_trajectory(traj, lim)
    blocks = weld_blocks(traj)
    if settings is not None and len(settings) != len(blocks):
        raise ExportError(f"{len(settings)} weld settings for {len(blocks)} weld blocks")
    for b in blocks:
        for i in (b.i_on, b.i_off):
            if np.max(np.abs(traj.qd[i])) > 1e-3:
                raise ExportError(
                    f"seam {b.seam_id}: the robot moves ({np.max(np.abs(traj.qd[i])):.4f} rad/s) at the arc "
                    f"{'on' if i == b.i_on else 'off'} event t = {traj.t[i]:.3f} s; it must be at rest"
                )
    ctx = _Context(traj, opt, lim)
    sections: list[_Section] = []
    prev = 0
    for k, b in enumerate(blocks):
        sections.append(_transit(ctx, prev, b.i_on))
        sections.append(_weld(ctx, b, settings[k] if settings is not None else None, k))
        prev = b.i_off
    sections.append(_transit(ctx, prev, traj.n_samples - 1))
    # group the sections into programs of at most max_lines lines, cut before a transit (arm at rest)
    overhead = len(_preamble(ctx, 1, 2, traj.q[0], settings is not None)) + len(_postamble(ctx, 2, 2))
    groups: list[list[_Section]] = [[]]
    size = overhead
    for k in range(0, len(sections), 2):
        chunk = sections[k : k + 2]
        n = sum(len(s.lines) for s in chunk)
        if n + overhead > opt.max_lines:
            what = chunk[-1].report.seam_id if chunk[-1].report else "the last transit"
            raise ExportError(
                f"seam {what} alone needs {n + overhead} program lines, above the limit of {opt.max_lines} "
                "(--max-lines); raise the limit or the tolerances"
            )
        if groups[-1] and size + n > opt.max_lines:
            groups.append([])
            size = overhead
        groups[-1].extend(chunk)
        size += n
    total_lines = sum(len(s.lines) for s in sections) + overhead
    if len(groups) > 1 and not opt.split:
        raise ExportError(
            f"the program needs {total_lines} lines, above the limit of {opt.max_lines} lines (--max-lines); "
            f"pass --split to write {len(groups)} programs, or raise the limit"
        )
    texts = []
    for g, secs in enumerate(groups, start=1):
        lines = _preamble(ctx, g, len(groups), secs[0].start_q, settings is not None)
        for s in secs:
            lines += s.lines
        lines += _postamble(ctx, g, len(groups))
        texts.append("\n".join(lines))
    return _Built(tuple(texts), tuple(sections), blocks)


def _summary(
    built: _Built, traj: JointTrajectory, paths: tuple[Path, ...], weld_params: bool
) -> ExportSummary:
    def count(name: str) -> int:
        return sum(s.counts.get(name, 0) for s in built.sections)

    return ExportSummary(
        path=paths[0] if paths else None,
        parts=paths,
        lines=sum(t.count("\n") for t in built.parts),
        n_bytes=sum(len(t.encode()) for t in built.parts),
        movej=count("movej") + len(built.parts),
        movel=count("movel"),
        movec=count("movec"),
        servoj=count("servoj"),
        seams=tuple(b.seam_id for b in built.blocks),
        cycle_time=float(sum(s.duration for s in built.sections)),
        planned_cycle_time=traj.duration,
        seam_reports=tuple(s.report for s in built.sections if s.report is not None),
        weld_parameters=weld_params,
    )


def urscript_from_trajectory(
    traj: JointTrajectory,
    options: UrExportOptions | None = None,
    limits: JointLimits | None = None,
    settings: tuple[WeldSetting, ...] | None = None,
) -> str:
    """The URScript program for ``traj`` (validated against ``limits`` first).

    Args:
        traj: The trajectory (robot at rest at every arc event, see docs/architecture.md).
        options: I/O numbers, tolerances, size limit (one program: ``split`` is not allowed here).
        limits: Joint limits; default: the robot model's (``weldcell.kinematics.load_robot``).
        settings: Weld parameters per weld block (:func:`weld_settings_from_program`); None sends none.

    Returns:
        Program text ending in a newline.

    Raises:
        ExportError: a trajectory the robot must not run, inconsistent arc events, or a program above
            ``max_lines``.
    """
    opt = options or UrExportOptions()
    if opt.split:
        raise ExportError("urscript_from_trajectory writes one program; use export_urscript to split")
    return _build(traj, opt, limits, settings).parts[0]


def export_summary(
    traj: JointTrajectory,
    options: UrExportOptions | None = None,
    limits: JointLimits | None = None,
    settings: tuple[WeldSetting, ...] | None = None,
) -> tuple[tuple[str, ...], ExportSummary]:
    """The program text(s) and their summary (size, estimated cycle time, per-seam mode) without writing."""
    built = _build(traj, options or UrExportOptions(), limits, settings)
    return built.parts, _summary(built, traj, (), settings is not None)


def export_urscript(
    traj_path: str | Path,
    out_path: str | Path,
    options: UrExportOptions | None = None,
    limits: JointLimits | None = None,
    force_unvalidated: bool = False,
    program: Any = None,
    weld_parameters: bool = True,
    *,
    stamp_key: StampKey | str | Path | KeySource | None = FROM_ENVIRONMENT,
) -> ExportSummary:
    """Load a trajectory file, check its validation stamp and write the URScript program(s).

    Args:
        traj_path: Trajectory ``.npz`` written by the planner.
        out_path: Where to write the ``.script`` file (written atomically); when split, parts are
            written as ``<stem>_1.script``, ``<stem>_2.script``, … instead.
        options: Export options.
        limits: Joint limits (default: the robot model's).
        force_unvalidated: Export even without a matching validation stamp.
        program: Weld program (``weldcell.program.Program``) for the weld parameters; default: the one
            named in ``plan.json`` beside the trajectory.
        weld_parameters: Send weld parameters from the program; False leaves them to the power source.
        stamp_key: The cell's stamp key the stamp must be signed with (a key or key file; None:
            unkeyed stamps only; default ``$WELDCELL_STAMP_KEY`` if set).

    Raises:
        StampError: no valid stamp and ``force_unvalidated`` is False.
        ExportError: the trajectory fails the checks, the program is too large, or the weld program
            for the parameters cannot be found.
        TrajectoryFormatError: the trajectory file cannot be read.
    """
    src = Path(traj_path)
    if src.suffix.lower() in (".yaml", ".yml") and src.is_file():
        raise ExportError(
            f"{src}: this is a weld program; export expects a planned trajectory (.npz): run "
            "'weldcell plan' and 'weldcell validate' on it first"
        )
    if src.is_dir():
        raise ExportError(f"{src}: is a folder; expected a planned trajectory file (.npz)")
    out = Path(out_path)
    if out.is_dir():
        raise ExportError(f"--output {out}: is a folder; expected a program file name such as weld.script")
    blocked = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:  # said before the slower checks: the file could never be written
        raise ExportError(f"{out}: cannot write the program (a folder on its path is a file: {blocked})")
    traj = load_trajectory(src)
    refuse_external(traj, f"{src}: URScript export")  # a UR program moves the arm alone
    if not force_unvalidated:
        verify_stamp(src, traj, key=stamp_key)
    opt = options or UrExportOptions()
    settings = None
    if weld_parameters:
        prog = program if program is not None else find_program(src, traj)
        if prog is None:
            raise ExportError(
                f"{src}: the weld program it was planned from is not found (no plan.json beside it naming an "
                "existing file); pass --program PROGRAM.yaml for the weld parameters, or "
                "--no-weld-parameters "
                "when the power source holds them"
            )
        settings = weld_settings_from_program(prog, traj, weld_blocks(traj), opt.use_jobs)
    built = _build(traj, opt, limits, settings)
    n = len(built.parts)
    paths = (out,) if n == 1 else tuple(out.with_name(f"{out.stem}_{k}{out.suffix}") for k in range(1, n + 1))
    for path, text in zip(paths, built.parts, strict=True):
        _write(path, text.encode())
    return _summary(built, traj, paths, settings is not None)


def _write(out: Path, data: bytes) -> None:
    tmp = out.with_name(out.name + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        why = err.strerror or str(err)
        if isinstance(err, (FileExistsError, NotADirectoryError)):
            why = "a folder on its path is a file"
        raise ExportError(f"{out}: cannot write the program ({why})") from err
