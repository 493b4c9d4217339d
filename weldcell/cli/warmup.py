"""``weldcell warmup``: compile the numba kernels ahead of time (``scripts/setup.sh`` runs it)."""

from __future__ import annotations

import time

import typer

from weldcell.cli.common import console, exit_on_error


def warmup_command() -> None:
    """Compile the kinematics, collision and planning kernels now, so the first plan is fast.

    numba keeps the compiled code in its cache; a second run only loads it (a few seconds).
    """
    from weldcell.planning.warmup import kernel_cache_missing, warm_up_kernels

    with exit_on_error():
        missing = kernel_cache_missing()
        console.print(
            f"compiling kernels ({len(missing)} of the kernel files not compiled yet) …"
            if missing
            else "kernels already compiled; loading them once to check",
            markup=False,
            highlight=False,
        )
        t0 = time.perf_counter()

        def step(message: str) -> None:
            console.print(f"  {message} ({time.perf_counter() - t0:.1f} s)", markup=False, highlight=False)

        warm_up_kernels(step)
        still = kernel_cache_missing()
        if still:
            from weldcell.errors import WeldcellError

            names = ", ".join(p.name for p in still)
            raise WeldcellError(
                f"the kernels of {names} were compiled but numba did not cache them (is the install "
                "folder read-only? set NUMBA_CACHE_DIR to a writable folder)"
            )
        console.print(f"kernels ready in {time.perf_counter() - t0:.1f} s", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``warmup`` to ``app``."""
    app.command("warmup")(warmup_command)
