"""A compiled URScript program: statements, hoisted functions, what runs, and which calls take time."""

from __future__ import annotations

from weldcell.drivers.ur.virtual.urscript.nodes import (
    Call,
    Expr,
    ExprStmt,
    For,
    FuncDef,
    Jump,
    Stmt,
    While,
    walk_exprs,
    walk_stmts,
)
from weldcell.drivers.ur.virtual.urscript.syntax import parse
from weldcell.drivers.ur.virtual.urscript.values import URScriptError

#: UR built-ins that take controller cycles (generator functions in the host's table).
TIMED_BUILTINS = frozenset(
    {
        "sleep",
        "sync",
        "servoj",
        "servoc",
        "movej",
        "movel",
        "movep",
        "movec",
        "stopj",
        "stopl",
        "speedj",
        "speedl",
    }
)


class Program:
    """A parsed URScript program, ready for an :class:`~.interpreter.Interpreter`.

    Compiling does everything that depends only on the text (so a host can do it outside its
    locks): parsing, hoisting every ``def``/``sec`` (also nested ones) into one function table,
    checking ``break``/``continue`` placement, choosing what runs, and marking the expressions
    that may take controller cycles.

    What runs: the top-level statements; a text made only of function definitions runs its one
    function (``def prog(): ... end`` sent alone). ``is_secondary``: the text is a single ``sec``
    function, which the controller runs at once, without motion.

    Args:
        source: Program text.
        name: Name used in messages.
        timed_builtins: Built-ins that take controller cycles.

    Raises:
        URScriptError: syntax errors, unsupported statements and exceeded limits, naming the line.
    """

    def __init__(
        self, source: str, name: str = "script", timed_builtins: frozenset[str] = TIMED_BUILTINS
    ) -> None:
        self.name = name
        top = parse(source, name)
        self.functions: dict[str, FuncDef] = {}
        for s in walk_stmts(top):
            if isinstance(s, FuncDef):
                if s.name in self.functions:
                    raise URScriptError(
                        f"{name} line {s.line}: function '{s.name}' is already defined on line "
                        f"{self.functions[s.name].line}"
                    )
                self.functions[s.name] = s
        _check_jumps(top, name, in_loop=False)
        defs = [s for s in top if isinstance(s, FuncDef)]
        rest = [s for s in top if not isinstance(s, FuncDef)]
        if rest:
            self.main: list[Stmt] = rest
        elif len(defs) == 1:
            self.main = [ExprStmt(defs[0].line, Call(defs[0].line, defs[0].name, [], []))]
        elif defs:
            raise URScriptError(
                f"{name}: {len(defs)} functions ({', '.join(d.name for d in defs)}) and no statement that "
                "calls one; send one program function or add the call"
            )
        else:
            raise URScriptError(f"{name}: empty URScript program")
        self.is_secondary = not rest and len(defs) == 1 and defs[0].secondary
        self.timed_builtins = timed_builtins
        self.annotate(timed_builtins)

    def annotate(self, timed_builtins: frozenset[str]) -> None:
        """Mark every expression that may take controller cycles (calls a timed built-in or function)."""
        self.timed_builtins = timed_builtins
        calls: dict[str, set[str]] = {}
        for fname, f in self.functions.items():
            calls[fname] = {
                e.name
                for s in walk_stmts(f.body)
                for x in s.exprs()
                for e in walk_exprs(x)
                if isinstance(e, Call)
            }
        timed = set(timed_builtins)
        changed = True
        while changed:
            changed = False
            for fname, called in calls.items():
                if fname not in timed and called & timed:
                    timed.add(fname)
                    changed = True
        for s in walk_stmts([*self.main, *self.functions.values()]):
            for x in s.exprs():
                _mark(x, timed)


def _mark(e: Expr, timed: set[str]) -> bool:
    flag = False
    for c in e.children():
        flag = _mark(c, timed) or flag
    if isinstance(e, Call) and e.name in timed:
        flag = True
    e.timed = flag
    return flag


def _check_jumps(block: list[Stmt], name: str, in_loop: bool) -> None:
    for s in block:
        if isinstance(s, Jump) and s.kind in ("break", "continue") and not in_loop:
            raise URScriptError(f"{name} line {s.line}: '{s.kind}' outside a loop")
        loop = isinstance(s, (While, For))
        for b in s.blocks():
            _check_jumps(b, name, (in_loop or loop) and not isinstance(s, FuncDef))
