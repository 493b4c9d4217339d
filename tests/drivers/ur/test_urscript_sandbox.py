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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weldcell.drivers.ur import DashboardClient, RTDEClient
from weldcell.drivers.ur.virtual.controller import Ports, VirtualControllerHandle, start_virtual_controller
from weldcell.drivers.ur.virtual.core import ControllerCore, CoreConfig, RuntimeState
from weldcell.drivers.ur.virtual.urscript.values import MAX_LIST_ELEMENTS

HOST = "127.0.0.94"


def _p(*body: str) -> str:
    """A program ``def p(): <body> end`` (one statement per argument)."""
    return "def p():\n" + "".join(f"  {line}\n" for line in body) + "end\n"


def _hostile(tmp: Path) -> list[tuple[str, str, str]]:
    """(name, script, text expected in the controller's error message)."""
    target = tmp / "pwned"
    row = "[" + ", ".join(["0"] * 1000) + "]"
    forever = ("while True:", "  x = x * 10", "end")
    return [
        ("open", _p(f'f = open("{target}", "w")'), "unknown function open"),
        ("import", _p("import os"), "cannot parse"),
        ("__import__", _p(f'__import__("os").system("touch {target}")'), "cannot parse"),
        ("__import__ call", _p('x = __import__("os")'), "unknown function __import__"),
        ("eval", _p(f"eval(\"open('{target}', 'w')\")"), "unknown function eval"),
        ("exec", _p('exec("x = 1")'), "unknown function exec"),
        ("attribute walk", _p("x = ().__class__.__bases__[0].__subclasses__()"), "cannot parse"),
        ("dunder name", _p("x = __builtins__"), "variable '__builtins__' is not defined"),
        ("dunder call", _p("__class__()"), "unknown function __class__"),
        ("power operator", _p("x = 10**10**10"), "cannot parse"),
        ("huge exponent", _p("x = pow(10, pow(10, 10))"), "OverflowError"),
        ("int overflow", _p("x = 1", *forever), "integer overflow"),
        ("deep recursion", _p("def r(n):", "  return r(n + 1)", "end", "r(0)"), "recursion too deep"),
        ("infinite loop", _p("x = 0", "while True:", "  x = x + 1", "end"), "too much behind"),
        ("1e6-element list", _p(f"a = {row}", f"b = [{', '.join(['a'] * 1000)}]"), "elements"),
        (
            "string doubling",
            _p('s = "ab"', "while True:", "  s = str_cat(s, s)", "  sync()", "end"),
            "characters",
        ),
        ("huge to_str", _p(f"a = {row}", "textmsg(to_str([a, a, a, a, a]))"), "characters"),
        ("builtin TypeError", _p('set_tcp("abc")'), "set_tcp(): ValueError"),
        ("builtin bad args", _p("movej([1, 2])"), "6 values"),
        ("sleep on a string", _p('sleep("x")'), "sleep(): ValueError"),
        ("thread", _p("thread t():", "  sync()", "end"), "'thread' is not supported"),
        ("division by zero", _p("x = 1 / 0"), "division by zero"),
        ("index error", _p("x = [1]", "x[5] = 2"), "index 5 out of range"),
        ("nesting by loop", _p("a = [0]", "while True:", "  a = [a]", "end"), "nested more than 100"),
        ("sec loop", "sec s():\n  while True:\n    x = 1\n  end\nend\n", "too much behind"),
    ]


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

    class WeirdError(Exception):
        pass

    def weird(*args: object) -> None:
        raise WeirdError("inside the controller")

    def weird_motion(*args: object) -> Iterator[None]:
        yield
        raise KeyError("during motion")

    original = core._builtins
    core._builtins = lambda: {**original(), "weird": weird, "sync": weird_motion}  # type: ignore[method-assign]
    _run_core(core, "def p():\n  weird()\nend\n")
    assert "Runtime error: line 2: weird(): WeirdError: inside the controller" in core.log
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
        latency = 0.0  # the Dashboard needs the core lock: before, it waited for the whole parse
        while time.monotonic() < deadline:
            t_ask = time.monotonic()
            playing = _state(controller)["runtime_state"] == "PLAYING"
            latency = max(latency, time.monotonic() - t_ask)
            if playing:
                break
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
        f"{rate:.0f} packages/s, longest gap {gaps.max() * 1e3:.1f} ms, missed cycles {missed}, "
        f"slowest Dashboard reply {latency * 1e3:.0f} ms"
    )
    # Before, the parse held the core lock: no package for 0.5-0.7 s (5,000 lines) or 3-6 s (30,000
    # lines). Now the cycle keeps going while the program compiles beside it; the bounds leave room
    # for a shared, loaded test machine (the figures are in docs/drivers.md).
    assert rate > 450  # packages counted one by one: at least 90 % of the 500/s while compiling
    assert gaps.max() < 0.25
    assert missed < 0.1 * (t1 - t0) / 0.002
    assert latency < 0.5


def test_list_limit_is_below_a_million() -> None:
    assert MAX_LIST_ELEMENTS < 1_000_000


