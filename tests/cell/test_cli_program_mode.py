"""``weldcell run … --mode program`` as a user runs it: the whole job as one URScript program on the
virtual UR controller, through the cell (validated start move, interlocks, weld log), with the arc
switched on the virtual Modbus power source by the cell when the program asks for it.

The job is planned once (module fixture) and both tests run the planned trajectory, whose weld
program is copied next to it, so the cell finds it (start move, weld parameters)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from clicell import LAP, cli_args, cli_env, run_cli, virtual_cell
from waiting import wait_until

from weldcell.cell.weldlog import WeldLog, WeldLogError
from weldcell.drivers.powersource.virtual_model import ProcessState
from weldcell.drivers.ur.client.dashboard import DashboardClient
from weldcell.trajectory import load_trajectory


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The lap job (ur10e, two seams) planned, validated and stamped; its program beside it."""
    from weldcell.app.planvalidate import plan_and_validate
    from weldcell.app.progress import Progress

    folder = tmp_path_factory.mktemp("planned")
    program = yaml.safe_load(LAP.read_text())
    # shorter and faster welds than the lap test program: the test time is mostly motion
    program["procedures"]["lap_a3"]["travel_speed_mm_s"] = 25
    program["seams"][0]["geometry"]["line"] = {"start_mm": [-60, -15, 4], "end_mm": [-60, 15, 4]}
    program["seams"][1]["geometry"]["line"] = {"start_mm": [60, 15, 4], "end_mm": [60, -15, 4]}
    path = folder / "lap_short.yaml"
    path.write_text(yaml.safe_dump(program, sort_keys=False))

    def quiet(p: Progress) -> None:
        del p

    _, _, traj_path, _ = plan_and_validate(path, folder, quiet)
    yield traj_path


def _seam_steps(traj_path: Path) -> dict[str, tuple[float, float]]:
    """Planned seam arc length [m] at the arc-on and the arc-off sample of every seam, in welding order."""
    traj = load_trajectory(traj_path)
    out = {}
    for k, sid in enumerate(traj.seam_ids):
        i = np.flatnonzero((traj.seam_index == k) & traj.arc_on)
        out[sid] = (int(i[0]), float(traj.seam_s[i[0]]), float(traj.seam_s[i[-1]]))
    return {sid: (a, b) for sid, (_, a, b) in sorted(out.items(), key=lambda kv: kv[1][0])}


def test_program_mode_welds_through_the_cell_with_a_real_job_record(planned: Path, tmp_path: Path) -> None:
    db, out = tmp_path / "log.sqlite", tmp_path / "out"
    with virtual_cell("127.0.0.141") as cell:  # the robot boots away from the job's start
        res = run_cli(
            "run", planned, "--robot", cell.robot_url, "--powersource", cell.psu_url,
            "--mode", "program", "--db", db, "--out", out, "--part", "SN-7",
        )  # fmt: skip
        assert not cell.psu.model.status().current_flow
    assert res.returncode == 0, res.stdout + res.stderr
    assert "validated start move" in res.stdout and "job program completed" in res.stdout
    planned_s = _seam_steps(planned)
    with WeldLog(db, readonly=True) as log:
        jobs = log.jobs()
        assert len(jobs) == 1 and jobs[0].result == "ok" and jobs[0].part_serial == "SN-7"
        seams = log.seams(jobs[0].id)
        assert [(s.seam_id, s.result) for s in seams] == [(sid, "ok") for sid in planned_s]
        for s in seams:
            sig = log.signals(s.id)
            arc = sig.current > 1.0  # the power source's measured current: the arc really burned
            assert arc.mean() > 0.9, f"{s.seam_id}: current in {arc.mean():.0%} of the samples"
            s_on, s_off = planned_s[s.seam_id]
            # the welded interval comes from the robot's actual positions while the arc burned
            assert s.s_start == pytest.approx(s_on, abs=1e-4)
            ss = sig.seam_s[arc]
            lo, hi = min(s_on, s_off), max(s_on, s_off)
            assert ss.min() <= lo + 1e-3 and ss.max() >= hi - 1e-3  # the whole seam, end to end
            assert np.all(np.sign(s_off - s_on) * np.diff(ss) >= -1e-9)  # in the welding direction
            assert s.s_stop == pytest.approx(s_off, abs=1e-4)  # where this weld ends (either direction)
            assert s.deviation_max_m is not None and s.deviation_max_m < 5e-4
        kinds = [e.kind for e in log.events(jobs[0].id)]
        for kind in ("program_mode", "program_start", "arc_on", "seam_end", "program_end", "job_end"):
            assert kind in kinds, kind
        assert "dry_run" not in kinds


