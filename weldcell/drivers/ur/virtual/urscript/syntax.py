"""The URScript parser: lark LALR over :mod:`.grammar`, building :mod:`.nodes` during the parse.

:func:`parse` turns program text into a list of statements or raises :class:`URScriptError`
naming the line. The nodes are plain data; :mod:`.interpreter` evaluates them. Nothing here
evaluates program text: numbers and strings become Python values through ``int``/``float`` and
slicing, names stay names.
"""

from __future__ import annotations

import threading
from typing import Any

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from weldcell.drivers.ur.virtual.urscript.grammar import GRAMMAR
from weldcell.drivers.ur.virtual.urscript.nodes import (
    Assign,
    BinOp,
    Call,
    Const,
    Expr,
    ExprStmt,
    For,
    FuncDef,
    If,
    Index,
    Jump,
    ListLit,
    Name,
    PoseLit,
    Return,
    Stmt,
    Unary,
    While,
)
from weldcell.drivers.ur.virtual.urscript.values import (
    INT_MAX,
    INT_MIN,
    MAX_LIST_ELEMENTS,
    MAX_SOURCE_CHARS,
    MAX_STRING_CHARS,
    Pose,
    URScriptError,
)

#: Statements UR's language has that the virtual controller does not run (rejected when compiled).
UNSUPPORTED = {
    "thread": "threads ('thread', 'run', 'join', 'kill')",
    "run": "threads ('thread', 'run', 'join', 'kill')",
    "join": "threads ('thread', 'run', 'join', 'kill')",
    "kill": "threads ('thread', 'run', 'join', 'kill')",
    "enter_critical": "critical sections ('enter_critical', 'exit_critical')",
    "exit_critical": "critical sections ('enter_critical', 'exit_critical')",
}


def _unsupported(tok: Token) -> URScriptError:
    return URScriptError(
        f"line {tok.line}: '{tok}' is not supported by the weldcell virtual controller "
        f"({UNSUPPORTED[str(tok)]} are rejected; see docs/drivers.md)"
    )


def _target(e: Expr, line: int) -> tuple[str, list[Expr]]:
    """Assignment target ``name`` or ``name[i]...``: the name and the index expressions."""
    indices: list[Expr] = []
    while isinstance(e, Index):
        indices.append(e.index)
        e = e.obj
    if not isinstance(e, Name):
        raise URScriptError(
            f"line {line}: cannot assign to this expression (expected a variable or a list element)"
        )
    return e.name, indices[::-1]


