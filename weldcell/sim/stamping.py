"""Writing validation stamps: only for trajectories this process's validator has passed.

:func:`write_validation_stamp` is the only way weldcell writes a stamp. It takes the
:class:`~weldcell.sim.report.ValidationReport` of :func:`weldcell.sim.validate.validate_in_scene`
(checked by the validator's seal, see :mod:`weldcell.sim._seal`), never a hand-made summary, and
it stamps the trajectory *file*: the file is loaded and its content hash must be the one the
validator saw. The stamp format and its checks are in :mod:`weldcell.trajectory.stamp`.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from weldcell.errors import StampError
from weldcell.sim._seal import is_sealed
from weldcell.sim.report import ValidationReport
from weldcell.trajectory import CONTENT_HASH_SCHEME, JointTrajectory, load_trajectory
from weldcell.trajectory.stamp import (
    FROM_ENVIRONMENT,
    STAMP_SCHEMA,
    KeySource,
    StampKey,
    _signature,
    model_entries,
    resolve_stamp_key,
    stamp_path,
)

_SUMMARY_KEYS = ("passed", "duration_s", "n_samples", "n_violations", "metrics", "seams", "notes")


def write_validation_stamp(
    report: ValidationReport,
    traj_path: str | Path,
    *,
    key: StampKey | str | Path | KeySource | None = FROM_ENVIRONMENT,
) -> Path:
    """Write ``<traj_path>.stamp.json`` for the trajectory file ``traj_path`` that ``report`` passed.

    Args:
        report: The validator's report (from :func:`~weldcell.sim.validate.validate_in_scene` or
            :func:`~weldcell.sim.validate.validate_trajectory` in this process).
        traj_path: The saved trajectory file; it must hold exactly the validated trajectory.
        key: The cell's stamp key (or key file) for an HMAC-SHA256 stamp, None for an unkeyed stamp,
            or :data:`~weldcell.trajectory.stamp.FROM_ENVIRONMENT` (default): ``$WELDCELL_STAMP_KEY``.

    Returns:
        Path of the stamp file.

    Raises:
        StampError: the report is not the validator's, did not pass, or is for another trajectory
            than the file holds; the key file is missing or invalid.
    """
    if not isinstance(report, ValidationReport) or not is_sealed(report.summary(), report.seal):
        raise StampError(
            f"not stamping {traj_path}: the report was not produced by weldcell's validator "
            "(weldcell.sim.validate) in this process"
        )
    summary = report.summary()
    if not report.passed:
        raise StampError(
            f"not stamping {traj_path}: the validation found {len(report.violations)} violation(s)"
        )
    traj = load_trajectory(traj_path)
    if traj.content_hash() != report.trajectory_hash:
        raise StampError(
            f"not stamping {traj_path}: the file holds another trajectory than the one validated"
        )
    return _write_stamp(traj_path, traj, summary, resolve_stamp_key(key))


def _write_stamp(
    traj_path: str | Path, traj: JointTrajectory, summary: dict[str, Any], key: StampKey | None
) -> Path:
    doc: dict[str, Any] = {
        "schema": STAMP_SCHEMA,
        "trajectory_file": Path(traj_path).name,
        "trajectory_hash": traj.content_hash(),
        "trajectory_hash_scheme": CONTENT_HASH_SCHEME,
        "program_hash": traj.program_hash,
        "robot": traj.robot,
        "cell_hash": summary.get("cell_hash", ""),
        "models": model_entries([Path(f) for f in summary.get("cell_files", [])]),
        "validated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "summary": {k: summary[k] for k in _SUMMARY_KEYS if k in summary},
    }
    doc["signature"] = _signature(doc, key)
    out = stamp_path(traj_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, allow_nan=False), encoding="utf-8")
    tmp.replace(out)
    return out
