"""The arc-off budget: when the PC dies, the power source must end the arc before the robot stops.

:func:`arc_off_budget` is the time [s] the robot keeps moving after the PC dies (a streaming driver's
watchdog or look-ahead); :func:`check_arc_off_budget` refuses a power-source communication timeout
that is not shorter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weldcell.cell.controller import CellConfig
    from weldcell.drivers.base import RobotDriver


def arc_off_budget(robot: RobotDriver) -> float | None:
    """Time [s] after the PC dies until the UR robot stops: its servo program's PC watchdog
    (``1 / watchdog_hz``), or earlier when the streamed look-ahead runs out (None: unknown driver)."""
    cfg = getattr(robot, "config", None)
    hz = getattr(cfg, "watchdog_hz", None)
    if not hz:
        return None
    lookahead = getattr(cfg, "lookahead", None)
    return min(1.0 / float(hz), float(lookahead)) if lookahead else 1.0 / float(hz)


def check_arc_off_budget(robot: RobotDriver, config: CellConfig) -> None:
    """The power source's communication timeout must end the arc before the robot stops when the PC
    dies (:func:`arc_off_budget`).

    Raises:
        CellConfigError: the timeout is not shorter than the budget.
    """
    from weldcell.cell.cellconfig import CellConfigError

    budget = arc_off_budget(robot)
    t = config.power_source_comm_timeout
    if budget is not None and t is not None and not 0 < t < budget:
        raise CellConfigError(
            f"power_source.comm_timeout_s = {t:g} s: when the PC dies the robot stops after {budget:g} s "
            f"(its watchdog / streamed look-ahead); the power source must end the arc sooner, so the "
            f"timeout must be > 0 and < {budget:g} s"
        )
