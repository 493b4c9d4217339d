"""``--cell-config`` for the commands that load a program (plan, validate): the cell's calibration.

A program whose bodies name a calibrated user frame (``frame: fixture_a``) is loaded with the frames
of the cell configuration, and its calibrated TCP (``calibration.tcp_xyz_mm``) replaces the torch
model's; the command says so (``weldcell.cell.calibrated``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from weldcell.cli.common import console, err_console

CalibrationConfigOption = typer.Option(
    None,
    "--cell-config",
    help="Cell configuration YAML whose calibration the program uses: calibration.frames (bodies with "
    "'frame: NAME') and calibration.tcp_xyz_mm (replaces the torch model's TCP); "
    "see docs/touch-and-calibration.md.",
)


def cell_setup_or_none(cell_config: Path | None) -> Any:
    """The loaded cell configuration, None without ``--cell-config``."""
    if cell_config is None:
        return None
    from weldcell.cell.cellconfig import load_cell_config

    return load_cell_config(cell_config)


def print_calibration_use(use: Any) -> None:
    """The frames and TCP a program uses, warnings on stderr."""
    from rich.markup import escape

    for line in use.lines():
        if line.startswith("WARNING"):
            err_console.print(f"[bold yellow]{escape(line)}[/]", highlight=False)
        else:
            console.print(escape(line), highlight=False)


def load_calibrated_program(program: Path, setup: Any) -> Any:
    """Load ``program`` in the calibrated cell of ``setup`` (None: as written) and report the calibration."""
    from weldcell.cell.calibrated import load_program_for_cell

    prog, use = load_program_for_cell(program, setup)
    if setup is not None or prog.cell.user_frames:
        print_calibration_use(use)
    return prog
