"""The timed joint trajectory: the artifact that planning produces and sim/drivers/cell consume.

A :class:`JointTrajectory` is sampled at a fixed controller period ``dt`` [s] (2 ms by default).
Per sample it carries joint positions/velocities/accelerations, the nominal TCP pose in the world
frame, and whether the arc is on (and on which seam). It is immutable; arrays are read-only.

File format (schema ``weldcell.trajectory/1``): one ``.npz`` file holding the arrays below plus a
``meta`` entry with a JSON document (robot, joint names, ``T_world_base``, ``T_flange_tcp``, seam
ids, events, program hash, dt, schema). See ``docs/trajectory-format.md``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError, TrajectoryFormatError

SCHEMA = "weldcell.trajectory/1"
#: Version of :meth:`JointTrajectory.content_hash` (2: every field; 1 covered only part of them).
CONTENT_HASH_SCHEME = "weldcell.trajectory-hash/2"
NDArrayF = npt.NDArray[np.float64]
_ZIP_MAGIC = b"PK\x03\x04"  # every .npz is a zip archive
_PROGRAM_MARKER = b"weldcell.program/"  # the format line of a weld program (YAML or JSON)


@dataclass(frozen=True, slots=True)
class ArcEvent:
    """Arc switching event. ``kind`` is ``"arc_on"`` or ``"arc_off"``; ``t`` [s] from the start."""

    t: float
    kind: str
    seam_id: str
    seam_s: float = 0.0  # arc length along the seam [m] where the event happens

    def __post_init__(self) -> None:
        if self.kind not in ("arc_on", "arc_off"):
            raise ValueError(f"ArcEvent.kind must be 'arc_on' or 'arc_off', got {self.kind!r}")
        if not np.isfinite(self.t) or self.t < 0:
            raise ValueError(f"ArcEvent.t must be a finite time >= 0 s, got {self.t}")


def _ro(a: npt.ArrayLike, dtype: Any = np.float64) -> Any:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.flags.writeable = False
    return arr


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
        q = np.stack([np.interp(tt, self.t, self.q[:, j]) for j in range(self.q.shape[1])], axis=1)
        return tt, q

    def content_hash(self) -> str:
        """SHA-256 over every field of the trajectory (the file's content hash; the stamp binds to it).

        Generic on purpose: each dataclass field in declaration order, by name; arrays with their
        dtype, shape and bytes, everything else (times, names, events, hashes, speeds) as canonical
        JSON. A field added to :class:`JointTrajectory` is covered without touching this method.
        The scheme is :data:`CONTENT_HASH_SCHEME`.
        """
        h = hashlib.sha256(CONTENT_HASH_SCHEME.encode())
        for f in fields(self):
            value = getattr(self, f.name)
            h.update(b"\x00" + f.name.encode() + b"\x00")
            if isinstance(value, np.ndarray):
                h.update(f"{value.dtype.str}{value.shape}".encode())
                h.update(np.ascontiguousarray(value).tobytes())
            else:
                h.update(json.dumps(_plain(value), sort_keys=True, separators=(",", ":")).encode())
        return h.hexdigest()


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


def save_trajectory(traj: JointTrajectory, path: str | Path) -> Path:
    """Write ``traj`` to ``path`` (``.npz``, schema ``weldcell.trajectory/1``). Returns the path."""
    p = Path(path)
    meta = {
        "schema": SCHEMA,
        "robot": traj.robot,
        "joint_names": list(traj.joint_names),
        "dt": traj.dt,
        "T_world_base": traj.T_world_base.tolist(),
        "T_flange_tcp": traj.T_flange_tcp.tolist(),
        "seam_ids": list(traj.seam_ids),
        "events": [{"t": e.t, "kind": e.kind, "seam_id": e.seam_id, "seam_s": e.seam_s} for e in traj.events],
        "program_hash": traj.program_hash,
        "travel_speed_m_s": traj.travel_speed,
        "plan": traj.metadata,
        "content_hash": traj.content_hash(),
        "content_hash_scheme": CONTENT_HASH_SCHEME,
    }
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("wb") as f:
        np.savez_compressed(
            f,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            t=traj.t,
            q=traj.q,
            qd=traj.qd,
            qdd=traj.qdd,
            T_world_tcp=traj.T_world_tcp,
            arc_on=traj.arc_on,
            seam_index=traj.seam_index,
            seam_s=traj.seam_s,
        )
    return p


_ARRAYS = ("t", "q", "qd", "qdd", "T_world_tcp", "arc_on", "seam_index", "seam_s")


def _is_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as UTF-8 text (a cut-off last character is allowed)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start >= len(head) - 3
    return True


def load_trajectory(path: str | Path) -> JointTrajectory:
    """Read a trajectory written by :func:`save_trajectory`.

    Raises:
        TrajectoryFormatError: missing file, a folder, an empty file, a weld program given instead of
            a trajectory, not a weldcell trajectory, unknown schema, corrupt data.
    """
    p = Path(path)
    if p.is_dir():
        raise TrajectoryFormatError(f"{p}: is a folder; expected a trajectory .npz file from `weldcell plan`")
    if not p.is_file():
        raise TrajectoryFormatError(f"{p}: trajectory file not found")
    try:
        with p.open("rb") as f:
            head = f.read(4096)
    except OSError as err:
        raise TrajectoryFormatError(f"{p}: cannot read the trajectory file ({err.strerror or err})") from err
    if not head:
        raise TrajectoryFormatError(
            f"{p}: the file is empty; expected a trajectory .npz from `weldcell plan`"
        )
    if not head.startswith(_ZIP_MAGIC):
        if _PROGRAM_MARKER in head or (p.suffix.lower() in (".yaml", ".yml") and _is_text(head)):
            raise TrajectoryFormatError(
                f"{p}: this looks like a weld program; expected a trajectory .npz from `weldcell plan` "
                f"(plan it first: weldcell plan {p} -o DIR)"
            )
        raise TrajectoryFormatError(
            f"{p}: not a weldcell trajectory file (not an .npz archive); "
            "expected a trajectory .npz from `weldcell plan`"
        )
    try:
        with np.load(p, allow_pickle=False) as z:
            missing = [k for k in ("meta", *_ARRAYS) if k not in z.files]
            if missing:
                raise TrajectoryFormatError(
                    f"{p}: not a weldcell trajectory file (no {', '.join(missing)} in the archive); "
                    "expected a trajectory .npz from `weldcell plan`"
                )
            meta = json.loads(bytes(z["meta"]).decode())
            arrays = {k: z[k] for k in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, zlib.error, zipfile.BadZipFile) as err:
        raise TrajectoryFormatError(
            f"{p}: not a weldcell trajectory file, or a corrupt or truncated one ({err})"
        ) from err
    if not isinstance(meta, dict):
        raise TrajectoryFormatError(
            f"{p}: not a weldcell trajectory file (its 'meta' entry is not an object)"
        )
    if meta.get("schema") != SCHEMA:
        raise TrajectoryFormatError(
            f"{p}: schema {meta.get('schema')!r} is not supported; expected {SCHEMA!r}"
        )
    try:
        traj = JointTrajectory(
            robot=meta["robot"],
            joint_names=tuple(meta["joint_names"]),
            dt=float(meta["dt"]),
            T_world_base=np.array(meta["T_world_base"]),
            T_flange_tcp=np.array(meta["T_flange_tcp"]),
            seam_ids=tuple(meta["seam_ids"]),
            events=tuple(ArcEvent(**e) for e in meta["events"]),
            program_hash=meta.get("program_hash", ""),
            travel_speed={k: float(v) for k, v in meta.get("travel_speed_m_s", {}).items()},
            metadata=dict(meta.get("plan") or {}),
            **arrays,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise TrajectoryFormatError(f"{p}: inconsistent trajectory data ({err})") from err
    if meta.get("content_hash_scheme") != CONTENT_HASH_SCHEME:
        raise TrajectoryFormatError(
            f"{p}: meta.content_hash_scheme is {meta.get('content_hash_scheme')!r}, expected "
            f"{CONTENT_HASH_SCHEME!r} (a file from an older weldcell, or edited); plan the program again"
        )
    if not meta.get("content_hash"):
        raise TrajectoryFormatError(
            f"{p}: meta.content_hash is missing; every trajectory file carries the SHA-256 of its content"
        )
    if meta["content_hash"] != traj.content_hash():
        raise TrajectoryFormatError(f"{p}: content hash mismatch; the file was modified after planning")
    return traj