def test_dashboard_load_and_play_report_compile_and_runtime_errors(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    (tmp_path / "bad.script").write_text("def bad():\n  x = (\nend\n")
    (tmp_path / "hostile.script").write_text(f'def hostile():\n  open("{target}", "w")\nend\n')
    (tmp_path / "good.script").write_text('def good():\n  sleep(0.02)\n  textmsg("good program ran")\nend\n')
    h = start_virtual_controller("127.0.0.95", CoreConfig(), Ports(0, 0, 0, 0, 0), program_dir=tmp_path)
    try:
        with DashboardClient("127.0.0.95", h.ports.dashboard) as d:
            assert d.command("load bad.script") == "Loading program: bad.script"
            assert d.command("play") == "Failed to execute: play"
            log = json.loads(d.command("weldcell state"))["log"]
            assert any(m.startswith("Compile error: bad line 2: cannot parse") for m in log), log
            assert d.command("load hostile.script") == "Loading program: hostile.script"
            assert d.command("play") == "Starting program"
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and d.command("running") == "Program running: true":
                time.sleep(0.02)
            log = json.loads(d.command("weldcell state"))["log"]
            assert (
                "Runtime error: line 2: unknown function open(); not a built-in or a function of the program"
                in log
            )
            assert d.command("load good.script") == "Loading program: good.script"
            assert d.command("play") == "Starting program"
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and "good program ran" not in log:
                log = json.loads(d.command("weldcell state"))["log"]
                time.sleep(0.02)
            assert "good program ran" in log
    finally:
        h.stop()
    assert not target.exists()


# --- property: whatever a syntactically valid program does, the controller cycle never raises ------
_CALLS = [
    ("textmsg", 1), ("set_standard_digital_out", 2), ("set_standard_analog_out", 2), ("movej", 1),
    ("movel", 1), ("servoj", 1), ("sleep", 1), ("sync", 0), ("get_inverse_kin", 1), ("pose_trans", 2),
    ("pose_inv", 1), ("to_str", 1), ("str_cat", 2), ("floor", 1), ("sqrt", 1), ("pow", 2), ("norm", 1),
    ("write_output_integer_register", 2), ("read_input_float_register", 1), ("get_list_length", 1),
    ("popup", 1), ("set_tcp", 1), ("rtde_set_watchdog", 2), ("integer_to_binary_list", 1),
    ("binary_list_to_integer", 1), ("get_actual_joint_positions", 0), ("get_forward_kin", 1),
    ("stopj", 1), ("abs", 1), ("atan2", 2), ("max", 2), ("d2r", 1), ("f", 1), ("nosuch", 1),
]  # fmt: skip
_LEAVES = st.sampled_from(
    [
        "0",
        "1",
        "-3",
        "2.5",
        "1e308",
        "0.001",
        "True",
        "False",
        '"s"',
        "x",
        "y",
        "l",
        "q",
        "pp",
        "l[0]",
        "q[5]",
    ]
)


def _exprs() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        call = st.sampled_from(_CALLS).flatmap(
            lambda c: st.lists(inner, min_size=c[1], max_size=c[1]).map(lambda a: f"{c[0]}({', '.join(a)})")
        )
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%", "==", "<", "and", "xor"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda e: f"-({e})"),
            inner.map(lambda e: f"not ({e})"),
            st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
            st.lists(inner, min_size=6, max_size=6).map(lambda xs: "p[" + ", ".join(xs) + "]"),
            call,
        )

    return st.recursive(_LEAVES, extend, max_leaves=8)


def _stmts() -> st.SearchStrategy[list[str]]:
    e = _exprs()
    simple = st.one_of(
        e.map(lambda x: f"x = {x}"),
        e.map(lambda x: f"l[1] = {x}"),
        e.map(lambda x: f"textmsg({x})"),
        st.just("sync()"),
        st.just("return x"),
        e.map(lambda x: f"y = f({x})"),
    )
    return st.recursive(
        simple.map(lambda s: [s]),
        lambda inner: st.one_of(
            st.tuples(e, inner).map(lambda t: [f"if {t[0]}:", *("  " + s for s in t[1]), "end"]),
            st.tuples(e, inner).map(
                lambda t: [f"while {t[0]}:", *("  " + s for s in t[1]), "  sync()", "end"]
            ),
            st.tuples(inner, inner).map(lambda t: t[0] + t[1]),
        ),
        max_leaves=6,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_stmts(), _stmts())
def test_fuzz_valid_programs_never_break_the_cycle(body: list[str], fbody: list[str]) -> None:
    q = ", ".join(repr(v) for v in CoreConfig().q_home)
    text = (
        "def f(a=1):\n" + "".join(f"  {s}\n" for s in fbody) + "  return a\nend\n"
        f"def main():\n  x = 1\n  y = 2.0\n  l = [1, 2, 3]\n  q = [{q}]\n  pp = p[0.3, 0.1, 0.4, 3.1, 0, 0]\n"
        + "".join(f"  {s}\n" for s in body)
        + "end\nmain()\n"
    )
    core = ControllerCore(CoreConfig(unlock_delay=0.0))
    core.start_program(text, "fuzz")  # a compile error is a message, never an exception
    for _ in range(300):
        core.step()  # never raises, whatever the program does
        if not core.program_running:
            break
    core.stop_program("test end")
    core.unlock_protective_stop()
    assert core.start_program('textmsg("alive")\n', "after") is None or core.safety_mode.name != "NORMAL"
    core.step()
