"""``weldcell check`` and ``weldcell schema`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from weldcell.cli import app

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = sorted((ROOT / "programs").glob("*.yaml"))
runner = CliRunner()


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_every_example_passes_check(path: Path) -> None:
    result = runner.invoke(app, ["check", str(path)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "verdict: OK" in result.output
    assert "Traceback" not in result.output


def test_check_table_shows_weave_and_passes() -> None:
    result = runner.invoke(app, ["check", str(ROOT / "programs" / "butt_weave.yaml")], env={"COLUMNS": "200"})
    assert "zigzag ±1.5 mm 2 Hz" in result.output and "trapezoid ±4 mm 0.8 Hz" in result.output


@pytest.mark.parametrize("name", ["unknown_key", "yaml_syntax", "vector_length", "empty_file"])
def test_broken_program_exits_2_without_traceback(name: str) -> None:
    path = Path(__file__).parent / "broken" / f"{name}.yaml"
    result = runner.invoke(app, ["check", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "verdict: FAILED" in result.output
    expect = path.read_text().splitlines()[1].removeprefix("# expect: ")
    assert expect in " ".join(result.output.split())


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "file not found" in " ".join(result.output.split())


def test_schema_command_prints_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert "seams" in schema["properties"]
    out = tmp_path / "schema.json"
    result = runner.invoke(app, ["schema", "--output", str(out)])
    assert result.exit_code == 0 and json.loads(out.read_text()) == schema
