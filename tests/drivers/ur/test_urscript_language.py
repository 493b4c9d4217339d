"""The URScript parser and interpreter in-process: language features, errors naming the line, every
script weldcell emits, and a hypothesis fuzz of the parser (only URScriptError ever comes out)."""

from __future__ import annotations

import contextlib
import inspect
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weldcell.drivers.ur.streaming import servo_program as sp
from weldcell.drivers.ur.virtual.core import MOTION, ControllerCore, CoreConfig, compile_program
from weldcell.drivers.ur.virtual.urscript import TIMED_BUILTINS, Interpreter, Pose, Program, URScriptError
from weldcell.drivers.ur.virtual.urscript.grammar import GRAMMAR


def _run(src: str, extra: dict[str, Any] | None = None, max_cycles: int = 1000) -> tuple[list[Any], int]:
    """Run ``src`` with an ``emit`` built-in and a ``sync`` that takes one cycle; (emitted, cycles)."""
    out: list[Any] = []

    def sync() -> Any:
        yield

    builtins: dict[str, Any] = {"emit": lambda *a: out.extend(a), "sync": sync, **(extra or {})}
    interp = Interpreter(Program(src, "t"), builtins)
    cycles = 0
    for _ in interp.run():
        cycles += 1
        interp.new_cycle()
        assert cycles < max_cycles
    return out, cycles


def _error(src: str, extra: dict[str, Any] | None = None) -> str:
    with pytest.raises(URScriptError) as err:
        _run(src, extra)
    return str(err.value)


def test_numbers_operators_and_precedence() -> None:
    out, _ = _run(
        "emit(1 + 2 * 3, (1 + 2) * 3, 7 % 3, -7 % 3, 7 / 2, 1.5e3, .5, 2E-2, 10 - 2 - 3)\n"
        "emit(1 < 2, 2 <= 1, 1 == 1.0, 3 != 3, not 1 > 2, True and False, True or False, True xor True)\n"
        "emit(-(-3), +4, \"a#b\", 'single', [1, 2] == [1, 2], p[0,0,0,0,0,0] == p[0,0,0,0,0,0])\n"
        "emit(True xor False and False)  # and binds tighter than xor\n"
    )
    assert out[:9] == [7, 9, 1, 2, 3.5, 1500.0, 0.5, 0.02, 5]
    assert out[9:17] == [True, False, True, False, True, False, True, False]
    assert out[17:] == [3, 4, "a#b", "single", True, True, True]


def test_control_flow_functions_defaults_and_scopes() -> None:
    src = """
global total = 0
def add(a, b=2 * 5, c=p[0, 0, 0.1, 0, 0, 0]):
  return a + b + c[2]
end
def bump():
  total = total + 1   # an existing global: assignment goes to it
  local total2 = 5    # local
end
i = 0
while i < 6:
  i = i + 1
  if i == 2:
    continue
  elif i == 5:
    break
  else:
    total = total + add(i)
  end
end
bump()
for k in range(3):
  total = total + k
end
for k in range(10, 4, -3):
  emit(k)
end
for q in [[1, 2], [3, 4]]:
  emit(q[1])
end
emit(total, add(1, c=p[0, 0, 1, 0, 0, 0]), add(b=1, a=1))
"""
    out, _ = _run(src)
    assert out[:4] == [10, 7, 2, 4]
    assert out[4] == pytest.approx((1 + 10.1) + (3 + 10.1) + (4 + 10.1) + 1 + 0 + 1 + 2)
    assert out[5:] == [pytest.approx(12.0), pytest.approx(2.1)]


def test_lists_have_value_semantics_and_indexed_assignment() -> None:
    out, _ = _run(
        "q = [0.1, 0.2, [1, 2]]\nq0 = q\nq[0] = 9\nq[2][1] = 7\np = p[1, 2, 3, 0, 0, 0]\np[2] = 5\n"
        "def f(l):\n  l[0] = -1\n  return l\nend\nr = f(q0)\nemit(q, q0, p[2], r[0], p)\n"
    )
    assert out[:4] == [[9, 0.2, [1, 7]], [0.1, 0.2, [1, 2]], 5.0, -1]
    assert isinstance(out[4], Pose) and out[4] == [1, 2, 5, 0, 0, 0]


def test_single_def_program_runs_and_sync_takes_a_cycle() -> None:
    out, cycles = _run("def prog():\n  emit(1)\n  sync()\n  sync()\n  emit(2)\nend\n")
    assert out == [1, 2] and cycles == 2


def test_timed_user_function_inside_an_expression() -> None:
    src = "def wait_and_get(n):\n  sync()\n  return n * 2\nend\nemit(1 + wait_and_get(3))\n"
    out, cycles = _run(src)
    assert out == [7] and cycles == 1


def test_halt_ends_the_program() -> None:
    out, _ = _run("emit(1)\nhalt\nemit(2)\n")
    assert out == [1]


