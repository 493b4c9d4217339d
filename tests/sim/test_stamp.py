"""Validation stamps: written only by the validator, bound to every field of the trajectory, keyed per cell.

Every stamp here comes from a real validation in pybullet (``validate_trajectory``); the forging
tests play an attacker who edits the stamp or the trajectory and recomputes what can be recomputed
without the cell's key.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import weldcell.trajectory.stamp as stamp_mod
from weldcell.errors import StampError
from weldcell.sim import CellModel, ValidationReport, validate_trajectory
from weldcell.sim.stamping import write_validation_stamp
from weldcell.trajectory import ArcEvent, ExternalAxes, JointTrajectory, load_trajectory, save_trajectory
from weldcell.trajectory.stamp import (
    REQUIRED_FIELDS,
    STAMP_KEY_ENV,
    StampKey,
    _signature,
    create_stamp_key,
    load_stamp_key,
    resolve_stamp_key,
    stamp_path,
    verify_stamp,
)


@pytest.fixture(scope="module")
def report(good_traj: JointTrajectory, cell: CellModel) -> ValidationReport:
    rep = validate_trajectory(good_traj, cell=cell)
    assert rep.passed, [v.message() for v in rep.violations]
    return rep


@pytest.fixture()
def saved(tmp_path: Path, good_traj: JointTrajectory) -> Path:
    return save_trajectory(good_traj, tmp_path / "job.npz")


@pytest.fixture()
def key(tmp_path: Path) -> StampKey:
    return create_stamp_key(tmp_path / "keys" / "cell.key")


def _resign(sp: Path, doc: dict[str, Any], key: StampKey | None) -> None:
    """What an attacker can do: rewrite the stamp and recompute its signature with a key it holds."""
    doc["signature"] = _signature(doc, key)
    sp.write_text(json.dumps(doc))


# --- writing -----------------------------------------------------------------------------------
def test_write_then_verify_unkeyed(saved: Path, good_traj: JointTrajectory, report: ValidationReport) -> None:
    sp = write_validation_stamp(report, saved, key=None)
    assert sp == stamp_path(saved) and sp.name == "job.npz.stamp.json"
    doc = verify_stamp(saved, good_traj, key=None)
    assert doc["trajectory_hash"] == good_traj.content_hash() == report.trajectory_hash
    assert doc["signature"]["alg"] == "sha256" and doc["signature"]["key_id"] == ""
    assert (
        verify_stamp(saved, good_traj, cell_hash=report.cell_hash, key=None)["cell_hash"] == report.cell_hash
    )
    assert set(REQUIRED_FIELDS) <= set(doc)
    # models by name and content hash, never an absolute path (a stamp moves with the checkout)
    text = sp.read_text()
    assert str(Path.cwd()) not in text and "/work/" not in text
    names = [m["name"] for m in doc["models"]]
    assert "ur5e.urdf" in names and all(not n.startswith("/") for n in names)


def test_stamp_verifies_in_another_checkout(tmp_path: Path, saved: Path, report: ValidationReport) -> None:
    """Moving trajectory and stamp elsewhere keeps the stamp valid (no absolute paths inside)."""
    write_validation_stamp(report, saved, key=None)
    moved = tmp_path / "elsewhere" / "job.npz"
    moved.parent.mkdir()
    saved.rename(moved)
    stamp_path(saved).rename(stamp_path(moved))
    verify_stamp(moved, load_trajectory(moved), key=None)


def test_keyed_stamp(
    saved: Path, good_traj: JointTrajectory, report: ValidationReport, key: StampKey
) -> None:
    write_validation_stamp(report, saved, key=key)
    doc = verify_stamp(saved, good_traj, key=key)
    assert doc["signature"] == {
        "alg": "hmac-sha256",
        "key_id": key.key_id,
        "value": doc["signature"]["value"],
    }
    assert key.secret.hex() not in stamp_path(saved).read_text()
    assert key.secret.hex() not in repr(key)


def test_no_public_way_to_stamp_without_validating(
    saved: Path, good_traj: JointTrajectory, report: ValidationReport, cell: CellModel
) -> None:
    assert not hasattr(stamp_mod, "write_stamp")  # the old writer took any {"passed": True}
    with pytest.raises(StampError, match="not produced by weldcell's validator"):
        write_validation_stamp({"passed": True}, saved)  # type: ignore[arg-type]
    hand_made = dataclasses.replace(report, seal="")
    with pytest.raises(StampError, match="not produced by weldcell's validator"):
        write_validation_stamp(hand_made, saved)
    # a failed report with its violations removed keeps the old seal, which no longer matches
    q = good_traj.q.copy()
    q[3000:, 0] += 0.05
    bad = dataclasses.replace(good_traj, q=q)
    failed = validate_trajectory(bad, cell=cell)
    assert not failed.passed
    bad_path = save_trajectory(bad, saved.with_name("bad.npz"))
    with pytest.raises(StampError, match="violation"):
        write_validation_stamp(failed, bad_path)
    with pytest.raises(StampError, match="not produced by weldcell's validator"):
        write_validation_stamp(dataclasses.replace(failed, violations=()), bad_path)
    # a passing report does not stamp another trajectory's file
    with pytest.raises(StampError, match="another trajectory than the one validated"):
        write_validation_stamp(report, bad_path)
    assert not stamp_path(bad_path).exists()


# --- refusals ----------------------------------------------------------------------------------
def test_missing_stamp(saved: Path, good_traj: JointTrajectory) -> None:
    with pytest.raises(StampError, match="has not been validated"):
        verify_stamp(saved, good_traj, key=None)


def test_edited_stamp_is_refused(saved: Path, good_traj: JointTrajectory, report: ValidationReport) -> None:
    sp = write_validation_stamp(report, saved, key=None)
    doc = json.loads(sp.read_text())
    doc["summary"]["passed"] = True
    doc["summary"]["metrics"]["min_distance_m"] = 0.5
    sp.write_text(json.dumps(doc))
    with pytest.raises(StampError, match="does not match its signature"):
        verify_stamp(saved, good_traj, key=None)
    sp.write_text("not json")
    with pytest.raises(StampError, match="unreadable"):
        verify_stamp(saved, good_traj, key=None)


@pytest.mark.parametrize("missing", REQUIRED_FIELDS)
def test_partial_stamp_is_refused(
    missing: str, saved: Path, good_traj: JointTrajectory, report: ValidationReport, key: StampKey
) -> None:
    """A stamp without one of its fields is refused, even when correctly signed without it."""
    sp = write_validation_stamp(report, saved, key=key)
    doc = json.loads(sp.read_text())
    del doc[missing]
    if missing != "signature":
        _resign(sp, doc, key)
    else:
        sp.write_text(json.dumps(doc))
    with pytest.raises(StampError, match=r"partial validation stamp|not a weldcell validation stamp") as info:
        verify_stamp(saved, good_traj, key=key)
    assert missing in str(info.value) or missing == "schema"


def test_forged_stamp_is_refused_by_a_keyed_cell(
    saved: Path, good_traj: JointTrajectory, report: ValidationReport, key: StampKey, tmp_path: Path
) -> None:
    """Without the cell's key an attacker can only make unkeyed or wrongly keyed stamps: both refused."""
    sp = write_validation_stamp(report, saved, key=key)
    doc = json.loads(sp.read_text())
    _resign(sp, dict(doc), None)
    with pytest.raises(StampError, match="requires stamps signed with its key"):
        verify_stamp(saved, good_traj, key=key)
    attacker = StampKey(os.urandom(32), tmp_path / "attacker.key")
    _resign(sp, dict(doc), attacker)
    with pytest.raises(StampError, match="signed with another key"):
        verify_stamp(saved, good_traj, key=key)
    forged = dict(doc)
    forged["signature"] = dict(doc["signature"], value="0" * 64)  # the right key id, a made-up MAC
    sp.write_text(json.dumps(forged))
    with pytest.raises(StampError, match="forged or edited"):
        verify_stamp(saved, good_traj, key=key)


