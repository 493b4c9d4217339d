"""Load a weld program: YAML with line marks → schema check → cross-field checks → SI dataclasses.

Every problem raises exactly one :class:`~weldcell.errors.ProgramError` (or its subclass
:class:`~weldcell.errors.ProgramFormatError` for YAML syntax and schema errors) naming the file,
the line, the field path and what was expected.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import yaml
from pydantic import ValidationError as PydanticValidationError

from weldcell.errors import ProgramError, ProgramFormatError
from weldcell.program.build_cell import UserFrames, build_cell
from weldcell.program.build_procedure import build_procedure
from weldcell.program.build_seam import build_seam
from weldcell.program.build_touch import build_touch
from weldcell.program.checks import Checker
from weldcell.program.errors_map import did_you_mean, find_duplicate_key, format_path, schema_error
from weldcell.program.model import Program, Seam
from weldcell.program.schema import ProgramSpec
from weldcell.program.yamlio import YamlLimitError, YamlValueError, compose_and_load


def _parse(text: str, file: str) -> tuple[yaml.Node | None, object]:
    try:
        return compose_and_load(text)
    except YamlLimitError as err:
        mark = err.problem_mark
        raise ProgramFormatError(
            f"{err.problem}; expected a weld program (a tree of values)",
            file=file,
            line=mark.line + 1 if mark else None,
        ) from None
    except YamlValueError as err:
        raise ProgramFormatError(
            f"{err.problem}; expected numbers and text of ordinary size", file=file
        ) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" (column {mark.column + 1})" if mark else ""
        what = err.problem or err.context or "invalid YAML"
        raise ProgramFormatError(
            f"YAML syntax error{where}: {what}", file=file, line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as err:
        raise ProgramFormatError(f"YAML error: {' '.join(str(err).split())}", file=file) from None


def load_program(path: str | Path, frames: UserFrames | None = None) -> Program:
    """Load, validate and convert a weld program file.

    Args:
        path: Program file (YAML, ``format: weldcell.program/1``).
        frames: Calibrated user frames (the cell configuration's ``calibration.frames``) that bodies
            may be placed in with ``frame: NAME``; None: a program naming a frame is refused. When
            the program names one, its hash also covers the frames' values (a plan made with one
            calibration is never mistaken for a plan made with another).

    Returns:
        The program in SI units.

    Raises:
        ProgramFormatError: YAML syntax errors and schema violations (types, unknown keys, missing).
        ProgramError: Cross-field problems (references, geometry, implausible values, units).
    """
    p = Path(path)
    file = str(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ProgramError("file not found", file=file) from None
    except OSError as err:
        raise ProgramError(f"cannot read the file: {err.strerror}", file=file) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        what = (
            "a trajectory or other zip/npz archive"
            if raw[:2] == b"PK"
            else f"not UTF-8 text (byte {err.start})"
        )
        raise ProgramFormatError(f"{what}; expected a weld program (YAML text)", file=file) from None
    node, data = _parse(text, file)
    if data is None:
        raise ProgramFormatError("the file is empty; expected a weld program mapping", file=file)
    if not isinstance(data, dict):
        raise ProgramFormatError(
            "expected a mapping with format, name, cell, procedures and seams at the top level",
            file=file,
            line=1,
        )
    dup = find_duplicate_key(node)
    if dup is not None:
        loc, line = dup
        raise ProgramFormatError(
            f"key '{loc[-1]}' appears twice; each key may be given once",
            file=file,
            line=line,
            field=format_path(loc),
        )
    try:
        spec = ProgramSpec.model_validate(data)
    except PydanticValidationError as exc:
        raise schema_error(exc, node, file, ProgramSpec) from None
    chk = Checker(file, node)
    digest = hashlib.sha256(raw)
    used = sorted({b.frame for b in spec.cell.bodies if b.frame is not None})
    if frames is not None:
        for name in used:
            if name in frames.frames:
                T = np.asarray(frames.frames[name], dtype=np.float64)
                digest.update(f"\0frame {name}:".encode() + T.tobytes())
    return _build(spec, chk, p, digest.hexdigest(), frames)


def _build(
    spec: ProgramSpec, chk: Checker, path: Path, digest: str, frames: UserFrames | None = None
) -> Program:
    cell = build_cell(spec, chk, path, frames)
    for name in spec.procedures:
        chk.name(("procedures", name), name, "procedure name")
    procedures = {name: build_procedure(name, ps, chk) for name, ps in spec.procedures.items()}
    bodies = {b.name: b for b in cell.bodies}
    seams: list[Seam] = []
    ids: set[str] = set()
    if not spec.seams:
        chk.fail(("seams",), "the program has no seams; expected at least one seam to weld")
    for i, ss in enumerate(spec.seams):
        chk.name(("seams", i, "id"), ss.id, "seam id")
        if ss.id in ids:
            chk.fail(("seams", i, "id"), f"seam id '{ss.id}' is used twice; seam ids must be unique")
        ids.add(ss.id)
        seams.append(build_seam(i, ss, spec, procedures, bodies, chk, cell))
    sequence = _check_sequence(spec, chk)
    precedence = _check_precedence(spec, chk)
    unselected = tuple(ss.id for ss in spec.seams if not ss.selected)
    if unselected:
        if len(unselected) == len(spec.seams):
            chk.fail(
                ("seams",),
                f"no seam is selected: all {len(unselected)} seams have 'selected: false' "
                f"({', '.join(unselected)}); set 'selected: true' on the seams to weld",
            )
        skip = set(unselected)
        seams = [s for s in seams if s.id not in skip]
        if sequence is not None:
            sequence = tuple(i for i in sequence if i not in skip)
        precedence = tuple(pr for pr in precedence if pr[0] not in skip and pr[1] not in skip)
    return Program(
        path=path,
        hash=digest,
        version=spec.format,
        name=spec.name,
        description=spec.description,
        cell=cell,
        procedures=procedures,
        seams=tuple(seams),
        sequence=sequence,
        precedence=precedence,
        unselected=unselected,
        touch=build_touch(spec, cell, chk),
    )


def _check_sequence(spec: ProgramSpec, chk: Checker) -> tuple[str, ...] | None:
    if spec.sequence is None:
        return None
    ids = [s.id for s in spec.seams]
    seen: set[str] = set()
    for k, sid in enumerate(spec.sequence):
        if sid not in ids:
            chk.fail(("sequence", k), f"no seam '{sid}'{did_you_mean(sid, ids)} (seams: {', '.join(ids)})")
        if sid in seen:
            chk.fail(("sequence", k), f"seam '{sid}' is listed twice")
        seen.add(sid)
    optional = {s.id for s in spec.seams if not s.selected}  # unselected seams may be left out
    missing = [i for i in ids if i not in seen and i not in optional]
    if missing:
        chk.fail(
            ("sequence",),
            f"seams missing from the sequence: {', '.join(missing)}; list every seam "
            "once, or omit sequence to let the planner choose",
        )
    return tuple(spec.sequence)


def _check_precedence(spec: ProgramSpec, chk: Checker) -> tuple[tuple[str, str], ...]:
    ids = [s.id for s in spec.seams]
    pairs: list[tuple[str, str]] = []
    for k, pair in enumerate(spec.precedence):
        for j, sid in enumerate(pair):
            if sid not in ids:
                chk.fail(
                    ("precedence", k, j), f"no seam '{sid}'{did_you_mean(sid, ids)} (seams: {', '.join(ids)})"
                )
        if pair[0] == pair[1]:
            chk.fail(("precedence", k), f"seam '{pair[0]}' cannot precede itself")
        pairs.append((pair[0], pair[1]))
    # cycle check (Kahn)
    succ: dict[str, list[str]] = {i: [] for i in ids}
    indeg = dict.fromkeys(ids, 0)
    for a, b in pairs:
        succ[a].append(b)
        indeg[b] += 1
    ready = [i for i in ids if indeg[i] == 0]
    done = 0
    while ready:
        node = ready.pop()
        done += 1
        for nxt in succ[node]:
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                ready.append(nxt)
    if done != len(ids):
        stuck = [i for i in ids if indeg[i] > 0]
        chk.fail(("precedence",), f"the precedence pairs form a cycle (involving {', '.join(stuck)})")
    if spec.sequence is not None:
        pos = {sid: k for k, sid in enumerate(spec.sequence)}
        for k, (a, b) in enumerate(pairs):
            if a in pos and b in pos and pos[a] > pos[b]:
                chk.fail(("precedence", k), f"the sequence welds '{b}' before '{a}', against this precedence")
    return tuple(pairs)
