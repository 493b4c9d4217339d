"""From YAML nodes and pydantic errors to one clear :class:`ProgramFormatError`.

The YAML is composed with position marks, so every field path (``seams[2].geometry.line.start_mm``)
can be mapped back to the line it was written on. Of several schema errors, the one that appears
first in the file is reported.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from weldcell.errors import ProgramFormatError

Loc = Sequence[str | int]


def key_text(key: object, limit: int = 60) -> str:
    """A mapping key as a message shows it: on one line (control characters escaped, as ``\\n``)
    and at most ``limit`` characters (a key is user input: a fuzzer's newline or a 5 kB key
    must not break or flood the one-line error)."""
    text = str(key)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_path(loc: Loc) -> str:
    """``("seams", 2, "geometry")`` → ``"seams[2].geometry"``."""
    out = ""
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + key_text(step)
    return out


def node_line(root: yaml.Node | None, loc: Loc) -> int | None:
    """1-based line of the field at ``loc`` (or of its deepest existing ancestor).

    For a mapping entry the line of its *key* is used (``geometry:`` rather than the first line of
    the nested block); for a sequence item, the line the item starts on.
    """
    node = root
    if node is None:
        return None
    line = node.start_mark.line + 1
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(step):
                    found = (k, v)
                    break
            if found is None:
                return line
            node = found[1]
            line = found[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def find_duplicate_key(root: yaml.Node | None) -> tuple[list[str | int], int] | None:
    """First duplicated mapping key (path, line) in the document, or None."""
    stack: list[tuple[yaml.Node, list[str | int]]] = [(root, [])] if root is not None else []
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in node.value:
                name = str(k.value)
                if name in seen:
                    return [*path, name], k.start_mark.line + 1
                seen.add(name)
                stack.append((v, [*path, name]))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                stack.append((v, [*path, i]))
    return None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0]
        else:
            return tp


def model_at(root_model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at ``loc`` (None if not a model)."""
    tp: Any = root_model
    for step in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(step, str):
            field = tp.model_fields.get(step)
            if field is None:
                return None
            tp = field.annotation
        elif origin is list and isinstance(step, int):
            tp = typing.get_args(tp)[0]
        elif origin is dict and isinstance(step, str):
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    return None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` (empty when none is close)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close and len(word) >= 3:
        close = [c for c in choices if c.startswith(word) or word.startswith(c)][:1]
    return f"; did you mean '{close[0]}'?" if close else ""


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if value is None:
        return "nothing (null)"
    return repr(value)


def _message(err: dict[str, Any], root_model: type[BaseModel]) -> str:
    kind = err["type"]
    loc = tuple(err["loc"])
    value = err.get("input")
    ctx = err.get("ctx") or {}
    name = key_text(loc[-1]) if loc else "document"
    if kind == "missing":
        return f"required field '{name}' is missing"
    if kind == "extra_forbidden":
        model = model_at(root_model, loc[:-1])
        allowed = sorted(model.model_fields) if model is not None else []
        hint = did_you_mean(name, allowed)
        listing = f" (allowed here: {', '.join(allowed)})" if allowed and not hint else ""
        return f"unknown key '{name}'{hint}{listing}"
    if kind == "finite_number":
        return f"expected a finite number, got {_describe(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {_describe(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, got {_describe(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_describe(value)}"
    if kind in ("string_type",):
        return f"expected text, got {_describe(value)}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {_describe(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of keys to values, got {_describe(value)}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        hint = did_you_mean(str(value), options) if isinstance(value, str) else ""
        return f"expected one of {expected}, got {_describe(value)}{hint}"
    if kind in ("too_short", "too_long"):
        n = len(value) if isinstance(value, list) else "?"
        if name == "points_mm":
            return f"expected at least {ctx.get('min_length')} points [x, y, z], got {n}"
        if name == "normals":
            return f"expected two normals [[surface 1], [surface 2]], got {n}"
        if name == "passes":
            return "expected at least one pass (omit 'passes' for a single pass)"
        if name.endswith("_mm") or name in ("axis", "face_normal") or isinstance(loc[-1], int):
            return f"expected 3 numbers [x, y, z], got {n}"
        return str(err["msg"])
    if kind == "greater_than":
        return f"expected a value > {ctx.get('gt')}, got {_describe(value)}"
    if kind == "greater_than_equal":
        return f"expected a value ≥ {ctx.get('ge')}, got {_describe(value)}"
    if kind == "less_than_equal":
        return f"expected a value ≤ {ctx.get('le')}, got {_describe(value)}"
    return str(err["msg"])


def schema_error(
    exc: PydanticValidationError, root: yaml.Node | None, file: str, root_model: type[BaseModel]
) -> ProgramFormatError:
    """The first (in file order) of the pydantic errors, as one :class:`ProgramFormatError`."""
    errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
    # a missing field next to an unknown key is usually the same typo: report the unknown key
    typo_parents = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
    errors = [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"][:-1]) in typo_parents)]
    best: tuple[int, int, dict[str, Any]] | None = None
    for order, err in enumerate(errors):
        loc: tuple[str | int, ...] = tuple(err["loc"])
        line = node_line(root, loc) or 0
        if best is None or (line, order) < (best[0], best[1]):
            best = (line, order, dict(err))
    if best is None:  # pragma: no cover - pydantic always reports at least one error
        return ProgramFormatError("invalid program", file=file)
    line, _, err = best
    return ProgramFormatError(
        _message(err, root_model), file=file, line=line or None, field=format_path(tuple(err["loc"]))
    )
