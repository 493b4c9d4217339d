"""Touch sensing on the virtual cell: the part lies off nominal, the cell finds it and welds it.

The simulator is told where the part *really* is (``--part-offset-mm``, ``--part-rot-deg``); the
program and the planner are not. The virtual power source detects wire-to-part contact from the
virtual robot's actual joints, forward kinematics and the real part's shape. The cell runs the
program's touch pattern, fits the part's offset, re-plans, re-validates and welds; this script then
compares the measured offset with the truth and the achieved wire-tip path with the real seam.

    python examples/06_touch_sensing.py --part-offset-mm 3,-2,1 --part-rot-deg 2

Runs headless (about a minute on a loaded 2-core machine); ``tests/cell/test_touch.py`` checks the
same steps. Exit code 1 when the job did not complete.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from weldcell.app.touchjob import touch_and_weld
from weldcell.cell.touchsim import PartOffset, SimulatedPart, WireTipSensor
from weldcell.drivers.powersource import ModbusOptions, ModbusPowerSource
from weldcell.drivers.powersource.virtual import start_virtual_power_source
from weldcell.drivers.powersource.virtual_model import ProcessState
from weldcell.drivers.virtual import VirtualRobot
from weldcell.kinematics import load_robot
from weldcell.program import load_program

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Run the touch-sensed job on the virtual cell and print what was measured and achieved."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", type=Path, default=ROOT / "programs" / "touch_tjoint.yaml")
    ap.add_argument("--part-offset-mm", default="3,-2,1", help="real part offset x,y,z [mm] (world)")
    ap.add_argument("--part-rot-deg", type=float, default=2.0, help="real part rotation about world z [deg]")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    args = ap.parse_args()
    offset_mm = np.array([float(v) for v in args.part_offset_mm.split(",")])
    program = load_program(args.program)
    cell = program.cell
    kin = load_robot(cell.robot)
    offset = PartOffset(offset_mm * 1e-3, np.array([0.0, 0.0, np.deg2rad(args.part_rot_deg)]))
    ref = program.touch[0].part if program.touch else None
    part = SimulatedPart.from_cell(cell.bodies, offset, reference=ref)
    robot = VirtualRobot(cell.robot, cell.home_q)
    psu = start_virtual_power_source("127.0.0.1", 0)
    psu.model.set_contact_sensor(
        WireTipSensor(kin.fk, lambda: robot.state().q, cell.T_world_base, cell.T_flange_tcp, part)
    )
    tips: list[np.ndarray] = []
    stop = threading.Event()

    def record() -> None:  # the real wire tip while the arc burns
        while not stop.is_set():
            if psu.model.state == ProcessState.ARC:
                T = cell.T_world_base @ kin.fk(robot.state().q) @ cell.T_flange_tcp
                tips.append(T[:3, 3].copy())
            time.sleep(0.005)

    out = args.out or Path(tempfile.mkdtemp(prefix="weldcell-touch-"))
    recorder = threading.Thread(target=record, daemon=True)
    robot.connect()
    recorder.start()
    try:
        with ModbusPowerSource(*psu.address, ModbusOptions(poll_period=0.005, comm_timeout=3.0)) as ps:
            res = touch_and_weld(
                robot=robot,
                power=ps,
                program=program,
                out_dir=out,
                log_path=out / "weldlog.sqlite",
                stamp_key=None,
                progress=lambda p: print(p.message),
            )
    finally:
        stop.set()
        recorder.join()
        robot.close()
        psu.stop()
    for reg in res.registrations:
        T_true = part.D @ cell.body(reg.part).T_world_body
        err = (reg.T_world_part[:3, 3] - T_true[:3, 3]) * 1e3
        dp, angle = reg.offset
        print(
            f"{reg.part}: measured offset [{', '.join(f'{v * 1e3:.2f}' for v in dp)}] mm, "
            f"{np.rad2deg(angle):.3f}°; error of the part origin [{', '.join(f'{v:.3f}' for v in err)}] mm"
        )
    lines = [s for s in program.seams if s.geometry.kind == "line"]
    if tips and lines:
        p = np.array(tips)
        dists = []
        for seam in lines:  # distance of every arc-on tip sample to the real seam lines
            a, b = ((part.D @ seam.T_world_part @ np.r_[x, 1.0])[:3] for x in seam.geometry.points[:2])
            u = (b - a) / np.linalg.norm(b - a)
            t = np.clip((p - a) @ u, 0.0, np.linalg.norm(b - a))
            dists.append(np.linalg.norm(p - (a + t[:, None] * u), axis=1))
        d = np.min(np.array(dists), axis=0)
        print(
            f"achieved wire-tip path: {len(tips)} arc-on samples, "
            f"max {d.max() * 1e3:.3f} mm from the real seam"
        )
    print(f"job {res.job_id}: {res.message} (log {out / 'weldlog.sqlite'})")
    return 0 if res.message == "job complete" else 1


if __name__ == "__main__":
    sys.exit(main())
