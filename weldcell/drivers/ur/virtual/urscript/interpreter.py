"""The URScript evaluator: walks the syntax tree of a :class:`Program`, one controller cycle per ``next()``.

Execution is cooperative. Built-ins named in ``Program.timed_builtins`` (motion, ``sleep``,
``sync``) are generator functions that yield once per controller cycle; a user function that
calls one (directly or through other functions) is *timed* too, which the program works out
when it is compiled, so expressions without timed calls are evaluated by plain recursion.
Everything else runs inside the cycle, within the budgets of :mod:`.values` (loop iterations and
CPU time per cycle without garbage-collector pauses, call depth, list sizes, string lengths).
Every failure, including any Python exception raised inside a host built-in, leaves
:meth:`Interpreter.run` as a :class:`URScriptError` naming the line; only the exception types the
host passes as ``passthrough`` (the virtual controller's protective stop) go through unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator
from typing import Any

from weldcell.drivers.ur.virtual.urscript import values as sv
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
from weldcell.drivers.ur.virtual.urscript.program import Program
from weldcell.drivers.ur.virtual.urscript.programclock import install as _install_gc_clock
from weldcell.drivers.ur.virtual.urscript.programclock import program_cpu_time
from weldcell.drivers.ur.virtual.urscript.values import Pose, URScriptError

Gen = Generator[None, None, Any]
#: A built-in: a plain callable, or (names in ``timed_builtins``) a generator function.
Builtin = Callable[..., Any]


class _Break(Exception):  # noqa: N818 - control-flow signal, not an error
    pass


class _Continue(Exception):  # noqa: N818 - control-flow signal
    pass


class _Return(Exception):  # noqa: N818 - control-flow signal
    def __init__(self, value: Any) -> None:
        self.value = value


class Halt(Exception):  # noqa: N818 - control-flow signal
    """Raised by ``halt``: the program ends normally."""


class _Frame:
    """Local variables of one user function call."""

    __slots__ = ("gdecl", "sizes", "vars")

    def __init__(self) -> None:
        self.vars: dict[str, Any] = {}
        self.sizes: dict[str, int] = {}
        self.gdecl: set[str] = set()


_ARITH = frozenset("+-*/%")
_COMPARE = frozenset(("==", "!=", "<", ">", "<=", ">="))


class Interpreter:
    """Runs a :class:`Program` against host built-ins, one controller cycle per ``next()`` of :meth:`run`.

    Args:
        program: The compiled program.
        builtins: Name -> callable; the names in ``program.timed_builtins`` are generator functions.
        motion: Names of the built-ins that take controller cycles; None: the program's
            ``timed_builtins``. A different set re-annotates the program (a walk over the whole
            tree: pass the set to :class:`Program` instead when a host compiles outside its locks).
        passthrough: Exception types raised by built-ins that leave :meth:`run` unchanged.
        preemptible: Straight-line code that has used ``SLICE_PER_CYCLE`` of CPU in a cycle
            continues in the next cycle (at a statement boundary where the program may wait);
            False for programs that must finish at once (``sec``), which only have the hard limit.
    """

    def __init__(
        self,
        program: Program,
        builtins: dict[str, Builtin],
        motion: frozenset[str] | None = None,
        passthrough: tuple[type[BaseException], ...] = (),
        preemptible: bool = True,
    ) -> None:
        if motion is not None and motion != program.timed_builtins:
            program.annotate(motion)
        _install_gc_clock()  # the CPU budget excludes the garbage collector's pauses
        self.program = program
        self.builtins = builtins
        self.functions: dict[str, FuncDef] = program.functions
        self.timed = program.timed_builtins
        self.passthrough = passthrough
        self.globals: dict[str, Any] = {"pi": math.pi}
        self.gsizes: dict[str, int] = {"pi": 1}
        self.live = 1
        self.line = 0
        self.depth = 0
        self._iters = 0
        self._stmts = 0
        self._cpu0 = program_cpu_time()
        self._preemptible = preemptible
        self._no_wait = 0  # > 0 inside a call that must finish within the cycle
        self._in_loop = 0  # > 0 inside a loop body (loops are bounded by the iteration budget)

    # --- cycle budget -------------------------------------------------------------------------
    def new_cycle(self) -> None:
        """Reset the per-cycle budgets (the host calls this before each ``next()``)."""
        self._iters = 0
        self._stmts = 0
        self._cpu0 = program_cpu_time()

    def _tick(self) -> None:
        self._iters += 1
        if self._iters > sv.MAX_ITERATIONS_PER_CYCLE:
            raise URScriptError(
                f"line {self.line}: Runtime is too much behind: more than {sv.MAX_ITERATIONS_PER_CYCLE} loop "
                "iterations or calls in one controller cycle without a motion, sync() or sleep() "
                "(infinite loop without sync?)"
            )
        self._check_cpu()

    def _check_cpu(self) -> None:
        used = program_cpu_time() - self._cpu0
        if used > sv.MAX_CPU_PER_CYCLE:
            raise URScriptError(
                f"line {self.line}: Runtime is too much behind: the program used {used * 1e3:.0f} ms of CPU "
                f"in one controller cycle (at most {sv.MAX_CPU_PER_CYCLE * 1e3:.0f} ms)"
            )

    # --- entry --------------------------------------------------------------------------------
    def run(self) -> Iterator[None]:
        """The program as a generator: one ``next()`` per controller cycle; StopIteration at the end.

        Raises:
            URScriptError: any runtime error, naming the line.
        """
        try:
            yield from self._exec_block(self.program.main, None)
        except (Halt, _Return):
            return
        except (_Break, _Continue):
            raise URScriptError(f"line {self.line}: break/continue outside a loop") from None
        except URScriptError as err:
            text = str(err)
            raise URScriptError(text if text.startswith("line ") else f"line {self.line}: {text}") from None
        except RecursionError:
            raise URScriptError(f"line {self.line}: recursion too deep") from None
        except Exception as err:
            if self.passthrough and isinstance(err, self.passthrough):
                raise
            raise URScriptError(f"line {self.line}: {type(err).__name__}: {str(err)[:200]}") from None

    # --- statements ---------------------------------------------------------------------------
    def _exec_block(self, block: list[Stmt], frame: _Frame | None) -> Gen:
        for s in block:
            self.line = s.line
            self._stmts += 1
            if self._stmts % 32 == 0:
                if (
                    self._preemptible
                    and not self._no_wait
                    and not self._in_loop
                    and program_cpu_time() - self._cpu0 > sv.SLICE_PER_CYCLE
                ):
                    yield  # a long straight-line stretch continues in the next cycle
                    self.line = s.line
                self._check_cpu()
            t = type(s)
            if t is Assign:
                a: Assign = s  # type: ignore[assignment]
                if a.value is None:
                    self._declare(a, frame)
                    continue
                v = (yield from self._gev(a.value, frame)) if a.value.timed else self._ev(a.value, frame)
                if a.indices:
                    self._store_index(a, v, frame)
                else:
                    self._store(a.name, v, frame, a.scope)
            elif t is ExprStmt:
                e = s.expr  # type: ignore[attr-defined]
                if e.timed:
                    yield from self._gev(e, frame)
                else:
                    self._ev(e, frame)
            elif t is If:
                for cond, body in s.branches:  # type: ignore[attr-defined]
                    c = (yield from self._gev(cond, frame)) if cond.timed else self._ev(cond, frame)
                    if sv.truth(c, "if condition"):
                        yield from self._exec_block(body, frame)
                        break
                else:
                    if s.orelse:  # type: ignore[attr-defined]
                        yield from self._exec_block(s.orelse, frame)  # type: ignore[attr-defined]
            elif t is While:
                w: While = s  # type: ignore[assignment]
                while True:
                    self.line = w.line
                    self._tick()
                    c = (yield from self._gev(w.cond, frame)) if w.cond.timed else self._ev(w.cond, frame)
                    if not sv.truth(c, "while condition"):
                        break
                    self._in_loop += 1
                    try:
                        yield from self._exec_block(w.body, frame)
                    except _Break:
                        break
                    except _Continue:
                        continue
                    finally:
                        self._in_loop -= 1
            elif t is For:
                yield from self._exec_for(s, frame)  # type: ignore[arg-type]
            elif t is Return:
                r = s.value  # type: ignore[attr-defined]
                value = (
                    None
                    if r is None
                    else ((yield from self._gev(r, frame)) if r.timed else self._ev(r, frame))
                )
                raise _Return(value)
            elif t is Jump:
                kind = s.kind  # type: ignore[attr-defined]
                raise _Break if kind == "break" else (_Continue if kind == "continue" else Halt)
            # FuncDef: functions are hoisted when the program is compiled

    def _exec_for(self, s: For, frame: _Frame | None) -> Gen:
        if s.rng is not None:
            bounds = []
            for e in s.rng:
                v = (yield from self._gev(e, frame)) if e.timed else self._ev(e, frame)
                if not isinstance(v, int) or isinstance(v, bool):
                    raise URScriptError(f"line {s.line}: range() needs int arguments, got {sv.type_name(v)}")
                bounds.append(v)
            if len(bounds) == 3 and bounds[2] == 0:
                raise URScriptError(f"line {s.line}: range() step must not be zero")
            seq: Any = range(*bounds)
        else:
            v = (yield from self._gev(s.iterable, frame)) if s.iterable.timed else self._ev(s.iterable, frame)
            if not isinstance(v, list):
                raise URScriptError(f"line {s.line}: 'for' needs range(...) or a list, got {sv.type_name(v)}")
            seq = sv.copy_sized(v)[0]
        for item in seq:
            self.line = s.line
            self._tick()
            self._store(s.var, item, frame, "")
            self._in_loop += 1
            try:
                yield from self._exec_block(s.body, frame)
            except _Break:
                break
            except _Continue:
                continue
            finally:
                self._in_loop -= 1

    # --- variables ----------------------------------------------------------------------------
    def _lookup(self, name: str, frame: _Frame | None) -> Any:
        if frame is not None and name in frame.vars and name not in frame.gdecl:
            return frame.vars[name]
        try:
            return self.globals[name]
        except KeyError:
            raise URScriptError(f"variable '{name}' is not defined") from None

    def _space(self, name: str, frame: _Frame | None, scope: str) -> tuple[dict[str, Any], dict[str, int]]:
        """Where an assignment to ``name`` goes (UR's rule: locals, then existing globals, else local)."""
        if frame is None or scope == "global" or name in frame.gdecl:
            if frame is not None and scope == "global":
                frame.gdecl.add(name)
            return self.globals, self.gsizes
        if scope == "local" or name in frame.vars or name not in self.globals:
            return frame.vars, frame.sizes
        return self.globals, self.gsizes

    def _account(self, sizes: dict[str, int], name: str, delta: int) -> None:
        sizes[name] = sizes.get(name, 0) + delta
        self.live += delta
        if sizes[name] > sv.MAX_LIST_ELEMENTS:
            raise URScriptError(
                f"list '{name}' would hold {sizes[name]} elements (at most {sv.MAX_LIST_ELEMENTS})"
            )
        if self.live > sv.MAX_LIVE_ELEMENTS:
            raise URScriptError(
                f"the program's variables would hold {self.live} elements (at most {sv.MAX_LIVE_ELEMENTS})"
            )

    def _store(self, name: str, value: Any, frame: _Frame | None, scope: str) -> None:
        if value is None:
            raise URScriptError(f"cannot assign the result of a function that returns nothing to '{name}'")
        ns, sizes = self._space(name, frame, scope)
        new, n = sv.copy_sized(value)
        self._account(sizes, name, n - sizes.get(name, 0))
        ns[name] = new

    def _declare(self, a: Assign, frame: _Frame | None) -> None:
        if a.scope == "global" and frame is not None:
            frame.gdecl.add(a.name)
        elif a.scope == "local":
            raise URScriptError(f"'local {a.name}' needs a value ('local {a.name} = ...')")

    def _store_index(self, a: Assign, value: Any, frame: _Frame | None) -> None:
        if frame is not None and a.name in frame.vars and a.name not in frame.gdecl:
            ns, sizes = frame.vars, frame.sizes
        elif a.name in self.globals:
            ns, sizes = self.globals, self.gsizes
        else:
            raise URScriptError(f"variable '{a.name}' is not defined")
        container = ns[a.name]
        idx = [self._ev(e, frame) for e in a.indices]
        for i in idx[:-1]:
            container = self._element(container, i)
        if not isinstance(container, list):
            raise URScriptError(f"'{a.name}' is a {sv.type_name(container)}, not a list")
        k = self._check_index(container, idx[-1])
        if isinstance(container, Pose) and not (
            isinstance(value, (int, float)) and not isinstance(value, bool)
        ):
            raise URScriptError(f"a pose element must be a number, got {sv.type_name(value)}")
        new, n = sv.copy_sized(float(value) if isinstance(container, Pose) else value)
        if new is None:
            raise URScriptError("cannot store the result of a function that returns nothing")
        self._account(sizes, a.name, n - sv.size_of(container[k]))
        container[k] = new

    @staticmethod
    def _check_index(container: list[Any], i: Any) -> int:
        if not isinstance(i, int) or isinstance(i, bool):
            raise URScriptError(f"list index must be an int, got {sv.type_name(i)} {sv.describe(i)}")
        if not 0 <= i < len(container):
            raise URScriptError(f"index {i} out of range for a list of {len(container)} elements")
        return i

    def _element(self, container: Any, i: Any) -> Any:
        if not isinstance(container, list):
            raise URScriptError(f"cannot index a {sv.type_name(container)}")
        return container[self._check_index(container, i)]

    # --- expressions --------------------------------------------------------------------------
    def _ev(self, e: Expr, frame: _Frame | None) -> Any:
        """Value of an expression without timed calls (plain recursion, depth <= MAX_NESTING)."""
        t = type(e)
        if t is Const:
            return e.value  # type: ignore[attr-defined]
        if t is Name:
            return self._lookup(e.name, frame)  # type: ignore[attr-defined]
        if t is BinOp:
            op = e.op  # type: ignore[attr-defined]
            left = self._ev(e.left, frame)  # type: ignore[attr-defined]
            if op in ("and", "or"):
                lv = sv.truth(left, f"'{op}'")
                if (op == "and" and not lv) or (op == "or" and lv):
                    return lv
                return sv.truth(self._ev(e.right, frame), f"'{op}'")  # type: ignore[attr-defined]
            return self._binop(op, left, self._ev(e.right, frame))  # type: ignore[attr-defined]
        if t is Index:
            return self._element(self._ev(e.obj, frame), self._ev(e.index, frame))  # type: ignore[attr-defined]
        if t is Call:
            c: Call = e  # type: ignore[assignment]
            args = [self._ev(x, frame) for x in c.args]
            kwargs = {k: self._ev(x, frame) for k, x in c.kwargs}
            return self._call_now(c, args, kwargs)
        if t is Unary:
            return self._unary(e.op, self._ev(e.operand, frame))  # type: ignore[attr-defined]
        if t is ListLit or t is PoseLit:
            return self._make_list(e, [self._ev(x, frame) for x in e.items])  # type: ignore[attr-defined]
        raise URScriptError(f"cannot evaluate {type(e).__name__}")  # pragma: no cover - all nodes handled

    def _gev(self, e: Expr, frame: _Frame | None) -> Gen:
        """Value of an expression that may take controller cycles (timed calls inside)."""
        if not e.timed:
            return self._ev(e, frame)
        t = type(e)
        if t is Call:
            c: Call = e  # type: ignore[assignment]
            args = []
            for x in c.args:
                args.append((yield from self._gev(x, frame)) if x.timed else self._ev(x, frame))
            kwargs = {}
            for k, x in c.kwargs:
                kwargs[k] = (yield from self._gev(x, frame)) if x.timed else self._ev(x, frame)
            return (yield from self._call_timed(c, args, kwargs))
        if t is BinOp:
            op = e.op  # type: ignore[attr-defined]
            left = yield from self._gev(e.left, frame)  # type: ignore[attr-defined]
            if op in ("and", "or"):
                lv = sv.truth(left, f"'{op}'")
                if (op == "and" and not lv) or (op == "or" and lv):
                    return lv
                return sv.truth((yield from self._gev(e.right, frame)), f"'{op}'")  # type: ignore[attr-defined]
            return self._binop(op, left, (yield from self._gev(e.right, frame)))  # type: ignore[attr-defined]
        if t is Unary:
            return self._unary(e.op, (yield from self._gev(e.operand, frame)))  # type: ignore[attr-defined]
        if t is Index:
            obj = yield from self._gev(e.obj, frame)  # type: ignore[attr-defined]
            return self._element(obj, (yield from self._gev(e.index, frame)))  # type: ignore[attr-defined]
        items = []
        for x in e.items:  # type: ignore[attr-defined]
            items.append((yield from self._gev(x, frame)))
        return self._make_list(e, items)

    @staticmethod
    def _binop(op: str, a: Any, b: Any) -> Any:
        if op in _ARITH:
            return sv.arith(op, a, b)
        if op in _COMPARE:
            return sv.compare(op, a, b)
        return sv.truth(a, "'xor'") != sv.truth(b, "'xor'")  # xor

    @staticmethod
    def _unary(op: str, v: Any) -> Any:
        if op == "not":
            return not sv.truth(v, "'not'")
        if op == "-":
            return sv.negate(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise URScriptError(f"unary '+' is not defined for {sv.type_name(v)}")
        return v

    @staticmethod
    def _make_list(e: Expr, items: list[Any]) -> list[Any]:
        if type(e) is PoseLit:
            if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in items):
                raise URScriptError("a pose p[...] needs 6 numbers")
            return Pose(float(x) for x in items)
        if any(x is None for x in items):
            raise URScriptError("a list element is the result of a function that returns nothing")
        copied: list[Any] = sv.copy_sized(items)[0]
        return copied

    # --- calls --------------------------------------------------------------------------------
    def _call_now(self, c: Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A call that must finish within this cycle (no timed callee)."""
        f = self.functions.get(c.name)
        if f is not None:
            gen = self._call_user(f, args, kwargs)
            self._no_wait += 1
            try:
                next(gen)
            except StopIteration as done:
                return done.value
            finally:
                self._no_wait -= 1
            gen.close()
            raise URScriptError(f"{c.name}() waits for the robot where the program cannot wait")
        if c.name in self.timed:
            raise URScriptError(f"{c.name}() takes time and cannot be used here")
        return self._call_builtin(c, args, kwargs)

    def _call_timed(self, c: Call, args: list[Any], kwargs: dict[str, Any]) -> Gen:
        f = self.functions.get(c.name)
        if f is not None:
            return (yield from self._call_user(f, args, kwargs))
        if c.name not in self.timed:  # a plain built-in whose arguments took time
            return self._call_builtin(c, args, kwargs)
        fn = self.builtins.get(c.name)
        if fn is None:
            raise URScriptError(f"unknown function {c.name}()")
        self._tick()
        result = yield from self._guard(c.name, lambda: fn(*args, **kwargs))
        return sv.to_value(result, f"{c.name}()")

    def _guard(self, name: str, make: Callable[[], Gen]) -> Gen:
        """Run a timed built-in; its Python exceptions become runtime errors of the program."""
        try:
            return (yield from make())
        except URScriptError:
            raise
        except Exception as err:
            if self.passthrough and isinstance(err, self.passthrough):
                raise
            raise URScriptError(
                f"line {self.line}: {name}(): {type(err).__name__}: {str(err)[:200]}"
            ) from None

    def _call_builtin(self, c: Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        fn = self.builtins.get(c.name)
        if fn is None:
            raise URScriptError(f"unknown function {c.name}(); not a built-in or a function of the program")
        self._tick()
        try:
            result = fn(*args, **kwargs)
        except URScriptError:
            raise
        except Exception as err:
            if self.passthrough and isinstance(err, self.passthrough):
                raise
            raise URScriptError(
                f"line {self.line}: {c.name}(): {type(err).__name__}: {str(err)[:200]}"
            ) from None
        return sv.to_value(result, f"{c.name}()")

    def _call_user(self, f: FuncDef, args: list[Any], kwargs: dict[str, Any]) -> Gen:
        # The depth limit is counted in calls and judged before the cycle's budgets: runaway
        # recursion is always "recursion too deep", however fast the machine is.
        if self.depth >= sv.MAX_CALL_DEPTH:
            raise URScriptError(
                f"recursion too deep: more than {sv.MAX_CALL_DEPTH} nested function calls ({f.name})"
            )
        self._tick()
        if len(args) > len(f.params):
            raise URScriptError(f"{f.name}() takes {len(f.params)} arguments, got {len(args)}")
        unknown = [k for k in kwargs if k not in f.params[len(args) :]]
        if unknown:
            raise URScriptError(f"{f.name}() got an unexpected or repeated argument '{unknown[0]}'")
        frame = _Frame()
        caller_line = self.line
        self.depth += 1
        try:
            for i, p in enumerate(f.params):
                if i < len(args):
                    v = args[i]
                elif p in kwargs:
                    v = kwargs[p]
                elif f.defaults[i] is not None:
                    d = f.defaults[i]
                    if d.timed:  # type: ignore[union-attr]
                        raise URScriptError(f"{f.name}(): the default of '{p}' cannot wait for the robot")
                    v = self._ev(d, None)  # type: ignore[arg-type]
                else:
                    raise URScriptError(f"{f.name}() missing argument '{p}'")
                self._store(p, v, frame, "local")
            try:
                yield from self._exec_block(f.body, frame)
            except _Return as r:
                return r.value
            return None
        except (Halt, _Break, _Continue, _Return):
            raise
        except URScriptError as err:  # name the line in the callee before it is left
            text = str(err)
            if text.startswith("line "):
                raise
            raise URScriptError(f"line {self.line}: {text}") from None
        except RecursionError:
            raise URScriptError(f"line {self.line}: recursion too deep") from None
        finally:
            self.depth -= 1
            self.live -= sum(frame.sizes.values())
            self.line = caller_line
