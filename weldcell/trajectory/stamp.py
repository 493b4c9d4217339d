"""Validation stamp: proof, next to a trajectory file, that exactly this trajectory passed simulation.

A stamp is ``<trajectory file>.stamp.json`` (schema :data:`STAMP_SCHEMA`). Only the validator writes
it (``weldcell.sim.stamping.write_validation_stamp``, which takes a report that only
``weldcell.sim.validate`` can produce); this module reads and checks stamps and manages the keys.

What a stamp binds:

* ``trajectory_hash``: :meth:`JointTrajectory.content_hash`, which covers *every* field of the
  trajectory generically (all arrays — ``t``, ``q``, ``qd``, ``qdd``, ``T_world_tcp``, ``arc_on``,
  ``seam_index``, ``seam_s`` — and all metadata: robot, joint names, dt, placements, seam ids,
  events, program hash, travel speeds), so a column added later is covered automatically;
* the cell it was validated in (``cell_hash``) and the robot/torch models by **name and SHA-256**
  (``models``; names relative to weldcell's ``urdf/`` folder, never absolute paths, so a stamp made
  in one checkout verifies in another with the same models);
* the validation summary (passed, metrics, seams, notes).

The whole document is signed (``signature``): with ``alg: "sha256"`` (unkeyed: detects edits and
accidents, not forgery, since anyone can recompute it) or ``alg: "hmac-sha256"`` with a per-cell key
file (:class:`StampKey`): then only a validator holding the cell's key can produce a stamp the cell
accepts. A cell with a key refuses unkeyed stamps and stamps made with another key; a cell without
a key refuses keyed stamps (it cannot check them). The key comes from an explicit option or the
environment variable :data:`STAMP_KEY_ENV`; create one with ``weldcell cell keygen PATH`` (mode 0600).

Pure Python and JSON: no pybullet here. Drivers, the exporter and the cell call :func:`verify_stamp`
before anything moves.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weldcell.errors import StampError
from weldcell.trajectory.types import CONTENT_HASH_SCHEME, JointTrajectory

STAMP_SCHEMA = "weldcell.stamp/2"
#: Environment variable naming the cell's stamp key file (used when no key is passed explicitly).
STAMP_KEY_ENV = "WELDCELL_STAMP_KEY"
#: Every field a stamp must carry; a stamp missing one is refused (a partial stamp).
REQUIRED_FIELDS = (
    "schema",
    "trajectory_file",
    "trajectory_hash",
    "trajectory_hash_scheme",
    "program_hash",
    "robot",
    "cell_hash",
    "models",
    "validated_at",
    "summary",
    "signature",
)
KEY_BYTES = 32  # 256-bit keys (``openssl rand -hex 32``)
UNKEYED = "sha256"
KEYED = "hmac-sha256"


class KeySource(enum.Enum):
    """Where :func:`verify_stamp` and the stamp writer take the key from when none is passed."""

    ENVIRONMENT = "environment"  # the file named by $WELDCELL_STAMP_KEY, or no key when it is unset


#: Default of every ``key`` argument: the key file named by :data:`STAMP_KEY_ENV`, if set.
FROM_ENVIRONMENT = KeySource.ENVIRONMENT


@dataclass(frozen=True, slots=True)
class StampKey:
    """A cell's secret stamp key.

    Attributes:
        secret: The key bytes (at least :data:`KEY_BYTES`).
        path: The key file it was read from (for messages).
    """

    secret: bytes
    path: Path

    def __post_init__(self) -> None:
        if len(self.secret) < KEY_BYTES:
            raise StampError(
                f"stamp key {self.path}: {len(self.secret)} bytes is too short; expected at least {KEY_BYTES}"
            )

    @property
    def key_id(self) -> str:
        """Public identifier of the key (first 16 hex digits of SHA-256 over the secret)."""
        return hashlib.sha256(b"weldcell stamp key id\x00" + self.secret).hexdigest()[:16]

    def __repr__(self) -> str:  # never print the secret
        return f"StampKey(path={str(self.path)!r}, key_id={self.key_id!r})"


def create_stamp_key(path: str | Path) -> StampKey:
    """Create a new random key file at ``path`` (64 hex digits, mode 0600); never overwrites.

    Raises:
        StampError: the file exists or cannot be written.
    """
    p = Path(path)
    text = secrets.token_hex(KEY_BYTES) + "\n"
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as err:
        raise StampError(f"stamp key {p}: the file exists; not overwriting a cell's key") from err
    except OSError as err:
        raise StampError(f"stamp key {p}: cannot create the file ({err.strerror or err})") from err
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text)
    p.chmod(0o600)  # the umask cannot widen it, but make the mode explicit
    return load_stamp_key(p)


def load_stamp_key(path: str | Path) -> StampKey:
    """Read a key file: hex text of at least 32 bytes (``openssl rand -hex 32``), mode 0600 or stricter.

    Raises:
        StampError: missing or unreadable file, readable by group or others, not hex, too short.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError as err:
        raise StampError(
            f"stamp key {p} does not exist; this cell requires stamps signed with its key "
            "(create it with 'weldcell cell keygen PATH')"
        ) from err
    except OSError as err:
        raise StampError(f"stamp key {p}: cannot read it ({err.strerror or err})") from err
    if not stat.S_ISREG(st.st_mode):
        raise StampError(f"stamp key {p}: not a regular file")
    if st.st_mode & 0o077:
        raise StampError(
            f"stamp key {p}: permissions {stat.S_IMODE(st.st_mode):04o} let others read it; expected 0600 "
            f"(chmod 600 {p})"
        )
    try:
        text = p.read_text(encoding="ascii").strip()
        secret = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise StampError(
            f"stamp key {p}: expected {2 * KEY_BYTES} or more hex digits (openssl rand -hex {KEY_BYTES})"
        ) from err
    return StampKey(secret, p)


