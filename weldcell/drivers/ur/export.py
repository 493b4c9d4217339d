"""Export a validated :class:`JointTrajectory` as one URScript program (``weldcell export``).

The program can be loaded on the pendant or sent to the controller's script port. Layout:

- start: arc output off, ``movej`` to the first sample;
- transit moves (arc off): ``movej`` through joint-space waypoints. The planned joint path is reduced
  with a Ramer-Douglas-Peucker fit so that the straight joint-space segments ``movej`` executes stay
  within ``transit_tolerance`` [rad] of every planned sample; no blending by default (``r=0``), so
  the executed path is exactly that polyline (the timing is the controller's, not the plan's);
- weld segments (arc on): arc output on, wait for "arc established" on a digital input with a
  timeout (``popup`` + ``halt`` on failure), then a **servoj table** that replays the planned joint
  samples (every ``servo_period``), with an arc-loss check every ``arc_check_period``, ``stopj``,
  arc output off, a ``textmsg`` per seam start and end.

Why a servoj table and not ``movel``/``movep`` with blend radii: the weld path carries weave and
torch-angle changes sampled every 1 mm or finer, and a blended ``movel``/``movep`` path is defined
by the controller's blending (not published precisely enough to prove a 0.1 mm bound offline); a
servoj table reproduces the planned joint samples, hence the validated TCP path, by construction
(limited only by the 1e-6 rad print resolution, about 1 µm at 1 m reach).

Emitted URScript subset (what a controller or the weldcell virtual UR controller must run):
``def``/``end``, ``while``/``if`` with ``not``/``and``/``<``, local integer assignment and ``+``,
``movej(q, a=, v=, r=)``, ``servoj(q, t=, lookahead_time=, gain=)``, ``stopj(a)``,
``set_standard_digital_out(n, b)``, ``get_standard_digital_in(n)``, ``sleep(t)``, ``textmsg(s)``,
``popup(s, title, error=True)``, ``halt``. Numbers are plain decimals; strings use double quotes.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from weldcell.errors import ValidationError
from weldcell.planning.stamp import FROM_ENVIRONMENT, KeySource, StampKey, verify_stamp
from weldcell.planning.trajectory import JointTrajectory, load_trajectory

NDArrayF = npt.NDArray[np.float64]


class ExportError(ValidationError):
    """A trajectory that cannot be exported (wrong robot, limits violated, inconsistent arc events)."""


@dataclass(frozen=True, slots=True)
class UrExportOptions:
    """Options of the URScript export.

    Attributes:
        arc_do: Standard digital output that switches the arc on.
        arc_di: Standard digital input that reports "arc established".
        arc_timeout: Longest wait for arc established after arc on [s].
        arc_poll: Poll period of that wait [s].
        arc_check_period: Period of the arc-loss check during a weld [s]; 0 switches it off.
        servo_period: servoj period [s], a multiple of the trajectory dt; None = trajectory dt.
        lookahead_time: servoj look-ahead time [s] (UR range 0.03 … 0.2).
        gain: servoj proportional gain (UR range 100 … 2000).
        transit_tolerance: Largest joint-space deviation of the movej polyline from the plan [rad].
        transit_blend: movej blend radius [m] between transit waypoints (0 = exact stops).
        stop_acceleration: Joint deceleration of stopj [rad/s²].
        program_name: Name of the URScript function.
    """

    arc_do: int = 0
    arc_di: int = 0
    arc_timeout: float = 2.0
    arc_poll: float = 0.01
    arc_check_period: float = 0.05
    servo_period: float | None = None
    lookahead_time: float = 0.03
    gain: float = 300.0
    transit_tolerance: float = 1e-3
    transit_blend: float = 0.0
    stop_acceleration: float = 4.0
    program_name: str = "weldcell_job"

    def __post_init__(self) -> None:
        if not (0 <= self.arc_do <= 7 and 0 <= self.arc_di <= 7):
            raise ExportError(
                f"standard digital I/O numbers must be 0 … 7, got DO {self.arc_do}, DI {self.arc_di}"
            )
        for name, value, low_ok in (
            ("arc_timeout", self.arc_timeout, False),
            ("arc_poll", self.arc_poll, False),
            ("arc_check_period", self.arc_check_period, True),
        ):
            if not (value >= 0 if low_ok else value > 0):  # also rejects NaN
                raise ExportError(f"{name} {value} s: expected a number {'>=' if low_ok else '>'} 0 s")
        if not 0.03 <= self.lookahead_time <= 0.2:
            raise ExportError(f"servoj lookahead_time {self.lookahead_time} s is outside UR's 0.03 … 0.2 s")
        if not 100 <= self.gain <= 2000:
            raise ExportError(f"servoj gain {self.gain} is outside UR's 100 … 2000")
        for name, value, unit, low_ok in (
            ("transit_tolerance", self.transit_tolerance, "rad", False),
            ("transit_blend", self.transit_blend, "m", True),
            ("stop_acceleration", self.stop_acceleration, "rad/s²", False),
        ):
            if not (value >= 0 if low_ok else value > 0):  # also rejects NaN
                raise ExportError(f"{name} {value} {unit}: expected a number {'>=' if low_ok else '>'} 0")
        if self.servo_period is not None and not self.servo_period > 0:
            raise ExportError(f"servo_period {self.servo_period} s: expected a positive multiple of the dt")
        if not self.program_name.isidentifier():
            raise ExportError(f"program name {self.program_name!r} is not a valid URScript identifier")


@dataclass(frozen=True, slots=True)
class JointLimits:
    """Joint limits the export enforces: positions [rad] and speeds [rad/s], each shape (n,)."""

    q_lower: NDArrayF
    q_upper: NDArrayF
    qd_max: NDArrayF


@dataclass(frozen=True, slots=True)
class WeldBlock:
    """One arc-on segment: samples ``i_on`` … ``i_off`` (inclusive), seam id."""

    i_on: int
    i_off: int
    seam_id: str


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What was written: path, line and command counts, seams."""

    path: Path | None
    lines: int
    servoj: int
    movej: int
    seams: tuple[str, ...]
    n_bytes: int


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
    on = traj.arc_on.astype(np.int8)
    edges = np.diff(np.concatenate(([0], on, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    blocks: list[WeldBlock] = []
    for i0, i1 in zip(starts.tolist(), ends.tolist(), strict=True):
        k = int(traj.seam_index[i0])
        blocks.append(WeldBlock(i0, i1, traj.seam_ids[k] if k >= 0 else f"segment{len(blocks) + 1}"))
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


# --- emission ----------------------------------------------------------------------------------
def _fmt_q(q: NDArrayF) -> str:
    return "[" + ", ".join(f"{float(x):.6f}" for x in q) + "]"


def _fmt(x: float, digits: int = 4) -> str:
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _text(s: str) -> str:
    return '"' + s.replace("\\", "/").replace('"', "'") + '"'


class _Writer:
    """Collects program lines and counts the motion commands."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.servoj = 0
        self.movej = 0

    def __call__(self, line: str) -> None:
        self.lines.append(line)


def urscript_from_trajectory(
    traj: JointTrajectory,
    options: UrExportOptions | None = None,
    limits: JointLimits | None = None,
) -> str:
    """The URScript program for ``traj`` (validated against ``limits`` first).

    Args:
        traj: The trajectory (robot at rest at every arc event, see docs/architecture.md).
        options: I/O numbers, servo and transit settings.
        limits: Joint limits; default: the robot model's (``weldcell.kinematics.load_robot``).

    Returns:
        Program text ending in a newline.

    Raises:
        ExportError: a trajectory the robot must not run, or inconsistent arc events.
    """
    return _build(traj, options or UrExportOptions(), limits)[0].lines_text


@dataclass(frozen=True, slots=True)
class _Built:
    lines_text: str
    servoj: int
    movej: int


def _build(
    traj: JointTrajectory, opt: UrExportOptions, limits: JointLimits | None
) -> tuple[_Built, tuple[WeldBlock, ...]]:
    stride = 1
    if opt.servo_period is not None:
        ratio = opt.servo_period / traj.dt
        stride = round(ratio)
        if stride < 1 or abs(ratio - stride) > 1e-6:
            raise ExportError(
                f"servo period {opt.servo_period} s is not a whole multiple of the trajectory dt {traj.dt} s"
            )
    check_trajectory(traj, limits if limits is not None else joint_limits_for(traj.robot), stride)
    blocks = weld_blocks(traj)
    for b in blocks:
        for i in (b.i_on, b.i_off):
            if np.max(np.abs(traj.qd[i])) > 1e-3:
                raise ExportError(
                    f"seam {b.seam_id}: the robot moves ({np.max(np.abs(traj.qd[i])):.4f} rad/s) at the arc "
                    f"{'on' if i == b.i_on else 'off'} event t = {traj.t[i]:.3f} s; it must be at rest"
                )
    w = _Writer()
    do, di = opt.arc_do, opt.arc_di
    w(f"def {opt.program_name}():")
    w("  # weldcell URScript export (servoj table for welds, movej for transits)")
    w(f"  # robot {traj.robot}, {traj.n_samples} samples, dt {traj.dt} s, duration {traj.duration:.3f} s")
    w(f"  # trajectory content hash {traj.content_hash()}")
    if traj.program_hash:
        w(f"  # weld program hash {traj.program_hash}")
    w(f"  # arc on: standard digital output {do}; arc established: standard digital input {di}")
    w(f"  set_standard_digital_out({do}, False)")
    w(_text_line("weldcell: moving to the start of the job"))
    w(f"  movej({_fmt_q(traj.q[0])}, a=1, v=0.5, r=0)")
    w.movej += 1
    prev_end = 0
    for b in blocks:
        _emit_transit(w, traj, prev_end, b.i_on, opt)
        _emit_weld(w, traj, b, stride, opt)
        prev_end = b.i_off
    _emit_transit(w, traj, prev_end, traj.n_samples - 1, opt)
    w(f"  set_standard_digital_out({do}, False)")
    w(_text_line("weldcell: job done"))
    w("end")
    w("")
    return _Built("\n".join(w.lines), w.servoj, w.movej), blocks


def export_urscript(
    traj_path: str | Path,
    out_path: str | Path,
    options: UrExportOptions | None = None,
    limits: JointLimits | None = None,
    force_unvalidated: bool = False,
    *,
    stamp_key: StampKey | str | Path | KeySource | None = FROM_ENVIRONMENT,
) -> ExportSummary:
    """Load a trajectory file, check its validation stamp and write the URScript program.

    Args:
        traj_path: Trajectory ``.npz`` written by the planner.
        out_path: Where to write the ``.script`` file (written atomically).
        options: Export options.
        limits: Joint limits (default: the robot model's).
        force_unvalidated: Export even without a matching validation stamp.
        stamp_key: The cell's stamp key the stamp must be signed with (a key or key file; None:
            unkeyed stamps only; default ``$WELDCELL_STAMP_KEY`` if set).

    Raises:
        StampError: no valid stamp and ``force_unvalidated`` is False.
        ExportError: the trajectory fails the checks.
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
    traj = load_trajectory(src)
    if not force_unvalidated:
        _verify_stamp(src, traj, stamp_key)
    built, blocks = _build(traj, options or UrExportOptions(), limits)
    tmp = out.with_name(out.name + ".tmp")
    data = built.lines_text.encode()
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
    return ExportSummary(
        path=out,
        lines=built.lines_text.count("\n"),
        servoj=built.servoj,
        movej=built.movej,
        seams=tuple(b.seam_id for b in blocks),
        n_bytes=len(data),
    )


def _verify_stamp(
    traj_path: Path, traj: JointTrajectory, key: StampKey | str | Path | KeySource | None
) -> None:
    verify_stamp(traj_path, traj, key=key)


def _text_line(message: str) -> str:
    return f"  textmsg({_text(message)})"


def _emit_transit(w: _Writer, traj: JointTrajectory, i0: int, i1: int, opt: UrExportOptions) -> None:
    if i1 <= i0:
        return
    seg = traj.q[i0 : i1 + 1]
    idx = simplify_joint_path(seg, opt.transit_tolerance)
    for k, (a, b) in enumerate(itertools.pairwise(idx)):
        v = max(float(np.abs(traj.qd[i0 + a : i0 + b + 1]).max()), 0.05)
        acc = max(float(np.abs(traj.qdd[i0 + a : i0 + b + 1]).max()), 0.5)
        r = 0.0 if k == len(idx) - 2 else opt.transit_blend
        w(f"  movej({_fmt_q(seg[b])}, a={_fmt(acc)}, v={_fmt(v)}, r={_fmt(r)})")
        w.movej += 1


def _emit_weld(w: _Writer, traj: JointTrajectory, b: WeldBlock, stride: int, opt: UrExportOptions) -> None:
    do, di = opt.arc_do, opt.arc_di
    seam = b.seam_id
    polls = max(1, math.ceil(opt.arc_timeout / opt.arc_poll - 1e-9))
    w(f"  # --- seam {seam}: samples {b.i_on} to {b.i_off} ---")
    w(_text_line(f"weldcell: seam {seam} arc on"))
    w(f"  set_standard_digital_out({do}, True)")
    w("  wc_wait = 0")
    w(f"  while (not get_standard_digital_in({di})) and wc_wait < {polls}:")
    w(f"    sleep({_fmt(opt.arc_poll)})")
    w("    wc_wait = wc_wait + 1")
    w("  end")
    w(f"  if not get_standard_digital_in({di}):")
    w(f"    set_standard_digital_out({do}, False)")
    w(
        f"    popup({_text(f'weldcell: no arc on seam {seam} within {opt.arc_timeout:g} s')}, "
        '"Arc fault", error=True)'
    )
    w("    halt")
    w("  end")
    rows = list(range(b.i_on, b.i_off + 1, stride))
    if rows[-1] != b.i_off:
        rows.append(b.i_off)
    t_servo = _fmt(stride * traj.dt, 6)
    check_every = max(1, round(opt.arc_check_period / (stride * traj.dt))) if opt.arc_check_period > 0 else 0
    look, gain = _fmt(opt.lookahead_time), _fmt(opt.gain)
    for k, i in enumerate(rows):
        w(f"  servoj({_fmt_q(traj.q[i])}, t={t_servo}, lookahead_time={look}, gain={gain})")
        if check_every and (k + 1) % check_every == 0 and k + 1 < len(rows):
            w(f"  if not get_standard_digital_in({di}):")
            w(f"    set_standard_digital_out({do}, False)")
            w(f"    stopj({_fmt(opt.stop_acceleration)})")
            w(f'    popup({_text(f"weldcell: arc lost on seam {seam}")}, "Arc fault", error=True)')
            w("    halt")
            w("  end")
    w.servoj += len(rows)
    w(f"  stopj({_fmt(opt.stop_acceleration)})")
    w(f"  set_standard_digital_out({do}, False)")
    w(_text_line(f"weldcell: seam {seam} arc off"))
