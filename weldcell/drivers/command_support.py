"""What the vendors' ``weldcell controller <name>`` commands share: the console and address parsing.

The commands live in their vendor packages (``weldcell/drivers/<vendor>/command.py``) and are added to
the command line through the vendor registry (:mod:`weldcell.drivers.registry`); they print to the
same terminal as the rest of the command line (a rich console without emoji, like ``weldcell.cli``).
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from weldcell.errors import WeldcellError

#: The console the controller commands print to.
console = Console(emoji=False)
#: Warnings go to stderr.
err_console = Console(stderr=True, emoji=False)


def warn_remote(host: str, what: str, can: str) -> None:
    """Warn loudly (stderr) that a virtual device listens on a network address."""
    err_console.print(
        f"[bold red]WARNING:[/] the {escape(what)} listens on [bold]{escape(host)}[/], reachable from "
        f"other machines: anyone who can connect can {escape(can)}. Use it only on an isolated network.",
        markup=True,
        highlight=False,
    )


def host_port(text: str, option: str) -> tuple[str, int]:
    """``HOST:PORT`` of a command-line option.

    Raises:
        WeldcellError: no host, or a port that is not a number in 1 … 65535 (names the option).
    """
    host, _, port = text.rpartition(":")
    if not host:
        raise WeldcellError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:59152")
    try:
        number = int(port)
    except ValueError as err:
        raise WeldcellError(f"{option} {text!r}: port {port!r} is not a number") from err
    if not 1 <= number <= 65535:
        raise WeldcellError(f"{option} {text!r}: port {number} is outside 1 … 65535")
    return host, number
