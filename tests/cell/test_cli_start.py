"""``weldcell cell run`` started with the arm wherever it stands, as a user runs it: the move onto the
job is planned collision-free, kept within the planning speed limits, validated with real TCP poses,
and an unsafe start is refused with the reason before any job is recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from clicell import LAP, run_cli, virtual_cell

from weldcell.cell.weldlog import WeldLog
from weldcell.kinematics import load_robot
from weldcell.kinematics.safety import default_limits, planning_limits
from weldcell.trajectory import load_trajectory
from weldcell.trajectory.stamp import verify_stamp

# the torch 30 mm into the plates at the first seam's start (found by IK from the planned weld)
IN_THE_PLATE_DEG = (127.9, -100.62, 141.8, -117.45, -52.22, -75.77)


def test_job_starts_from_an_arbitrary_pose_with_a_validated_move(tmp_path: Path) -> None:
    db, out = tmp_path / "log.sqlite", tmp_path / "out"
    with virtual_cell("127.0.0.83") as cell:
        res = run_cli(
            "cell", "run", LAP, "--robot", cell.robot_url, "--powersource", cell.psu_url,
            "--db", db, "--out", out,
        )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "validated start move" in res.stdout
    with WeldLog(db, readonly=True) as log:
        jobs = log.jobs()
        assert len(jobs) == 1 and jobs[0].result == "ok"
        assert {(s.seam_id, s.result) for s in log.seams(jobs[0].id)} == {
            ("near_edge", "ok"),
            ("far_edge", "ok"),
        }
    start = sorted((out / "motions").glob("*_start.npz"))
    assert len(start) == 1
    move = load_trajectory(start[0])
    verify_stamp(start[0], move)  # validated in the simulator before it ran
    robot = load_robot("ur10e")
    T_fk = move.T_world_base @ robot.fk(move.q) @ move.T_flange_tcp
    assert np.allclose(move.T_world_tcp, T_fk, atol=1e-9)  # real poses, not placeholders
    np.testing.assert_allclose(move.q[0], np.deg2rad([0, -90, 90, -90, -90, 0]), atol=1e-3)
    v_tcp = np.linalg.norm(np.diff(T_fk[:, :3, 3], axis=0), axis=1) / move.dt
    p_elbow = robot.link_poses(move.q)[:, 3, :3, 3]
    v_elbow = np.linalg.norm(np.diff(p_elbow, axis=0), axis=1) / move.dt
    lim = planning_limits(default_limits("ur10e"))
    assert v_tcp.max() <= lim.tcp_speed + 1e-9 and v_elbow.max() <= lim.elbow_speed + 1e-9


def test_start_that_cannot_be_reached_without_collision_is_refused_with_the_reason(tmp_path: Path) -> None:
    db, out = tmp_path / "log.sqlite", tmp_path / "out"
    with virtual_cell("127.0.0.84", q_deg=IN_THE_PLATE_DEG) as cell:
        res = run_cli(
            "cell", "run", LAP, "--robot", cell.robot_url, "--powersource", cell.psu_url,
            "--db", db, "--out", out,
        )  # fmt: skip
        st = cell.psu.model.status()
    text = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0
    assert "Traceback" not in text
    assert "current position is in collision" in text
    assert "torch:nozzle with base_plate" in text
    assert "TCP at [" in text  # where
    assert not st.current_flow
    with WeldLog(db, readonly=True) as log:
        assert log.jobs() == []  # refused before a job was recorded


def test_weldcell_run_without_a_power_source_is_the_cell_with_the_arc_disabled(tmp_path: Path) -> None:
    """``weldcell run`` (stream mode) is the cell: the same validated start move, controller and weld
    log; without --powersource the arc is disabled (a dry run), and the log says so."""
    out, db = tmp_path / "run", tmp_path / "log.sqlite"
    with virtual_cell("127.0.0.89") as cell:
        res = run_cli("run", LAP, "--robot", cell.robot_url, "--out", out, "--db", db)
        assert not cell.psu.model.status().current_flow
    assert res.returncode == 0, res.stdout + res.stderr
    assert "dry run with the arc disabled" in res.stdout
    assert "validated start move" in res.stdout
    start = sorted((out / "motions").glob("*_start.npz"))
    assert len(start) == 1
    verify_stamp(start[0], load_trajectory(start[0]))
    with WeldLog(db, readonly=True) as log:
        (job,) = log.jobs()
        assert job.result == "ok" and job.part_serial == "DRY RUN"
        assert "dry_run" in [e.kind for e in log.events(job.id)]
        seams = log.seams(job.id)
        assert {s.seam_id for s in seams} == {"near_edge", "far_edge"}
        for s in seams:
            sig = log.signals(s.id)
            assert len(sig) > 0 and float(abs(sig.current).max()) == 0.0  # no arc
