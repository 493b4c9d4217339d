"""URScript values, the operators on them, and the resource limits of the virtual controller.

Values are Python ``bool``, ``int`` (32-bit signed, as on the controller), ``float`` (finite),
``str``, ``list`` (arrays, nested for tables) and :class:`Pose`. Lists have value semantics:
assignment and argument passing copy them, so ``q0 = q`` followed by ``q[0] = 1`` leaves ``q0``
unchanged. Every operator checks the types of its operands; nothing falls back to Python
behaviour (no ``+`` on lists or strings, no truthiness of numbers).
"""

from __future__ import annotations

import math
from itertools import repeat
from typing import Any

from weldcell.errors import DriverError

#: Largest program text accepted [characters] (a 30,000-line servoj table is about 3 MB).
MAX_SOURCE_CHARS = 8_000_000
#: Deepest nesting of expressions and blocks in the program text.
MAX_NESTING = 100
#: Most elements (counted through nested lists) in one list value.
MAX_LIST_ELEMENTS = 250_000
#: Most list elements held by all variables of a program together.
MAX_LIVE_ELEMENTS = 2_000_000
#: Longest string [characters].
MAX_STRING_CHARS = 4096
#: Deepest call stack of user functions.
MAX_CALL_DEPTH = 64
#: Loop iterations and function calls one controller cycle may run without a time-consuming
#: statement (motion, ``sync()``, ``sleep()``); more is UR's "infinite loop" runtime error.
MAX_ITERATIONS_PER_CYCLE = 5_000
#: CPU time [s] after which straight-line code continues in the next cycle (where it may wait).
SLICE_PER_CYCLE = 0.001
#: CPU time one controller cycle may spend in the program [s] before "Runtime is too much behind"
#: (garbage-collector pauses are not the program's and do not count: see ``programclock``).
MAX_CPU_PER_CYCLE = 0.05

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1


class URScriptError(DriverError):
    """A URScript program that cannot be compiled or failed at run time (the message names the line)."""


class Pose(list[float]):
    """A URScript pose ``p[x, y, z, rx, ry, rz]`` ([m], rotation vector [rad]) in the base frame."""

    def __repr__(self) -> str:
        return "p[" + ", ".join(f"{v:g}" for v in self) + "]"


def type_name(v: Any) -> str:
    """URScript name of a value's type (for messages)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, Pose):
        return "pose"
    if isinstance(v, list):
        return "list"
    if v is None:
        return "void"
    return type(v).__name__


def check_int(v: int) -> int:
    """An integer result, or a runtime error when it leaves the controller's 32-bit range."""
    if not INT_MIN <= v <= INT_MAX:
        raise URScriptError(f"integer overflow: {v} is outside {INT_MIN} … {INT_MAX}")
    return v


def check_float(v: float) -> float:
    """A float result, or a runtime error when it is not finite."""
    if not math.isfinite(v):
        raise URScriptError("floating point overflow: the result is not a finite number")
    return v


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def arith(op: str, a: Any, b: Any) -> Any:
    """``a op b`` for op in ``+ - * / %`` on numbers (int op int stays int except ``/``)."""
    if not (_is_num(a) and _is_num(b)):
        raise URScriptError(f"operator '{op}' is not defined for {type_name(a)} and {type_name(b)}")
    if op == "+":
        r = a + b
    elif op == "-":
        r = a - b
    elif op == "*":
        r = a * b
    elif op == "/":
        if b == 0:
            raise URScriptError("division by zero")
        return check_float(a / b)
    else:  # %
        if b == 0:
            raise URScriptError("modulo by zero")
        r = a % b
    return check_int(r) if isinstance(r, int) else check_float(r)


def negate(v: Any) -> Any:
    """Unary minus."""
    if not _is_num(v):
        raise URScriptError(f"unary '-' is not defined for {type_name(v)}")
    return check_int(-v) if isinstance(v, int) else -v


