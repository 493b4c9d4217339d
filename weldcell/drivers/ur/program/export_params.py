"""Weld parameters in exported URScript: per weld block, sent through the cell's I/O map.

The procedures of the weld program the trajectory was planned from give each weld block its job
number or set-points (:func:`weld_settings_from_program`); :func:`param_lines` writes them as
``set_standard_digital_out`` (job bits) and ``set_standard_analog_out`` (set-points as a fraction of
the channel's full scale) lines, as :class:`~weldcell.drivers.powersource.io.IoPowerSource` drives
the same wiring from the PC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weldcell.drivers.powersource.io import AnalogChannel, IoMap
from weldcell.errors import ExportError as ExportError
from weldcell.trajectory import JointTrajectory


@dataclass(frozen=True, slots=True)
class WeldBlock:
    """One arc-on segment: samples ``i_on`` … ``i_off`` (inclusive), seam id."""

    i_on: int
    i_off: int
    seam_id: str


@dataclass(frozen=True, slots=True)
class WeldSetting:
    """Power-source parameters of one weld block (SI units; None = not programmed).

    Attributes:
        procedure: Procedure name (for the program's comments).
        job: Job number to select (0 = parameter mode).
        wire_feed: Wire feed [m/s].
        voltage: Voltage [V].
        current: Current [A].
        crater_voltage: Crater-fill voltage [V].
        crater_current: Crater-fill current [A].
    """

    procedure: str
    job: int = 0
    wire_feed: float | None = None
    voltage: float | None = None
    current: float | None = None
    crater_voltage: float | None = None
    crater_current: float | None = None


def weld_settings_from_program(
    program: Any, traj: JointTrajectory, blocks: tuple[WeldBlock, ...], use_jobs: bool
) -> tuple[WeldSetting, ...]:
    """Power-source parameters per weld block from the weld program's procedures.

    Blocks of one seam are its passes, each cut into the same number of stitches, in weld order
    (``docs/trajectory-format.md``); block k of a seam with P passes and B blocks is pass
    ``k // (B / P)``.

    Args:
        program: ``weldcell.program.Program`` the trajectory was planned from.
        traj: The trajectory.
        blocks: Its weld blocks (:func:`weld_blocks`).
        use_jobs: Use the procedure's job number when it has one.

    Raises:
        ExportError: program and trajectory do not belong together.
    """
    if traj.program_hash and getattr(program, "hash", "") != traj.program_hash:
        raise ExportError(
            f"{getattr(program, 'path', 'program')}: its hash does not match the trajectory's program hash "
            f"{traj.program_hash[:12]}…; it is not the program the trajectory was planned from"
        )
    counts: dict[str, int] = {}
    for b in blocks:
        counts[b.seam_id] = counts.get(b.seam_id, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for b in blocks:
        try:
            seam = program.seam(b.seam_id)
        except KeyError as err:
            raise ExportError(f"seam {b.seam_id!r} of the trajectory is not in the program") from err
        k = seen.get(b.seam_id, 0)
        seen[b.seam_id] = k + 1
        n_pass = len(seam.passes)
        if counts[b.seam_id] % n_pass:
            raise ExportError(
                f"seam {b.seam_id}: {counts[b.seam_id]} weld blocks cannot be the {n_pass} passes "
                "of the program"
            )
        proc = program.pass_procedure(seam, k // (counts[b.seam_id] // n_pass))
        if use_jobs and proc.job:
            out.append(WeldSetting(proc.name, job=int(proc.job)))
        else:
            out.append(
                WeldSetting(
                    proc.name,
                    0,
                    proc.wire_feed,
                    proc.voltage,
                    proc.current,
                    proc.crater_fill_voltage,
                    proc.crater_fill_current,
                )
            )
    return tuple(out)


def _analog(ch: AnalogChannel, value: float) -> str:
    return f"  set_standard_analog_out({ch.index}, {_fmt(ch.output(value) / ch.output_max, 5)})"


def param_lines(s: WeldSetting, io: IoMap, crater: bool) -> tuple[list[str], list[str]]:
    """Lines that send ``s`` (or its crater values) and the names that cannot be sent."""
    lines: list[str] = []
    unsent: list[str] = []
    if not crater:
        if s.job and not io.job_bits:
            raise ExportError(
                f"procedure {s.procedure}: job {s.job} needs job bits in the I/O map (none are wired); "
                "wire them or send set-points (no --use-jobs)"
            )
        if s.job >= (1 << len(io.job_bits)) and io.job_bits:
            raise ExportError(
                f"procedure {s.procedure}: job {s.job} does not fit in {len(io.job_bits)} job bit(s)"
            )
        for i, bit in enumerate(io.job_bits):
            lines.append(f"  set_standard_digital_out({bit}, {bool(s.job >> i & 1)})")
    values = (
        (
            ("crater_voltage_v", io.voltage, s.crater_voltage),
            ("crater_current_a", io.current, s.crater_current),
        )
        if crater
        else (
            ("wire_feed_m_min", io.wire_feed, s.wire_feed),
            ("voltage_v", io.voltage, s.voltage),
            ("current_a", io.current, s.current),
        )
    )
    for name, ch, value in values:
        if value is None:
            continue
        if ch is None:
            unsent.append(name)
        else:
            lines.append(_analog(ch, value))
    return lines, unsent


def _fmt(x: float, digits: int = 4) -> str:
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