def resolve_stamp_key(
    key: StampKey | str | Path | KeySource | None = FROM_ENVIRONMENT,
    environ: Mapping[str, str] | None = None,
) -> StampKey | None:
    """The key to use: an explicit key or key file, else ``$WELDCELL_STAMP_KEY``'s file, else None.

    Args:
        key: A :class:`StampKey`, a key file path, None (explicitly no key: unkeyed stamps) or
            :data:`FROM_ENVIRONMENT`.
        environ: Environment to read (default ``os.environ``).

    Raises:
        StampError: the named key file is missing or invalid (a cell that requires a key never
            falls back to unkeyed stamps).
    """
    if key is None or isinstance(key, StampKey):
        return key
    if isinstance(key, KeySource):
        env = os.environ if environ is None else environ
        name = env.get(STAMP_KEY_ENV, "").strip()
        if not name:
            return None
        try:
            return load_stamp_key(name)
        except StampError as err:
            raise StampError(f"{err} (named by ${STAMP_KEY_ENV})") from err
    return load_stamp_key(key)


def stamp_path(traj_path: str | Path) -> Path:
    """Path of the stamp belonging to ``traj_path``: ``<traj_path>.stamp.json``."""
    p = Path(traj_path)
    return p.with_name(p.name + ".stamp.json")


