"""Shared CLI helpers: the rich console and the translation of errors into clean messages."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from rich.console import Console
from rich.markup import escape

from weldcell.errors import WeldcellError

console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

EXIT_ERROR = 2


@contextlib.contextmanager
def exit_on_error() -> Iterator[None]:
    """Print a :class:`WeldcellError` as one clear line and exit with status 2 (no traceback)."""
    try:
        yield
    except WeldcellError as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", markup=True, highlight=False)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)
