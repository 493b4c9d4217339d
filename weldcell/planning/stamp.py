"""Validation stamp: proof, next to a trajectory file, that exactly this trajectory passed simulation.

``write_stamp`` writes ``<trajectory file>.stamp.json`` after a passing validation. The stamp is bound
to :meth:`JointTrajectory.content_hash` and, when the validation report names them, to the cell
model (``cell_hash``) and the model files it was built from (URDFs, meshes, each with its SHA-256).
``verify_stamp`` re-checks all of that and raises :class:`StampError` when the stamp is missing, was
written for another trajectory, or a model file changed since. Drivers call ``verify_stamp`` before
moving a robot. Pure Python and JSON: no pybullet here.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any

from weldcell.errors import StampError
from weldcell.planning.trajectory import JointTrajectory

STAMP_SCHEMA = "weldcell.stamp/1"


def stamp_path(traj_path: str | Path) -> Path:
    """Path of the stamp belonging to ``traj_path``: ``<traj_path>.stamp.json``."""
    p = Path(traj_path)
    return p.with_name(p.name + ".stamp.json")


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _body_hash(doc: dict[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "stamp_hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def write_stamp(traj_path: str | Path, traj: JointTrajectory, report_summary: dict[str, Any]) -> Path:
    """Write the validation stamp of ``traj`` next to ``traj_path``.

    Args:
        traj_path: The trajectory file (``.npz``) the stamp certifies.
        traj: The validated trajectory (its content hash is recorded).
        report_summary: ``ValidationReport.summary()``; must say ``passed: true``. Its ``cell_hash``,
            ``cell_files`` and ``trajectory_hash`` (if present) are recorded and checked.

    Returns:
        Path of the stamp file.

    Raises:
        StampError: the report did not pass, or it was made for another trajectory.
    """
    if not report_summary.get("passed", False):
        n = report_summary.get("n_violations", "some")
        raise StampError(f"not stamping {traj_path}: the validation found {n} violation(s)")
    content_hash = traj.content_hash()
    reported = report_summary.get("trajectory_hash")
    if reported and reported != content_hash:
        raise StampError(f"not stamping {traj_path}: the validation report is for another trajectory")
    files = {}
    for f in report_summary.get("cell_files", []):
        fp = Path(f)
        if not fp.is_file():
            raise StampError(f"not stamping {traj_path}: model file {fp} is missing")
        files[str(fp)] = _sha256_file(fp)
    doc: dict[str, Any] = {
        "schema": STAMP_SCHEMA,
        "trajectory_file": Path(traj_path).name,
        "trajectory_hash": content_hash,
        "program_hash": traj.program_hash,
        "robot": traj.robot,
        "cell_hash": report_summary.get("cell_hash", ""),
        "cell_files": files,
        "validated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "summary": {
            k: report_summary[k]
            for k in ("passed", "duration_s", "n_samples", "metrics", "seams", "notes")
            if k in report_summary
        },
    }
    doc["stamp_hash"] = _body_hash(doc)
    out = stamp_path(traj_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, sort_keys=True))
    return out


def verify_stamp(
    traj_path: str | Path, traj: JointTrajectory, cell_hash: str | None = None
) -> dict[str, Any]:
    """Check the stamp of ``traj``; return its content.

    Args:
        traj_path: The trajectory file; its stamp is ``<traj_path>.stamp.json``.
        traj: The trajectory about to be executed.
        cell_hash: If given, the cell model hash the caller is about to run in; must match.

    Raises:
        StampError: no stamp, unreadable or edited stamp, trajectory or cell changed since validation.
    """
    sp = stamp_path(traj_path)
    if not sp.is_file():
        raise StampError(
            f"{traj_path} has not been validated (no {sp.name}); run 'weldcell validate' on it first"
        )
    try:
        doc = json.loads(sp.read_text())
    except (OSError, ValueError) as err:
        raise StampError(f"{sp}: unreadable validation stamp ({err})") from err
    if not isinstance(doc, dict) or doc.get("schema") != STAMP_SCHEMA:
        raise StampError(f"{sp}: not a weldcell validation stamp (expected schema {STAMP_SCHEMA})")
    if doc.get("stamp_hash") != _body_hash(doc):
        raise StampError(f"{sp}: the stamp was edited after validation; validate again")
    if doc.get("trajectory_hash") != traj.content_hash():
        raise StampError(
            f"{sp}: stale stamp: it certifies another trajectory than {Path(traj_path).name}; validate again"
        )
    if not doc.get("summary", {}).get("passed", False):
        raise StampError(f"{sp}: the validation did not pass")
    if cell_hash is not None and doc.get("cell_hash") != cell_hash:
        raise StampError(f"{sp}: stale stamp: the cell model changed since validation; validate again")
    for f, h in doc.get("cell_files", {}).items():
        fp = Path(f)
        if not fp.is_file():
            raise StampError(f"{sp}: model file {fp} used for the validation is missing")
        if _sha256_file(fp) != h:
            raise StampError(f"{sp}: stale stamp: model file {fp} changed since validation; validate again")
    return dict(doc)