def test_stamp_of_another_trajectory_is_refused(
    tmp_path: Path, saved: Path, good_traj: JointTrajectory, report: ValidationReport
) -> None:
    write_validation_stamp(report, saved, key=None)
    other = dataclasses.replace(good_traj, program_hash="another program")
    other_path = save_trajectory(other, tmp_path / "other.npz")
    stamp_path(other_path).write_text(stamp_path(saved).read_text())  # a valid stamp, copied over
    with pytest.raises(StampError, match="certifies another trajectory"):
        verify_stamp(other_path, other, key=None)


def _mutated(traj: JointTrajectory, name: str) -> JointTrajectory:
    """``traj`` with field ``name`` changed slightly but validly."""
    value = getattr(traj, name)
    if isinstance(value, np.ndarray):
        arr = value.copy()
        flat = arr.reshape(-1)
        if arr.dtype == np.bool_:
            flat[0] = not flat[0]
        elif name == "seam_index":
            flat[int(np.flatnonzero(flat >= 0)[0])] = -1
        else:
            i = int(np.flatnonzero(np.isfinite(flat))[0])
            flat[i] = flat[i] + 1e-9 if flat[i] != 0 else 1e-9
        new: Any = arr
    elif name == "dt":
        new = value * (1 + 1e-12)
    elif name in ("robot", "program_hash"):
        new = value + "x"
    elif name in ("joint_names", "seam_ids"):
        new = (value[0] + "x", *value[1:])
    elif name == "events":
        e = value[0]
        new = (ArcEvent(e.t, e.kind, e.seam_id, e.seam_s + 1e-6), *value[1:])
    elif name == "travel_speed":
        new = {k: v * 1.001 for k, v in value.items()}
    elif name == "metadata":
        new = {**value, "edited": True}
    elif name == "external":  # a robot-only trajectory given a positioner, or its axes nudged
        n = traj.n_samples
        q = np.zeros((n, 1)) if value is None else value.q.copy()
        q[0, 0] += 1e-9
        new = ExternalAxes(
            "turntable_1ax" if value is None else value.device,
            "positioner" if value is None else value.role,
            ("table",) if value is None else value.names,
            ("revolute",) if value is None else value.kinds,
            q,
            np.zeros_like(q),
            np.zeros_like(q),
            np.eye(4) if value is None else value.T_world_base,
        )
    else:
        raise AssertionError(f"no mutation for JointTrajectory.{name}: add one so the stamp test covers it")
    return dataclasses.replace(traj, **{name: new})


