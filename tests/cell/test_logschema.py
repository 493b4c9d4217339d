"""The weld log's column specification drives everything, and old logs stay readable (migrations)."""

from __future__ import annotations

import csv
import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from weldcell.cell.logexport import export_csv, job_document
from weldcell.cell.logrecords import EventRecord, JobRecord, PartOffsetRecord, SeamRecord, SignalTrace
from weldcell.cell.logschema import (
    EVENTS,
    JOBS,
    MIGRATIONS,
    PART_OFFSETS,
    SCHEMA_VERSION,
    SEAMS,
    SIGNAL_COLUMNS,
    TABLES,
)
from weldcell.cell.weldlog import WeldLog, WeldLogError

# The schema of version 1 as weldcell 0.x wrote it (copied from that release's logrecords.py), so
# that this test keeps checking the migration after the current schema moves on.
V1_SQL = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE jobs(id INTEGER PRIMARY KEY, program_path TEXT NOT NULL DEFAULT '',
    program_hash TEXT NOT NULL DEFAULT '', trajectory_path TEXT NOT NULL DEFAULT '',
    trajectory_hash TEXT NOT NULL DEFAULT '', part_serial TEXT NOT NULL DEFAULT '',
    robot TEXT NOT NULL DEFAULT '', started REAL NOT NULL, ended REAL,
    result TEXT NOT NULL DEFAULT 'running');
CREATE TABLE seams(id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs(id), seam_id TEXT NOT NULL,
    pass_index INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL, started REAL NOT NULL, ended REAL,
    result TEXT NOT NULL DEFAULT 'running', faults TEXT NOT NULL DEFAULT '[]', s_start REAL NOT NULL,
    s_end_planned REAL, s_reached REAL, s_stop REAL, deviation_max_m REAL, deviation_rms_m REAL);
CREATE TABLE signals(seam_record INTEGER NOT NULL REFERENCES seams(id), t REAL NOT NULL, seam_s REAL,
    current REAL, voltage REAL, wire_speed REAL);
CREATE TABLE events(id INTEGER PRIMARY KEY, job_id INTEGER, t REAL NOT NULL, kind TEXT NOT NULL,
    seam_id TEXT, message TEXT NOT NULL DEFAULT '', data TEXT NOT NULL DEFAULT '{}');
INSERT INTO meta VALUES('schema_version', '1');
INSERT INTO jobs(id, program_path, part_serial, robot, started, ended, result)
    VALUES(1, 'frame.yaml', 'SN-7', 'ur://cell3', 1000.0, 1100.0, 'ok');
INSERT INTO seams(id, job_id, seam_id, attempt, started, ended, result, s_start, s_end_planned,
    s_reached, s_stop)
    VALUES(1, 1, 'web', 1, 1001.0, 1050.0, 'ok', 0.0, 0.2, 0.2, 0.2);
INSERT INTO signals VALUES(1, 1001.0, 0.0, 180.0, 22.5, 0.133);
INSERT INTO signals VALUES(1, 1001.1, 0.001, 181.0, 22.4, 0.134);
INSERT INTO events(job_id, t, kind, seam_id, message, data)
    VALUES(1, 1001.0, 'arc_on', 'web', 'arc', '{"a": 1}');
