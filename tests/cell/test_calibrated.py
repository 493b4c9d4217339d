"""Programs in the calibrated cell: user frames named by bodies, the calibrated TCP applied (issue 19)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.cell.calibrated import TCP_WARN_DISTANCE, load_program_for_cell, with_tcp
from weldcell.cell.cellconfig import load_cell_config
from weldcell.errors import ProgramError, ValidationError
from weldcell.program import load_program
from weldcell.spatial import se3_from_xyz_rpy

# A T-joint on a fixture: the workpiece bodies are placed in the user frame fixture_a (a UR10e on a
# wall-free floor mount; the seam is written in the base plate's frame and follows it).
PROGRAM = """\
format: weldcell.program/1
name: framed T-joint
cell:
  robot: ur10e
  torch: {{model: torch_mig_22, stickout_mm: 15}}
  home_deg: [0, -100, 100, -90, -90, 0]
  approach_mm: 40
  retract_mm: 40
  clearance_mm: 2
  bodies:
    - name: table
      role: table
      box: {{size_mm: [600, 800, 40]}}
      pose: {{xyz_mm: [600, 0, -20]}}
    - name: base_plate
      role: workpiece
      box: {{size_mm: [200, 160, 10]}}
      frame: {frame}
      pose: {{xyz_mm: [10, 0, 5]}}
    - name: web
      role: workpiece
      box: {{size_mm: [200, 10, 80]}}
      frame: {frame}
      pose: {{xyz_mm: [10, 0, 50]}}
procedures:
  p:
    process: mag
    travel_speed_mm_s: 20
    wire_feed_m_min: 7.5
    voltage_v: 23.5
    work_angle_deg: 45
    travel_angle_deg: 10
seams:
  - id: s1
    joint: fillet
    workpiece: base_plate
    geometry:
      line: {{start_mm: [-32.5, 5, 5], end_mm: [32.5, 5, 5]}}
    normals: [[0, 0, 1], [0, 1, 0]]
    procedure: p
"""

CELL = """\
format: weldcell.cell/1
calibration:
  {tcp}
  frames:
    fixture_a: {{xyz_mm: [{x}, {y}, {z}], rpy_deg: [{rx}, {ry}, {rz}]}}
