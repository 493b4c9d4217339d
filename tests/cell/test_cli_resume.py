"""``weldcell cell run`` killed with SIGKILL mid-seam, then ``weldcell cell resume``: one job record whose
welded intervals (from the positions the controller executed, as logged) cover every seam with the
programmed overlap and no gap."""

from __future__ import annotations

import itertools
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
from clicell import LAP, cli_args, cli_env, run_cli, virtual_cell

from weldcell.cell.arc import ArcProcedure
from weldcell.cell.weldlog import WeldLog, WeldLogError

OVERLAP = ArcProcedure().restart_overlap


def _first_seam_progress(db: Path) -> float:
    try:
        with WeldLog(db, readonly=True) as log:
            jobs = log.jobs()
            seams = log.seams(jobs[0].id) if jobs else []
    except WeldLogError:  # not created yet
        return 0.0
    return float(seams[0].s_reached or 0.0) if seams else 0.0


def test_sigkill_mid_seam_then_cell_resume_finishes_the_same_job(tmp_path: Path) -> None:
    db, out = tmp_path / "log.sqlite", tmp_path / "out"
    with virtual_cell("127.0.0.85") as cell:
        urls = ("--robot", cell.robot_url, "--powersource", cell.psu_url)
        proc = subprocess.Popen(
            cli_args("cell", "run", LAP, *urls, "--db", db, "--out", out),
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 180.0
            while _first_seam_progress(db) < 0.015:
                assert proc.poll() is None, proc.communicate()[0].decode()
                assert time.monotonic() < deadline, "the job did not reach 15 mm of its first seam"
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10.0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10.0)
        # the power source ends the weld on its heartbeat timeout
        deadline = time.monotonic() + 10.0  # generous (the timeout is 0.15 s): a loaded host
        while cell.psu.model.status().current_flow:
            assert time.monotonic() < deadline, "the arc stayed on after the cell process died"
            time.sleep(0.01)
        listing = run_cli("cell", "jobs", "--db", db)
        assert listing.returncode == 0, listing.stdout + listing.stderr
        assert "running" in listing.stdout and "near_edge" in listing.stdout
        res = run_cli("cell", "resume", "--db", db, *urls, "--out", out)
    assert res.returncode == 0, res.stdout + res.stderr
    with WeldLog(db, readonly=True) as log:
        jobs = log.jobs()
        assert len(jobs) == 1, "resume must continue the same job record"
        assert jobs[0].result == "ok"
        seams = log.seams(jobs[0].id)
        assert [(s.seam_id, s.attempt, s.result) for s in seams] == [
            ("near_edge", 1, "interrupted"),
            ("near_edge", 2, "ok"),
            ("far_edge", 1, "ok"),
        ]
        for seam_id in ("near_edge", "far_edge"):
            attempts = [s for s in seams if s.seam_id == seam_id]
            spans = []
            for a in attempts:
                s = log.signals(a.id).seam_s
                s = s[np.isfinite(s)]
                spans.append((float(s.min()), float(s.max())))
            length = attempts[-1].s_end_planned
            assert length is not None
            assert spans[0][0] < 1e-3 and spans[-1][1] > length - 1e-3  # from end to end
            for (_, end0), (start1, _) in itertools.pairwise(spans):
                # the restart begins the programmed overlap before the executed end (no gap): the
                # log's progress is at most one signal batch behind the executed end
                assert start1 <= end0 - OVERLAP + 1e-4, (seam_id, spans)
                assert start1 >= end0 - OVERLAP - 0.004, (seam_id, spans)
        interrupted = seams[0]
        assert interrupted.s_reached is not None
        assert seams[1].s_start is not None
        assert abs(seams[1].s_start - (interrupted.s_reached - OVERLAP)) < 1e-4


def test_resume_refuses_finished_or_missing_jobs_with_a_clear_reason(tmp_path: Path) -> None:
    db = tmp_path / "log.sqlite"
    with WeldLog(db) as log:
        done = log.start_job(program_hash="h", part_serial="SN-1")
        log.end_job(done, "ok")
    urls = ("--robot", "ur://127.0.0.1", "--powersource", "modbus://127.0.0.1:1502")
    res = run_cli("cell", "resume", str(done), "--db", db, *urls)
    text = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0 and "Traceback" not in text
    assert f"job {done}" in text and "is ok" in text and "can be resumed" in text
    res = run_cli("cell", "resume", "--db", db, *urls)  # nothing interrupted
    text = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0 and "no interrupted job to resume" in text
    res = run_cli("cell", "jobs", "--db", tmp_path / "missing.sqlite")
    assert res.returncode != 0 and "weld log not found" in res.stdout + res.stderr
    res = run_cli("cell", "resume", "--db", db)
    assert res.returncode != 0 and "--robot and --powersource" in res.stdout + res.stderr
    res = run_cli("cell", "resume", "--list", "--db", db)
    assert res.returncode == 0, res.stdout + res.stderr