@pytest.mark.parametrize(
    ("src", "match"),
    [
        ("x = (1 +\n", "line 1: cannot parse"),
        ("def p():\n  x = 1\n  if x > 0:\n    sync()\nend\n", "line 1: 'def' block is not closed"),
        ("x = 1\nend\n", "line 2: cannot parse.*no open block"),
        ("def p():\n  thread t():\n    sync()\n  end\nend\n", "line 2: 'thread' is not supported"),
        ("t = run worker()\n", "line 1: 'run' is not supported"),
        ("enter_critical\n", "line 1: 'enter_critical' is not supported"),
        ("x = 3000000000\n", "line 1: integer 3000000000 is out of the 32-bit range"),
        ("x = 1e999\n", "line 1: number 1e999 is out of the float range"),
        ("x = p[1, 2, 3]\n", "line 1: a pose p\\[...\\] has 6 values"),
        ("f(a=1, 2)\n", "positional argument after a keyword"),
        ("break\n", "line 1: 'break' outside a loop"),
        ("def f():\nend\ndef f():\nend\n", "line 3: function 'f' is already defined on line 1"),
        ("f() = 3\n", "cannot assign to this expression"),
        ("x = 2 ** 3\n", "cannot parse"),
        ("x = ().__class__\n", "cannot parse"),
        ("x = a.b\n", "cannot parse"),
        ("import os\n", "cannot parse"),
        ("x = " + "-" * 150 + "1\n", "nested more than 100 levels"),
        ("x = " + "[" * 150 + "1" + "]" * 150 + "\n", "nested more than 100 levels"),
        ("def f():\n" * 120 + "end\n" * 120, "nested more than 100 levels"),
        ("", "empty URScript program"),
    ],
)
def test_compile_errors_name_the_line(src: str, match: str) -> None:
    with pytest.raises(URScriptError, match=match):
        Program(src, "t")


@pytest.mark.parametrize(
    ("src", "match"),
    [
        ("x = 1 / 0\n", "line 1: division by zero"),
        ("x = 5 % 0\n", "line 1: modulo by zero"),
        ("x = 2147483647\ny = x + 1\n", "line 2: integer overflow"),
        ("x = 1e300 * 1e300\n", "floating point overflow"),
        ("x = [1, 2]\ny = x[2]\n", "line 2: index 2 out of range"),
        ("x = [1, 2]\ny = x[1.0]\n", "list index must be an int"),
        ("x = 1 + True\n", "operator '\\+' is not defined for int and bool"),
        ('x = "a" + "b"\n', "operator '\\+' is not defined for string and string"),
        ("if 1:\n  x = 2\nend\n", "if condition needs a bool"),
        ("x = y\n", "variable 'y' is not defined"),
        ("\n\nsocket_open(1)\n", "line 3: unknown function socket_open"),
        ("def f(a):\n  return a\nend\nf(1, 2)\n", "f\\(\\) takes 1 arguments, got 2"),
        ("def f(a):\n  return a\nend\nf(b=2)\n", "unexpected or repeated argument 'b'"),
        ("def f(a):\nend\nf()\n", "missing argument 'a'"),
        ("def f():\n  x = 1\nend\ny = f()\n", "returns nothing"),
        ("p = p[0,0,0,0,0,0]\np[1] = [1]\n", "pose element must be a number"),
        ("emit(1, 2)\nboom()\n", "line 2: boom\\(\\): ZeroDivisionError"),
        ("def f():\n  boom()\nend\nf()\n", "line 2: boom\\(\\)"),
        ("bad()\n", "line 1: bad\\(\\) returned a object"),
        ("x = 1\nwhile True:\n  x = 1\nend\n", "line 2: Runtime is too much behind"),
        ("def r(n):\n  return r(n + 1)\nend\nr(0)\n", "recursion too deep"),
        ("for i in range(0, 10, 0):\nend\n", "step must not be zero"),
    ],
)
def test_runtime_errors_name_the_line(src: str, match: str) -> None:
    extra = {"boom": lambda: 1 / 0, "bad": lambda: object()}
    message = _error(src, extra)
    assert re.search(match, message), message


def test_builtin_results_are_converted_to_urscript_values() -> None:
    out, _ = _run(
        "emit(a(), b(), c())\n",
        {"a": lambda: np.float64(1.5), "b": lambda: np.array([1.0, 2.0]), "c": lambda: (np.int64(3), True)},
    )
    assert out == [1.5, [1.0, 2.0], [3, True]]
    assert type(out[0]) is float and type(out[2][0]) is int


def test_every_script_weldcell_emits_compiles() -> None:
    """The servo program (e-Series/CB3, with and without arc output) and the driver's stop program."""
    for cycle in (0.002, 0.008):
        for arc in (None, 0, 5):
            prog = compile_program(sp.servo_program(cycle=cycle, arc_output=arc), sp.PROGRAM_NAME)
            assert not prog.is_secondary and prog.functions
    compile_program("def weldcell_stop():\n  set_standard_digital_out(0, False)\n  stopj(4)\nend\n", "stop")
    compile_program('sec hello():\n  textmsg("hello from URScript")\nend\n', "sec")


