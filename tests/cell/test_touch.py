"""Touch sensing on the virtual cell: the part is placed off nominal in the *simulator* (not in the
program), the cell finds it with guarded searches, corrects, re-plans, re-validates and welds; the
achieved wire-tip path (virtual robot's actual joints + independent FK + the real TCP) is measured
against the *real* seam. Power source over Modbus TCP on 127.0.0.1."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from weldcell.app.touchjob import touch_and_weld
from weldcell.cell.approval import SimulationOnly
from weldcell.cell.state import CellState
from weldcell.cell.touch import TouchRunner, program_with_part_pose
from weldcell.cell.touchsim import PartOffset, SimulatedPart, WireTipSensor
from weldcell.cell.weldlog import WeldLog
from weldcell.drivers.powersource import ModbusOptions, ModbusPowerSource
from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle, start_virtual_power_source
from weldcell.drivers.powersource.virtual_model import ProcessState
from weldcell.drivers.virtual import VirtualRobot
from weldcell.errors import ProgramError, TouchSenseError, WeldcellError
from weldcell.kinematics import load_robot
from weldcell.program import load_program
from weldcell.program.model import Program

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "accuracy"))
from indep_geometry import fk_flange

PROGRAM = Path(__file__).parent / "programs" / "touch_tjoint.yaml"
#: The real part: 3 mm / -2 mm / +1 mm and 2° about z from nominal (the simulator's truth only).
OFFSET = PartOffset(np.array([0.003, -0.002, 0.001]), np.array([0.0, 0.0, np.deg2rad(2.0)]))


@pytest.fixture(scope="module")
def program() -> Program:
    return load_program(PROGRAM)


@pytest.fixture
def touch_psu() -> Iterator[VirtualPowerSourceHandle]:
    handle = start_virtual_power_source("127.0.0.1", 0, seed=5)
    try:
        yield handle
    finally:
        handle.stop()


def _virtual_cell(
    program: Program, psu: VirtualPowerSourceHandle, offset: PartOffset, time_scale: float
) -> tuple[VirtualRobot, SimulatedPart]:
    robot = VirtualRobot(program.cell.robot, program.cell.home_q, time_scale=time_scale)
    part = SimulatedPart.from_cell(program.cell.bodies, offset, reference="base_plate")
    kin = load_robot(program.cell.robot)
    psu.model.set_contact_sensor(
        WireTipSensor(
            kin.fk, lambda: robot.state().q, program.cell.T_world_base, program.cell.T_flange_tcp, part
        )
    )
    return robot, part


def test_the_job_finds_the_offset_part_and_welds_the_real_seam(
    program: Program, touch_psu: VirtualPowerSourceHandle, tmp_path: Path
) -> None:
    robot, part = _virtual_cell(program, touch_psu, OFFSET, time_scale=2.0)
    samples: list[tuple[np.ndarray, bool]] = []
    stop = threading.Event()

    def sample() -> None:  # what the devices do, on their own clock: actual joints and arc state
        while not stop.is_set():
            samples.append((robot.state().q.copy(), touch_psu.model.state == ProcessState.ARC))
            time.sleep(0.003)

    sampler = threading.Thread(target=sample)
    robot.connect()
    sampler.start()
    try:
        # the virtual power source serves from this process (its contact sensor reads the in-process
        # robot), so the planner's GIL-heavy stretches can delay its answers: a longer link timeout
        opts = ModbusOptions(poll_period=0.005, comm_timeout=3.0)
        with ModbusPowerSource(*touch_psu.address, opts) as ps:  # type: ignore[arg-type]
            res = touch_and_weld(
                robot=robot,
                power=ps,
                program=program,
                out_dir=tmp_path,
                log_path=tmp_path / "log.sqlite",
                stamp_key=None,
            )
    finally:
        stop.set()
        sampler.join()
        robot.close()
    assert res.state is CellState.READY, res.message
    (reg,) = res.registrations
    T_true = part.D @ program.cell.body("base_plate").T_world_body
    assert np.linalg.norm(reg.T_world_part[:3, 3] - T_true[:3, 3]) < 3e-4
    dp, angle = reg.offset
    assert angle == pytest.approx(np.deg2rad(2.0), abs=np.deg2rad(0.1))
    assert reg.fit.rank == 4  # x, y, z and the rotation about z; tilt not touched: stays nominal
    # the achieved path: actual joints while the arc burns, independent FK, the real TCP
    q = np.array([s[0] for s in samples])
    arc = np.array([s[1] for s in samples])
    assert arc.sum() > 100
    tip = (program.cell.T_world_base @ fk_flange("ur5e", q[arc]) @ program.cell.T_flange_tcp)[:, :3, 3]
    seam = program.seams[0]
    a, b = ((part.D @ seam.T_world_part @ np.array([x, 0.005, 0.005, 1.0]))[:3] for x in (-0.02, 0.02))
    u = (b - a) / np.linalg.norm(b - a)
    t = np.clip((tip - a) @ u, 0.0, np.linalg.norm(b - a))
    deviation = np.linalg.norm(tip - (a + t[:, None] * u), axis=1)
    assert float(deviation.max()) < 3e-4, f"max {deviation.max() * 1e3:.3f} mm from the real seam"
    # the whole seam was welded, not a part of it
    assert float(t.min()) < 1e-3 and float(t.max()) > np.linalg.norm(b - a) - 1e-3
    with WeldLog(tmp_path / "log.sqlite", readonly=True) as log:
        (rec,) = log.part_offsets(res.job_id)
    assert rec.part == "base_plate" and rec.touches == 4 and rec.observed_dof == 4
    np.testing.assert_allclose([rec.dx, rec.dy, rec.dz], dp)
    assert rec.rz == pytest.approx(angle, abs=1e-6)


def test_a_missing_part_is_no_contact_within_the_search_distance(
    program: Program, touch_psu: VirtualPowerSourceHandle
) -> None:
    far = PartOffset(np.array([0.0, 0.0, -0.012]))  # 12 mm lower than programmed: beyond the 14 mm search
    robot, _ = _virtual_cell(program, touch_psu, far, time_scale=4.0)
    robot.connect()
    try:
        with ModbusPowerSource(*touch_psu.address, ModbusOptions(poll_period=0.005)) as ps:  # type: ignore[arg-type]
            runner = TouchRunner(robot, ps, program, SimulationOnly())
            with pytest.raises(
                TouchSenseError, match=r"touch search 1 of part 'base_plate': no contact within 14\.0 mm"
            ):
                runner.search(program.touch[0], 0)
            assert not touch_psu.model.robot_outputs().touch_sensing  # sensing switched off again
    finally:
        robot.close()


def test_corrected_program_moves_part_bodies_and_seams(program: Program) -> None:
    from weldcell.cell.touch import PartRegistration
    from weldcell.spatial.registration import register_points_to_planes

    T_nom = np.asarray(program.cell.body("base_plate").T_world_body)
    D = OFFSET.transform(T_nom[:3, 3])
    fit = register_points_to_planes(np.zeros((1, 3)), [[0, 0, 1.0]], [0.0], T_nom)
    reg = PartRegistration("base_plate", T_nom, D @ T_nom, (), fit)
    out = program_with_part_pose(program, [reg])
    np.testing.assert_allclose(out.cell.body("web").T_world_body, D @ program.cell.body("web").T_world_body)
    np.testing.assert_allclose(out.cell.body("table").T_world_body, program.cell.body("table").T_world_body)
    np.testing.assert_allclose(out.seams[0].T_world_part, D @ program.seams[0].T_world_part)


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("{start_mm: [0, 40, 13], direction: [0, 0, 1], distance_mm: 14}", "never meets the nominal part"),
        ("{start_mm: [0, 40, 13], direction: [0, 0, -1], distance_mm: 5}", "only 5 mm long"),
        ("{start_mm: [0, 40, 0], direction: [0, 0, -1], distance_mm: 14}", "starts inside workpiece"),
        ("{start_mm: [0, 40, 13], direction: [0, 0, 0], distance_mm: 14}", "zero vector"),
    ],
)
def test_bad_touch_searches_are_refused_naming_the_field(tmp_path: Path, search: str, message: str) -> None:
    text = PROGRAM.read_text()
    head = text[: text.index("    searches:")]
    bad = tmp_path / "bad.yaml"
    bad.write_text(head + f"    searches:\n      - {search}\n")
    with pytest.raises(ProgramError, match=message) as err:
        load_program(bad)
    assert "touch" in str(err.value) and "bad.yaml" in str(err.value)


def test_a_touch_program_without_a_touch_sensing_power_source_is_refused_before_planning(
    tmp_path: Path,
) -> None:
    from weldcell.app.job import RunOptions, run_job

    t0 = time.monotonic()
    opts = RunOptions(PROGRAM, "virtual", None, log_path=tmp_path / "l.sqlite", out_dir=tmp_path)
    with pytest.raises(WeldcellError, match=r"touch patterns; they need a power source .*--powersource"):
        run_job(opts)  # what ``weldcell run PROGRAM --robot virtual`` (no power source) does
    assert time.monotonic() - t0 < 10.0  # refused before the (slow) planning