class _Build(Transformer[Token, Any]):
    """Builds the nodes while the LALR parser reduces (no parse tree, no recursion)."""

    def __default__(self, data: Any, children: list[Any], meta: Any) -> Any:
        # ``_rule``s are inlined into their parent by lark; every other rule has a method here, and
        # one without must be a compile error, never a lark Tree inside the program
        if str(data).startswith("_"):
            return Tree(data, children)
        raise URScriptError(f"cannot parse ({data})")

    # statements ------------------------------------------------------------------------------
    def start(self, c: list[Any]) -> list[Stmt]:
        return c

    def block(self, c: list[Any]) -> list[Stmt]:
        return c

    def assign(self, c: list[Any]) -> Stmt:
        target, value = c
        name, idx = _target(target, target.line)
        return Assign(target.line, name, idx, value)

    def scoped(self, c: list[Any]) -> Stmt:
        scope, target, value = c[0], c[1], c[2] if len(c) > 2 else None
        if not isinstance(target, Name):
            raise URScriptError(f"line {scope.line}: '{scope}' must be followed by a variable name")
        return Assign(scope.line, target.name, [], value, str(scope))

    def expr_stmt(self, c: list[Any]) -> Stmt:
        return ExprStmt(c[0].line, c[0])

    def return_stmt(self, c: list[Any]) -> Stmt:
        return Return(c[0].line, c[1] if len(c) > 1 else None)

    def break_stmt(self, c: list[Any]) -> Stmt:
        return Jump(c[0].line, "break")

    def continue_stmt(self, c: list[Any]) -> Stmt:
        return Jump(c[0].line, "continue")

    def halt_stmt(self, c: list[Any]) -> Stmt:
        return Jump(c[0].line, "halt")

    def join_stmt(self, c: list[Any]) -> Stmt:
        raise _unsupported(c[0])

    kill_stmt = join_stmt
    critical_stmt = join_stmt

    def threaddef(self, c: list[Any]) -> Stmt:
        raise _unsupported(c[0])

    def run_expr(self, c: list[Any]) -> Expr:
        raise _unsupported(c[0])

    def funcdef(self, c: list[Any]) -> Stmt:
        kw, name, params, body, _end = c
        return FuncDef(kw.line, str(name), params or [], body, str(kw) == "sec")

    def params(self, c: list[Any]) -> list[tuple[str, Expr | None]]:
        if len(c) == 1:
            return [c[0]]
        out: list[tuple[str, Expr | None]] = c[0]
        out.append(c[1])
        return out

    def param(self, c: list[Any]) -> tuple[str, Expr | None]:
        return (str(c[0]), c[1] if len(c) > 1 else None)

    def if_stmt(self, c: list[Any]) -> Stmt:
        kw, cond, body, elifs, _else, orelse, _end = c
        return If(kw.line, [(cond, body), *elifs], orelse)

    def elifs(self, c: list[Any]) -> list[tuple[Expr, list[Stmt]]]:
        return c

    def elif_clause(self, c: list[Any]) -> tuple[Expr, list[Stmt]]:
        return (c[1], c[2])

    def while_stmt(self, c: list[Any]) -> Stmt:
        return While(c[0].line, c[1], c[2])

    def for_stmt(self, c: list[Any]) -> Stmt:
        kw, var, _in, iterable, body, _end = c
        return For(kw.line, str(var), iterable, body)

    # expressions -----------------------------------------------------------------------------
    def number(self, c: list[Any]) -> Expr:
        return Const(c[0].line, _number(str(c[0]), c[0].line))

    def numlist(self, c: list[Any]) -> Expr:
        tok = c[0]
        parts = str(tok)[1:-1].split(",")
        if len(parts) > MAX_LIST_ELEMENTS:
            raise URScriptError(
                f"line {tok.line}: list literal of {len(parts)} elements (at most {MAX_LIST_ELEMENTS})"
            )
        return Const(tok.line, [_number(x.strip(), tok.line) for x in parts], 2)

    def pose_nums(self, c: list[Any]) -> Expr:
        tok = c[0]
        return Const(
            tok.line, Pose(float(_number(x.strip(), tok.line)) for x in str(tok)[2:-1].split(",")), 2
        )

    def str_lit(self, c: list[Any]) -> Expr:
        tok = c[0]
        if len(tok) - 2 > MAX_STRING_CHARS:
            raise URScriptError(
                f"line {tok.line}: string of {len(tok) - 2} characters (at most {MAX_STRING_CHARS})"
            )
        return Const(tok.line, str(tok)[1:-1])

    def true_lit(self, c: list[Any]) -> Expr:
        return Const(c[0].line, True)

    def false_lit(self, c: list[Any]) -> Expr:
        return Const(c[0].line, False)

    def name(self, c: list[Any]) -> Expr:
        return Name(c[0].line, str(c[0]))

    def call(self, c: list[Any]) -> Expr:
        name, args = c[0], c[1] or []
        pos = [a for a in args if isinstance(a, Expr)]
        kw = [a for a in args if not isinstance(a, Expr)]
        if any(isinstance(a, Expr) for a in args[len(pos) :]):
            raise URScriptError(f"line {name.line}: positional argument after a keyword argument in {name}()")
        return Call(name.line, str(name), pos, kw)

    def args(self, c: list[Any]) -> list[Any]:
        if len(c) == 1:
            return [c[0]]
        out: list[Any] = c[0]
        out.append(c[1])
        return out

    def arg(self, c: list[Any]) -> Expr:
        e: Expr = c[0]
        return e

    def kwarg(self, c: list[Any]) -> tuple[str, Expr]:
        return (str(c[0]), c[1])

    def items(self, c: list[Any]) -> list[Expr]:
        if len(c) == 1:
            return [c[0]]
        if len(c[0]) >= MAX_LIST_ELEMENTS:
            raise URScriptError(f"line {c[1].line}: list literal longer than {MAX_LIST_ELEMENTS} elements")
        out: list[Expr] = c[0]
        out.append(c[1])
        return out

    def list_lit(self, c: list[Any]) -> Expr:
        items: list[Expr] = c[0] or []
        line = items[0].line if items else 0
        if all(isinstance(e, Const) for e in items):
            value = [e.value for e in items]  # type: ignore[attr-defined]
            size = len(value) + sum(_size(v) for v in value if isinstance(v, list))
            if size > MAX_LIST_ELEMENTS:
                raise URScriptError(
                    f"line {line}: list literal of {size} elements (at most {MAX_LIST_ELEMENTS})"
                )
            return Const(line, value, 1 + max((e.depth for e in items), default=0))
        return ListLit(line, items)

    def pose_lit(self, c: list[Any]) -> Expr:
        tok, items = c
        if len(items) == 1:  # p[i]: an element of a variable named p
            return Index(tok.line, Name(tok.line, "p"), items[0])
        if len(items) != 6:
            raise URScriptError(f"line {tok.line}: a pose p[...] has 6 values, got {len(items)}")
        if all(
            isinstance(e, Const) and isinstance(e.value, (int, float)) and not isinstance(e.value, bool)
            for e in items
        ):
            return Const(tok.line, Pose(float(e.value) for e in items), 2)
        return PoseLit(tok.line, items)

    def index(self, c: list[Any]) -> Expr:
        return Index(c[0].line, c[0], c[1])

    def prefix(self, c: list[Any]) -> Token:
        t: Token = c[0]
        return t

    def operand(self, c: list[Any]) -> _Prefixed:
        *prefixes, node = c
        nots = 0
        signs: list[Token] = []
        for tok in prefixes:
            if tok.type != "NOT":
                signs.append(tok)
            elif signs:
                raise URScriptError(f"line {tok.line}: 'not' cannot follow a sign")
            else:
                nots += 1
        for tok in reversed(signs):
            node = Unary(node.line, str(tok), node)
        return _Prefixed(nots, node)

    def expr(self, c: list[Any]) -> Expr:
        if len(c) == 1 and isinstance(c[0], Expr):
            return c[0]
        return _Climb(c).run()


