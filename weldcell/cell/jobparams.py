"""Welding parameters of a job from its program: per seam, the procedure's stored power-source job or
its wire feed [m/s], voltage [V] and current [A] (:func:`params_from_program`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from weldcell.drivers.powersource.base import WeldParams
from weldcell.errors import ProgramError

if TYPE_CHECKING:
    from weldcell.program.model import Program


def params_from_program(program: Program, *, use_jobs: bool | None) -> dict[str, WeldParams]:
    """Welding parameters per seam id from the program's procedures.

    Args:
        program: ``weldcell.program.Program``.
        use_jobs: True: select the procedure's stored power-source job (a procedure without a job
            number sends its parameters); False: send wire feed [m/s], voltage [V] and current [A]
            in parameter mode (job 0); None (default of the CLI): send the parameters when the
            procedure has them, else select its job. A job number only works when that job is
            stored on the power source; the parameters work on any power source.

    Raises:
        ProgramError: a procedure that has neither parameters nor a job number.
    """
    out: dict[str, WeldParams] = {}
    for seam in program.seams:
        proc = program.procedures[seam.procedure]
        has_values = any(v for v in (proc.wire_feed, proc.voltage, proc.current))
        job = bool(proc.job) and (use_jobs is True or (use_jobs is None and not has_values))
        if job and proc.job is not None:
            out[seam.id] = WeldParams(job=int(proc.job))
        elif has_values:
            out[seam.id] = WeldParams(
                wire_feed=float(proc.wire_feed or 0.0),
                voltage=float(proc.voltage or 0.0),
                current=float(proc.current or 0.0),
            )
        else:
            raise ProgramError(
                f"procedure {seam.procedure!r} (seam {seam.id!r}) has no wire feed, voltage or current to "
                "send in parameter mode; give them, or a job number and --use-jobs",
                file=str(getattr(program, "path", "")),
            )
    return out
