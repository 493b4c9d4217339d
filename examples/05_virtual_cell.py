"""A welding job on a virtual cell, with an arc loss in the middle of the first seam and a resume.

Plans and validates ``programs/demo_tjoint.yaml``, then runs it with the cell controller on an
in-process ``VirtualRobot`` (three times faster than real time) and the virtual power source over
Modbus TCP on loopback. Halfway along the first seam the power source loses the arc: the robot stops,
the cell records where the arc went out and retracts; after reset and resume the seam restarts 5 mm
before that point. The weld log is then printed seam by seam.

Run: ``python examples/05_virtual_cell.py`` (about a minute). ``weldcell demo`` does the same job on
the protocol-level virtual UR controller without the fault.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from weldcell.app import collision_checker_for, plan_and_validate
from weldcell.cell import (
    CellController,
    CellEvent,
    CellState,
    SimApprover,
    WeldLog,
    params_from_program,
)
from weldcell.drivers.powersource import ModbusPowerSource
from weldcell.drivers.powersource.virtual import start_virtual_power_source
from weldcell.drivers.virtual import VirtualRobot

PROGRAM = Path(__file__).resolve().parents[1] / "programs" / "demo_tjoint.yaml"


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="weldcell-example-"))
    program, traj, traj_path, report = plan_and_validate(PROGRAM, out, lambda p: print(p.message))
    first_seam = traj.seam_ids[traj.seam_index[traj.arc_on][0]]

    with (
        start_virtual_power_source("127.0.0.1", 0) as psu,
        VirtualRobot(traj.robot, traj.q[0], time_scale=3.0) as robot,
        ModbusPowerSource(*psu.address) as power,
        WeldLog(out / "weldlog.sqlite") as log,
    ):
        approver = SimApprover(program, out / "motions")
        lost = threading.Event()

        def on_event(ev: CellEvent) -> None:
            print(f"  [{ev.kind}] {ev.message}")
            if ev.kind == "seam_start" and ev.seam_id == first_seam and not lost.is_set():
                lost.set()
                # halfway along the seam (2 s of welding at 3x speed ≈ 1/2 of the 65 mm fillet)
                threading.Timer(1.3, psu.model.inject_arc_loss).start()

        ctl = CellController(
            robot,
            power,
            log,
            approver=approver,
            on_event=on_event,
            checker=collision_checker_for(program),
            params=params_from_program(program, use_jobs=False),
        )
        try:
            ctl.load(traj, program_path=str(PROGRAM), trajectory_path=traj_path, part_serial="EX-05")
            job = ctl.start()
            if ctl.wait(120.0) is CellState.FAULT:
                print(f"fault: {ctl.last_error}; operator resets and resumes")
                ctl.reset()
                ctl.resume()
                ctl.wait(120.0)
        finally:
            ctl.close()
            approver.close()

        print(f"\njob {job}: {log.job(job).result} (log {log.path}, validation report {report})")
        for s in log.seams(job):
            end = s.s_stop if s.s_stop is not None else float("nan")
            dev = "-" if s.deviation_max_m is None else f"{s.deviation_max_m * 1e3:.2f} mm"
            span = f"{s.s_start * 1e3:5.1f} → {end * 1e3:5.1f} mm"
            print(
                f"  {s.seam_id:14s} try {s.attempt}: {s.result:9s} {span}"
                f"  max deviation {dev}  {len(log.signals(s.id))} signal samples"
            )


if __name__ == "__main__":
    main()
