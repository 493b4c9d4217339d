"""``weldcell demo`` with touch sensing, through the command line: the part is placed 3 mm / 2° off
nominal in the *virtual cell only* (``--part-offset-mm``, ``--part-rotate-deg``); the virtual power
source, in its own process, sees the displaced part and the robot's actual joints over RTDE; the
touch patterns find the part, the seam is planned and validated again and welded.

Checked independently of weldcell's kinematics: the weld log's measured offset against the offset
given, and the welded path (the executed trajectory's joints with arc on, through an independent
forward kinematics and the torch TCP) against the *real* (displaced) seam. A UR10e on a base turned
90° and a part turned 30° (not the demo program's robot or placement)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from weldcell.cell.touchsim import PartOffset, SimulatedPart
from weldcell.cell.weldlog import WeldLog
from weldcell.program import load_program
from weldcell.trajectory import load_trajectory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "accuracy"))
from indep_geometry import fk_flange

PROGRAM = Path(__file__).parent / "programs" / "touch_ur10e_yawed.yaml"
SHIFT_MM = (3.0, -2.0, 0.0)  # in the table plane: the pattern does not touch the height
ROTATE_DEG = 2.0


def _cli(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("WELDCELL_STAMP_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "weldcell", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=out,
    )


def test_demo_finds_the_displaced_part_and_welds_the_real_seam(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = _cli(
        "demo",
        "--program",
        str(PROGRAM),
        "--out",
        str(out),
        "--part-offset-mm",
        ",".join(str(v) for v in SHIFT_MM),
        "--part-rotate-deg",
        str(ROTATE_DEG),
        out=tmp_path,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "touch search 3 of part 'plate'" in res.stdout
    program = load_program(PROGRAM)
    offset = PartOffset(np.asarray(SHIFT_MM) * 1e-3, np.array([0.0, 0.0, np.deg2rad(ROTATE_DEG)]))
    real = SimulatedPart.from_cell(program.cell.bodies, offset)
    T_nominal = np.asarray(program.cell.body("plate").T_world_body)
    T_real = real.D @ T_nominal
    with WeldLog(out / "weldlog.sqlite", readonly=True) as log:
        job = log.latest_job()
        assert job.result == "ok"
        (rec,) = log.part_offsets(job.id)
    # the measured offset, as logged: the plate origin moved by the given shift, turned 2° about z
    assert rec.part == "plate" and rec.touches == 3 and rec.observed_dof == 3  # x, y, rotation about z
    np.testing.assert_allclose([rec.dx, rec.dy, rec.dz], T_real[:3, 3] - T_nominal[:3, 3], atol=2e-4)
    assert rec.rz == pytest.approx(np.deg2rad(ROTATE_DEG), abs=np.deg2rad(0.1))
    # the welded path against the real seam
    traj = load_trajectory(out / "trajectory.npz")
    arc = np.asarray(traj.arc_on, dtype=bool)
    assert arc.sum() > 100
    T_tip = traj.T_world_base @ fk_flange("ur10e", np.asarray(traj.q)[arc]) @ program.cell.T_flange_tcp
    tip = T_tip[:, :3, 3]
    seam = program.seams[0]
    a, b = ((real.D @ seam.T_world_part @ np.array([x, 0.005, 0.005, 1.0]))[:3] for x in (-0.015, 0.015))
    length = float(np.linalg.norm(b - a))
    u = (b - a) / length
    t = np.clip((tip - a) @ u, 0.0, length)
    deviation = np.linalg.norm(tip - (a + t[:, None] * u), axis=1)
    assert float(deviation.max()) < 3e-4, f"max {deviation.max() * 1e3:.3f} mm from the real seam"
    assert float(t.min()) < 1e-3 and float(t.max()) > length - 1e-3  # the whole seam
    # the nominal seam is not where it was welded (the check above would fail without touch sensing)
    a0 = (seam.T_world_part @ np.array([0.0, 0.005, 0.005, 1.0]))[:3]
    assert float(np.min(np.linalg.norm(tip - a0, axis=1))) > 2e-3
