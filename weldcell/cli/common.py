"""Shared CLI helpers: the rich console and the translation of errors into clean messages."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from weldcell.drivers.command_support import warn_remote as warn_remote  # shared with the vendors' commands
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


#: Every command writes into this folder of the working directory unless ``--out`` says otherwise
#: (never next to the program: ``programs/`` may be read-only or under version control).
DEFAULT_OUT_ROOT = Path("weldcell-out")
#: The one name of the planned trajectory in an output folder (plan, validate, cell run, run, demo).
TRAJECTORY_FILE = "trajectory.npz"


def job_name(source: Path) -> str:
    """The job's name from its source file: ``box_frame.yaml`` -> ``box_frame``.

    A trajectory in an output folder (``weldcell-out/box_frame/trajectory.npz``) is named after its
    folder; ``job.traj.npz`` -> ``job``.
    """
    name = source.name
    if name == TRAJECTORY_FILE and source.parent.name not in ("", "."):
        return source.resolve().parent.name
    for suffix in (".traj.npz", ".npz", ".yaml", ".yml"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or "job"
    return source.stem or "job"


def default_out_dir(source: Path) -> Path:
    """The output folder of a command on ``source`` when ``--out`` is not given.

    ``./weldcell-out/<job name>/`` in the working directory: one scheme for plan, validate, cell run
    and run, so that ``weldcell plan box_frame.yaml`` and ``weldcell validate box_frame.yaml`` meet in
    ``weldcell-out/box_frame/trajectory.npz``.
    """
    return DEFAULT_OUT_ROOT / job_name(source)


def output_folder(folder: Path, option: str = "--out") -> Path:
    """Create ``folder`` (with parents) or fail with one line naming ``option``.

    Raises:
        WeldcellError: the folder cannot be created (a file is in the way, no permission, ...).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        why = err.strerror or str(err)
        if isinstance(err, (FileExistsError, NotADirectoryError)):
            why = "it, or a folder on its path, is a file"
        raise WeldcellError(f"{option} {folder}: cannot create the output folder ({why})") from err
    return folder


def announce_kernel_compile() -> bool:
    """Say so (one line on stderr, plain text when not a terminal) when numba will compile the kernels.

    Call it where the kernels are first needed (plan, validate, demo), before the first kernel call.
    Returns whether the notice was printed.
    """
    from weldcell.planning.warmup import kernel_cache_missing

    if not kernel_cache_missing():
        return False
    err_console.print(
        "compiling kernels (first run only) … up to a minute; `weldcell warmup` does it ahead of time",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return True


def plain_progress(what: str = "planning") -> Callable[[float, str], None]:
    """A planner progress callback that prints one plain line per stage (for logs and pipes).

    Each line, on stderr (stdout keeps the summary): ``planning  35% seam s1 pass 1 (2.4 s)``; a
    repeated message is not printed again.
    """
    import time

    t0 = time.perf_counter()
    last: list[str] = []

    def show(fraction: float, message: str) -> None:
        if last and last[0] == message:
            return
        last[:] = [message]
        err_console.print(
            f"{what} {fraction:4.0%} {message} ({time.perf_counter() - t0:.1f} s)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    return show


def _option_value(text: str) -> bool | int | float | str:
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def robot_driver_options(items: list[str] | None, **flags: object) -> dict[str, object]:
    """The robot driver's own connection options (``RunOptions.driver_options``) from repeated
    ``--driver-option NAME=VALUE`` items (VALUE: true/false, an integer, a number or text) and the
    named flags that were given (None or False: not given, the driver's default).

    The driver checks the names and values when the job starts
    (:func:`weldcell.app.devices.check_driver_options`).

    Raises:
        WeldcellError: an item without ``=``, or a name given twice.
    """
    out: dict[str, object] = {k: v for k, v in flags.items() if v is not None and v is not False}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise WeldcellError(f"--driver-option {item!r}: expected NAME=VALUE, e.g. dashboard_port=29999")
        if name in out:
            raise WeldcellError(f"--driver-option {item!r}: {name} is given twice")
        out[name] = _option_value(value)
    return out
