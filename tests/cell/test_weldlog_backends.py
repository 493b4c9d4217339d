"""The weld log on SQLite and PostgreSQL: one implementation, traceable records, several cells, exports."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from cellchild import signal_rows
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from weldcell.cell.logdb import parse_log_target
from weldcell.cell.logexport import EXPORT_SCHEMA, export_csv, job_document
from weldcell.cell.logschema import JOBS, SEAMS, SIGNAL_COLUMNS
from weldcell.cell.weldlog import JobTrace, WeldLog, WeldLogError
from weldcell.cli import app
from weldcell.errors import WeldcellError

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "weld-log.schema.json"
TRACE = JobTrace(cell_id="cell-7", operator="A. Welder", wire_batch="G3Si1-4711", gas_batch="M21-0815")


def _weld_a_job(log: WeldLog) -> tuple[int, int, int]:
    """A job with a faulted attempt and its successful restart. Returns (job, attempt 1, attempt 2)."""
    job = log.start_job(
        program_path="frame.yaml",
        program_hash="ab" * 32,
        trajectory_hash="cd" * 32,
        part_serial="SN-42",
        robot="ur10e",
        trace=TRACE,
        validation_stamp="ef" * 32,
    )
    a = log.start_seam(job, "web", s_start=0.0, s_end_planned=0.2, wps_id="WPS-135-07")
    log.add_signals(a, signal_rows(100.0, 0.0, 30), s_reached=0.0029)
    log.end_seam(a, "arc_loss", s_stop=0.0029, faults=["arc lost at 2.9 mm"], deviation_max_m=3e-4)
    b = log.start_seam(job, "web", s_start=0.0024, s_end_planned=0.2, wps_id="WPS-135-07")
    log.add_signals(b, signal_rows(200.0, 0.0024, 30), s_reached=0.0053)
    log.end_seam(b, "ok", s_stop=0.2, deviation_max_m=2e-4, deviation_rms_m=1e-4)
    log.end_job(job, "ok")
    return job, a, b


def test_records_round_trip_with_traceability_on_both_back_ends(log_target: str) -> None:
    with WeldLog(log_target) as log:
        job, a, b = _weld_a_job(log)
        inspected = log.inspect_seam(b, "rejected", by="Q. Inspector", note="UT report 17: porosity", t=5e3)
    with WeldLog(log_target, readonly=True) as log:
        j = log.job(job)
        assert (j.cell_id, j.operator, j.wire_batch, j.gas_batch) == (
            "cell-7",
            "A. Welder",
            "G3Si1-4711",
            "M21-0815",
        )
        assert (j.part_serial, j.validation_stamp, j.result) == ("SN-42", "ef" * 32, "ok")
        s1, s2 = log.seams(job)
        assert (s1.attempt, s1.result, s1.faults, s1.wps_id) == (
            1,
            "arc_loss",
            ("arc lost at 2.9 mm",),
            "WPS-135-07",
        )
        assert (s2.attempt, s2.result, s2.s_reached) == (2, "ok", pytest.approx(0.2))
        assert s1.inspection_status == "pending" and s2 == inspected
        assert (s2.inspection_status, s2.inspected_by, s2.inspected_at) == ("rejected", "Q. Inspector", 5e3)
        tr = log.signals(a)
        np.testing.assert_allclose(tr.t, signal_rows(100.0, 0.0, 30)[:, 0])  # full float64, in order
        assert tr.t.dtype == np.float64 and tr.t[0] == 100.0
        (ev,) = log.events(job)
        assert ev.kind == "inspection" and ev.data["status"] == "rejected"
        assert log.integrity_ok()


def test_json_export_follows_the_checked_in_schema(log_target: str, tmp_path: Path) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    with WeldLog(log_target) as log:
        job, _, _ = _weld_a_job(log)
        doc = job_document(log, job)
        log.start_job(part_serial="empty")  # a job without seams exports too
        empty = job_document(log, log.latest_job().id, with_signals=False)
    for d in (doc, empty):
        jsonschema.validate(d, schema, cls=jsonschema.Draft202012Validator)
    assert doc["schema"] == EXPORT_SCHEMA == schema["properties"]["schema"]["const"]
    st = doc["seams"][1]["statistics"]
    # signal_rows: 180 + sin(t) A, 22 + 0.1 cos(t) V, 0.1 mm per 20 ms = 5 mm/s
    assert st["current_a"]["mean"] == pytest.approx(180.0, abs=1.0) and st["samples"] == 30
    assert st["travel_speed_m_s"]["mean"] == pytest.approx(0.005, rel=1e-6)
    assert st["heat_input_kj_mm"]["mean"] == pytest.approx(0.8 * 180 * 22 / 0.005 * 1e-6, rel=0.02)
    bad = json.loads(json.dumps(doc))
    bad["seams"][0]["inspection_status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema, cls=jsonschema.Draft202012Validator)


def test_the_schema_file_names_every_column() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())["properties"]
    assert list(schema["job"]["properties"]) == [c.name for c in JOBS]
    seam = schema["seams"]["items"]["properties"]
    assert list(seam) == [c.name for c in SEAMS] + ["statistics", "signals"]
    assert list(seam["signals"]["properties"]) == [c.name for c in SIGNAL_COLUMNS]


def test_csv_seams_carry_traceability_and_statistics(tmp_path: Path) -> None:
    with WeldLog(tmp_path / "w.sqlite") as log:
        job, _, _ = _weld_a_job(log)
        files = export_csv(log, job, tmp_path / "out" / "job.csv")
    rows = list(csv.DictReader(files[0].open()))
    assert [r["attempt"] for r in rows] == ["1", "2"]
    assert rows[1]["operator"] == "A. Welder" and rows[1]["wire_batch"] == "G3Si1-4711"
    assert rows[1]["validation_stamp"] == "ef" * 32 and rows[1]["wps_id"] == "WPS-135-07"
    assert float(rows[1]["voltage_mean_v"]) == pytest.approx(22.0, abs=0.2)
    assert float(rows[1]["heat_input_total_kj_mm"]) > 0


def test_several_cells_write_to_one_database_at_once(log_target: str) -> None:
    """Two cells (own connections, own threads) weld interleaved; every record lands, numbered per job."""
    with WeldLog(log_target):
        pass  # created once; the cells open it concurrently below
    errors: list[BaseException] = []
    n_seams = 6
    barrier = threading.Barrier(2)

    def cell(name: str) -> None:
        try:
            with WeldLog(log_target) as log:
                barrier.wait(10.0)
                job = log.start_job(part_serial=f"{name}-part", trace=JobTrace(cell_id=name))
                for k in range(n_seams):
                    rec = log.start_seam(job, f"s{k % 2}", s_start=0.0)
                    for m in range(3):
                        log.add_signals(rec, signal_rows(10.0 * k + m, 1e-3 * m, 5), s_reached=1e-3 * m)
                    log.end_seam(rec, "ok", s_stop=0.01)
                log.end_job(job, "ok")
        except BaseException as err:  # reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=cell, args=(n,)) for n in ("cell-a", "cell-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60.0)
    assert not errors, errors
    with WeldLog(log_target, readonly=True) as log:
        assert log.integrity_ok()
        for name in ("cell-a", "cell-b"):
            (job,) = log.jobs(cell_id=name)
            seams = log.seams(job.id)
            assert [s.attempt for s in seams] == [1, 1, 2, 2, 3, 3]
            assert all(len(log.signals(s.id)) == 15 for s in seams)
        assert len(log.jobs()) == 2


def test_inspection_refuses_unknown_status_or_no_inspector(tmp_path: Path) -> None:
    with WeldLog(tmp_path / "w.sqlite") as log:
        _, a, _ = _weld_a_job(log)
        with pytest.raises(WeldLogError, match="expected one of pending, accepted, rejected"):
            log.inspect_seam(a, "ok", by="Q")
        with pytest.raises(WeldLogError, match="inspector"):
            log.inspect_seam(a, "accepted", by=" ")
        with pytest.raises(WeldLogError, match="no seam record 99"):
            log.inspect_seam(99, "accepted", by="Q")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("mysql://u@h/db", "cannot be stored in 'mysql'"),
        ("sqlite://", "needs a file"),
        ("postgresql+psycopg2://u:secret@h/db", "through psycopg 3"),
        ("postgresql://u:secret@h", "no database name"),
        ("postgresql://u:secret@h:notaport/db", "not a database URL"),
    ],
)
def test_bad_database_urls_name_what_is_expected(url: str, match: str) -> None:
    with pytest.raises(WeldLogError, match=match) as err:
        parse_log_target(url)
    assert "secret" not in str(err.value)


def test_an_unreachable_server_is_one_clear_error() -> None:
    with pytest.raises(WeldLogError, match=r"127\.0\.0\.1:9/wl: cannot open the weld log database") as err:
        WeldLog("postgresql://u:secret@127.0.0.1:9/wl")
    assert "secret" not in str(err.value)


def test_sqlite_urls_and_paths_are_the_same_log(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    with WeldLog(f"sqlite:///{path}") as log:
        log.start_job(part_serial="via-url")
    with WeldLog(path, readonly=True) as log:
        assert log.latest_job().part_serial == "via-url"


def test_cli_inspect_show_and_export_against_both_back_ends(log_target: str, tmp_path: Path) -> None:
    with WeldLog(log_target) as log:
        job, a, _ = _weld_a_job(log)
    runner = CliRunner(env={"COLUMNS": "220"})
    r = runner.invoke(
        app, ["log", "inspect", str(a), "--status", "accepted", "--by", "Q. Inspector", "--db", log_target]
    )
    assert r.exit_code == 0, r.output
    assert "accepted by Q. Inspector" in r.output
    r = runner.invoke(app, ["log", "show", "--db", log_target])
    assert r.exit_code == 0, r.output
    assert "cell-7" in r.output and "A. Welder" in r.output and "WPS-135-07" in r.output
    assert "accepted (Q. Inspector)" in r.output
    r = runner.invoke(app, ["log", "list", "--db", log_target])
    assert r.exit_code == 0 and "cell-7" in r.output, r.output
    password = make_url(log_target).password if "://" in log_target else None
    assert password is None or f":{password}@" not in r.output  # the title names the server, not the password
    out = tmp_path / "export.dat"
    r = runner.invoke(app, ["log", "export", str(out), "--format", "json", "--db", log_target])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["job"]["id"] == job and doc["seams"][0]["inspection_status"] == "accepted"
    r = runner.invoke(app, ["log", "export", str(out), "--format", "weldx", "--db", log_target])
    assert isinstance(r.exception, WeldcellError) and "weldx package" in str(r.exception)
    r = runner.invoke(app, ["log", "inspect", str(a), "--status", "fine", "--by", "Q", "--db", log_target])
    assert isinstance(r.exception, WeldLogError) and "expected one of" in str(r.exception)