"""


def _files(
    tmp: Path,
    frame: str = "fixture_a",
    tcp: str = "",
    xyz: tuple[float, float, float] = (480.0, 30.0, 0.0),
    rpy: tuple[float, float, float] = (0.0, 0.0, 12.0),
) -> tuple[Path, Path]:
    prog = tmp / "framed.yaml"
    prog.write_text(PROGRAM.format(frame=frame))
    cell = tmp / "cell.yaml"
    cell.write_text(CELL.format(tcp=tcp, x=xyz[0], y=xyz[1], z=xyz[2], rx=rpy[0], ry=rpy[1], rz=rpy[2]))
    return prog, cell


@settings(max_examples=8, deadline=None)
@given(
    xyz=st.tuples(*[st.floats(-500.0, 500.0)] * 3),
    rpy=st.tuples(st.floats(-30.0, 30.0), st.floats(-30.0, 30.0), st.floats(-180.0, 180.0)),
)
def test_bodies_and_seams_move_with_the_named_frame(
    tmp_path_factory: pytest.TempPathFactory,
    xyz: tuple[float, float, float],
    rpy: tuple[float, float, float],
) -> None:
    prog, cell = _files(tmp_path_factory.mktemp("f"), xyz=xyz, rpy=rpy)
    program, use = load_program_for_cell(prog, load_cell_config(cell))
    T_world_frame = se3_from_xyz_rpy(np.asarray(xyz) * 1e-3, np.deg2rad(np.asarray(rpy)))
    plate = program.cell.body("base_plate")
    T_frame_plate = np.eye(4)
    T_frame_plate[:3, 3] = [0.010, 0.0, 0.005]
    np.testing.assert_allclose(plate.T_world_body, T_world_frame @ T_frame_plate, atol=1e-9)
    # the table names no frame and stays in the world
    np.testing.assert_allclose(program.cell.body("table").T_world_body[:3, 3], [0.6, 0.0, -0.02])
    # the seam (written in the base plate's frame) follows the frame
    np.testing.assert_allclose(program.seams[0].T_world_part, T_world_frame @ T_frame_plate, atol=1e-9)
    assert use.frames == ("fixture_a",) and program.cell.user_frames == ("fixture_a",)


def test_the_hash_covers_the_frame_values(tmp_path: Path) -> None:
    prog, cell = _files(tmp_path)
    a, _ = load_program_for_cell(prog, load_cell_config(cell))
    cell.write_text(CELL.format(tcp="", x=481, y=30, z=0, rx=0, ry=0, rz=12))
    b, _ = load_program_for_cell(prog, load_cell_config(cell))
    assert a.hash != b.hash


def test_a_frame_the_cell_config_lacks_names_program_field_and_config(tmp_path: Path) -> None:
    prog, cell = _files(tmp_path, frame="fixture_b")
    with pytest.raises(ProgramError) as err:
        load_program_for_cell(prog, load_cell_config(cell))
    text = str(err.value)
    assert str(prog) in text and "cell.bodies[1].frame" in text and str(cell) in text
    assert "fixture_b" in text and "fixture_a" in text


def test_a_frame_without_a_cell_config_is_refused(tmp_path: Path) -> None:
    prog, _ = _files(tmp_path)
    with pytest.raises(ProgramError, match=r"--cell-config") as err:
        load_program(prog)
    assert "cell.bodies[1].frame" in str(err.value)


def test_the_calibrated_tcp_is_applied_and_a_large_difference_reported(tmp_path: Path) -> None:
    prog, _ = _files(tmp_path)
    nominal = load_program_for_cell(prog, load_cell_config(_files(tmp_path)[1]))[0]
    model = np.asarray(nominal.cell.T_flange_tcp)
    near = model[:3, 3] * 1e3 + [0.5, 0.0, -0.5]
    _, cell = _files(tmp_path, tcp=f"tcp_xyz_mm: [{near[0]}, {near[1]}, {near[2]}]")
    program, use = load_program_for_cell(prog, load_cell_config(cell))
    np.testing.assert_allclose(program.cell.T_flange_tcp[:3, 3], near * 1e-3, atol=1e-12)
    np.testing.assert_allclose(program.cell.T_flange_tcp[:3, :3], model[:3, :3])  # orientation kept
    assert use.tcp_difference == pytest.approx(np.sqrt(0.5) * 1e-3) and not use.warning
    assert any("calibrated" in line for line in use.lines())
    far = model[:3, 3] * 1e3 + [0.0, 3.0, 0.0]
    _, cell = _files(tmp_path, tcp=f"tcp_xyz_mm: [{far[0]}, {far[1]}, {far[2]}]")
    _, use = load_program_for_cell(prog, load_cell_config(cell))
    assert use.tcp_difference > TCP_WARN_DISTANCE and use.warning
    assert any(line.startswith("WARNING") for line in use.lines())


def test_with_tcp_keeps_the_rest_of_the_cell() -> None:
    program = load_program(Path(__file__).parents[2] / "programs" / "demo_tjoint.yaml")
    moved = with_tcp(program, np.array([0.01, 0.02, 0.3]))
    assert moved.cell.bodies == program.cell.bodies and moved.seams == program.seams
    np.testing.assert_allclose(moved.cell.T_flange_tcp[:3, 3], [0.01, 0.02, 0.3])


def test_cell_run_plans_validates_and_welds_with_the_calibrated_tcp_and_frame(tmp_path: Path) -> None:
    """``weldcell cell run PROGRAM --cell-config`` (in-process virtual robot, dry run): the program's
    bodies are placed in the calibrated frame, the plan, its validation and the executed motion use
    the calibrated TCP, and the output says so."""
    from weldcell.app.job import RunOptions, run_job
    from weldcell.trajectory import load_trajectory

    prog, cell = _files(tmp_path)
    model = np.asarray(load_program_for_cell(prog, load_cell_config(cell))[0].cell.T_flange_tcp)
    tcp = model[:3, 3] * 1e3 + [1.5, -1.0, 2.5]  # 3.08 mm off the torch model: reported
    _, cell = _files(tmp_path, tcp=f"tcp_xyz_mm: [{tcp[0]}, {tcp[1]}, {tcp[2]}]")
    setup = load_cell_config(cell)
    lines: list[str] = []
    opts = RunOptions(
        prog, "virtual", None, log_path=tmp_path / "l.sqlite", out_dir=tmp_path / "out", cell_setup=setup
    )
    res = run_job(opts, progress=lambda p: lines.append(p.message))
    assert res.message == "job complete" and res.state.name == "READY", res
    text = "\n".join(lines)
    assert "calibrated user frame(s) used: fixture_a" in text
    assert "TCP: calibrated" in text and "WARNING: the calibrated TCP is 3.08 mm" in text
    assert res.trajectory_path is not None
    traj = load_trajectory(res.trajectory_path)
    np.testing.assert_allclose(traj.T_flange_tcp[:3, 3], tcp * 1e-3, atol=1e-12)
    # the planned wire tip welds the seam where the calibrated frame puts it
    T_world_frame = se3_from_xyz_rpy(np.array([0.48, 0.03, 0.0]), np.deg2rad([0.0, 0.0, 12.0]))
    seam_start = (T_world_frame @ np.array([0.010 - 0.0325, 0.005, 0.010, 1.0]))[:3]
    seam_end = (T_world_frame @ np.array([0.010 + 0.0325, 0.005, 0.010, 1.0]))[:3]
    arc = np.asarray(traj.arc_on, dtype=bool)
    tips = np.asarray(traj.T_world_tcp)[arc, :3, 3]
    d = seam_end - seam_start
    u = np.clip((tips - seam_start) @ d / (d @ d), 0.0, 1.0)
    off = np.linalg.norm(seam_start + u[:, None] * d - tips, axis=1)
    assert off.max() < 1e-3 and u.min() < 0.05 and u.max() > 0.95
    # a trajectory planned with another TCP is refused before anything connects
    other = cell.with_name("other.yaml")
    other.write_text(cell.read_text().replace(f"tcp_xyz_mm: [{tcp[0]}", f"tcp_xyz_mm: [{tcp[0] + 1.0}"))
    other_setup = load_cell_config(other)
    log = tmp_path / "l.sqlite"
    bad = RunOptions(res.trajectory_path, "virtual", None, log_path=log, cell_setup=other_setup)
    with pytest.raises(ValidationError, match=r"planned with TCP .* re-plan"):
        run_job(bad)


def test_the_cli_commands_take_the_cell_config(tmp_path: Path) -> None:
    """``weldcell check/plan/validate ... --cell-config``: frames resolved, a missing frame named."""
    from typer.testing import CliRunner

    from weldcell.cli import app

    runner = CliRunner()
    prog, cell = _files(tmp_path, tcp="tcp_xyz_mm: [60.0, 0.0, 380.0]")
    env = {"COLUMNS": "200"}
    result = runner.invoke(app, ["check", str(prog)], env=env)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "cell.bodies[1].frame" in text and "--cell-config" in text, text
    result = runner.invoke(app, ["check", str(prog), "--cell-config", str(cell)], env=env)
    text = " ".join(result.output.split())
    assert result.exit_code == 0, text
    assert (
        "calibrated user frame(s) used: fixture_a" in text and "TCP: calibrated [60.00, 0.00, 380.00]" in text
    )
    other = tmp_path / "other.yaml"
    other.write_text("format: weldcell.cell/1\ncalibration:\n  frames: {}\n")
    for command in ("plan", "validate"):
        result = runner.invoke(app, [command, str(prog), "--cell-config", str(other), "-o", str(tmp_path)])
        # the error main() prints (exit 2, no traceback: weldcell.cli.common.exit_on_error)
        assert isinstance(result.exception, ProgramError), result.output
        text = str(result.exception)
        assert str(prog) in text and "cell.bodies[1].frame" in text and str(other) in text, text


def test_resume_matches_a_framed_program_by_its_calibrated_hash(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from weldcell.app.resume import _job_files
    from weldcell.errors import StampError

    prog, cell = _files(tmp_path)
    traj = tmp_path / "t.npz"
    traj.write_bytes(b"x")
    setup = load_cell_config(cell)
    planned = load_program_for_cell(prog, setup)[0].hash
    job = SimpleNamespace(id=1, program_path=str(prog), trajectory_path=str(traj), program_hash=planned)
    assert _job_files(job, setup) == (prog, traj)  # type: ignore[arg-type]
    with pytest.raises(StampError, match="has changed"):
        _job_files(job)  # type: ignore[arg-type]  # without the calibration: not the planned program
    cell.write_text(CELL.format(tcp="", x=480, y=31, z=0, rx=0, ry=0, rz=12))  # frame re-calibrated
    with pytest.raises(StampError, match="has changed"):
        _job_files(job, load_cell_config(cell))  # type: ignore[arg-type]
