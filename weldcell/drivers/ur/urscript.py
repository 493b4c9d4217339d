"""A URScript interpreter for the subset weldcell sends to a UR controller.

Used by the virtual controller to run the driver's streaming servo program and the programs that
``weldcell export --format urscript`` writes. Supported: ``def``/``sec`` functions, ``while``,
``if``/``elif``/``else``, ``local``/``global`` assignments (also to list elements), ``return``,
``break``, ``continue``, ``halt``, expressions with lists, pose literals ``p[...]`` and the
built-in functions registered by the host (motion, I/O, registers, maths). ``thread``, ``run``,
``join``, ``kill`` and ``interrupt``/``enter_critical`` are rejected at load time with a
:class:`URScriptError` naming the line.

Execution is cooperative: a program is a generator that yields once per controller cycle (motion
commands, ``sleep`` and ``sync`` yield; everything else runs within the cycle).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from weldcell.errors import DriverError

Gen = Generator[None, None, Any]


class URScriptError(DriverError):
    """A URScript program that cannot be parsed or failed at run time (message names the line)."""


UNSUPPORTED = ("thread", "run", "join", "kill", "interrupt", "enter_critical", "exit_critical")


@dataclass
class Stmt:
    """One parsed statement."""

    kind: str
    line: int
    text: str
    expr: Any = None  # compiled code object
    target: str = ""
    index: Any = None
    body: list[Stmt] = field(default_factory=list)
    branches: list[tuple[Any, list[Stmt]]] = field(default_factory=list)
    orelse: list[Stmt] | None = None
    scope: str = ""


@dataclass
class Function:
    """A user-defined ``def``/``sec`` function."""

    name: str
    params: list[str]
    defaults: list[Any]
    body: list[Stmt]
    line: int


class _Break(Exception):  # noqa: N818 - control-flow signal, not an error
    pass


class _Continue(Exception):  # noqa: N818 - control-flow signal
    pass


class _Return(Exception):  # noqa: N818 - control-flow signal
    def __init__(self, value: Any) -> None:
        self.value = value


class Halt(Exception):  # noqa: N818 - control-flow signal
    """Raised by ``halt``: the program ends normally."""


class Pose(list):  # type: ignore[type-arg]
    """A URScript pose ``p[x, y, z, rx, ry, rz]`` (m, rad)."""

    def __repr__(self) -> str:
        return "p[" + ", ".join(f"{v:g}" for v in self) + "]"


def _strip_comment(line: str) -> str:
    out = []
    quote = ""
    for ch in line:
        if quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            out.append(ch)
        elif ch == "#":
            break
        else:
            out.append(ch)
    return "".join(out).strip()


def _translate_expr(src: str) -> str:
    """URScript expression -> Python expression (pose literals, ``!`` not, ``xor``)."""
    out = []
    i = 0
    n = len(src)
    quote = ""
    while i < n:
        ch = src[i]
        if quote:
            out.append(ch)
            if ch == quote:
                quote = ""
            i += 1
            continue
        if ch in "\"'":
            quote = ch
            out.append(ch)
            i += 1
            continue
        if (
            ch == "p"
            and i + 1 < n
            and src[i + 1] == "["
            and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_"))
        ):
            out.append("_pose([")
            depth = 1
            j = i + 2
            inner_start = j
            while j < n and depth:
                if src[j] == "[":
                    depth += 1
                elif src[j] == "]":
                    depth -= 1
                j += 1
            out.append(_translate_expr(src[inner_start : j - 1]))
            out.append("])")
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_DEF = re.compile(r"^(def|sec)\s+([A-Za-z_]\w*)\s*\((.*)\)\s*:$")
_ASSIGN = re.compile(r"^(?:(local|global)\s+)?([A-Za-z_]\w*)\s*(\[(.*)\])?\s*=(?!=)\s*(.+)$")


class Program:
    """A parsed URScript program.

    Args:
        source: Program text.
        name: Name used in messages.

    Raises:
        URScriptError: syntax errors and unsupported statements, with the line number.
    """

    def __init__(self, source: str, name: str = "script") -> None:
        self.name = name
        self.functions: dict[str, Function] = {}
        self._sec: set[str] = set()
        lines = source.splitlines()
        self._lines = [(i + 1, _strip_comment(raw)) for i, raw in enumerate(lines)]
        self._lines = [(ln, t) for ln, t in self._lines if t]
        self._pos = 0
        top = self._parse_block(top=True)
        defs = [s for s in top if s.kind == "def"]
        rest = [s for s in top if s.kind != "def"]
        if not rest and len(defs) == 1:
            # "def prog(): ... end" sent alone: the controller runs prog
            self.main: list[Stmt] = [
                Stmt(
                    "expr",
                    defs[0].line,
                    f"{defs[0].target}()",
                    expr=self._compile(f"{defs[0].target}()", defs[0].line),
                )
            ]
        else:
            self.main = rest
        self.is_secondary = (
            bool(defs) and all(self.functions[d.target].name in self._sec for d in defs) and not rest
        )
        if not self.main:
            raise URScriptError(f"{name}: empty URScript program")

    def _compile(self, src: str, line: int) -> Any:
        py = _translate_expr(src)
        try:
            return compile(ast.parse(py, mode="eval"), f"<{self.name}:{line}>", "eval")
        except SyntaxError as err:
            raise URScriptError(f"{self.name} line {line}: cannot parse expression {src!r}") from err

    def _parse_block(self, top: bool = False) -> list[Stmt]:
        out: list[Stmt] = []
        while self._pos < len(self._lines):
            line, text = self._lines[self._pos]
            word = re.split(r"[\s(:]", text, maxsplit=1)[0]
            if word in ("end", "elif", "else"):
                if top:
                    raise URScriptError(f"{self.name} line {line}: '{word}' without an open block")
                return out
            self._pos += 1
            if word in UNSUPPORTED:
                raise URScriptError(
                    f"{self.name} line {line}: '{word}' is not supported by the weldcell virtual controller "
                    f"(supported: def, sec, while, if/elif/else, assignments, function calls)"
                )
            m = _DEF.match(text)
            if m:
                kind, fname, params = m.groups()
                names: list[str] = []
                defaults: list[Any] = []
                for p in [p.strip() for p in params.split(",") if p.strip()]:
                    if "=" in p:
                        pn, dv = p.split("=", 1)
                        names.append(pn.strip())
                        defaults.append(eval(self._compile(dv.strip(), line), {"_pose": Pose}))
                    else:
                        names.append(p)
                        defaults.append(_NO_DEFAULT)
                body = self._parse_block()
                self._expect_end(line, kind)
                self.functions[fname] = Function(fname, names, defaults, body, line)
                if kind == "sec":
                    self._sec.add(fname)
                out.append(Stmt("def", line, text, target=fname))
                continue
            if word in ("while", "if"):
                if not text.endswith(":"):
                    raise URScriptError(f"{self.name} line {line}: '{word}' statement must end with ':'")
                cond = self._compile(text[len(word) : -1].strip(), line)
                body = self._parse_block()
                if word == "while":
                    self._expect_end(line, "while")
                    out.append(Stmt("while", line, text, expr=cond, body=body))
                    continue
                branches = [(cond, body)]
                orelse = None
                while True:
                    if self._pos >= len(self._lines):
                        raise URScriptError(f"{self.name} line {line}: 'if' without 'end'")
                    ln2, t2 = self._lines[self._pos]
                    if t2.startswith("elif"):
                        self._pos += 1
                        c2 = self._compile(t2[4:].rstrip(":").strip(), ln2)
                        branches.append((c2, self._parse_block()))
                    elif t2.startswith("else"):
                        self._pos += 1
                        orelse = self._parse_block()
                    else:
                        break
                self._expect_end(line, "if")
                out.append(Stmt("if", line, text, branches=branches, orelse=orelse))
                continue
            if word in ("break", "continue", "halt") and text == word:
                out.append(Stmt(word, line, text))
                continue
            if word == "return":
                rest = text[6:].strip()
                out.append(Stmt("return", line, text, expr=self._compile(rest, line) if rest else None))
                continue
            m = _ASSIGN.match(text)
            if m:
                scope, target, _, index, value = m.groups()
                out.append(
                    Stmt(
                        "assign",
                        line,
                        text,
                        expr=self._compile(value, line),
                        target=target,
                        index=self._compile(index, line) if index is not None else None,
                        scope=scope or "",
                    )
                )
                continue
            out.append(Stmt("expr", line, text, expr=self._compile(text, line)))
        if not top:
            raise URScriptError(f"{self.name}: block not closed with 'end' at end of program")
        return out

    def _expect_end(self, line: int, what: str) -> None:
        if self._pos >= len(self._lines) or self._lines[self._pos][1] != "end":
            raise URScriptError(f"{self.name} line {line}: '{what}' block is not closed with 'end'")
        self._pos += 1


_NO_DEFAULT = object()

#: A built-in: either a plain callable (runs within the cycle) or a generator function (yields
#: once per controller cycle; for motion, sleep, sync).
Builtin = Callable[..., Any]


class Interpreter:
    """Runs a :class:`Program` against host built-ins, one controller cycle per ``next()``.

    Args:
        program: The parsed program.
        builtins: Name -> callable. Callables listed in ``motion`` are generator functions.
        motion: Names of built-ins that are generator functions (they take controller cycles).
        max_statements_per_cycle: Guard against loops that never yield (a real controller raises
            "Runtime is too much behind").
    """

    def __init__(
        self,
        program: Program,
        builtins: dict[str, Builtin],
        motion: frozenset[str],
        max_statements_per_cycle: int = 20000,
    ) -> None:
        self.program = program
        self.globals: dict[str, Any] = {"_pose": Pose, "pi": math.pi, "True": True, "False": False}
        self._motion = motion
        self._max = max_statements_per_cycle
        self._count = 0
        self.line = 0
        for name, fn in builtins.items():
            self.globals[name] = self._wrap_motion(name, fn) if name in motion else fn
        for fname, f in program.functions.items():
            self.globals[fname] = self._make_user_function(f)

    def _wrap_motion(self, name: str, fn: Builtin) -> Builtin:
        def call(*args: Any, **kwargs: Any) -> Any:
            return _MotionCall(name, fn(*args, **kwargs))

        return call

    def _make_user_function(self, f: Function) -> Builtin:
        def call(*args: Any, **kwargs: Any) -> Any:
            # Run eagerly: a function that does not move returns its value at once (usable inside
            # any expression); one that moves is resumed cycle by cycle by the calling statement.
            gen = self._run_function(f, args, kwargs)
            try:
                next(gen)
            except StopIteration as done:
                return done.value

            def resumed() -> Gen:
                yield
                return (yield from gen)

            return _MotionCall(f.name, resumed())

        return call

    def _run_function(self, f: Function, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Gen:
        local: dict[str, Any] = {}
        if len(args) > len(f.params):
            raise URScriptError(
                f"line {self.line}: {f.name}() takes {len(f.params)} arguments, got {len(args)}"
            )
        for i, pname in enumerate(f.params):
            if i < len(args):
                local[pname] = args[i]
            elif pname in kwargs:
                local[pname] = kwargs[pname]
            elif f.defaults[i] is not _NO_DEFAULT:
                local[pname] = f.defaults[i]
            else:
                raise URScriptError(f"line {self.line}: {f.name}() missing argument '{pname}'")
        try:
            yield from self._exec_block(f.body, local)
        except _Return as r:
            return r.value
        return None

    def run(self) -> Iterator[None]:
        """The program as a generator: one ``next()`` per controller cycle; StopIteration at the end."""
        try:
            yield from self._exec_block(self.program.main, None)
        except Halt:
            return
        except (_Break, _Continue) as err:
            raise URScriptError(f"line {self.line}: break/continue outside a loop") from err
        except _Return:
            return

    def _eval(self, code: Any, local: dict[str, Any] | None) -> Gen:
        try:
            value = eval(code, self.globals, local if local is not None else self.globals)
        except URScriptError:
            raise
        except NameError as err:
            raise URScriptError(f"line {self.line}: {err}; not a variable or a supported function") from err
        except (TypeError, ValueError, IndexError, ZeroDivisionError, KeyError) as err:
            raise URScriptError(f"line {self.line}: {err}") from err
        if isinstance(value, _MotionCall):
            value = yield from value.gen
        return value

    def _exec_block(self, stmts: list[Stmt], local: dict[str, Any] | None) -> Gen:
        for s in stmts:
            self.line = s.line
            self._count += 1
            if self._count > self._max:
                raise URScriptError(
                    f"line {s.line}: Runtime is too much behind (more than {self._max} statements "
                    "without a motion, sync() or sleep())"
                )
            k = s.kind
            if k == "expr":
                yield from self._eval(s.expr, local)
            elif k == "assign":
                value = yield from self._eval(s.expr, local)
                ns = (
                    self.globals
                    if (
                        local is None
                        or s.scope == "global"
                        or (s.target in self.globals and s.target not in local and s.scope != "local")
                    )
                    else local
                )
                if s.index is not None:
                    idx = yield from self._eval(s.index, local)
                    container = ns.get(s.target) if s.target in ns else self.globals.get(s.target)
                    if not isinstance(container, list):
                        raise URScriptError(f"line {s.line}: '{s.target}' is not a list")
                    try:
                        container[int(idx)] = value
                    except IndexError as err:
                        raise URScriptError(
                            f"line {s.line}: index {idx} out of range for '{s.target}'"
                        ) from err
                else:
                    ns[s.target] = value
            elif k == "while":
                while True:
                    self.line = s.line
                    cond = yield from self._eval(s.expr, local)
                    if not cond:
                        break
                    try:
                        yield from self._exec_block(s.body, local)
                    except _Break:
                        break
                    except _Continue:
                        continue
            elif k == "if":
                for cond_code, body in s.branches:
                    cond = yield from self._eval(cond_code, local)
                    if cond:
                        yield from self._exec_block(body, local)
                        break
                else:
                    if s.orelse is not None:
                        yield from self._exec_block(s.orelse, local)
            elif k == "break":
                raise _Break
            elif k == "continue":
                raise _Continue
            elif k == "halt":
                raise Halt
            elif k == "return":
                value = (yield from self._eval(s.expr, local)) if s.expr is not None else None
                raise _Return(value)
            elif k == "def":
                pass

    def new_cycle(self) -> None:
        """Reset the per-cycle statement budget (the host calls this before each ``next()``)."""
        self._count = 0


@dataclass
class _MotionCall:
    name: str
    gen: Gen