def test_the_kind_of_program_the_exporter_emits_runs_on_the_core() -> None:
    """movel/movep with keyword args, I/O, registers, textmsg, sync, sleep, user defs called at the end,
    a while loop over a table of joint arrays with servoj keyword arguments."""
    core = ControllerCore(CoreConfig())
    q0 = np.array(core.config.q_home)
    table = [q0 + np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.001 * k]) for k in range(20)]
    rows = ",\n".join("    [" + ", ".join(f"{v:.6f}" for v in q) + "]" for q in table)
    pose = core.tcp_pose(q0)
    ptxt = ", ".join(f"{v:.6f}" for v in pose)
    src = (
        "def weld_seam(table, n):\n"
        "  set_standard_digital_out(0, True)\n"
        "  set_standard_analog_out(0, 0.35)\n"
        "  i = 0\n"
        "  while i < n:\n"
        "    servoj(table[i], t=0.002, lookahead_time=0.1, gain=300)\n"
        "    i = i + 1\n"
        "  end\n"
        "  set_standard_digital_out(0, False)\n"
        "end\n"
        "def weld_program():\n"
        '  textmsg("weldcell: start")\n'
        "  stopj(4)\n"
        f"  movel(p[{ptxt}], a=1.2, v=0.25, r=0)\n"
        f"  movep(p[{ptxt}], a=1.2, v=0.25, r=0.001)\n"
        "  write_output_integer_register(24, 1)\n"
        "  sync()\n"
        "  sleep(0.01)\n"
        f"  tbl = [\n{rows}\n  ]\n".replace(",\n", ", ")
        .replace("[\n", "[")
        .replace("\n  ]", "]")
        + "  weld_seam(tbl, get_list_length(tbl))\n"
        "  write_output_integer_register(24, 2)\n"
        "end\n"
        "weld_program()\n"
    )
    assert core.start_program(src, "export") is None, core.log[-3:]
    for _ in range(5000):
        if not core.program_running:
            break
        core.step()
    assert not core.program_running
    assert not any("error" in m.lower() for m in core.log), core.log[-5:]
    assert core.out_int[24] == 2 and core.analog_out[0] == 0.35 and not core.digital_out & 1
    np.testing.assert_allclose(core.target_q, table[-1], atol=1e-9)


def test_default_parameters_are_evaluated_by_the_interpreter_at_call_time() -> None:
    # The old implementation eval'd defaults with Python at parse time; here a default is an
    # expression of the program, evaluated only when a call needs it.
    prog = Program('def f(x=__import__("os")):\n  return 1\nend\nf(1)\n', "t")
    for _ in Interpreter(prog, {}).run():
        pass
    with pytest.raises(URScriptError, match="unknown function __import__"):
        for _ in Interpreter(Program('def f(x=__import__("os")):\nend\nf()\n', "t"), {}).run():
            pass


def test_timed_builtins_cover_the_controller_table() -> None:
    core = ControllerCore(CoreConfig())
    generators = {n for n, fn in core._builtins().items() if inspect.isgeneratorfunction(fn)}
    assert generators <= MOTION, "a built-in that takes cycles must be listed in virtual_core._MOTION"
    assert TIMED_BUILTINS <= MOTION


# --- fuzz ----------------------------------------------------------------------------------------
_TOKENS = [
    "def", "sec", "end", "if", "elif", "else", "while", "for", "in", "return", "break", "continue",
    "halt", "global", "local", "thread", "run", "join", "kill", "and", "or", "xor", "not", "True",
    "False", "p[", "[", "]", "(", ")", ",", ":", "=", "==", "!=", "<", ">", "+", "-", "*", "/", "%",
    "x", "y", "f", "movel", "1", "2.5", "1e3", '"s"', "#c", "\n", "\n", "  ", ".", "**", "'", '"', "\\",
    "__import__", "\x00", "é",
]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_TOKENS), max_size=60).map(" ".join))
def test_fuzz_token_soup_only_raises_urscript_error(text: str) -> None:
    try:
        prog = Program(text, "fuzz")
    except URScriptError:
        return
    interp = Interpreter(prog, {"movel": lambda *a, **k: iter(())})
    try:
        for i, _ in enumerate(interp.run()):
            interp.new_cycle()
            if i > 50:
                break
    except URScriptError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_random_text_only_raises_urscript_error(text: str) -> None:
    with contextlib.suppress(URScriptError):
        Program(text, "fuzz")


def test_grammar_is_lalr_without_conflicts() -> None:
    from lark import Lark

    Lark(GRAMMAR, parser="lalr")  # raises GrammarError on a conflict


def test_long_straight_line_code_spreads_over_cycles_instead_of_stalling() -> None:
    src = "x = 0\n" + "x = x + 1\n" * 20000 + "emit(x)\n"
    out, cycles = _run(src, max_cycles=100000)
    assert out == [20000]
    assert cycles > 1  # about 1 ms of CPU per cycle, then the rest in the next cycle


def test_a_loop_without_sync_is_not_sliced_but_stopped() -> None:
    message = _error("def p():\n  i = 0\n  while i < 1000000:\n    i = i + 1\n  end\nend\n")
    assert "line 3: Runtime is too much behind" in message