def compare(op: str, a: Any, b: Any) -> bool:
    """``== != < > <= >=``; ordering only between numbers, equality between values of one kind."""
    if op in ("==", "!="):
        if _is_num(a) and _is_num(b):
            eq = a == b
        elif type_name(a) == type_name(b) or (isinstance(a, list) and isinstance(b, list)):
            eq = _equal(a, b)
        else:
            raise URScriptError(f"cannot compare {type_name(a)} and {type_name(b)} with '{op}'")
        return eq if op == "==" else not eq
    if not (_is_num(a) and _is_num(b)):
        raise URScriptError(f"operator '{op}' is not defined for {type_name(a)} and {type_name(b)}")
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    if op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        return (
            isinstance(b, list) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    return bool(a == b)


def truth(v: Any, what: str) -> bool:
    """A boolean operand (conditions and ``and/or/xor/not`` need ``bool``)."""
    if not isinstance(v, bool):
        raise URScriptError(f"{what} needs a bool, got {type_name(v)} {describe(v)}")
    return v


def describe(v: Any) -> str:
    """Short text of a value for messages (at most 60 characters)."""
    text = repr(v) if not isinstance(v, str) else '"' + v + '"'
    return text if len(text) <= 60 else text[:57] + "..."


def copy_sized(v: Any, depth: int = 0) -> tuple[Any, int]:
    """A copy of ``v`` (lists are copied, scalars are immutable) and its element count (>= 1).

    Raises:
        URScriptError: more than MAX_LIST_ELEMENTS elements, or lists nested deeper than MAX_NESTING.
    """
    if not isinstance(v, list):
        return v, 1
    if depth >= MAX_NESTING:
        raise URScriptError(f"lists nested more than {MAX_NESTING} levels deep")
    out = Pose(v) if isinstance(v, Pose) else list(v)
    n = len(out)
    if n > MAX_LIST_ELEMENTS:
        raise URScriptError(f"list of more than {MAX_LIST_ELEMENTS} elements; the controller allows no more")
    if not any(map(isinstance, out, repeat(list))):  # flat (the usual case): no Python loop over it
        return out, n
    for i, x in enumerate(out):
        if isinstance(x, list):
            out[i], k = copy_sized(x, depth + 1)
            n += k
            if n > MAX_LIST_ELEMENTS:
                break
    if n > MAX_LIST_ELEMENTS:
        raise URScriptError(f"list of more than {MAX_LIST_ELEMENTS} elements; the controller allows no more")
    return out, n


def size_of(v: Any) -> int:
    """Element count of a value (1 for a scalar, nested lists counted through)."""
    if not isinstance(v, list):
        return 1
    return len(v) + sum(size_of(x) for x in v if isinstance(x, list))


def to_value(v: Any, what: str) -> Any:
    """A host (built-in function) result as a URScript value; numpy scalars/arrays and tuples converted.

    Raises:
        URScriptError: a result that is not a URScript value, not finite, or too large.
    """
    if v is None or isinstance(v, (bool, str)):
        if isinstance(v, str) and len(v) > MAX_STRING_CHARS:
            raise URScriptError(
                f"{what} returned a string of {len(v)} characters (at most {MAX_STRING_CHARS})"
            )
        return v
    if isinstance(v, int):
        return check_int(int(v))
    if isinstance(v, float):
        return check_float(float(v))
    kind = type(v).__module__ + "." + type(v).__name__
    if kind.startswith("numpy."):
        if hasattr(v, "ndim") and v.ndim > 0:
            return to_value(v.tolist(), what)
        return to_value(v.item(), what)
    if isinstance(v, (list, tuple)):
        if len(v) > MAX_LIST_ELEMENTS:
            raise URScriptError(f"{what} returned a list of {len(v)} elements (at most {MAX_LIST_ELEMENTS})")
        items = [to_value(x, what) for x in v]
        return Pose(items) if isinstance(v, Pose) else items
    raise URScriptError(f"{what} returned a {type(v).__name__}, which is not a URScript value")
