"""The one entry point for planning a program: the robot alone, or with a positioner or track.

:func:`plan_program` (exported as ``weldcell.planning.plan_program``) sends a program whose cell has
a positioner or a robot track (``cell.external``) to :func:`weldcell.planning.coordinated.
plan_with_external_axes` and every other program to the robot-only planner
(:func:`weldcell.planning.planner.plan_program`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weldcell.planning.coordinated import plan_with_external_axes
from weldcell.planning.planner import PlanOptions, PlanResult, ProgressFn
from weldcell.planning.planner import plan_program as plan_robot_program

if TYPE_CHECKING:
    from weldcell.program.model import Program


def plan_program(
    program: Program, options: PlanOptions | None = None, progress: ProgressFn | None = None
) -> PlanResult:
    """Plan a whole weld program (see :func:`weldcell.planning.planner.plan_program`).

    Args:
        program: A loaded ``weldcell.program.Program``.
        options: Planner settings.
        progress: Called with (fraction done in [0, 1], message) as planning proceeds.

    Returns:
        :class:`PlanResult`; for a cell with a positioner or track the trajectory carries the
        external axes and ``metadata["weld_position"]``.
    """
    if program.cell.external is not None:
        return plan_with_external_axes(program, options, progress)
    return plan_robot_program(program, options, progress)
