"""URScript syntax tree: expression and statement nodes (plain data, built by :mod:`.syntax`).

Every node has the ``line`` it starts on and its nesting ``depth`` (bounded by ``MAX_NESTING``
when it is built, so walking a tree never recurses deeper than that). Expressions also carry
``timed``: they contain a call that takes controller cycles (set by :class:`.program.Program`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from weldcell.drivers.ur.virtual.urscript.values import MAX_NESTING, URScriptError


# --- expressions -------------------------------------------------------------------------------
class Expr:
    """An expression node: ``line`` (1-based), ``depth`` (nesting), ``timed`` (may take cycles)."""

    __slots__ = ("depth", "line", "timed")

    def __init__(self, line: int, *children: Expr) -> None:
        self.line: int = line
        self.depth: int = 1 + max((c.depth for c in children), default=0)
        self.timed: bool = False
        if self.depth > MAX_NESTING:
            raise URScriptError(f"line {line}: expression nested more than {MAX_NESTING} levels deep")

    def children(self) -> tuple[Expr, ...]:
        """Sub-expressions."""
        return ()


class Const(Expr):
    """A literal number, string or bool, or a list literal of literals (folded when parsed)."""

    __slots__ = ("value",)

    def __init__(
        self, line: int, value: Any, depth: int = 1
    ) -> None:  # no super().__init__: the hot path of the parser
        self.line = line
        self.value = value
        self.depth = depth
        self.timed = False
        if depth > MAX_NESTING:
            raise URScriptError(f"line {line}: list literal nested more than {MAX_NESTING} levels deep")


class Name(Expr):
    """A variable reference."""

    __slots__ = ("name",)

    def __init__(self, line: int, name: str) -> None:
        super().__init__(line)
        self.name = name


class ListLit(Expr):
    """``[a, b, ...]`` with at least one non-literal element."""

    __slots__ = ("items",)

    def __init__(self, line: int, items: list[Expr]) -> None:
        super().__init__(line, *items)
        self.items = items

    def children(self) -> tuple[Expr, ...]:
        """Sub-expressions."""
        return tuple(self.items)


class PoseLit(ListLit):
    """``p[x, y, z, rx, ry, rz]``."""

    __slots__ = ()


class Index(Expr):
    """``obj[index]``."""

    __slots__ = ("index", "obj")

    def __init__(self, line: int, obj: Expr, index: Expr) -> None:
        super().__init__(line, obj, index)
        self.obj = obj
        self.index = index

    def children(self) -> tuple[Expr, ...]:
        """Sub-expressions."""
        return (self.obj, self.index)


class Unary(Expr):
    """``-x``, ``+x``, ``not x``."""

    __slots__ = ("op", "operand")

    def __init__(self, line: int, op: str, operand: Expr) -> None:
        super().__init__(line, operand)
        self.op = op
        self.operand = operand

    def children(self) -> tuple[Expr, ...]:
        """Sub-expressions."""
        return (self.operand,)


class BinOp(Expr):
    """Arithmetic (``+ - * / %``), comparisons and ``and``/``or``/``xor``."""

    __slots__ = ("left", "op", "right")

    def __init__(self, line: int, op: str, left: Expr, right: Expr) -> None:
        super().__init__(line, left, right)
        self.op = op
        self.left = left
        self.right = right

    def children(self) -> tuple[Expr, ...]:
        """Sub-expressions."""
        return (self.left, self.right)


class Call(Expr):
    """``name(args, key=value)``: a built-in or user function."""

    __slots__ = ("args", "kwargs", "name")

    def __init__(self, line: int, name: str, args: list[Expr], kwargs: list[tuple[str, Expr]]) -> None:
        super().__init__(line, *args, *(v for _, v in kwargs))
        self.name = name
        self.args = args
        self.kwargs = kwargs
        seen = set()
        for k, _ in kwargs:
            if k in seen:
                raise URScriptError(
                    f"line {line}: keyword argument '{k}' given twice in the call of {name}()"
                )
            seen.add(k)

    def children(self) -> tuple[Expr, ...]:
        """Sub-expressions."""
        return (*self.args, *(v for _, v in self.kwargs))


# --- statements --------------------------------------------------------------------------------
class Stmt:
    """A statement node."""

    __slots__ = ("depth", "line")

    def __init__(self, line: int, depth: int = 1) -> None:
        self.line = line
        self.depth = depth
        if depth > MAX_NESTING:
            raise URScriptError(f"line {line}: blocks nested more than {MAX_NESTING} levels deep")

    def exprs(self) -> tuple[Expr, ...]:
        """Expressions of this statement (not of nested blocks)."""
        return ()

    def blocks(self) -> tuple[list[Stmt], ...]:
        """Nested blocks."""
        return ()


def _block_depth(*blocks: list[Stmt] | None) -> int:
    return 1 + max((s.depth for b in blocks if b for s in b), default=0)


class Assign(Stmt):
    """``[local|global] name[i][j]... = value``; ``value`` None: a bare ``global x`` declaration."""

    __slots__ = ("indices", "name", "scope", "value")

    def __init__(
        self, line: int, name: str, indices: list[Expr], value: Expr | None, scope: str = ""
    ) -> None:
        super().__init__(line)
        self.name = name
        self.indices = indices
        self.value = value
        self.scope = scope

    def exprs(self) -> tuple[Expr, ...]:
        """Expressions of this statement."""
        return (*self.indices, *((self.value,) if self.value is not None else ()))


class ExprStmt(Stmt):
    """An expression evaluated for its effect (usually a call)."""

    __slots__ = ("expr",)

    def __init__(self, line: int, expr: Expr) -> None:
        super().__init__(line)
        self.expr = expr

    def exprs(self) -> tuple[Expr, ...]:
        """Expressions of this statement."""
        return (self.expr,)


class Return(Stmt):
    """``return [value]``."""

    __slots__ = ("value",)

    def __init__(self, line: int, value: Expr | None) -> None:
        super().__init__(line)
        self.value = value

    def exprs(self) -> tuple[Expr, ...]:
        """Expressions of this statement."""
        return (self.value,) if self.value is not None else ()


class Jump(Stmt):
    """``break``, ``continue`` or ``halt``."""

    __slots__ = ("kind",)

    def __init__(self, line: int, kind: str) -> None:
        super().__init__(line)
        self.kind = kind


class If(Stmt):
    """``if``/``elif``/``else``."""

    __slots__ = ("branches", "orelse")

    def __init__(self, line: int, branches: list[tuple[Expr, list[Stmt]]], orelse: list[Stmt] | None) -> None:
        super().__init__(line, _block_depth(*(b for _, b in branches), orelse))
        self.branches = branches
        self.orelse = orelse

    def exprs(self) -> tuple[Expr, ...]:
        """Conditions."""
        return tuple(c for c, _ in self.branches)

    def blocks(self) -> tuple[list[Stmt], ...]:
        """Branch bodies."""
        return (*(b for _, b in self.branches), *((self.orelse,) if self.orelse else ()))


class While(Stmt):
    """``while cond: ... end``."""

    __slots__ = ("body", "cond")

    def __init__(self, line: int, cond: Expr, body: list[Stmt]) -> None:
        super().__init__(line, _block_depth(body))
        self.cond = cond
        self.body = body

    def exprs(self) -> tuple[Expr, ...]:
        """Condition."""
        return (self.cond,)

    def blocks(self) -> tuple[list[Stmt], ...]:
        """Loop body."""
        return (self.body,)


class For(Stmt):
    """``for name in range(...)`` or ``for name in list``: ``rng`` holds 1-3 range arguments or None."""

    __slots__ = ("body", "iterable", "rng", "var")

    def __init__(self, line: int, var: str, iterable: Expr, body: list[Stmt]) -> None:
        super().__init__(line, _block_depth(body))
        self.var = var
        self.body = body
        self.rng: list[Expr] | None = None
        self.iterable = iterable
        if isinstance(iterable, Call) and iterable.name == "range":
            if iterable.kwargs or not 1 <= len(iterable.args) <= 3:
                raise URScriptError(f"line {line}: range() takes 1 to 3 positional arguments")
            self.rng = iterable.args

    def exprs(self) -> tuple[Expr, ...]:
        """The range arguments or the iterated list."""
        return tuple(self.rng) if self.rng is not None else (self.iterable,)

    def blocks(self) -> tuple[list[Stmt], ...]:
        """Loop body."""
        return (self.body,)


class FuncDef(Stmt):
    """``def``/``sec`` function: parameters with optional default expressions."""

    __slots__ = ("body", "defaults", "name", "params", "secondary")

    def __init__(
        self,
        line: int,
        name: str,
        params: list[tuple[str, Expr | None]],
        body: list[Stmt],
        secondary: bool,
    ) -> None:
        super().__init__(line, _block_depth(body))
        self.name = name
        self.params = [p for p, _ in params]
        self.defaults = [d for _, d in params]
        self.body = body
        self.secondary = secondary
        if len(set(self.params)) != len(self.params):
            raise URScriptError(f"line {line}: {name}() has a parameter name twice")
        seen_default = False
        for p, d in params:
            if d is None and seen_default:
                raise URScriptError(
                    f"line {line}: {name}(): parameter '{p}' without a default follows one with"
                )
            seen_default = seen_default or d is not None

    def exprs(self) -> tuple[Expr, ...]:
        """Default value expressions."""
        return tuple(d for d in self.defaults if d is not None)

    def blocks(self) -> tuple[list[Stmt], ...]:
        """Function body."""
        return (self.body,)


def walk_exprs(e: Expr) -> Iterator[Expr]:
    """``e`` and all its sub-expressions (depth bounded by MAX_NESTING)."""
    yield e
    for c in e.children():
        yield from walk_exprs(c)


def walk_stmts(block: list[Stmt]) -> Iterator[Stmt]:
    """Every statement of a block, nested blocks included."""
    stack = [iter(block)]
    while stack:
        for s in stack[-1]:
            yield s
            stack.append(iter([x for b in s.blocks() for x in b]))
            break
        else:
            stack.pop()
