"""URScript cannot reach Python, and a hostile or broken script is only ever a runtime error of its program.

In-process: each hostile script ends as a compile or runtime error (pendant-like message in the
controller log), the cycle goes on and the next program runs. On sockets (127.0.0.x): the same
scripts sent to the script ports of a virtual controller in its own process, while an RTDE client
counts output packages (per package) and the Dashboard keeps answering.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from weldcell.drivers.ur import DashboardClient, RTDEClient
from weldcell.drivers.ur.urscript.values import MAX_LIST_ELEMENTS
from weldcell.drivers.ur.virtual_controller import Ports, VirtualControllerHandle, start_virtual_controller
from weldcell.drivers.ur.virtual_core import ControllerCore, CoreConfig, RuntimeState

HOST = "127.0.0.94"


def _hostile(tmp: Path) -> list[tuple[str, str, str]]:
    """(name, script, text expected in the controller's error message)."""
    target = tmp / "pwned"
    row = "[" + ", ".join(["0"] * 1000) + "]"
    return [
        ("open", f'def p():\n  f = open("{target}", "w")\nend\n', "unknown function open"),
        ("import", "def p():\n  import os\nend\n", "cannot parse"),
        ("__import__", f'def p():\n  __import__("os").system("touch {target}")\nend\n', "cannot parse"),
        ("__import__ call", 'def p():\n  x = __import__("os")\nend\n', "unknown function __import__"),
        ("eval", f'def p():\n  eval("open(\'{target}\', \'w\')")\nend\n', "unknown function eval"),
        ("exec", 'def p():\n  exec("x = 1")\nend\n', "unknown function exec"),
        ("attribute walk", "def p():\n  x = ().__class__.__bases__[0].__subclasses__()\nend\n", "cannot parse"),
        ("dunder name", "def p():\n  x = __builtins__\nend\n", "variable '__builtins__' is not defined"),
        ("dunder call", "def p():\n  __class__()\nend\n", "unknown function __class__"),
        ("power operator", "def p():\n  x = 10**10**10\nend\n", "cannot parse"),
        ("huge exponent", "def p():\n  x = pow(10, pow(10, 10))\nend\n", "OverflowError"),
        ("int overflow", "def p():\n  x = 1\n  while True:\n    x = x * 10\n  end\nend\n", "integer overflow"),
        ("deep recursion", "def p():\n  def r(n):\n    return r(n + 1)\n  end\n  r(0)\nend\n", "recursion too deep"),
        ("infinite loop", "def p():\n  x = 0\n  while True:\n    x = x + 1\n  end\nend\n", "too much behind"),
        ("1e6-element list", f"def p():\n  a = {row}\n  b = [{', '.join(['a'] * 1000)}]\nend\n", "elements"),
        ("string doubling", 'def p():\n  s = "ab"\n  while True:\n    s = str_cat(s, s)\n    sync()\n  end\nend\n',
         "characters"),
        ("huge to_str", f"def p():\n  a = {row}\n  textmsg(to_str([a, a, a, a, a]))\nend\n", "characters"),
        ("builtin TypeError", "def p():\n  set_tcp(\"abc\")\nend\n", "set_tcp(): ValueError"),
        ("builtin bad args", "def p():\n  movej([1, 2])\nend\n", "6 values"),
        ("sleep on a string", 'def p():\n  sleep("x")\nend\n', "sleep(): ValueError"),
        ("thread", "def p():\n  thread t():\n    sync()\n  end\nend\n", "'thread' is not supported"),
        ("division by zero", "def p():\n  x = 1 / 0\nend\n", "division by zero"),
        ("index error", "def p():\n  x = [1]\n  x[5] = 2\nend\n", "index 5 out of range"),
    ]  # fmt: skip


def _run_core(core: ControllerCore, script: str, cycles: int = 50) -> None:
    core.start_program(script, "hostile")
    for _ in range(cycles):
        core.step()
        if not core.program_running:
            break


def test_hostile_scripts_end_as_program_errors_in_process(tmp_path: Path) -> None:
    core = ControllerCore(CoreConfig())
    for name, script, expected in _hostile(tmp_path):
        n_log = len(core.log)
        t0 = core.time
        _run_core(core, script)
        new = core.log[n_log:]
        assert not core.program_running, name
        assert core.runtime_state == RuntimeState.STOPPED, name
        assert any(m.startswith(("Compile error:", "Runtime error:")) and expected in m for m in new), (
            name,
            new,
        )
        assert core.time > t0 or any(m.startswith("Compile error") for m in new)
    assert not (tmp_path / "pwned").exists()
    # the controller still runs programs and moves
    q = np.array(core.config.q_home) + 0.01
    ok = f'def ok():\n  movej([{", ".join(repr(float(v)) for v in q)}], a=1, v=1)\n  textmsg("ok")\nend\n'
    _run_core(core, ok, 2000)
    assert core.log[-2:] == ["ok", "Program hostile stopped: finished"]
    np.testing.assert_allclose(core.target_q, q, atol=1e-9)


def test_runtime_error_messages_are_pendant_like() -> None:
    core = ControllerCore(CoreConfig())
    _run_core(core, "def p():\n  x = 1\n  y = x / 0\nend\n")
    assert "Runtime error: line 3: division by zero" in core.log
    _run_core(core, "def p():\n  x = (\nend\n")
    assert any(m.startswith("Compile error: hostile line 2: cannot parse") for m in core.log)


def test_a_builtin_exception_of_any_type_is_a_runtime_error() -> None:
    core = ControllerCore(CoreConfig())

    class Weird(Exception):
        pass

    def weird(*args: object) -> None:
        raise Weird("inside the controller")

    def weird_motion(*args: object) -> Iterator[None]:
        yield
        raise KeyError("during motion")

    original = core._builtins
    core._builtins = lambda: {**original(), "weird": weird, "sync": weird_motion}  # type: ignore[method-assign]
    _run_core(core, "def p():\n  weird()\nend\n")
    assert "Runtime error: line 2: weird(): Weird: inside the controller" in core.log
    _run_core(core, "def p():\n  x = 1\n  sync()\nend\n")
    assert any(m.startswith("Runtime error: line 3: sync(): KeyError") for m in core.log), core.log[-3:]
    assert not core.program_running


# --- on sockets --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def controller() -> Iterator[VirtualControllerHandle]:
    h = start_virtual_controller(HOST, CoreConfig(), Ports(0, 0, 0, 0, 0))
    yield h
    h.stop()


def _state(h: VirtualControllerHandle) -> dict[str, object]:
    with DashboardClient(HOST, h.ports.dashboard) as d:
        return json.loads(d.command("weldcell state"))  # type: ignore[no-any-return]


def _wait_log(h: VirtualControllerHandle, marker: str, expected: str) -> dict[str, object] | None:
    """Controller state once a log line after ``marker`` contains ``expected`` (10 s), else None."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        st = _state(h)
        log = [str(m) for m in st["log"]]  # type: ignore[attr-defined]
        if marker in log:
            after = log[len(log) - log[::-1].index(marker) :]
            if expected == "" or any(expected in m for m in after):
                return st
        time.sleep(0.02)
    return None


class _Counter:
    """Counts RTDE output packages (one by one) in a thread; ``window(t0, t1)`` -> count in a window."""

    def __init__(self, h: VirtualControllerHandle) -> None:
        self.client = RTDEClient(HOST, h.ports.rtde)
        self.client.connect(5.0)
        self.client.negotiate_protocol()
        self.client.setup_outputs(["timestamp"], 500.0)
        self.client.start()
        self.arrivals: list[float] = []
        self.stamps: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            pkg = self.client.receive(2.0)
            self.arrivals.append(time.monotonic())
            self.stamps.append(float(pkg["timestamp"]))

    def window(self, t0: float, t1: float) -> np.ndarray:
        a = np.array(self.arrivals)
        return a[(a >= t0) & (a <= t1)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(3.0)
        self.client.close()


def test_hostile_scripts_on_the_script_ports_keep_the_controller_cycling(
    controller: VirtualControllerHandle, tmp_path: Path
) -> None:
    counter = _Counter(controller)
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        ports = (controller.ports.primary, controller.ports.secondary, controller.ports.realtime)
        for k, (name, script, expected) in enumerate(_hostile(tmp_path)):
            marker = f"weldcell test case {k}"
            with socket.create_connection((HOST, ports[k % 3])) as s:
                s.sendall(f'textmsg("{marker}")\n'.encode())
                _wait_log(controller, marker, "")
                s.sendall(script.encode())
            st = _wait_log(controller, marker, expected)
            if st is None:
                pytest.fail(f"{name}: no error naming {expected!r}; log {_state(controller)['log']}")
            assert st["runtime_state"] == "STOPPED", name
        t1 = time.monotonic()
        time.sleep(0.1)
        with DashboardClient(HOST, controller.ports.dashboard) as d:
            assert d.command("robotmode") == "Robotmode: RUNNING"
        arrivals = counter.window(t0, t1)
        rate = arrivals.size / (t1 - t0)
        assert rate > 400, f"{rate:.0f} RTDE packages/s during the hostile campaign"
        assert controller.is_alive()
    finally:
        counter.close()
    assert not (tmp_path / "pwned").exists()


def _long_program(n_lines: int) -> str:
    q = ", ".join(f"{v:.6f}" for v in CoreConfig().q_home)
    body = "".join(f"  servoj([{q}], t=0.002, lookahead_time=0.1, gain=300)\n" for _ in range(n_lines))
    return "def long_program():\n" + body + "end\n"


@pytest.mark.parametrize("n_lines", [5000, 30000])
def test_uploading_a_long_program_does_not_stall_the_cycle(
    controller: VirtualControllerHandle, n_lines: int
) -> None:
    text = _long_program(n_lines)
    counter = _Counter(controller)
    try:
        time.sleep(0.5)
        missed0 = int(_state(controller)["missed_cycles"])  # type: ignore[call-overload]
        t0 = time.monotonic()
        with socket.create_connection((HOST, controller.ports.secondary)) as s:
            s.sendall(text.encode())
        deadline = t0 + 60.0
        while time.monotonic() < deadline and _state(controller)["runtime_state"] != "PLAYING":
            time.sleep(0.02)
        t_running = time.monotonic() - t0
        time.sleep(0.3)
        t1 = time.monotonic()
        st = _state(controller)
        arrivals = counter.window(t0, t1)
        with DashboardClient(HOST, controller.ports.dashboard) as d:
            assert d.command("stop") == "Stopped"
    finally:
        counter.close()
    assert st["program"] == "secondary script" and st["runtime_state"] == "PLAYING", st["log"]
    gaps = np.diff(arrivals)
    missed = int(st["missed_cycles"]) - missed0  # type: ignore[call-overload]
    rate = arrivals.size / (t1 - t0)
    print(
        f"{n_lines} lines ({len(text) / 1e6:.1f} MB): running after {t_running:.2f} s; "
        f"{rate:.0f} packages/s, longest gap {gaps.max() * 1e3:.1f} ms, missed cycles {missed}"
    )
    # Before, the parse held the core lock: no package for 0.5-0.7 s (5,000 lines) or 3-6 s (30,000
    # lines). Now the cycle keeps going while the program compiles beside it; the bounds leave room
    # for a shared, loaded test machine (the figures are in docs/drivers.md).
    assert gaps.max() < 0.25
    assert missed < 100
    assert rate > 450


def test_list_limit_is_below_a_million() -> None:
    assert MAX_LIST_ELEMENTS < 1_000_000
