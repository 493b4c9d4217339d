"""The timed joint trajectory: the artifact that planning produces and sim/drivers/cell consume.

A :class:`JointTrajectory` is sampled at a fixed controller period ``dt`` [s] (2 ms by default).
Per sample it carries joint positions/velocities/accelerations, the nominal TCP pose in the world
frame, and whether the arc is on (and on which seam). It is immutable; arrays are read-only.

The operations every consumer needs are methods: :meth:`JointTrajectory.arc_segments` (the arc-on
runs), :meth:`JointTrajectory.resample` (to a controller cycle), :meth:`JointTrajectory.with_samples`
(a new arc-off or sliced trajectory with this one's robot, placement and seams). Saving and loading
live in :mod:`weldcell.trajectory.io` (schema ``weldcell.trajectory/2``, docs/trajectory-format.md).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError
from weldcell.trajectory.ops import cycle_times, differentiate, interpolate_uniform, true_runs

#: Version of :meth:`JointTrajectory.content_hash` (2: every field; 1 covered only part of them).
CONTENT_HASH_SCHEME = "weldcell.trajectory-hash/2"
NDArrayF = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ArcEvent:
    """Arc switching event. ``kind`` is ``"arc_on"`` or ``"arc_off"``; ``t`` [s] from the start."""

    t: float
    kind: str
    seam_id: str
    seam_s: float = 0.0  # arc length along the seam [m] where the event happens

    def __post_init__(self) -> None:
        if self.kind not in ("arc_on", "arc_off"):
            raise InputShapeError(f"ArcEvent.kind must be 'arc_on' or 'arc_off', got {self.kind!r}")
        if not np.isfinite(self.t) or self.t < 0:
            raise InputShapeError(f"ArcEvent.t must be a finite time >= 0 s, got {self.t}")


@dataclass(frozen=True, slots=True)
class ArcSegment:
    """One run of arc-on samples of a trajectory (a welded segment).

    Attributes:
        first: Index of its first arc-on sample.
        last: Index of its last arc-on sample (inclusive).
        seam_index: Index into ``JointTrajectory.seam_ids`` at ``first`` (-1: no seam).
        seam_id: The seam welded, or None when the samples name no seam.
    """

    first: int
    last: int
    seam_index: int
    seam_id: str | None


@dataclass(frozen=True, slots=True)
class Resampled:
    """Set-points of a trajectory slice at a controller cycle.

    Attributes:
        t: Times from the start of the slice [s], shape (M,).
        q: Joint positions [rad], shape (M, n), linearly interpolated between samples.
        arc_on: Arc flag of the sample each set-point lies in (at or after), shape (M,).
    """

    t: NDArrayF
    q: NDArrayF
    arc_on: npt.NDArray[np.bool_]
    q_ext: NDArrayF | None = None


#: Kinds of external axes: a rotary axis [rad] or a linear one [m].
EXTERNAL_AXIS_KINDS = ("revolute", "prismatic")
#: Roles of an external-axis device: a workpiece positioner (the part moves) or a robot track.
EXTERNAL_ROLES = ("positioner", "track")


@dataclass(frozen=True, slots=True)
class ExternalAxes:
    """Axes outside the robot arm moved in the same trajectory: a positioner or a linear track.

    Sampled on the trajectory's own times (row ``i`` belongs to ``JointTrajectory.t[i]``).

    Attributes:
        device: Model name of the device (its URDF in ``urdf/``), e.g. ``"turntable_1ax"``.
        role: ``"positioner"`` (the part is mounted on its flange and moves with it) or
            ``"track"`` (the robot base rides on it).
        names: Axis (joint) names, length k.
        kinds: Per axis ``"revolute"`` (positions in rad) or ``"prismatic"`` (positions in m).
        q: Axis positions [rad or m], shape (N, k).
        qd: Axis velocities [rad/s or m/s], shape (N, k).
        qdd: Axis accelerations [rad/s² or m/s²], shape (N, k).
        T_world_base: The device's base in the world frame, shape (4, 4).
    """

    device: str
    role: str
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    q: NDArrayF
    qd: NDArrayF
    qdd: NDArrayF
    T_world_base: NDArrayF

    def __post_init__(self) -> None:
        if self.role not in EXTERNAL_ROLES:
            raise InputShapeError(f"ExternalAxes.role must be one of {EXTERNAL_ROLES}, got {self.role!r}")
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "kinds", tuple(self.kinds))
        k = len(self.names)
        if k == 0 or len(self.kinds) != k:
            raise InputShapeError(
                f"ExternalAxes: {k} axis names and {len(self.kinds)} kinds; "
                "expected one kind per axis, at least one axis"
            )
        bad = [x for x in self.kinds if x not in EXTERNAL_AXIS_KINDS]
        if bad:
            raise InputShapeError(f"ExternalAxes.kinds: {bad} not in {EXTERNAL_AXIS_KINDS}")
        for name in ("q", "qd", "qdd", "T_world_base"):
            object.__setattr__(self, name, _ro(getattr(self, name)))
        n = self.q.shape[0] if self.q.ndim == 2 else -1
        for name in ("q", "qd", "qdd"):
            if getattr(self, name).shape != (n, k):
                raise InputShapeError(
                    f"ExternalAxes.{name}: expected shape (N, {k}), got {getattr(self, name).shape}"
                )
            if not np.all(np.isfinite(getattr(self, name))):
                raise InputShapeError(f"ExternalAxes.{name} contains NaN or infinite values")
        if self.T_world_base.shape != (4, 4):
            raise InputShapeError(
                f"ExternalAxes.T_world_base: expected shape (4, 4), got {self.T_world_base.shape}"
            )

    @property
    def n_axes(self) -> int:
        """Number of axes k."""
        return len(self.names)

    def with_positions(self, q: NDArrayF, dt: float) -> ExternalAxes:
        """The same device with new positions ``q`` (M, k); velocities/accelerations by differences."""
        qa = np.asarray(q, dtype=np.float64)
        qd, qdd = differentiate(qa, dt)
        return ExternalAxes(self.device, self.role, self.names, self.kinds, qa, qd, qdd, self.T_world_base)


# Arrays frozen by this module (``_ro``, :func:`hand_over`): private, read-only, owned by the value
# types. Another value built from one of them (``dataclasses.replace``, ``with_metadata``) shares
# it instead of copying it: a trajectory's samples are tens of MB and were copied at each
# ``replace`` (the last copy was the memory peak of planning, issue #14). Any other array, even a
# read-only one (a view of a writable array, a caller's array), is still copied.
_FROZEN: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


def _ro(a: npt.ArrayLike, dtype: Any = np.float64) -> Any:
    if isinstance(a, np.ndarray) and a.dtype == dtype and _FROZEN.get(id(a)) is a:
        return a
    arr = np.array(a, dtype=dtype, copy=True)
    arr.flags.writeable = False
    _FROZEN[id(arr)] = arr
    return arr


def hand_over(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Freeze ``a`` in place, to be stored without a copy by the trajectory value types.

    For a producer that built ``a`` itself and keeps no other reference to it or to a view of it
    (e.g. :class:`weldcell.planning.timeline.TimelineBuilder` joining its pieces): the array is made
    read-only and a :class:`JointTrajectory` or :class:`ExternalAxes` made from it stores it as it
    is, instead of a copy (memory, issue #14). An array that is not a C-contiguous owner of its data
    is returned as it is (it is copied when stored).

    Returns:
        ``a``.
    """
    if a.base is None and a.flags.c_contiguous:
        a.flags.writeable = False
        _FROZEN[id(a)] = a
    return a


