"""The ``weldcell`` command line. The only part of weldcell that prints.

Each command group lives in its own module and registers itself on :data:`app` through a
``register(app)`` function. Heavy imports (roboticstoolbox, pybullet, ompl) happen inside the
command functions so that ``weldcell --help`` starts fast.
"""

from __future__ import annotations

import sys

import typer

from weldcell.cli import (
    calibrate,
    cell,
    check,
    examples,
    export,
    plan,
    plan_batch,
    positioner,
    powersource,
    robot,
    seams,
    simulate,
    vendors,
    warmup,
)
from weldcell.cli.common import console, exit_on_error

app = typer.Typer(
    name="weldcell",
    help="Robotic arc welding: plan weld programs, validate them in simulation, drive the cell.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # plain click help for the top level: typer's rich help imports rich's markdown renderer and
    # costs a quarter of ``weldcell --help`` (issue #14: ≤ 0.2 s); the commands' output stays rich
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from weldcell import __version__

        console.print(f"weldcell {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Robotic arc welding: plan weld programs, validate them in simulation, drive the cell."""


for _module in (check, plan, simulate, robot, export, powersource, cell, examples, warmup):
    _module.register(app)
calibrate.register(app)  # weldcell calibrate tcp|frame|capture-virtual
vendors.register(app)  # after robot: each vendor's ``controller <name>`` from the vendor registry
positioner.register(app)  # after robot: adds ``controller positioner``
seams.register(app)  # ``seams detect``: seam candidates from CAD
plan_batch.register(app)  # ``plan-batch``: plan and validate many programs (pool or Ray)


def main() -> None:
    """Entry point of the ``weldcell`` script: runs the app, turning weldcell errors into messages."""
    with exit_on_error():
        app()
    sys.exit(0)


__all__ = ["app", "console", "main"]
