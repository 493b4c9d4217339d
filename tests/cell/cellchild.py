"""Helpers for the cell tests that also run in spawned child processes (importable by name).

``log_writer`` writes a weld log like the controller does until it is killed; ``cell_child`` runs a
whole job on the virtual UR controller until it is killed; the rest wires the devices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from cellsynth import JOB1, T_FLANGE_TCP

from weldcell.cell.approval import SimApprover
from weldcell.cell.controller import CellConfig, CellController
from weldcell.cell.weldlog import WeldLog
from weldcell.drivers.powersource.modbus import ModbusOptions, ModbusPowerSource
from weldcell.drivers.ur.driver import URDriver, URDriverConfig
from weldcell.sim.cell_model import CellModel, _model_urdf
from weldcell.sim.validate import ValidationOptions

# the synthetic welds speed up and slow down over a few mm: the travel-speed check is not the point here
OPTIONS = ValidationOptions(max_travel_speed_error=10.0)


def signal_rows(t0: float, s0: float, n: int) -> np.ndarray:
    """(n, 5) process-signal rows: time [s], seam_s [m], current [A], voltage [V], wire speed [m/s]."""
    t = t0 + np.arange(n) * 0.02
    s = s0 + np.arange(n) * 1e-4
    return np.stack([t, s, 180 + np.sin(t), 22 + 0.1 * np.cos(t), np.full(n, 0.12)], axis=1)


def log_writer(path: str, ready: Any) -> None:
    """Child process: writes a job like the controller does, forever, until killed."""
    log = WeldLog(path)
    job = log.start_job(program_hash="h", part_serial="SN-kill")
    done = log.start_seam(job, "s1", s_start=0.0)
    log.add_signals(done, signal_rows(0.0, 0.0, 20), s_reached=0.002)
    log.end_seam(done, "ok", s_stop=0.05)
    rec = log.start_seam(job, "s2", s_start=0.0)
    k = 0
    while True:
        log.add_signals(rec, signal_rows(1.0 + k, k * 1e-3, 10), s_reached=k * 1e-3 + 9e-4)
        if k == 3:
            ready.set()
        k += 1


def bare_cell() -> CellModel:
    """A UR5e with the synthetic trajectories' straight torch and no bodies."""
    return CellModel(
        robot="ur5e",
        robot_urdf=_model_urdf("robot", "ur5e"),
        T_world_base=np.eye(4),
        T_flange_tcp=T_FLANGE_TCP,
    )


def ur_driver(host: str, ports: dict[str, int]) -> URDriver:
    """A connected UR driver for a virtual controller; the cell controls the arc (no arc output)."""
    cfg = URDriverConfig(
        robot="ur5e",
        rtde_port=ports["rtde"],
        dashboard_port=ports["dashboard"],
        script_port=ports["secondary"],
        arc_output=None,
    )
    d = URDriver(host, cfg)
    d.connect(timeout=15.0)
    return d


def modbus_power(host: str, port: int) -> ModbusPowerSource:
    """A connected Modbus power source with a fast poll and the heartbeat the app gives a 0.15 s
    power-source timeout (``weldcell.app.devices.connect_power_source``: 20 ms; 50 ms left the killed
    cell child's 0.15 s window only two late toggles on a loaded host)."""
    ps = ModbusPowerSource(host, port, ModbusOptions(poll_period=0.01, heartbeat_period=0.02))
    ps.connect(timeout=5.0)
    return ps


def cell_child(
    ports: dict[str, int], psu: tuple[str, int], log_path: str, traj_path: str, folder: str
) -> None:
    """A weldcell process running the job until it is killed."""
    from weldcell.trajectory import load_trajectory

    traj = load_trajectory(traj_path)
    robot = ur_driver("127.0.0.1", ports)
    power = modbus_power(*psu)
    approver = SimApprover(None, folder, OPTIONS, cell=bare_cell())
    wlog = WeldLog(log_path)
    ctl = CellController(robot, power, wlog, CellConfig(), approver=approver, params={"A": JOB1, "B": JOB1})
    ctl.load(traj, trajectory_path=traj_path)
    ctl.start()
    ctl.wait(60.0)
