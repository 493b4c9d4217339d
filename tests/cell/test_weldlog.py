"""Weld log: records, queries, exports, plots, and a writer killed with SIGKILL mid-job."""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import os
import signal
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from cellchild import log_writer, signal_rows

from weldcell.cell.logexport import export_csv, export_json, plot_seam
from weldcell.cell.weldlog import WeldLog, WeldLogError


def test_job_seam_signal_round_trip(tmp_path: Path) -> None:
    with WeldLog(tmp_path / "w.sqlite") as log:
        job = log.start_job(program_path="p.yaml", program_hash="abc", part_serial="SN1", robot="ur5e")
        rec = log.start_seam(job, "s1", s_start=0.0, s_end_planned=0.1)
        log.add_signals(rec, signal_rows(100.0, 0.0, 10), s_reached=0.0009)
        log.add_signals(rec, signal_rows(100.2, 0.001, 5), s_reached=0.0014)
        log.end_seam(rec, "ok", s_stop=0.1, deviation_max_m=2e-4, deviation_rms_m=1e-4)
        log.add_event(job, "arc_on", "arc stable", seam_id="s1", data={"ignition_s": 0.12})
        log.end_job(job, "ok")

    with WeldLog(tmp_path / "w.sqlite", readonly=True) as log:
        j = log.latest_job()
        assert (j.id, j.part_serial, j.program_hash, j.result) == (job, "SN1", "abc", "ok")
        (s,) = log.seams(job)
        assert (s.seam_id, s.attempt, s.result, s.s_stop, s.deviation_max_m) == ("s1", 1, "ok", 0.1, 2e-4)
        assert s.s_reached == pytest.approx(0.1)
        tr = log.signals(rec)
        assert len(tr) == 15
        np.testing.assert_allclose(tr.current[:10], signal_rows(100.0, 0.0, 10)[:, 2])
        (ev,) = log.events(job)
        assert ev.data == {"ignition_s": 0.12} and ev.seam_id == "s1"
        assert log.integrity_ok()


def test_wal_mode_and_attempt_numbering(tmp_path: Path) -> None:
    with WeldLog(tmp_path / "w.sqlite") as log:
        job = log.start_job()
        a = log.start_seam(job, "s1", s_start=0.0)
        log.end_seam(a, "arc_loss", s_stop=0.042, faults=["arc lost"])
        b = log.start_seam(job, "s1", s_start=0.037)
        assert log.seam(b).attempt == 2
        rp = log.resume_point(job)
        assert (rp.seam_id, rp.s_stop, rp.exact) == ("s1", pytest.approx(0.042), True)
        log.end_seam(b, "ok", s_stop=0.1)
        assert log.resume_point(job).seam_id is None
        assert ("s1", 0) in log.resume_point(job).done_seams
    mode = sqlite3.connect(tmp_path / "w.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_missing_and_bad_files_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(WeldLogError, match="not found"):
        WeldLog(tmp_path / "none.sqlite", readonly=True)
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(WeldLogError, match="not a weldcell weld log"):
        WeldLog(bad)
    with WeldLog(tmp_path / "w.sqlite") as log, pytest.raises(WeldLogError, match="no job 7"):
        log.job(7)


def test_exports_and_plot(tmp_path: Path) -> None:
    with WeldLog(tmp_path / "w.sqlite") as log:
        job = log.start_job(part_serial="SN9")
        rec = log.start_seam(job, "s1", s_start=0.0)
        log.add_signals(rec, signal_rows(5.0, 0.0, 50))
        log.end_seam(rec, "arc_loss", s_stop=0.003, faults=["arc lost at 3.0 mm"])
        log.add_event(job, "fault", "arc lost", seam_id="s1")
        doc_path = export_json(log, job, tmp_path / "out" / "job.json")
        files = export_csv(log, job, tmp_path / "out" / "job.csv")
        png = plot_seam(log, rec, tmp_path / "out" / "s1.png")
        empty = log.start_seam(job, "s2", s_start=0.0)
        with pytest.raises(WeldLogError, match="no process-signal samples"):
            plot_seam(log, empty, tmp_path / "x.png")
    doc = json.loads(doc_path.read_text())
    assert doc["job"]["part_serial"] == "SN9"
    assert doc["seams"][0]["faults"] == ["arc lost at 3.0 mm"]
    assert len(doc["seams"][0]["signals"]["current"]) == 50
    names = [f.name for f in files]
    assert names == ["job_seams.csv", "job_signals.csv", "job_events.csv"]
    with files[1].open() as f:
        rows = list(csv.reader(f))
    assert len(rows) == 51 and float(rows[1][4]) == pytest.approx(180 + np.sin(5.0))
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"


def test_killed_writer_leaves_an_intact_log_marked_interrupted_on_both_back_ends(log_target: str) -> None:
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=log_writer, args=(log_target, ready), daemon=True)
    proc.start()
    try:
        assert ready.wait(30.0), "writer did not start"
        time.sleep(0.05)
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10.0)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join(5.0)
    assert proc.exitcode == -signal.SIGKILL
    with WeldLog(log_target, readonly=True) as log:  # what `weldcell log` sees before anyone writes
        job = log.latest_job()
        assert job.result == "running" and log.writer_gone(job)
        assert job.writer.endswith(f":{proc.pid}")
        n_before = len(log.signals(log.seams(job.id)[1].id))
    with WeldLog(log_target) as log:  # the next cell process opens the log: the dead job is marked
        assert log.integrity_ok()
        job = log.latest_job()
        assert job.result == "interrupted" and job.part_serial == "SN-kill" and not log.writer_gone(job)
        seams = log.seams(job.id)
        assert [(s.seam_id, s.result) for s in seams] == [("s1", "ok"), ("s2", "interrupted")]
        tr = log.signals(seams[1].id)
        n = len(tr)
        assert n == n_before and n >= 40 and n % 10 == 0  # whole batches only: no torn transaction
        assert np.all(np.diff(tr.t) > 0)  # in the order written
        assert seams[1].ended == pytest.approx(float(tr.t.max()))  # ends at its last committed sample
        rp = log.resume_point(job.id)
        assert rp.done_seams == frozenset({("s1", 0)})
        assert rp.seam_id == "s2" and not rp.exact
        assert rp.s_stop == pytest.approx(float(tr.seam_s.max()))
        assert [e.kind for e in log.events(job.id)] == ["interrupted"]
        assert log.mark_interrupted(job.id) == 0  # nothing left running
