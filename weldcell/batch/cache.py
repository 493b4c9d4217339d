"""Content-addressed cache of batch results.

The key of a program is the SHA-256 over

* the program file's bytes,
* every model file the program uses: the robot and torch URDFs and the mesh files of its bodies
  (by content, so moving a file does not change the key, editing it does),
* the planner version: weldcell's version plus a hash of the source of every package that decides
  the plan and its validation (kinematics, toolpath, trajectory, planning, sim, program, spatial),
  so that a changed planner never serves an old result,
* the options (controller period, seed, rotation samples, ...) as canonical JSON.

An entry is a folder ``<cache>/<key[:2]>/<key>/`` holding the output files and ``result.json``;
it is written to a temporary folder and renamed into place, so a killed batch never leaves a
half-written entry that a later run would trust.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weldcell.errors import WeldcellError

if TYPE_CHECKING:
    from weldcell.program.model import Program

#: Packages whose source decides a plan and its validation (hashed into :func:`planner_version`).
PLANNER_PACKAGES = ("spatial", "kinematics", "program", "toolpath", "trajectory", "planning", "sim")
RESULT_FILE = "result.json"
_CHUNK = 1 << 20


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def planner_version() -> str:
    """``"<weldcell version>+<12 hex digits>"``: the version and a hash of the planner's source files.

    Computed once per process (the source does not change under a running batch).
    """
    from weldcell import __version__

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for pkg in PLANNER_PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


def model_files(program: Program) -> list[Path]:
    """The model files ``program`` uses: robot URDF, torch URDF, mesh files of its bodies (sorted, unique).

    Raises:
        UnknownModelError: the program names a robot or torch that is not shipped.
    """
    from weldcell.kinematics import urdf_path

    files = {urdf_path(program.cell.robot), urdf_path(program.cell.torch)}
    files.update(Path(b.mesh_path) for b in program.cell.bodies if b.mesh_path is not None)
    return sorted(files)


def cache_key(program: Program, options: Mapping[str, Any]) -> str:
    """The content key of planning ``program`` with ``options`` (hex SHA-256; see the module docstring).

    Args:
        program: The loaded program (its file is hashed again here: the bytes on disk are the truth).
        options: JSON-serialisable options that change the result.

    Raises:
        WeldcellError: a model file cannot be read (names the file).
    """
    h = hashlib.sha256()
    h.update(b"weldcell.batch-key/1\0")
    h.update(planner_version().encode() + b"\0")
    h.update(json.dumps(dict(options), sort_keys=True, separators=(",", ":")).encode() + b"\0")
    parts = [("program", Path(program.path))] + [("model", p) for p in model_files(program)]
    for role, path in parts:
        try:
            digest = _file_digest(path)
        except OSError as err:
            raise WeldcellError(
                f"{program.path}: cannot read its {role} file {path} ({err.strerror or err})"
            ) from err
        # the program by content only; models by name and content (two models may share bytes)
        name = "" if role == "program" else path.name
        h.update(f"{role}:{name}:{digest}\0".encode())
    return h.hexdigest()


class ResultCache:
    """A folder of results by content key.

    Args:
        root: Cache folder (created on first :meth:`put`).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str) -> tuple[Path, dict[str, Any]] | None:
        """(entry folder, stored result) for ``key``, or None when there is no complete entry."""
        entry = self._entry(key)
        try:
            result = json.loads((entry / RESULT_FILE).read_text())
        except (OSError, ValueError):
            return None
        files = result.get("files", [])
        if not isinstance(files, list) or not all((entry / str(f)).is_file() for f in files):
            return None  # an entry someone pruned by hand: recompute rather than trust it
        return entry, result

    def put(self, key: str, src: Path, files: list[str], result: Mapping[str, Any]) -> Path:
        """Store ``files`` (names in folder ``src``) and ``result`` under ``key``; returns the entry.

        Raises:
            WeldcellError: the cache folder cannot be written (names it).
        """
        entry = self._entry(key)
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key[:8]}-", dir=entry.parent))
            for name in files:
                shutil.copy2(src / name, tmp / name)
            (tmp / RESULT_FILE).write_text(json.dumps(dict(result), indent=2))
            if entry.exists():  # a concurrent batch stored the same key: same content, keep theirs
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.replace(entry)
        except OSError as err:
            raise WeldcellError(
                f"--cache-dir {self.root}: cannot store a result ({err.strerror or err})"
            ) from err
        return entry

    @staticmethod
    def restore(entry: Path, files: list[str], dest: Path) -> None:
        """Copy a cached entry's ``files`` into ``dest`` (created)."""
        dest.mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copy2(entry / name, dest / name)