class _Prefixed:
    """An operand with ``nots`` leading ``not`` (they reach over the comparison that follows)."""

    __slots__ = ("node", "nots")

    def __init__(self, nots: int, node: Expr) -> None:
        self.nots = nots
        self.node = node


#: Binary operator precedence (higher binds tighter); prefix ``not`` sits between ``and`` and
#: the comparisons, unary signs bind tightest (they are applied to their operand directly).
_PREC = {"or": 1, "xor": 2, "and": 3, "+": 6, "-": 6, "*": 7, "/": 7, "%": 7}
_NOT_OPERAND_PREC = 5
_COMPARISON_PREC = 5


class _Climb:
    """Precedence climbing over ``operand (operator operand)*``; binary operators are left-associative."""

    def __init__(self, seq: list[Any]) -> None:
        self.seq = seq
        self.pos = 0

    def run(self) -> Expr:
        return self._loop(self._primary(), 0)

    def _primary(self) -> Expr:
        o = self.seq[self.pos]
        self.pos += 1
        if not isinstance(o, _Prefixed):
            e: Expr = o
            return e
        if not o.nots:
            return o.node
        node = self._loop(o.node, _NOT_OPERAND_PREC)
        for _ in range(o.nots):
            node = Unary(node.line, "not", node)
        return node

    def _loop(self, lhs: Expr, min_prec: int) -> Expr:
        seq = self.seq
        while self.pos < len(seq):
            op = str(seq[self.pos])
            prec = _PREC.get(op, _COMPARISON_PREC)
            if prec < min_prec:
                break
            self.pos += 1
            rhs = self._loop(self._primary(), prec + 1)
            lhs = BinOp(lhs.line, op, lhs, rhs)
        return lhs