@dataclass(frozen=True, slots=True)
class JointTrajectory:
    """A trajectory sampled every ``dt`` seconds.

    Attributes:
        robot: Robot model name (``weldcell.kinematics.load_robot`` name), e.g. ``"ur5e"``.
        joint_names: Joint names, length n.
        dt: Sample period [s].
        t: Sample times [s], shape (N,), ``t[i] = i * dt``.
        q: Joint positions [rad], shape (N, n).
        qd: Joint velocities [rad/s], shape (N, n).
        qdd: Joint accelerations [rad/s²], shape (N, n).
        T_world_tcp: Nominal TCP pose in the world frame per sample, shape (N, 4, 4).
        arc_on: Arc on flag per sample, shape (N,).
        seam_index: Index into ``seam_ids`` per sample, -1 on transit moves, shape (N,).
        seam_s: Arc length along the current seam [m] per sample, NaN on transit, shape (N,).
        T_world_base: Robot base in the world, shape (4, 4).
        T_flange_tcp: TCP (wire tip) in the flange frame, shape (4, 4).
        seam_ids: Seam identifiers referenced by ``seam_index``.
        events: Arc on/off events in time order.
        program_hash: SHA-256 of the weld program the trajectory was planned from ("" if none).
        travel_speed: Programmed travel speed per seam id [m/s].
        metadata: The planner's figures (JSON-ready): welded length per segment, per-move peak TCP
            and elbow speed, joint travel, configuration changes (docs/trajectory-format.md). Not
            part of :meth:`content_hash` (nothing in it moves the robot).
        external: Positioner or track axes moved with the robot, sampled on the same times, or
            None for a robot alone. With a positioner, ``T_world_tcp`` is still in the world frame;
            the seam moves with the positioner's flange.
    """

    robot: str
    joint_names: tuple[str, ...]
    dt: float
    t: NDArrayF
    q: NDArrayF
    qd: NDArrayF
    qdd: NDArrayF
    T_world_tcp: NDArrayF
    arc_on: npt.NDArray[np.bool_]
    seam_index: npt.NDArray[np.int32]
    seam_s: NDArrayF
    T_world_base: NDArrayF
    T_flange_tcp: NDArrayF
    seam_ids: tuple[str, ...] = ()
    events: tuple[ArcEvent, ...] = ()
    program_hash: str = ""
    travel_speed: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    external: ExternalAxes | None = None

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        if not (self.dt > 0 and np.isfinite(self.dt)):
            raise InputShapeError(f"dt must be a positive period in seconds, got {self.dt}")
        for name, dtype in (
            ("t", np.float64),
            ("q", np.float64),
            ("qd", np.float64),
            ("qdd", np.float64),
            ("T_world_tcp", np.float64),
            ("arc_on", np.bool_),
            ("seam_index", np.int32),
            ("seam_s", np.float64),
            ("T_world_base", np.float64),
            ("T_flange_tcp", np.float64),
        ):
            object.__setattr__(self, name, _ro(getattr(self, name), dtype))
        N = self.t.shape[0]
        expected = {
            "t": (N,),
            "q": (N, n),
            "qd": (N, n),
            "qdd": (N, n),
            "T_world_tcp": (N, 4, 4),
            "arc_on": (N,),
            "seam_index": (N,),
            "seam_s": (N,),
            "T_world_base": (4, 4),
            "T_flange_tcp": (4, 4),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise InputShapeError(
                    f"JointTrajectory.{name}: expected shape {shape}, got {getattr(self, name).shape}"
                )
        if N == 0:
            raise InputShapeError("JointTrajectory must have at least one sample")
        for name in ("t", "q", "qd", "qdd", "T_world_tcp"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise InputShapeError(f"JointTrajectory.{name} contains NaN or infinite values")
        if np.any(self.seam_index >= len(self.seam_ids)) or np.any(self.seam_index < -1):
            raise InputShapeError("JointTrajectory.seam_index refers to a seam not in seam_ids")
        if self.external is not None and self.external.q.shape[0] != N:
            raise InputShapeError(
                f"JointTrajectory.external: {self.external.q.shape[0]} samples of external axes "
                f"for {N} robot samples"
            )
        object.__setattr__(self, "events", tuple(self.events))
        object.__setattr__(self, "seam_ids", tuple(self.seam_ids))
        object.__setattr__(self, "joint_names", tuple(self.joint_names))
        object.__setattr__(self, "travel_speed", dict(self.travel_speed))
        object.__setattr__(self, "metadata", dict(self.metadata))

    # --- queries -----------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        """Number of samples N."""
        return int(self.t.shape[0])

    @property
    def duration(self) -> float:
        """Duration [s] (time of the last sample)."""
        return float(self.t[-1])

    def at_time(self, time: float) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
        """Joint position [rad], velocity [rad/s], acceleration [rad/s²] at ``time`` [s].

        Linear interpolation between samples; clamped to the first/last sample outside the range.
        """
        tt = float(np.clip(time, 0.0, self.duration))
        i = min(int(tt / self.dt), self.n_samples - 1)
        if i >= self.n_samples - 1:
            return self.q[-1].copy(), self.qd[-1].copy(), self.qdd[-1].copy()
        a = (tt - self.t[i]) / self.dt

        def lerp(x: NDArrayF) -> NDArrayF:
            return np.asarray((1 - a) * x[i] + a * x[i + 1], dtype=np.float64)

        return lerp(self.q), lerp(self.qd), lerp(self.qdd)

    def sample(self, dt: float) -> tuple[NDArrayF, NDArrayF]:
        """Resample at another period ``dt`` [s]: returns (t (M,), q (M, n))."""
        if dt <= 0:
            raise InputShapeError(f"dt must be positive, got {dt}")
        tt = np.arange(0.0, self.duration + 0.5 * dt, dt)
        return tt, interpolate_uniform(self.q, self.dt, tt)

    def arc_segments(self) -> tuple[ArcSegment, ...]:
        """The runs of arc-on samples in time order (each a welded segment)."""
        out = []
        for a, b in true_runs(self.arc_on):
            k = int(self.seam_index[a])
            sid = self.seam_ids[k] if 0 <= k < len(self.seam_ids) else None
            out.append(ArcSegment(a, b, k, sid))
        return tuple(out)

    def resample(self, cycle: float, start: int = 0, end: int | None = None) -> Resampled:
        """Set-points of samples ``start`` .. ``end - 1`` at a controller cycle of ``cycle`` [s].

        A cycle equal to ``dt`` returns the samples themselves. Otherwise the set-points are the
        joint positions at ``0, cycle, 2·cycle, ...`` from the start of the slice, linearly
        interpolated, with a last set-point exactly on the slice's last sample (see
        :func:`~weldcell.trajectory.ops.cycle_times`); the arc flag of a set-point is that of the
        sample at or before it.

        Args:
            cycle: Controller period [s] (UR servo 0.002, KUKA RSI 0.004 or 0.012).
            start: First sample of the slice.
            end: One past the last sample of the slice (default: the end of the trajectory).

        Raises:
            InputShapeError: an empty or out-of-range slice, or a non-positive cycle.
        """
        stop = self.n_samples if end is None else end
        if not 0 <= start < stop <= self.n_samples:
            raise InputShapeError(f"slice {start}..{stop} is not inside the trajectory's 0..{self.n_samples}")
        q = self.q[start:stop]
        ext = None if self.external is None else self.external.q[start:stop]
        if abs(self.dt - cycle) < 1e-12:
            t = np.arange(stop - start, dtype=np.float64) * self.dt
            return Resampled(t, q.copy(), self.arc_on[start:stop].copy(), None if ext is None else ext.copy())
        tt = cycle_times((stop - 1 - start) * self.dt, cycle)
        near = start + np.minimum((tt / self.dt).astype(np.int64), stop - 1 - start)
        return Resampled(
            tt,
            interpolate_uniform(q, self.dt, tt),
            self.arc_on[near].copy(),
            None if ext is None else interpolate_uniform(ext, self.dt, tt),
        )

    def with_samples(
        self,
        q: NDArrayF,
        T_world_tcp: NDArrayF,
        *,
        arc_on: npt.NDArray[np.bool_] | None = None,
        seam_index: npt.NDArray[np.int32] | None = None,
        seam_s: NDArrayF | None = None,
        events: tuple[ArcEvent, ...] = (),
        qd: NDArrayF | None = None,
        qdd: NDArrayF | None = None,
        q_ext: NDArrayF | None = None,
    ) -> JointTrajectory:
        """A new trajectory with these samples and this one's robot, period, placement and seams.

        Times start at 0. Without ``qd``/``qdd`` they come from
        :func:`~weldcell.trajectory.ops.differentiate` (zero at both ends). Without ``arc_on``,
        ``seam_index`` and ``seam_s`` the samples are arc-off transit (False, -1, NaN). The planner's
        figures (``metadata``) are not carried over: they describe the original trajectory.

        Args:
            q: Joint positions [rad], shape (M, n).
            T_world_tcp: TCP poses in the world frame, shape (M, 4, 4).
            arc_on: Arc flags, shape (M,).
            seam_index: Index into ``seam_ids`` per sample, shape (M,).
            seam_s: Arc length along the seam [m], shape (M,).
            events: Arc events of the new trajectory (times from its start).
            qd: Joint velocities [rad/s], shape (M, n).
            qdd: Joint accelerations [rad/s²], shape (M, n).
            q_ext: External-axis positions [rad or m], shape (M, k): required when this trajectory
                has external axes (a move must say where the positioner or track is), refused when
                it has none.

        Raises:
            InputShapeError: ``q_ext`` missing for a trajectory with external axes, or given for
                one without.
        """
        qa = np.asarray(q, dtype=np.float64)
        m = qa.shape[0]
        if qd is None or qdd is None:
            qd, qdd = differentiate(qa, self.dt)
        if (self.external is None) != (q_ext is None):
            raise InputShapeError(
                "with_samples: q_ext must be given exactly when the trajectory has external axes "
                f"({'none' if self.external is None else self.external.device})"
            )
        external = None if self.external is None else self.external.with_positions(np.asarray(q_ext), self.dt)
        return JointTrajectory(
            robot=self.robot,
            joint_names=self.joint_names,
            dt=self.dt,
            t=np.arange(m, dtype=np.float64) * self.dt,
            q=qa,
            qd=qd,
            qdd=qdd,
            T_world_tcp=T_world_tcp,
            arc_on=np.zeros(m, dtype=bool) if arc_on is None else arc_on,
            seam_index=np.full(m, -1, dtype=np.int32) if seam_index is None else seam_index,
            seam_s=np.full(m, np.nan) if seam_s is None else seam_s,
            T_world_base=self.T_world_base,
            T_flange_tcp=self.T_flange_tcp,
            seam_ids=self.seam_ids,
            events=events,
            program_hash=self.program_hash,
            travel_speed=self.travel_speed,
            external=external,
        )

    def content_hash(self) -> str:
        """SHA-256 over every field of the trajectory (the file's content hash; the stamp binds to it).

        Generic on purpose: each dataclass field in declaration order, by name; arrays with their
        dtype, shape and bytes, everything else (times, names, events, hashes, speeds) as canonical
        JSON. A field added to :class:`JointTrajectory` is covered without touching this method;
        nested dataclasses (``external``) are hashed field by field the same way. ``external=None``
        adds nothing, so a robot-only trajectory keeps the hash it had before external axes existed.
        The scheme is :data:`CONTENT_HASH_SCHEME`.
        """
        h = hashlib.sha256(CONTENT_HASH_SCHEME.encode())
        _hash_fields(h, self)
        return h.hexdigest()


def _hash_fields(h: Any, obj: Any) -> None:
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name == "external" and value is None:
            continue
        h.update(b"\x00" + f.name.encode() + b"\x00")
        if isinstance(value, np.ndarray):
            h.update(f"{value.dtype.str}{value.shape}".encode())
            h.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, ExternalAxes):
            _hash_fields(h, value)
        else:
            h.update(json.dumps(_plain(value), sort_keys=True, separators=(",", ":")).encode())


def _plain(value: Any) -> Any:
    """JSON-able form of a field value (dataclasses as dicts, tuples as lists; floats exact)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
