"""Saving and loading :class:`~weldcell.trajectory.JointTrajectory` files.

File format (schema ``weldcell.trajectory/2``): one ``.npz`` file holding the per-sample arrays plus
a ``meta`` entry with a JSON document (robot, joint names, ``T_world_base``, ``T_flange_tcp``, seam
ids, events, program hash, dt, schema, content hash, external axes). See ``docs/trajectory-format.md``.
Version 2 added the external axes (positioner or track: ``q_ext``/``qd_ext``/``qdd_ext`` and
``meta.external``); files of version 1 (robot only) are still read.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from weldcell.errors import ExportError, InputShapeError, TrajectoryFormatError
from weldcell.trajectory.types import CONTENT_HASH_SCHEME, ArcEvent, ExternalAxes, JointTrajectory

SCHEMA = "weldcell.trajectory/2"
#: Older schemas this reader still accepts (version 1: no external axes).
READABLE_SCHEMAS = ("weldcell.trajectory/1", SCHEMA)
_ZIP_MAGIC = b"PK\x03\x04"  # every .npz is a zip archive
_PROGRAM_MARKER = b"weldcell.program/"  # the format line of a weld program (YAML or JSON)


def save_trajectory(traj: JointTrajectory, path: str | Path) -> Path:
    """Write ``traj`` to ``path`` (``.npz``, schema ``weldcell.trajectory/2``). Returns the path."""
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
    ext_arrays: dict[str, Any] = {}
    if traj.external is not None:
        x = traj.external
        meta["external"] = {
            "device": x.device,
            "role": x.role,
            "names": list(x.names),
            "kinds": list(x.kinds),
            "T_world_base": x.T_world_base.tolist(),
        }
        ext_arrays = {"q_ext": x.q, "qd_ext": x.qd, "qdd_ext": x.qdd}
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
            **ext_arrays,
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
            ext_arrays = {k: z[k] for k in ("q_ext", "qd_ext", "qdd_ext") if k in z.files}
    except (OSError, ValueError, KeyError, EOFError, zlib.error, zipfile.BadZipFile) as err:
        raise TrajectoryFormatError(
            f"{p}: not a weldcell trajectory file, or a corrupt or truncated one ({err})"
        ) from err
    if not isinstance(meta, dict):
        raise TrajectoryFormatError(
            f"{p}: not a weldcell trajectory file (its 'meta' entry is not an object)"
        )
    if meta.get("schema") not in READABLE_SCHEMAS:
        raise TrajectoryFormatError(
            f"{p}: schema {meta.get('schema')!r} is not supported; "
            f"expected one of {', '.join(READABLE_SCHEMAS)}"
        )
    external = None
    if meta.get("external") is not None:
        if len(ext_arrays) != 3:
            raise TrajectoryFormatError(
                f"{p}: meta.external names external axes but the archive lacks q_ext/qd_ext/qdd_ext"
            )
        try:
            x = meta["external"]
            external = ExternalAxes(
                device=str(x["device"]),
                role=str(x["role"]),
                names=tuple(x["names"]),
                kinds=tuple(x["kinds"]),
                q=ext_arrays["q_ext"],
                qd=ext_arrays["qd_ext"],
                qdd=ext_arrays["qdd_ext"],
                T_world_base=np.array(x["T_world_base"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError, InputShapeError) as err:
            raise TrajectoryFormatError(
                f"{p}: inconsistent external-axis data in meta.external ({err})"
            ) from err
    elif ext_arrays:
        raise TrajectoryFormatError(
            f"{p}: the archive has external-axis arrays but no meta.external describing them"
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
            external=external,
            **arrays,
        )
    except (KeyError, TypeError, ValueError, AttributeError, InputShapeError) as err:
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


def program_named_beside(traj_path: str | Path) -> Path | None:
    """The weld program file named in the ``plan.json`` that ``weldcell plan`` wrote beside a trajectory.

    The name is tried as written, then relative to the trajectory's folder. Only the path is found
    here; the caller loads the program and checks its hash against the trajectory's.

    Returns:
        The existing program file, or None when there is no readable ``plan.json`` or the file it
        names does not exist.
    """
    folder = Path(traj_path).parent
    try:
        ref = json.loads((folder / "plan.json").read_text(encoding="utf-8"))["program"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(ref, str):
        return None
    for cand in (Path(ref), folder / ref):
        if cand.is_file():
            return cand
    return None


def find_program(traj_path: str | Path, traj: JointTrajectory) -> Any:
    """The weld program a trajectory was planned from, via ``plan.json`` beside it; None if not found.

    For the native-program exports of every vendor (the seam and weld data come from the program).

    Returns:
        The loaded :class:`~weldcell.program.Program`, or None when :func:`program_named_beside`
        finds no program file.

    Raises:
        ExportError: the program found does not match the trajectory's program hash.
    """
    from weldcell.program import load_program

    cand = program_named_beside(traj_path)
    if cand is None:
        return None
    prog = load_program(cand)
    if traj.program_hash and prog.hash != traj.program_hash:
        raise ExportError(
            f"{cand} (named in {Path(traj_path).parent / 'plan.json'}) has changed since the trajectory "
            "was planned (hash mismatch); plan it again or pass --program"
        )
    return prog