BURNING = (ProcessState.ARC, ProcessState.CRATER)  # the states with current flowing


def _dash(cell: object, command: str) -> str:
    host = cell.robot_url[5:]  # type: ignore[attr-defined]
    with DashboardClient(host, cell.ur.ports.dashboard) as d:  # type: ignore[attr-defined]
        return d.command(command)


def test_an_interlock_opened_mid_program_stops_it_with_the_arc_off(planned: Path, tmp_path: Path) -> None:
    db, out = tmp_path / "log.sqlite", tmp_path / "out"
    config = tmp_path / "cell.yaml"
    config.write_text(yaml.safe_dump({"format": "weldcell.cell/1", "interlocks": {"door_closed_input": 3}}))
    traj = load_trajectory(planned)
    q0 = tuple(float(x) for x in np.rad2deg(traj.q[0]))
    with virtual_cell("127.0.0.142", q_deg=q0) as cell:  # the robot stands at the job's start
        assert _dash(cell, "weldcell set_digital_in 3 1") == "ok"  # door closed
        args = cli_args(  # the other entry point, `cell run`, on the same path
            "cell", "run", planned, "--robot", cell.robot_url, "--powersource", cell.psu_url,
            "--mode", "program", "--db", db, "--out", out, "--cell-config", config,
        )  # fmt: skip
        proc = subprocess.Popen(
            args,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 120.0
            while not _welding_past(db, 0.005):  # 5 mm into the first seam
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "the job did not reach 10 mm of its first seam"
                time.sleep(0.02)
            assert cell.psu.model.status().current_flow
            model = cell.psu.model
            seen = len(model.transitions())
            host = cell.robot_url[5:]
            with DashboardClient(host, cell.ur.ports.dashboard) as dash:  # connected before t_open
                t_open = time.monotonic()
                assert dash.command("weldcell set_digital_in 3 0") == "ok"  # the door opens
            # the arc off is judged on the power source's own clock (its transition log, stamped by
            # its tick on this process's monotonic clock), not on when this thread next looked
            off = wait_until(
                lambda: next((t for t, _, new in model.transitions()[seen:] if new not in BURNING), None),
                30.0,
                what="the power source's current off after the door opened",
            )
            arc_off_after = model._t0 + off - t_open  # _t0: the origin of its transition times
            output, _ = proc.communicate(timeout=60.0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10.0)
        assert proc.returncode == 1, output
        state = _dash(cell, "weldcell state")
        assert '"runtime_state": "STOPPED"' in state or '"runtime_state": "STOPPING"' in state, state
    assert "cell door open" in output
    # door → cell poll (10 ms) → weld stop → the power source's current off (its stop ramp, ~0.1 s)
    assert arc_off_after < 0.5, f"arc off {arc_off_after * 1e3:.0f} ms after the door opened"
    with WeldLog(db, readonly=True) as log:
        job = log.jobs()[0]
        assert job.result == "interrupted"
        seams = log.seams(job.id)
        first, (s_on, s_off) = next(iter(_seam_steps(planned).items()))
        assert [(s.seam_id, s.result) for s in seams] == [(first, "fault")]
        assert any("cell door open" in f for f in seams[0].faults)
        assert 0.005 <= abs((seams[0].s_stop or 0.0) - s_on) < abs(s_off - s_on)
        assert any(e.kind == "fault" and "cell door open" in e.message for e in log.events(job.id))


def _welding_past(db: Path, distance: float) -> bool:
    """The first seam attempt has welded ``distance`` [m] (progress committed to the log)."""
    try:
        with WeldLog(db, readonly=True) as log:
            jobs = log.jobs()
            seams = log.seams(jobs[0].id) if jobs else []
            sig = log.signals(seams[0].id) if seams else None
    except WeldLogError:  # not created yet
        return False
    if sig is None or len(sig) == 0:
        return False
    return float(np.ptp(sig.seam_s[np.isfinite(sig.seam_s)])) >= distance
