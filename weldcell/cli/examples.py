"""``weldcell examples``: the example weld programs shipped with weldcell (list them, copy them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from weldcell.cli.common import console, output_folder
from weldcell.errors import WeldcellError


def examples_command(
    copy_to: Path | None = typer.Option(
        None, "--copy-to", help="Copy the example programs into this folder (created if missing)."
    ),
) -> None:
    """List the shipped example weld programs (name, robot, seams, path); --copy-to DIR copies them."""
    import yaml
    from rich.table import Table

    from weldcell.resources import data_dir

    folder = data_dir("programs")
    files = sorted(folder.glob("*.yaml"))
    table = Table(title=f"example programs ({folder})")
    for col in ("file", "name", "robot", "seams"):
        table.add_column(col)
    for f in files:
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        robot = (data.get("cell") or {}).get("robot", "?") if isinstance(data, dict) else "?"
        seams = len(data.get("seams") or []) if isinstance(data, dict) else 0
        table.add_row(f.name, str(data.get("name", "")), str(robot), str(seams))
    console.print(table)
    if copy_to is not None:
        dest = output_folder(copy_to, "--copy-to")
        clashes = [f.name for f in files if (dest / f.name).exists()]
        if clashes:
            raise WeldcellError(
                f"--copy-to {dest}: {', '.join(clashes)} already exist; choose an empty folder"
            )
        for f in files:
            shutil.copy2(f, dest / f.name)
        console.print(f"copied {len(files)} programs to {dest}")


def register(app: typer.Typer) -> None:
    """Add ``examples`` to ``app``."""
    app.command("examples")(examples_command)