def canonical_bytes(body: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the document without ``signature`` as canonical JSON."""
    doc = {k: v for k, v in body.items() if k != "signature"}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _signature(body: Mapping[str, Any], key: StampKey | None) -> dict[str, str]:
    """The ``signature`` entry for ``body``: SHA-256 without a key, HMAC-SHA256 with one."""
    data = canonical_bytes(body)
    if key is None:
        return {"alg": UNKEYED, "key_id": "", "value": hashlib.sha256(data).hexdigest()}
    return {
        "alg": KEYED,
        "key_id": key.key_id,
        "value": hmac.new(key.secret, data, hashlib.sha256).hexdigest(),
    }


def model_entries(files: tuple[Path, ...] | list[Path]) -> list[dict[str, str]]:
    """Model files → ``[{"name", "sha256"}]``: names relative to weldcell's ``urdf/`` folder.

    Files outside that folder (a user's own meshes) keep only their file name; the cell hash
    covers them.
    """
    from weldcell.kinematics.models import URDF_DIR

    out = []
    root = URDF_DIR.resolve()
    for f in files:
        fp = Path(f).resolve()
        if not fp.is_file():
            raise StampError(f"model file {fp} is missing")
        try:
            name = fp.relative_to(root).as_posix()
        except ValueError:
            name = "external:" + fp.name
        out.append({"name": name, "sha256": _sha256_file(fp)})
    return sorted(out, key=lambda e: e["name"])


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_stamp(traj_path: str | Path) -> dict[str, Any]:
    """The stamp document of ``traj_path``, parsed but not checked.

    Raises:
        StampError: no stamp file, or not readable JSON.
    """
    sp = stamp_path(traj_path)
    if not sp.is_file():
        raise StampError(
            f"{traj_path} has not been validated (no {sp.name}); run 'weldcell validate' on it first"
        )
    try:
        doc = json.loads(sp.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise StampError(f"{sp}: unreadable validation stamp ({err})") from err
    if not isinstance(doc, dict):
        raise StampError(f"{sp}: not a weldcell validation stamp (expected a JSON object)")
    return doc


def verify_stamp(
    traj_path: str | Path,
    traj: JointTrajectory,
    cell_hash: str | None = None,
    *,
    key: StampKey | str | Path | KeySource | None = FROM_ENVIRONMENT,
) -> dict[str, Any]:
    """Check that the stamp next to ``traj_path`` certifies exactly ``traj``; return the stamp.

    Args:
        traj_path: The trajectory file; its stamp is ``<traj_path>.stamp.json``.
        traj: The trajectory about to be executed or exported (all of it is compared).
        cell_hash: If given, the cell model hash the caller is about to run in; must match.
        key: The cell's stamp key (a :class:`StampKey` or key file), None for a cell without a key,
            or :data:`FROM_ENVIRONMENT` (default): ``$WELDCELL_STAMP_KEY`` if set.

    Raises:
        StampError: no stamp; unreadable, partial or edited stamp; wrong, missing or unexpected key;
            a stamp of another trajectory or of a changed one; a failed validation; changed models.
    """
    cell_key = resolve_stamp_key(key)
    sp = stamp_path(traj_path)
    doc = read_stamp(traj_path)
    if doc.get("schema") != STAMP_SCHEMA:
        raise StampError(
            f"{sp}: schema {doc.get('schema')!r} is not a weldcell validation stamp {STAMP_SCHEMA!r}; "
            "validate the trajectory again"
        )
    missing = [k for k in REQUIRED_FIELDS if k not in doc]
    if missing:
        raise StampError(f"{sp}: partial validation stamp, missing field(s) {missing}; validate again")
    _check_signature(sp, doc, cell_key)
    if doc["trajectory_hash_scheme"] != CONTENT_HASH_SCHEME:
        raise StampError(
            f"{sp}: trajectory hash scheme {doc['trajectory_hash_scheme']!r}, expected "
            f"{CONTENT_HASH_SCHEME!r}; validate again"
        )
    if doc["trajectory_hash"] != traj.content_hash():
        raise StampError(
            f"{sp}: stale stamp: it certifies another trajectory than {Path(traj_path).name} "
            "(the trajectory was changed after validation, or the stamp belongs to another file); "
            "validate again"
        )
    summary = doc["summary"]
    if not isinstance(summary, dict) or summary.get("passed") is not True:
        raise StampError(f"{sp}: the validation did not pass")
    if cell_hash is not None and doc["cell_hash"] != cell_hash:
        raise StampError(f"{sp}: stale stamp: the cell model changed since validation; validate again")
    _check_models(sp, doc["models"])
    return dict(doc)


def _check_signature(sp: Path, doc: dict[str, Any], key: StampKey | None) -> None:
    sig = doc["signature"]
    if not isinstance(sig, dict) or not all(isinstance(sig.get(k), str) for k in ("alg", "key_id", "value")):
        raise StampError(f"{sp}: partial validation stamp: signature must have alg, key_id and value")
    alg = sig["alg"]
    if alg not in (UNKEYED, KEYED):
        raise StampError(f"{sp}: unknown signature algorithm {alg!r}; expected {UNKEYED!r} or {KEYED!r}")
    if key is not None and alg != KEYED:
        raise StampError(
            f"{sp}: this cell requires stamps signed with its key (key id {key.key_id}, {key.path}); "
            "this stamp is unkeyed: validate with the cell's key"
        )
    if key is None and alg == KEYED:
        raise StampError(
            f"{sp}: the stamp is signed with key id {sig['key_id']}, but no stamp key is configured "
            f"(pass the cell's key file or set ${STAMP_KEY_ENV}); cannot check it"
        )
    if key is not None and sig["key_id"] != key.key_id:
        raise StampError(
            f"{sp}: the stamp was signed with another key (key id {sig['key_id']}); this cell's key "
            f"is {key.key_id} ({key.path}): validate with this cell's validator"
        )
    expected = _signature(doc, key)["value"]
    try:
        ok = hmac.compare_digest(expected, sig["value"])
    except TypeError:
        ok = False
    if not ok:
        what = "forged or edited" if key is not None else "edited"
        raise StampError(
            f"{sp}: the stamp does not match its signature ({what} after validation); validate again"
        )


def _check_models(sp: Path, models: Any) -> None:
    from weldcell.kinematics.models import URDF_DIR

    if not isinstance(models, list) or not all(
        isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("sha256"), str)
        for m in models
    ):
        raise StampError(f"{sp}: partial validation stamp: models must be a list of {{name, sha256}}")
    for m in models:
        name = m["name"]
        if name.startswith("external:"):
            continue  # a user's file, bound through the cell hash
        fp = URDF_DIR / name
        if ".." in Path(name).parts or not fp.is_file():
            raise StampError(f"{sp}: model {name} used for the validation is missing from {URDF_DIR}")
        if _sha256_file(fp) != m["sha256"]:
            raise StampError(f"{sp}: stale stamp: model {name} changed since validation; validate again")
