"""The corpus of broken programs: each must give one clean, specific error.

Each file in ``broken/`` starts with ``# expect: <message fragment>`` and ``# field: <field path>``;
the offending line, when it has one, carries the comment ``# <- error here``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from weldcell.errors import ProgramError
from weldcell.program import load_program

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))


def _header(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines()[:3]:
        key, _, value = line.lstrip("# ").partition(": ")
        out[key] = value
    return out


def test_corpus_is_large() -> None:
    assert len(BROKEN) >= 40


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_program_gives_specific_error(path: Path) -> None:
    head = _header(path)
    with pytest.raises(ProgramError) as info:
        load_program(path)
    err = info.value
    message = str(err)
    assert head["expect"] in message, message
    assert err.file == str(path)
    assert message.startswith(str(path))
    if head.get("field"):
        assert err.field == head["field"], message
    lines = path.read_text(encoding="utf-8").splitlines()
    marked = [i + 1 for i, line in enumerate(lines) if "# <- error here" in line]
    if marked:
        assert err.line == marked[0], message
    if "syntax" in path.stem or path.stem == "yaml_tab":
        assert err.line is not None
    assert "\n" not in message  # one line


def test_missing_file_is_a_program_error(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="file not found"):
        load_program(tmp_path / "nope.yaml")


def test_a_key_with_a_newline_or_a_huge_key_keeps_the_error_on_one_line(tmp_path: Path) -> None:
    """Found by fuzzing: a mapping key holding a newline broke the one-line error (file:line: field:
    message); control characters are escaped and a huge key is cut."""
    import yaml

    root = Path(__file__).resolve().parents[2]
    data = yaml.safe_load((root / "programs" / "demo_tjoint.yaml").read_text())
    for key in ("work\nangle", "x" * 5000):
        data["seams"][0]["passes"] = [{key: 0}]
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(ProgramError) as err:
            load_program(path)
        msg = str(err.value)
        assert "\n" not in msg and len(msg) < 400, msg
        assert msg.startswith(str(path)) and "passes[0]." in msg and "unknown key" in msg
    data["seams"][0]["passes"] = [{"work\nangle": 0}]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ProgramError, match=r"unknown key 'work\\nangle'"):
        load_program(path)
