"""Program mode: the RTDE inputs of a job program and the progress of one run (:class:`ProgramRun`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from weldcell.drivers.base import (
    ExecutionHandle,
)
from weldcell.drivers.ur.program.export import UrExportOptions
from weldcell.drivers.ur.streaming import servo_program as sp

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

#: Program mode: the speed slider held at 100 % while a job program runs, and "arc established" from
#: the PC for programs that read it from an RTDE register (fieldbus power source)
PROGRAM_INPUTS = [
    "speed_slider_mask",
    "speed_slider_fraction",
    f"input_bit_register_{sp.IN_ARC_ESTABLISHED_BIT}",
]
K_BLOCK = f"output_int_register_{sp.OUT_BLOCK}"
K_ARC_REQUEST = f"output_bit_register_{sp.OUT_ARC_REQUEST_BIT}"


class ProgramRun:
    """One whole-trajectory URScript program on the controller and its progress (program mode).

    Progress is the index of the trajectory sample nearest (joint space) to ``actual_q``, searched
    in a window of ``window`` samples from the last index found, so it never goes back.
    """

    def __init__(
        self, handle: ExecutionHandle, script: str, stop_script: str, window: int, opt: UrExportOptions
    ) -> None:
        self.handle = handle
        self.script = script
        self.stop_script = stop_script
        self.arc_do = opt.arc_do
        self.dry = not opt.arc_enabled or opt.arc_request_register is not None  # no arc on a robot output
        self.arc_bit = 1 << opt.arc_do
        # the program's weld block register (driver's OUTPUTS carry output int 33), else the arc output
        self.block_key = K_BLOCK if opt.progress_register == sp.OUT_BLOCK else None
        self.q = np.ascontiguousarray(handle.traj.q, dtype=np.float64)
        self.window = window
        self.index = handle.start_index
        # first sample of the final rest (samples equal to the last one): reaching it is the end
        moving = np.nonzero(np.any(self.q != self.q[-1], axis=1))[0]
        self.final_from = int(moving[-1]) + 1 if moving.size else 0
        self.end_slack = max(1, round(0.1 / handle.traj.dt))  # samples [0.1 s of motion]
        self.started = False  # the controller reported the program running