"""


def _v1_log(path: Path) -> Path:
    db = sqlite3.connect(str(path))
    db.executescript(V1_SQL)
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize(
    ("record", "cols"),
    [
        (JobRecord, JOBS),
        (SeamRecord, SEAMS),
        (EventRecord, EVENTS),
        (SignalTrace, SIGNAL_COLUMNS),
        (PartOffsetRecord, PART_OFFSETS),
    ],
)
def test_record_types_follow_the_column_specification(record: type, cols: tuple) -> None:  # type: ignore[type-arg]
    assert [f.name for f in dataclasses.fields(record)] == [c.name for c in cols]


def test_the_database_has_exactly_the_specified_columns(tmp_path: Path) -> None:
    with WeldLog(tmp_path / "w.sqlite"):
        pass
    db = sqlite3.connect(str(tmp_path / "w.sqlite"))
    for table, cols in TABLES.items():
        assert [r[1] for r in db.execute(f"PRAGMA table_info({table})")] == [c.name for c in cols]
    assert db.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)
    db.close()


def test_every_old_version_has_a_migration() -> None:
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION))


def test_a_version_1_log_reads_read_only_without_touching_the_file(tmp_path: Path) -> None:
    path = _v1_log(tmp_path / "old.sqlite")
    before = path.read_bytes()
    with WeldLog(path, readonly=True) as log:
        (job,) = log.jobs()
        assert (job.part_serial, job.result) == ("SN-7", "ok")
        (seam,) = log.seams(job.id)
        tr = log.signals(seam.id)
        np.testing.assert_allclose(tr.wire_feed, [0.133, 0.134])
        np.testing.assert_allclose(tr.current, [180.0, 181.0])
        assert log.events(job.id)[0].data == {"a": 1}
        doc = job_document(log, job.id)
    assert doc["seams"][0]["signals"]["wire_feed"] == [0.133, 0.134]
    assert doc["units"]["signals"]["wire_feed"] == "m/s"
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.bak"))


def test_a_version_1_log_is_migrated_in_place_with_a_backup_and_keeps_its_records(tmp_path: Path) -> None:
    path = _v1_log(tmp_path / "old.sqlite")
    with WeldLog(path) as log:  # the cell opens it to weld the next part
        job2 = log.start_job(program_path="frame.yaml", part_serial="SN-8")
        rec = log.start_seam(job2, "web", s_start=0.0)
        log.add_signals(rec, [[2000.0, 0.0, 170.0, 21.0, 0.12]])
        assert [j.part_serial for j in log.jobs()] == ["SN-8", "SN-7"]
        np.testing.assert_allclose(log.signals(1).wire_feed, [0.133, 0.134])
        np.testing.assert_allclose(log.signals(rec).wire_feed, [0.12])
    backup = tmp_path / "old.sqlite.v1.bak"
    db = sqlite3.connect(str(backup))
    assert db.execute("SELECT value FROM meta").fetchone() == ("1",)
    assert db.execute("SELECT wire_speed FROM signals").fetchall() == [(0.133,), (0.134,)]
    db.close()
    with WeldLog(path, readonly=True) as log:
        assert len(log.jobs()) == 2
        (old,) = log.seams(1)
        assert (old.inspection_status, old.wps_id, log.job(1).cell_id) == ("pending", "", "")
        np.testing.assert_allclose(log.signals(1).t, [1001.0, 1001.1])  # order kept through the rebuild


def test_a_log_from_a_newer_weldcell_is_refused_naming_the_versions(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    with WeldLog(path):
        pass
    db = sqlite3.connect(str(path))
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    for readonly in (True, False):
        with pytest.raises(WeldLogError, match=f"newer weldcell .*schema {SCHEMA_VERSION + 1}"):
            WeldLog(path, readonly=readonly)


def test_csv_headers_carry_units_from_the_specification(tmp_path: Path) -> None:
    with WeldLog(tmp_path / "w.sqlite") as log:
        job = log.start_job(part_serial="SN1")
        rec = log.start_seam(job, "s1", s_start=0.0)
        log.add_signals(rec, [[1.0, 0.0, 150.0, 20.0, 0.1]])
        log.end_seam(rec, "ok", s_stop=0.05)
        log.add_event(job, "arc_on", "x", data={"k": 2})
        files = export_csv(log, job, tmp_path / "out" / "job.csv")
    rows = {f.name: list(csv.reader(f.open())) for f in files}
    assert rows["job_signals.csv"][0][2:] == ["t_s", "seam_s_m", "current_a", "voltage_v", "wire_feed_m_s"]
    assert "s_stop_m" in rows["job_seams.csv"][0] and "deviation_max_m" in rows["job_seams.csv"][0]
    assert float(rows["job_signals.csv"][1][-1]) == 0.1
    assert json.loads(rows["job_events.csv"][1][-1]) == {"k": 2}


def test_a_version_2_log_gains_the_part_offsets_table_with_the_specified_columns(tmp_path: Path) -> None:
    path = _v1_log(tmp_path / "old.sqlite")
    with WeldLog(path) as log:  # v1 -> v3 through both migrations
        job = log.start_job(program_path="touch.yaml", part_serial="SN-9")
        T_nom = np.eye(4)
        T = np.eye(4)
        T[:3, 3] = [0.003, -0.002, 0.0]
        c, s = np.cos(np.deg2rad(2)), np.sin(np.deg2rad(2))
        T[:2, :2] = [[c, -s], [s, c]]
        log.add_part_offset(job, "base_plate", T_nom, T, rms=2e-5, observed_dof=4, touches=5)
        (rec,) = log.part_offsets(job)
    assert rec.part == "base_plate" and rec.touches == 5 and rec.observed_dof == 4
    np.testing.assert_allclose([rec.dx, rec.dy, rec.dz], [0.003, -0.002, 0.0])
    np.testing.assert_allclose([rec.rx, rec.ry, rec.rz], [0, 0, np.deg2rad(2)], atol=1e-12)
    np.testing.assert_allclose(np.array(rec.T_world_part), T)
    db = sqlite3.connect(str(path))
    assert [r[1] for r in db.execute("PRAGMA table_info(part_offsets)")] == [c.name for c in PART_OFFSETS]
    db.close()
