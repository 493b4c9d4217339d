"""Helpers for the tests that run ``weldcell cell …`` as a user would: a virtual UR controller (own
process, the standard ports on its own 127.0.0.x address) and the virtual power source (Modbus TCP,
in the test process), and the CLI in a child process."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from waiting import CHILD_TIMEOUT, run_child

from weldcell.drivers.powersource.virtual import VirtualPowerSourceHandle, start_virtual_power_source
from weldcell.drivers.powersource.virtual_model import VirtualConfig, VirtualTiming
from weldcell.drivers.ur.virtual.controller import Ports, VirtualControllerHandle, start_virtual_controller
from weldcell.drivers.ur.virtual.core import CoreConfig

PROGRAMS = Path(__file__).parent / "programs"
LAP = PROGRAMS / "ur10e_lap_two_seams.yaml"
BOOT_DEG = (0.0, -90.0, 90.0, -90.0, -90.0, 0.0)
"""Where the virtual controller boots by default: not the program's home."""

CLI = "import sys; from weldcell.cli import main; sys.argv[0] = 'weldcell'; main()"


@dataclass
class VirtualCell:
    """Addresses of a running virtual cell."""

    robot_url: str
    psu_url: str
    ur: VirtualControllerHandle
    psu: VirtualPowerSourceHandle


@contextlib.contextmanager
def virtual_cell(
    host: str, arm: str = "ur10e", q_deg: tuple[float, ...] = BOOT_DEG, psu_comm_timeout: float = 0.5
) -> Iterator[VirtualCell]:
    """The virtual UR controller on ``host`` (standard ports) booted at ``q_deg`` [°], and the
    virtual power source on ``host`` (ephemeral port)."""
    core = CoreConfig(arm=arm, q_home=tuple(float(x) for x in np.deg2rad(q_deg)))
    ur = start_virtual_controller(host, core, ports=Ports())
    try:
        timing = dataclasses.replace(VirtualTiming(), comm_timeout=psu_comm_timeout)
        psu = start_virtual_power_source(host, 0, VirtualConfig(timing=timing), seed=11)
        try:
            h, p = psu.address
            yield VirtualCell(f"ur://{host}", f"modbus://{h}:{p}", ur, psu)
        finally:
            psu.stop()
    finally:
        ur.stop()


def cli_args(*args: str | Path) -> list[str]:
    """The command line of ``weldcell ARGS`` in a child Python with this tree first on the path."""
    return [sys.executable, "-c", CLI, *map(str, args)]


def cli_env() -> dict[str, str]:
    """Environment of the child: this source tree first on the path, wide console for the tables."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    env["COLUMNS"] = "200"
    return env


def run_cli(*args: str | Path, timeout: float = CHILD_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run ``weldcell ARGS`` to completion, output captured (killed and reported after ``timeout`` [s])."""
    return run_child(cli_args(*args), timeout=timeout, env=cli_env())
