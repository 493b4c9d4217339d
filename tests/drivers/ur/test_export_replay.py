"""URScript export replayed on the virtual UR controller: the validated weld path within 0.1 mm, the
planned cycle time within 5 %, program size, weld parameters, speed slider, size limit and split.

Programs: two of this folder's own (a line and an arc on a UR5e, a weave on a UR10e), a synthetic
circle with a fixed torch orientation (movec) and ``programs/box_frame.yaml``.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from weldcell.drivers.powersource.io import IoMap
from weldcell.drivers.ur import models
from weldcell.drivers.ur.program.export import (
    ExportError,
    UrExportOptions,
    export_summary,
    export_urscript,
    urscript_from_trajectory,
    weld_blocks,
    weld_settings_from_program,
)
from weldcell.drivers.ur.program.replay import compare_with_plan, replay_program
from weldcell.drivers.ur.virtual.motion import Profile, fk_batch, ik_newton
from weldcell.planning import PlanOptions, plan_program, save_trajectory
from weldcell.planning.weld import CORNER_TOLERANCE
from weldcell.program import load_program
from weldcell.trajectory import ArcEvent, JointTrajectory

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def _plan(path: Path, out: Path) -> tuple[Any, JointTrajectory, Path]:
    program = load_program(path)
    result = plan_program(program, PlanOptions())
    assert result.ok, result.reason
    assert result.trajectory is not None  # mypy
    traj_path = save_trajectory(result.trajectory, out / "trajectory.npz")
    (out / "plan.json").write_text(json.dumps({"program": str(path), "program_hash": program.hash}))
    return program, result.trajectory, traj_path


@pytest.fixture(scope="module", params=["arc_ur5e", "weave_ur10e"])
def planned(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, JointTrajectory, Path]:
    return _plan(HERE / "programs" / f"{request.param}.yaml", tmp_path_factory.mktemp(request.param))


def _settings(program: Any, traj: JointTrajectory, use_jobs: bool = False) -> Any:
    return weld_settings_from_program(program, traj, weld_blocks(traj), use_jobs)


def _check_replay(traj: JointTrajectory, text: str, estimate: float) -> None:
    res = replay_program(text, traj, arc_delay=0.05)
    assert res.finished, (res.popup, res.messages[-3:])
    assert np.allclose(res.q[-1], traj.q[-1], atol=1e-6)
    cmp = compare_with_plan(traj, res)
    assert cmp.max_deviation <= 1e-4, cmp.weld_deviation
    assert abs(cmp.cycle_time_error) <= 0.05, (cmp.cycle_time, cmp.planned_cycle_time)
    assert estimate == pytest.approx(cmp.cycle_time, rel=0.01)  # the export's own estimate


def test_replay_reproduces_the_validated_path_and_cycle_time(
    planned: tuple[Any, JointTrajectory, Path],
) -> None:
    program, traj, _ = planned
    texts, summary = export_summary(traj, None, None, _settings(program, traj))
    assert len(texts) == 1 and summary.lines < 2000
    modes = {r.mode for r in summary.seam_reports}
    if traj.robot == "ur10e":  # the weave seam: URScript has no weave primitive
        # movel pieces would fit the zigzag's path within tolerance, but the controller cannot keep
        # the travel speed through their blends at the reversals: it must be a servo table
        assert modes == {"servo"} and summary.movel == 0
        # the planner rounds the joint path at weave corners (the nominal poses keep them exact), by
        # at most CORNER_TOLERANCE; a kinematic model mismatch would add to it everywhere
        mismatch = CORNER_TOLERANCE + 1e-5
    else:
        assert modes == {"movel"} and summary.servoj == 0
        mismatch = 1e-5
    assert all(r.nominal_mismatch < mismatch for r in summary.seam_reports)
    assert summary.movej < 60  # blended transits, not one movej per sample
    _check_replay(traj, texts[0], summary.cycle_time)


def test_weld_parameters_go_out_before_arc_on(planned: tuple[Any, JointTrajectory, Path]) -> None:
    program, traj, _ = planned
    text = urscript_from_trajectory(traj, None, None, _settings(program, traj))
    proc = next(iter(program.procedures.values()))
    ao0 = f"set_standard_analog_out(0, {round(proc.wire_feed / (25 / 60), 5):g})"
    ao1 = f"set_standard_analog_out(1, {round(proc.voltage / 50, 5):g})"
    on = text.index("set_standard_digital_out(0, True)")
    assert ao0 in text[:on] and ao1 in text[:on]
    if proc.job:  # job selection through job bits
        opt = UrExportOptions(use_jobs=True, io_map=IoMap(job_bits=(5, 6, 7)))
        text = urscript_from_trajectory(traj, opt, None, _settings(program, traj, use_jobs=True))
        bits = [f"set_standard_digital_out({5 + i}, {bool(proc.job >> i & 1)})" for i in range(3)]
        on = text.index("set_standard_digital_out(0, True)")
        assert all(b in text[:on] for b in bits) and "set_standard_analog_out" not in text
        with pytest.raises(ExportError, match="job bits"):
            urscript_from_trajectory(
                traj, UrExportOptions(use_jobs=True), None, _settings(program, traj, True)
            )


def test_speed_slider_below_100_percent_stops_the_weld(planned: tuple[Any, JointTrajectory, Path]) -> None:
    program, traj, _ = planned
    text = urscript_from_trajectory(traj, None, None, _settings(program, traj))
    res = replay_program(text, traj, speed_slider=0.7)
    assert not res.finished and "speed slider" in res.popup
    assert not res.arc[-1]  # arc off when it stopped
    first_on = int(np.argmax(res.arc))
    assert res.arc[first_on:].sum() * res.cycle < 0.5 * (traj.arc_on.sum() * traj.dt)


def test_size_limit_refuses_or_splits(planned: tuple[Any, JointTrajectory, Path], tmp_path: Path) -> None:
    program, traj, traj_path = planned
    _, full = export_summary(traj, None, None, _settings(program, traj))
    limit = max(100, full.lines // 2 + 60)
    with pytest.raises(ExportError, match="above the limit"):
        export_summary(traj, UrExportOptions(max_lines=100), None, _settings(program, traj))
    if len(weld_blocks(traj)) < 2:
        return
    out = tmp_path / "job.script"
    s = export_urscript(traj_path, out, UrExportOptions(max_lines=limit, split=True), force_unvalidated=True)
    assert len(s.parts) >= 2 and not out.exists()
    q = traj.q[0]
    for k, part in enumerate(s.parts):
        text = part.read_text()
        assert text.count("\n") <= limit and text.rstrip().endswith(f"weldcell_job_{k + 1}()")
        res = replay_program(text, traj, q_start=q)
        assert res.finished, res.messages[-3:]
        q = res.q[-1]
    assert np.allclose(q, traj.q[-1], atol=1e-6)


def test_cli_prints_size_and_cycle_time(planned: tuple[Any, JointTrajectory, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from weldcell.cli import app

    _, traj, traj_path = planned
    out = tmp_path / "job.script"
    runner = CliRunner()
    res = runner.invoke(app, ["export", str(traj_path), "-o", str(out), "--force-unvalidated"])
    assert res.exit_code == 0, res.output
    assert f"{out.read_text().count(chr(10))} lines" in res.output
    assert "estimated cycle time" in res.output and f"planned {traj.duration:.1f} s" in res.output
    res = runner.invoke(
        app,
        [
            "export",
            str(traj_path),
            "-o",
            str(tmp_path / "x.script"),
            "--force-unvalidated",
            "--max-lines",
            "100",
        ],
    )
    assert res.exit_code == 2 and "above the limit of 100" in " ".join(res.output.split())


# --- a circle with a fixed torch orientation: movec ----------------------------------------------
def _circle_trajectory(robot: str = "ur3e", T_world_base: np.ndarray | None = None) -> JointTrajectory:
    arm = models.get_arm(robot)
    dt = 0.002
    q0 = np.array([0.0, -1.6, 1.7, -1.67, -1.57, 0.0])
    T0 = fk_batch(arm, q0[None])[0]
    rad, v, ramp, sweep = 0.03, 0.012, 0.0015, math.radians(200)
    prof = Profile.make(rad * sweep, v, v * v / (2 * ramp))
    s = prof.s(np.arange(0.0, prof.duration + dt, dt))
    centre = T0[:3, 3] + [-rad, 0.0, 0.0]
    phi = s / rad
    P = centre + rad * np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], axis=1)
    q = [q0]
    for p in P[1:]:
        T = T0.copy()
        T[:3, 3] = p
        sol = ik_newton(arm, T, q[-1])
        assert sol is not None
        q.append(sol)
    weld = np.array(q)
    rest = lambda x, n: np.repeat(x[None], n, axis=0)  # noqa: E731
    parts = [rest(q0, 50), rest(q0, 100), weld[1:], rest(weld[-1], 100), rest(weld[-1], 50)]
    qq = np.concatenate(parts)
    n = len(qq)
    i_on, i_off = 50, 50 + 100 + len(weld) - 1 + 100 - 1
    arc = np.zeros(n, bool)
    arc[i_on : i_off + 1] = True
    t = np.arange(n) * dt
    qd = np.gradient(qq, dt, axis=0)
    qd[np.abs(qd) < 1e-12] = 0.0
    qdd = np.gradient(qd, dt, axis=0)
    return JointTrajectory(
        robot=robot,
        joint_names=tuple(f"j{k}" for k in range(6)),
        dt=dt,
        t=t,
        q=qq,
        qd=qd,
        qdd=qdd,
        T_world_tcp=(np.eye(4) if T_world_base is None else T_world_base) @ fk_batch(arm, qq),
        arc_on=arc,
        seam_index=np.where(arc, 0, -1).astype(np.int32),
        seam_s=np.where(arc, 0.0, np.nan),
        T_world_base=np.eye(4) if T_world_base is None else T_world_base,
        T_flange_tcp=np.eye(4),
        seam_ids=("ring",),
        events=(ArcEvent(float(t[i_on]), "arc_on", "ring"), ArcEvent(float(t[i_off]), "arc_off", "ring")),
        travel_speed={"ring": v},
    )


def test_circle_with_fixed_torch_is_movec_on_a_ur3e() -> None:
    traj = _circle_trajectory()
    texts, s = export_summary(traj)
    assert s.movec >= 2 and s.movel == 0 and s.servoj == 0
    _check_replay(traj, texts[0], s.cycle_time)
    # CB3 controller (8 ms cycle): the same program, the same path
    res = replay_program(texts[0], traj, version=(3, 15, 7, 0))
    assert res.finished and compare_with_plan(traj, res).max_deviation <= 1e-4


def test_hanging_robot_replays_in_its_base_frame() -> None:
    T_world_base = np.eye(4)
    T_world_base[:3, :3] = [[1, 0, 0], [0, -1, 0], [0, 0, -1]]  # hanging from a gantry at 1.5 m
    T_world_base[2, 3] = 1.5
    traj = _circle_trajectory("ur3e", T_world_base)
    texts, s = export_summary(traj)
    assert s.seam_reports[0].nominal_mismatch < 1e-9
    _check_replay(traj, texts[0], s.cycle_time)


def test_arc_loss_during_a_weld_stops_within_the_check_interval(
    planned: tuple[Any, JointTrajectory, Path],
) -> None:
    from weldcell.drivers.ur.virtual.core import ControllerCore, CoreConfig

    program, traj, _ = planned
    text = urscript_from_trajectory(traj, None, None, _settings(program, traj))
    cfg = CoreConfig(arm=traj.robot, q_home=tuple(float(x) for x in traj.q[0]), arc_loopback=(0, 0, 0.05))
    core = ControllerCore(cfg)
    assert core.start_program(text, "job") is None
    on_since = None
    lost_at = None
    while core.program_running and core.time < traj.duration + 5:
        core.step()
        if core.digital_out & 1 and on_since is None:
            on_since = core.time
        if on_since is not None and lost_at is None and core.time - on_since > 1.5:
            core.config = replace(cfg, arc_loopback=None)  # the power source loses the arc
            core.digital_in &= ~1
            lost_at = core.time
    assert lost_at is not None and not core.program_running
    assert "arc lost" in core.popup and not core.digital_out & 1
    assert core.time - lost_at <= UrExportOptions().arc_check_interval + 0.3


def test_kinematic_mismatch_is_reported() -> None:
    traj = _circle_trajectory()
    shifted = traj.T_world_tcp.copy()
    shifted[:, 0, 3] += 0.001
    _, s = export_summary(replace(traj, T_world_tcp=shifted))
    assert s.seam_reports[0].nominal_mismatch == pytest.approx(0.001, abs=1e-6)


# --- programs/box_frame.yaml -------------------------------------------------------------------------
def test_box_frame_exports_under_5000_lines_and_replays_the_plan(tmp_path: Path) -> None:
    _, traj, traj_path = _plan(ROOT / "programs" / "box_frame.yaml", tmp_path)
    out = tmp_path / "box_frame.script"
    s = export_urscript(traj_path, out, force_unvalidated=True)
    assert s.parts == (out,) and s.lines < 5000 and s.n_bytes < 200_000
    assert s.weld_parameters and abs(s.cycle_time / traj.duration - 1) < 0.05
    assert {r.mode for r in s.seam_reports} == {"movel"}
    _check_replay(traj, out.read_text(), s.cycle_time)
