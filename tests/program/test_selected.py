"""``selected: false`` seams: left out by the loader, named by the warnings, never all of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from weldcell.errors import ProgramError
from weldcell.program import load_program
from weldcell.resources import data_dir
from weldcell.toolpath.plausibility import program_warnings


def _with_selected(tmp_path: Path, flags: dict[str, bool]) -> Path:
    text = (data_dir("programs") / "box_frame.yaml").read_text()
    for sid, sel in flags.items():
        text = text.replace(f"  - id: {sid}\n", f"  - id: {sid}\n    selected: {str(sel).lower()}\n", 1)
    out = tmp_path / "p.yaml"
    out.write_text(text)
    return out


def test_unselected_seams_are_skipped_and_named(tmp_path: Path) -> None:
    full = load_program(data_dir("programs") / "box_frame.yaml")
    ids = [s.id for s in full.seams]
    assert full.unselected == ()
    prog = load_program(_with_selected(tmp_path, {ids[0]: False, ids[1]: True}))
    assert prog.unselected == (ids[0],)
    assert [s.id for s in prog.seams] == ids[1:]
    if prog.sequence is not None:
        assert ids[0] not in prog.sequence
    assert all(ids[0] not in pair for pair in prog.precedence)
    warns = [w for w in program_warnings(prog) if w.kind == "not_selected"]
    assert [w.seam_id for w in warns] == [ids[0]]


def test_none_selected_is_an_error(tmp_path: Path) -> None:
    ids = [s.id for s in load_program(data_dir("programs") / "box_frame.yaml").seams]
    with pytest.raises(ProgramError, match="no seam is selected"):
        load_program(_with_selected(tmp_path, dict.fromkeys(ids, False)))


def test_sequence_may_leave_out_unselected_seams(tmp_path: Path) -> None:
    ids = [s.id for s in load_program(data_dir("programs") / "box_frame.yaml").seams]
    path = _with_selected(tmp_path, {ids[0]: False})
    path.write_text(path.read_text() + f"sequence: [{', '.join(ids[1:])}]\n")
    prog = load_program(path)
    assert prog.sequence == tuple(ids[1:])
    path.write_text(
        path.read_text().replace(f"sequence: [{', '.join(ids[1:])}]", f"sequence: [{', '.join(ids[2:])}]")
    )
    with pytest.raises(ProgramError, match=f"seams missing from the sequence: {ids[1]}"):
        load_program(path)