def _number(text: str, line: int) -> int | float:
    """A numeric literal: int when it has no '.' or exponent (32-bit range), else a finite float."""
    if any(ch in text for ch in ".eE"):
        v = float(text)  # a decimal literal: inf when too large, never NaN
        if v in (float("inf"), float("-inf")):
            raise URScriptError(f"line {line}: number {text[:40]} is out of the float range")
        return v
    digits = text.lstrip("+-")
    if len(digits) > 10 or not INT_MIN <= int(text) <= INT_MAX:
        raise URScriptError(f"line {line}: integer {text[:40]} is out of the 32-bit range")
    return int(text)


def _size(v: list[Any]) -> int:
    return len(v) + sum(_size(x) for x in v if isinstance(x, list))


_PARSER: Lark | None = None
_PARSER_LOCK = threading.Lock()


def _parser() -> Lark:
    """The LALR parser, built once per process (building its tables takes a few 0.1 s of CPU).

    Built under a lock: concurrent first callers (several script-port clients at once, a socket
    flood) each built their own copy before, which starved every other thread of the process.
    """
    global _PARSER
    parser = _PARSER
    if parser is None:
        with _PARSER_LOCK:
            if _PARSER is None:
                _PARSER = Lark(
                    GRAMMAR, parser="lalr", lexer="contextual", transformer=_Build(), maybe_placeholders=True
                )
            parser = _PARSER
    return parser


def warm_parser() -> None:
    """Build the parser now (e.g. when a controller starts) instead of on the first program."""
    _parser()


_OPENERS = {"DEF", "SEC", "THREAD", "IF", "WHILE", "FOR"}


def _syntax_error(err: UnexpectedInput, name: str) -> URScriptError:
    if isinstance(err, UnexpectedToken) and err.token.type == "$END":
        opener = None
        stack = getattr(err.state, "value_stack", None) or []
        for v in stack:
            if isinstance(v, Token) and v.type in _OPENERS:
                opener = v
        if opener is not None:
            return URScriptError(f"{name} line {opener.line}: '{opener}' block is not closed with 'end'")
        return URScriptError(f"{name}: program ends in the middle of a statement")
    if isinstance(err, UnexpectedToken):
        tok = err.token
        what = "end of line" if tok.type == "_NL" else f"'{str(tok)[:40]}'"
        hint = " (no open block)" if tok.type in ("END", "ELSE", "ELIF") else ""
        return URScriptError(f"{name} line {tok.line}: cannot parse: unexpected {what}{hint}")
    if isinstance(err, UnexpectedCharacters):
        ch = err.char if isinstance(err.char, str) else "?"
        return URScriptError(f"{name} line {err.line}: cannot parse: unexpected character {ch!r}")
    return URScriptError(f"{name} line {getattr(err, 'line', '?')}: cannot parse")


def parse(text: str, name: str = "script") -> list[Stmt]:
    """Parse URScript program text into top-level statements.

    Args:
        text: Program text.
        name: Program name used in messages.

    Raises:
        URScriptError: a syntax error, an unsupported statement or a limit exceeded (names the line).
    """
    if len(text) > MAX_SOURCE_CHARS:
        raise URScriptError(
            f"{name}: program of {len(text)} characters; at most {MAX_SOURCE_CHARS} are accepted"
        )
    if not text.endswith("\n"):
        text += "\n"
    try:
        top: list[Stmt] = _parser().parse(text)  # type: ignore[assignment]  # built by _Build
        return top
    except URScriptError as err:
        raise URScriptError(f"{name} {err}") from None
    except UnexpectedInput as err:
        raise _syntax_error(err, name) from None
    except LarkError as err:  # a callback error wrapped by lark
        inner = getattr(err, "orig_exc", None)
        if isinstance(inner, URScriptError):
            raise URScriptError(f"{name} {inner}") from None
        raise URScriptError(f"{name}: cannot parse ({type(err).__name__})") from None
    except (RecursionError, MemoryError) as err:
        raise URScriptError(
            f"{name}: program too large or too deeply nested ({type(err).__name__})"
        ) from None
