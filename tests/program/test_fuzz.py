"""Fuzzing the loader: any mutation of a valid program loads or raises one ProgramError, never more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weldcell.errors import ProgramError, ToolpathError
from weldcell.program import load_program
from weldcell.toolpath import toolpaths_for_program

ROOT = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((ROOT / "programs" / "butt_weave.yaml").read_text())


def _leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaf_paths(v, (*path, k))] + [path]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaf_paths(v, (*path, i))] + [path]
    return [path]


LEAVES = [p for p in _leaf_paths(BASE) if p]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.floats(-1e4, 1e4), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(st.tuples(st.sampled_from(LEAVES), VALUES), min_size=1, max_size=3))
def test_mutated_program_never_crashes(tmp_path: Path, mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for path, value in mutations:
        try:
            _set(data, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced a parent
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data))
    try:
        program = load_program(path)
    except ProgramError as err:
        assert str(err).startswith(str(path)) and "\n" not in str(err)
        return
    try:
        toolpaths_for_program(program)  # a program that loads also gives tool paths ...
    except ToolpathError as err:  # ... or is refused for its size (fields drawn up to 1e6), in one line
        assert str(err).startswith(str(path)) and "\n" not in str(err) and "samples" in str(err), err
