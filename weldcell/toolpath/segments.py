"""Seam + procedure → torch poses: one :class:`WeldSegment` per arc-on segment (pass × stitch).

Sampling: the seam arc length ``s`` is sampled with a step of at most 1 mm and at least 20 samples
per weave cycle (step ≤ v / (20 f)), evenly between the path's corners (weave tips and dwell ends,
line/arc junctions), which are always samples; weld time is ``τ = (s - s[0]) / v``, so the weave is
exact in time at the travel speed. Poses are ``T_world_tcp`` with the TCP at the wire tip and
z the torch approach direction (see :mod:`weldcell.toolpath.frames` for the angle conventions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weldcell.errors import InvalidValueError, ToolpathError
from weldcell.program.geometry import SeamCurve
from weldcell.program.model import Procedure, Program, Seam, Weave
from weldcell.spatial import se3_from_rotation_translation
from weldcell.toolpath.path import SegmentPath, max_sample_step

NDArrayF = npt.NDArray[np.float64]

MAX_STEP = 1e-3  # [m]
SAMPLES_PER_WEAVE = 20
MAX_SAMPLES = 2_000_000


def _ro(a: npt.ArrayLike) -> NDArrayF:
    arr = np.array(a, dtype=np.float64, copy=True)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, slots=True, eq=False)
class WeldSegment:
    """One arc-on segment of a seam: a pass, or one stitch of a pass.

    Attributes:
        seam_id: Seam id.
        pass_index: Pass (bead) index, 0-based.
        stitch_index: Stitch index, 0-based (0 for continuous seams).
        procedure: Procedure name.
        s: Seam arc length [m], shape (N,), step ≤ 1 mm and ≥ 20 samples per weave cycle, even
            between the path's corners (which are samples), increasing in the weld direction
            (measured from the start of the welded direction).
        T_world_tcp: Torch poses (N, 4, 4) including weave and pass offsets; z = approach direction.
        travel_speed: Seam progress speed [m/s]; ``t = (s - s[0]) / travel_speed`` on the weld.
        free_rotation: Rotation about the TCP z axis may be chosen by the planner.
        rotation_range: Half-width of the admissible rotation about z [rad] (π if free).
        T_world_approach: Approach pose (4, 4): the first pose backed off along its -z.
        T_world_depart: Depart pose (4, 4): the last pose backed off along its -z.
        arc_start_dwell: Dwell at the first pose after ignition [s].
        crater_fill_time: Dwell at the last pose for crater fill [s].
        ramp_length: Length over which start values ramp to weld values [m].
        reversible: The planner may weld the seam backwards (seam ordering).
        work_angle: Programmed work angle [rad]. travel_angle: programmed travel angle [rad].
        work_angle_tolerance / travel_angle_tolerance: admissible deviations [rad].
        stickout: Stick-out of this segment [m].
        weave: Weave or None.
        seam_length: Length of the whole seam [m].
        T_world_seam: Seam frames S on the nominal pass curve, without weave or travel angle (N, 4, 4).
        path: The analytic definition of the poses (:class:`SegmentPath`): ``path.poses(s)`` gives
            ``T_world_tcp`` exactly at any arc length, between the samples too. None for segments
            built from samples only.
    """

    seam_id: str
    pass_index: int
    stitch_index: int
    procedure: str
    s: NDArrayF
    T_world_tcp: NDArrayF
    travel_speed: float
    free_rotation: bool
    rotation_range: float
    T_world_approach: NDArrayF
    T_world_depart: NDArrayF
    arc_start_dwell: float
    crater_fill_time: float
    ramp_length: float
    reversible: bool
    work_angle: float = 0.0
    travel_angle: float = 0.0
    work_angle_tolerance: float = 0.0
    travel_angle_tolerance: float = 0.0
    stickout: float = 0.0
    weave: Weave | None = None
    seam_length: float = 0.0
    T_world_seam: NDArrayF | None = None
    path: SegmentPath | None = None

    def __post_init__(self) -> None:
        for name in ("s", "T_world_tcp", "T_world_approach", "T_world_depart", "T_world_seam"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _ro(value))
        n = self.s.shape[0]
        if self.s.ndim != 1 or n < 2 or self.T_world_tcp.shape != (n, 4, 4):
            raise InvalidValueError(
                f"WeldSegment: s (N,) and T_world_tcp (N, 4, 4) must match, N ≥ 2; got "
                f"{self.s.shape} and {self.T_world_tcp.shape}"
            )
        if not self.travel_speed > 0.0:
            raise InvalidValueError(f"WeldSegment.travel_speed must be > 0 m/s, got {self.travel_speed}")

    @property
    def length(self) -> float:
        """Welded length [m]."""
        return float(self.s[-1] - self.s[0])

    @property
    def weld_time(self) -> float:
        """Time with the torch moving along the seam [s]."""
        return self.length / self.travel_speed

    @property
    def arc_time(self) -> float:
        """Arc-on time including arc-start dwell and crater fill [s]."""
        return self.weld_time + self.arc_start_dwell + self.crater_fill_time

    def poses_at(self, s: npt.ArrayLike) -> NDArrayF:
        """Torch poses ``T_world_tcp`` (N, 4, 4) at arc lengths ``s`` (N,) [m] from the definition.

        Raises:
            ToolpathError: the segment carries no :attr:`path` (built from samples only).
        """
        if self.path is None:
            raise ToolpathError(f"seam '{self.seam_id}': this weld segment has no analytic path")
        return self.path.poses(s)

    @property
    def t(self) -> NDArrayF:
        """Weld time of each sample [s], shape (N,)."""
        result: NDArrayF = (self.s - self.s[0]) / self.travel_speed
        return result


def sample_step(length: float, travel_speed: float, weave: Weave | None) -> int:
    """Number of samples for ``length`` [m]: step ≤ 1 mm and ≥ 20 samples per weave cycle."""
    step = MAX_STEP
    if weave is not None:
        step = min(step, travel_speed / (SAMPLES_PER_WEAVE * weave.frequency))
    return max(2, math.ceil(length / step - 1e-9) + 1)


def stitch_ranges(seam: Seam, length: float) -> list[tuple[float, float]]:
    """Arc-length intervals [m] of the stitches of ``seam`` (of ``length`` [m]) that fit on it, in order;
    the whole seam when it is not stitched."""
    if seam.stitch is None:
        return [(0.0, length)]
    st = seam.stitch
    n = math.floor((length - st.start_offset - st.length) / st.pitch + 1e-9) + 1
    return [(st.start_offset + k * st.pitch, st.start_offset + k * st.pitch + st.length) for k in range(n)]


def toolpaths_for_seam(program: Program, seam: Seam) -> tuple[WeldSegment, ...]:
    """Weld segments of one seam: every pass, and every stitch of each pass, in weld order."""
    curve = SeamCurve(seam.geometry)
    cell = program.cell
    out: list[WeldSegment] = []
    for k, wp in enumerate(seam.passes):
        proc: Procedure = program.pass_procedure(seam, k)
        alpha = proc.work_angle if wp.work_angle is None else wp.work_angle
        beta = proc.travel_angle if wp.travel_angle is None else wp.travel_angle
        gamma = 0.0 if proc.free_rotation else proc.rotation_angle
        v = proc.travel_speed
        for j, (s0, s1) in enumerate(stitch_ranges(seam, curve.length)):
            n = sample_step(s1 - s0, v, proc.weave)
            if n > MAX_SAMPLES:
                why = (
                    f"20 per weave cycle at travel_speed_mm_s {v * 1e3:g} and weave frequency_hz "
                    f"{proc.weave.frequency:g}"
                    if proc.weave is not None
                    else "one per mm"
                )
                raise ToolpathError(
                    f"{program.path}: seam '{seam.id}' pass {k + 1}: {(s1 - s0) * 1e3:.0f} mm of seam need "
                    f"{n} tool-path samples ({why}), more than the {MAX_SAMPLES} allowed; shorten the "
                    "seam, raise travel_speed_mm_s or lower the weave frequency_hz"
                )
            path = SegmentPath(
                seam=seam,
                curve=curve,
                lateral=wp.lateral,
                height=wp.height,
                work_angle=alpha,
                travel_angle=beta,
                rotation=gamma,
                weave=proc.weave,
                travel_speed=v,
                s_start=s0,
                s_end=s1,
            )
            s = path.sample_grid(max_sample_step(MAX_STEP, v, proc.weave, SAMPLES_PER_WEAVE))
            T = path.poses(s)
            R_S, p_pass = path.seam_frames(s)
            T_app = T[0].copy()
            T_app[:3, 3] -= cell.approach_distance * T_app[:3, 2]
            T_dep = T[-1].copy()
            T_dep[:3, 3] -= cell.retract_distance * T_dep[:3, 2]
            out.append(
                WeldSegment(
                    seam_id=seam.id,
                    pass_index=k,
                    stitch_index=j,
                    procedure=proc.name,
                    s=s,
                    T_world_tcp=T,
                    travel_speed=v,
                    free_rotation=proc.free_rotation,
                    rotation_range=math.pi if proc.free_rotation else proc.rotation_tolerance,
                    T_world_approach=T_app,
                    T_world_depart=T_dep,
                    arc_start_dwell=proc.arc_start_dwell,
                    crater_fill_time=proc.crater_fill_time,
                    ramp_length=proc.ramp_length,
                    reversible=seam.reversible,
                    work_angle=alpha,
                    travel_angle=beta,
                    work_angle_tolerance=proc.work_angle_tolerance,
                    travel_angle_tolerance=proc.travel_angle_tolerance,
                    stickout=cell.stickout if proc.stickout is None else proc.stickout,
                    weave=proc.weave,
                    seam_length=curve.length,
                    T_world_seam=se3_from_rotation_translation(R_S, p_pass),
                    path=path,
                )
            )
    return tuple(out)


def toolpaths_for_program(program: Program) -> tuple[WeldSegment, ...]:
    """All weld segments of ``program`` in program order (``sequence`` if given, else file order)."""
    out: list[WeldSegment] = []
    for seam in program.ordered_seams():
        out.extend(toolpaths_for_seam(program, seam))
    return tuple(out)
