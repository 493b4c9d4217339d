"""The cell configuration file: SI conversion, defaults, and errors that name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from clicell import LAP, run_cli, virtual_cell

from weldcell.cell.cellconfig import CellConfigError, load_cell_config
from weldcell.cell.jobtypes import CellConfig
from weldcell.cell.weldlog import WeldLog

GOOD = """\
format: weldcell.cell/1
interlocks:
  door_closed_input: 3
  estop_ok_input: 4
  light_curtain_ok_input: null
power_source:
  use_jobs: jobs
  comm_timeout_s: 0.12
arc:
  ignition_retries: 1
  restart_overlap_mm: 8
moves:
  joint_speed_fraction: 0.4
  tool_speed_mm_s: 30
  retract_mm: 25
  approach_mm: 15
"""


def test_a_full_file_converts_to_si(tmp_path: Path) -> None:
    p = tmp_path / "cell.yaml"
    p.write_text(GOOD)
    setup = load_cell_config(p)
    cfg = setup.config
    assert setup.use_jobs is True and setup.path == p
    assert cfg.interlocks is not None
    assert (cfg.interlocks.door_closed_input, cfg.interlocks.estop_ok_input) == (3, 4)
    assert cfg.interlocks.light_curtain_ok_input is None
    assert cfg.power_source_comm_timeout == pytest.approx(0.12)
    assert cfg.arc.ignition_retries == 1 and cfg.arc.restart_overlap == pytest.approx(0.008)
    assert cfg.moves.joint_speed_scale == pytest.approx(0.4)
    assert cfg.moves.tcp_speed == pytest.approx(0.03)
    assert cfg.retract_distance == pytest.approx(0.025) and cfg.approach_distance == pytest.approx(0.015)


def test_an_empty_file_keeps_the_defaults(tmp_path: Path) -> None:
    p = tmp_path / "cell.yaml"
    p.write_text("")
    setup = load_cell_config(p)
    assert setup.use_jobs is None
    default = CellConfig()
    assert setup.config.interlocks is None
    assert setup.config.power_source_comm_timeout == default.power_source_comm_timeout
    assert setup.config.arc == default.arc


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("interlocks:\n  door_closed_input: 70\n", ["interlocks.door_closed_input", "70"]),
        ("interlocks:\n  door_input: 1\n", ["interlocks.door_input", "unknown field"]),
        ("power_source:\n  use_jobs: maybe\n", ["power_source.use_jobs", "maybe"]),
        ("power_source:\n  comm_timeout_s: -1\n", ["power_source.comm_timeout_s", "-1"]),
        ("arc:\n  restart_overlap_mm: fast\n", ["arc.restart_overlap_mm", "fast"]),
        ("format: weldcell.cell/9\n", ["format", "weldcell.cell/9"]),
        ("- a\n- b\n", ["expected a mapping"]),
        ("interlocks: [\n", ["YAML syntax error", ":"]),
    ],
)
def test_bad_files_name_file_and_field(tmp_path: Path, text: str, names: list[str]) -> None:
    p = tmp_path / "cell.yaml"
    p.write_text(text)
    with pytest.raises(CellConfigError) as err:
        load_cell_config(p)
    msg = str(err.value)
    assert str(p) in msg
    for n in names:
        assert n in msg


def test_cli_reports_a_bad_cell_config_in_one_line(tmp_path: Path) -> None:
    p = tmp_path / "cell.yaml"
    p.write_text("moves:\n  joint_speed_fraction: 2\n")
    db = tmp_path / "log.sqlite"
    res = run_cli(
        "cell", "run", LAP, "--robot", "ur://127.0.0.1", "--powersource", "modbus://127.0.0.1:1",
        "--db", db, "--cell-config", p,
    )  # fmt: skip
    assert res.returncode != 0
    text = res.stdout + res.stderr
    assert "Traceback" not in text
    assert "moves.joint_speed_fraction" in " ".join(text.split())
    assert not db.exists()  # nothing was created before the configuration was checked


def test_interlocks_from_the_cell_config_refuse_a_start_with_the_door_open(tmp_path: Path) -> None:
    p = tmp_path / "cell.yaml"
    p.write_text(
        "interlocks:\n  door_closed_input: 3\n  estop_ok_input: null\n  light_curtain_ok_input: null\n"
    )
    db, out = tmp_path / "log.sqlite", tmp_path / "out"
    with virtual_cell("127.0.0.87") as cell:  # its digital inputs are all low: the door reads open
        res = run_cli(
            "cell", "run", LAP, "--robot", cell.robot_url, "--powersource", cell.psu_url,
            "--db", db, "--out", out, "--cell-config", p,
        )  # fmt: skip
    text = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0
    assert "Traceback" not in text
    assert "cannot start" in text and "door" in text
    with WeldLog(db, readonly=True) as log:
        assert log.jobs() == []


def test_a_job_number_the_power_source_lacks_is_reported_as_such(tmp_path: Path) -> None:
    """use_jobs: jobs selects the procedure's job 7, which the virtual power source does not store
    (its jobs are 1-3): the arc start fails at once with that reason, without ignition retries."""
    p = tmp_path / "cell.yaml"
    p.write_text("power_source:\n  use_jobs: jobs\n")
    db, out = tmp_path / "log.sqlite", tmp_path / "out"
    with virtual_cell("127.0.0.88") as cell:
        res = run_cli(
            "cell", "run", LAP, "--robot", cell.robot_url, "--powersource", cell.psu_url,
            "--db", db, "--out", out, "--cell-config", p,
        )  # fmt: skip
        starts = cell.psu.model.status()
    text = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0
    assert "job 7 is not stored on the power source" in text
    assert "--send-parameters" in text
    assert "ignition attempt" not in text  # no pointless retries
    assert not starts.current_flow
