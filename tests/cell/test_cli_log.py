"""``weldcell log list|show|export|plot`` on a small weld log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cellchild import signal_rows
from typer.testing import CliRunner

from weldcell.cell.weldlog import WeldLog
from weldcell.cli import app


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.sqlite"
    with WeldLog(path) as log:
        job = log.start_job(program_path="programs/demo.yaml", program_hash="ab" * 32, part_serial="SN-7")
        a = log.start_seam(job, "left", s_start=0.0, s_end_planned=0.065)
        log.add_signals(a, signal_rows(10.0, 0.0, 40))
        log.end_seam(
            a,
            "arc_loss",
            s_stop=0.0358,
            faults=["arc lost at 35.8 mm"],
            deviation_max_m=2e-5,
            deviation_rms_m=1e-5,
        )
        b = log.start_seam(job, "left", s_start=0.0308, s_end_planned=0.065)
        log.add_signals(b, signal_rows(20.0, 0.0308, 40))
        log.end_seam(b, "ok", s_stop=0.065)
        log.end_job(job, "ok")
    return path


def test_list_and_show(db: Path) -> None:
    r = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["log", "list", "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert "SN-7" in r.output and "1/1" in r.output  # one seam, welded (after a restart)
    r = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["log", "show", "--db", str(db), "--events"])
    assert r.exit_code == 0, r.output
    assert "arc_loss" in r.output and "0.0–35.8/65.0" in r.output and "30.8–65.0/65.0" in r.output
    assert "arc lost at 35.8 mm" in r.output


def test_export_and_plot(db: Path, tmp_path: Path) -> None:
    r = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["log", "export", str(tmp_path / "o.json"), "--db", str(db)]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "o.json").read_text())
    assert [s["result"] for s in doc["seams"]] == ["arc_loss", "ok"]
    r = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["log", "export", str(tmp_path / "o.csv"), "--db", str(db)]
    )
    assert r.exit_code == 0 and (tmp_path / "o_signals.csv").is_file()
    r = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["log", "plot", "--db", str(db), "--out", str(tmp_path / "plots")]
    )
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "plots").glob("*.png"))) == 2


def test_bad_input_gives_one_line_errors(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from weldcell.cli import main

    for args, expected in (
        (["log", "show", "9", "--db", str(db)], "no job 9"),
        (["log", "list", "--db", str(tmp_path / "none.sqlite")], "weld log not found"),
        (["log", "export", str(tmp_path / "o.xml"), "--db", str(db)], "must be .json or .csv"),
    ):
        old = sys.argv
        sys.argv = ["weldcell", *args]
        try:
            with pytest.raises(SystemExit) as exc:
                main()
        finally:
            sys.argv = old
        assert exc.value.code == 2, args
        err = capsys.readouterr().err
        assert expected in " ".join(err.split()) and "Traceback" not in err
