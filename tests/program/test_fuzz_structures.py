"""Fuzzing the loader and ``weldcell check`` with structures, not just leaf values.

``test_fuzz.py`` swaps leaf values of one program. Here whole subtrees of several programs (robots
of every family, mounts, seam kinds, meshes) are replaced by random YAML structures, keys are
dropped or added, and raw YAML text is assembled from syntax tokens (anchors, aliases, tags,
flow/block mixes, control characters). Every input either loads (and then gives tool paths) or
raises one :class:`ProgramError` whose single line starts with the file name; ``weldcell check``
exits 0 or 2 and never shows a traceback. Bounded: ≤ 120 examples each, every example well under 1 s.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weldcell.cli import main
from weldcell.errors import ProgramError
from weldcell.program import load_program
from weldcell.toolpath import toolpaths_for_program

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
#: Quick programs (tool paths in well under a second) of different families, mounts and seam kinds.
BASE_FILES = [
    ROOT / "programs" / "demo_tjoint.yaml",
    ROOT / "programs" / "pipe_flange.yaml",
    HERE / "unseen" / "ur16e_ceiling_butt_weave.yaml",
    HERE / "unseen" / "kr10_wall_multipass.yaml",
    HERE / "unseen" / "arcmate_floor_arc.yaml",
    HERE / "unseen" / "crx_ceiling_polyline.yaml",
    HERE / "unseen" / "ur5e_mesh_bracket_mm.yaml",
]
BASES = [(p, yaml.safe_load(p.read_text(encoding="utf-8"))) for p in BASE_FILES]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -0.0, 1e-300, 1e308, -1e308, 2**63, 0.001, 1000.0]),
)
KEYS = st.one_of(
    st.sampled_from(
        ["id", "name", "robot", "line", "start_mm", "end_mm", "normals", "box", "mesh", "file", "seams"]
    ),
    st.text(max_size=6),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=10))
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=12,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        out += [p for k, v in node.items() for p in _paths(v, (*path, k))]
    elif isinstance(node, list):
        out += [p for i, v in enumerate(node) for p in _paths(v, (*path, i))]
    return out


def _mutate(data: Any, data_strategy: st.DataObject) -> Any:
    data = copy.deepcopy(data)
    for _ in range(data_strategy.draw(st.integers(1, 3), label="mutations")):
        paths = [p for p in _paths(data) if p]
        path = data_strategy.draw(st.sampled_from(paths), label="path")
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
        except (KeyError, IndexError, TypeError):
            continue
        op = data_strategy.draw(st.sampled_from(["replace", "delete", "add_key", "duplicate"]), label="op")
        if op == "replace":
            parent[path[-1]] = data_strategy.draw(STRUCTURES, label="value")
        elif op == "delete":
            del parent[path[-1]]
        elif op == "add_key" and isinstance(parent, dict):
            parent[data_strategy.draw(KEYS, label="key")] = data_strategy.draw(STRUCTURES, label="value")
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
    return data


def _write(tmp_path: Path, base: Path, text: str) -> Path:
    path = tmp_path / "fuzz.yaml"  # meshes are found relative to the program: link them beside it
    for mesh in ("bracket_mm.stl", "bracket_m.obj"):
        link = tmp_path / mesh
        if not link.exists():
            link.symlink_to(HERE / "unseen" / mesh)
    path.write_text(text, encoding="utf-8")
    return path


def _loads_or_one_clean_error(path: Path) -> None:
    try:
        program = load_program(path)
    except ProgramError as err:
        message = str(err)
        assert message.startswith(str(path)) and "\n" not in message, message
        return
    toolpaths_for_program(program)  # a program that loads also gives tool paths


@FUZZ
@given(data=st.data())
def test_structural_mutations_load_or_fail_cleanly(tmp_path: Path, data: st.DataObject) -> None:
    base, program = data.draw(st.sampled_from(BASES), label="base")
    mutated = _mutate(program, data)
    _loads_or_one_clean_error(_write(tmp_path, base, yaml.safe_dump(mutated, allow_unicode=True)))


TOKENS = st.sampled_from(
    [
        "format: weldcell.program/1\n",
        "seams:\n",
        "cell:\n",
        "  - ",
        "  ",
        "- ",
        ": ",
        "{",
        "}",
        "[",
        "]",
        ", ",
        "&a ",
        "*a",
        "&b ",
        "*b",
        "!!str ",
        "!!float ",
        "!!python/name:os.system ",
        "<<: ",
        "? ",
        "---\n",
        "...\n",
        "%YAML 1.2\n",
        "|\n",
        ">\n",
        "#",
        '"',
        "'",
        "\\",
        "\t",
        "\x00",
        "\x1b",
        "ü",
        "😀",
        "\ufeff",
        "1e5",
        ".nan",
        "-.inf",
        "~",
        "0x1F",
        "0o17",
        "2026-12-04",
        "12:30:00",
        "yes",
        "id",
        "robot: ur5e",
        "\n",
        "\r\n",
    ]
)


@FUZZ
@given(tokens=st.lists(TOKENS, max_size=40))
def test_raw_yaml_token_soup_fails_cleanly(tmp_path: Path, tokens: list[str]) -> None:
    _loads_or_one_clean_error(_write(tmp_path, BASE_FILES[0], "".join(tokens)))


@FUZZ
@given(data=st.data())
def test_program_text_with_a_token_spliced_in(tmp_path: Path, data: st.DataObject) -> None:
    base, _ = data.draw(st.sampled_from(BASES), label="base")
    text = base.read_text(encoding="utf-8")
    at = data.draw(st.integers(0, len(text)), label="at")
    cut = data.draw(st.integers(0, 20), label="cut")
    token = data.draw(TOKENS, label="token")
    _loads_or_one_clean_error(_write(tmp_path, base, text[:at] + token + text[at + cut :]))


def _weldcell(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str]:
    """Run the real entry point (:func:`weldcell.cli.main`) in-process: (exit code, output on one line)."""
    monkeypatch.setattr(sys, "argv", ["weldcell", *args])
    with pytest.raises(SystemExit) as exc:  # anything else escaping main fails the test
        main()
    out = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), " ".join((out.out + out.err).split())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_check_command_exits_0_or_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: st.DataObject
) -> None:
    base, program = data.draw(st.sampled_from(BASES[:3]), label="base")
    path = _write(tmp_path, base, yaml.safe_dump(_mutate(program, data), allow_unicode=True))
    code, text = _weldcell(capsys, monkeypatch, "check", str(path))
    assert code in (0, 2) and "Traceback" not in text, text
    assert ("verdict: OK" in text) if code == 0 else ("error:" in text and "fuzz.yaml" in text), text


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["check", "missing.yaml"],
        ["check", "."],
        ["plan", "missing.yaml"],
        ["plan", "fuzz.yaml"],
        ["validate", "missing.yaml"],
        ["validate", "fuzz.yaml"],
        ["export", "missing.npz"],
        ["export", "fuzz.yaml"],
        ["plan", "fuzz.yaml", "--dt-ms", "abc"],
        ["check", "fuzz.yaml", "--no-such-option"],
    ],
)
def test_cli_bad_arguments_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fuzz.yaml").write_text("format: weldcell.program/1\nname: [unclosed\n")
    code, text = _weldcell(capsys, monkeypatch, *args)
    assert code == 2 and "Traceback" not in text, text
    assert "error" in text.lower() or "usage" in text.lower(), text
