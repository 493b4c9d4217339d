"""The per-cycle CPU budget of the URScript interpreter judges the program, not the garbage collector.

A full collection in a process with a large heap can take a few 0.1 s of CPU in whatever thread
allocates; it once stopped the "deep recursion" hostile script with "Runtime is too much behind"
(497 ms) instead of its recursion error. Here a collector hook that burns CPU stands in for such a
pause, inside a cycle of the virtual controller: the runaway recursion still ends on its call-depth
limit, while a built-in that really burns CPU in the program still trips the CPU budget.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

import pytest

from weldcell.drivers.ur.virtual.core import ControllerCore, CoreConfig
from weldcell.drivers.ur.virtual.urscript import values as sv
from weldcell.drivers.ur.virtual.urscript.programclock import gc_cpu_time, install, program_cpu_time

PAUSE = 3 * sv.MAX_CPU_PER_CYCLE  # [s] of CPU per stand-in collection pause


def _burn(seconds: float) -> None:
    t0 = time.thread_time()
    while time.thread_time() - t0 < seconds:
        pass


def _run(core: ControllerCore, script: str, cycles: int = 50) -> list[str]:
    n = len(core.log)
    core.start_program(script, "p")
    for _ in range(cycles):
        core.step()
        if not core.program_running:
            break
    return core.log[n:]


@pytest.fixture
def slow_collector() -> Iterator[dict[str, Any]]:
    """A collector hook burning ``PAUSE`` of CPU per collection while ``armed`` (after the clock's hook)."""
    install()
    state: dict[str, Any] = {"armed": lambda: False, "pauses": 0}

    def hook(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and state["armed"]():
            state["pauses"] += 1
            _burn(PAUSE)

    threshold = gc.get_threshold()
    gc.callbacks.append(hook)
    gc.set_threshold(50)  # collections during the test's few hundred allocations per cycle
    try:
        yield state
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(hook)


def test_a_collector_pause_inside_a_cycle_is_not_charged_to_the_program(
    slow_collector: dict[str, Any],
) -> None:
    core = ControllerCore(CoreConfig())
    # pauses only deep inside the recursion, i.e. inside the one controller cycle that runs it
    slow_collector["armed"] = lambda: (
        core._interp is not None and 8 <= core._interp.depth <= 40 and slow_collector["pauses"] < 2
    )
    gc0 = gc_cpu_time()
    log = _run(core, "def p():\n  def r(n):\n    x = [n, n, n]\n    return r(n + 1)\n  end\n  r(0)\nend\n")
    assert slow_collector["pauses"] >= 1, "no collection happened inside the cycle: the test proves nothing"
    assert gc_cpu_time() - gc0 >= PAUSE * slow_collector["pauses"] * 0.9
    assert any(f"recursion too deep: more than {sv.MAX_CALL_DEPTH} nested" in m for m in log), log
    assert not any("too much behind" in m for m in log), log
    assert not core.program_running
    # the controller keeps cycling and runs the next program
    assert _run(core, 'def q():\n  textmsg("next")\nend\n')[-2:] == ["next", "Program p stopped: finished"]


def test_cpu_the_program_burns_still_trips_the_budget() -> None:
    core = ControllerCore(CoreConfig())
    original = core._builtins

    def burn() -> None:
        _burn(1.5 * sv.MAX_CPU_PER_CYCLE)

    core._builtins = lambda: {**original(), "burn": burn}  # type: ignore[method-assign]
    log = _run(core, "def p():\n  burn()\n  burn()\nend\n")
    assert any("Runtime is too much behind: the program used" in m for m in log), log
    assert not core.program_running


def test_program_cpu_time_excludes_collections_in_this_thread(slow_collector: dict[str, Any]) -> None:
    slow_collector["armed"] = lambda: True
    p0, t0 = program_cpu_time(), time.thread_time()
    gc.collect(0)
    assert slow_collector["pauses"] == 1
    assert time.thread_time() - t0 >= PAUSE * 0.9
    assert program_cpu_time() - p0 < PAUSE / 3