FIELDS = [f.name for f in dataclasses.fields(JointTrajectory)]


@pytest.mark.parametrize("name", FIELDS)
def test_trajectory_modified_after_stamping_is_refused(
    name: str, saved: Path, good_traj: JointTrajectory, report: ValidationReport
) -> None:
    """Every field (t, seam_s, seam_index, seam_ids, q, … every metadata field) is covered by the stamp."""
    write_validation_stamp(report, saved, key=None)
    changed = _mutated(good_traj, name)
    with pytest.raises(StampError, match="certifies another trajectory"):
        verify_stamp(saved, changed, key=None)
    # the same change written to the file (with a consistent content hash) is refused too
    save_trajectory(changed, saved)
    with pytest.raises(StampError, match="certifies another trajectory"):
        verify_stamp(saved, load_trajectory(saved), key=None)


def test_stale_when_a_model_or_the_cell_changes(
    saved: Path, good_traj: JointTrajectory, report: ValidationReport
) -> None:
    sp = write_validation_stamp(report, saved, key=None)
    with pytest.raises(StampError, match="cell model changed"):
        verify_stamp(saved, good_traj, cell_hash="d" * 64, key=None)
    doc = json.loads(sp.read_text())
    doc["models"][0]["sha256"] = "0" * 64  # as if the URDF had changed since validation
    _resign(sp, doc, None)
    with pytest.raises(StampError, match=rf"model {doc['models'][0]['name']} changed since validation"):
        verify_stamp(saved, good_traj, key=None)


# --- keys ----------------------------------------------------------------------------------------
def test_wrong_key_and_missing_key(
    tmp_path: Path, saved: Path, good_traj: JointTrajectory, report: ValidationReport, key: StampKey
) -> None:
    write_validation_stamp(report, saved, key=key)
    other = create_stamp_key(tmp_path / "other.key")
    with pytest.raises(StampError, match=f"another key \\(key id {key.key_id}\\).*{other.key_id}"):
        verify_stamp(saved, good_traj, key=other)
    with pytest.raises(StampError, match="no stamp key is configured"):
        verify_stamp(saved, good_traj, key=None)
    # a cell configured with a key file that is not there refuses, it does not fall back to unkeyed
    with pytest.raises(StampError, match="does not exist; this cell requires stamps signed with its key"):
        verify_stamp(saved, good_traj, key=tmp_path / "gone.key")
    with pytest.raises(StampError, match=f"\\${STAMP_KEY_ENV}"):
        resolve_stamp_key(environ={STAMP_KEY_ENV: str(tmp_path / "gone.key")})


def test_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    saved: Path,
    good_traj: JointTrajectory,
    report: ValidationReport,
    key: StampKey,
) -> None:
    monkeypatch.setenv(STAMP_KEY_ENV, str(key.path))
    write_validation_stamp(report, saved)  # default: the environment's key
    assert json.loads(stamp_path(saved).read_text())["signature"]["key_id"] == key.key_id
    verify_stamp(saved, good_traj)
    monkeypatch.delenv(STAMP_KEY_ENV)
    with pytest.raises(StampError, match="no stamp key is configured"):
        verify_stamp(saved, good_traj)


def test_key_files(tmp_path: Path, key: StampKey) -> None:
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert len(key.path.read_text().strip()) == 64 and load_stamp_key(key.path) == key
    with pytest.raises(StampError, match="exists; not overwriting"):
        create_stamp_key(key.path)
    loose = tmp_path / "loose.key"
    loose.write_text("ab" * 32)
    loose.chmod(0o644)
    with pytest.raises(StampError, match="permissions 0644 let others read it"):
        load_stamp_key(loose)
    short = tmp_path / "short.key"
    short.write_text("abcd")
    short.chmod(0o600)
    with pytest.raises(StampError, match="too short"):
        load_stamp_key(short)
    junk = tmp_path / "junk.key"
    junk.write_text("not hex at all")
    junk.chmod(0o600)
    with pytest.raises(StampError, match="hex digits"):
        load_stamp_key(junk)
    openssl_style = tmp_path / "openssl.key"  # `openssl rand -hex 32 > cell.key; chmod 600 cell.key`
    openssl_style.write_text(os.urandom(32).hex() + "\n")
    openssl_style.chmod(0o600)
    assert len(load_stamp_key(openssl_style).secret) == 32


def test_cli_keygen(tmp_path: Path) -> None:
    from weldcell.cli import app

    path = tmp_path / "cell.key"
    res = CliRunner().invoke(app, ["cell", "keygen", str(path)])
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_stamp_key(path).key_id in res.output
    res = CliRunner().invoke(app, ["cell", "keygen", str(path)])
    assert res.exit_code == 2 and "not overwriting" in res.output
