"""The vendors' commands: ``weldcell controller <name>`` for each registered vendor with a virtual controller.

The command functions live in the vendor packages (``weldcell/drivers/<vendor>/command.py``) and are
found through the vendor registry (:func:`weldcell.drivers.registry.vendors`), so a new vendor adds its
command without touching the command line.
"""

from __future__ import annotations

import typer

from weldcell.drivers.registry import resolve_target, vendors


def add_controller_commands(group: typer.Typer) -> None:
    """Add each registered vendor's virtual controller command to ``group`` (as ``<group> <name>``)."""
    for v in vendors().values():
        if v.controller is not None:
            command = resolve_target(v.controller.command, f"vendor {v.name!r} controller command")
            group.command(v.controller.name)(command)


def register(app: typer.Typer) -> None:
    """Add each vendor's ``controller <name>`` to the ``controller`` group of :mod:`weldcell.cli.robot`."""
    from weldcell.cli.robot import controller_app

    add_controller_commands(controller_app)
