"""Safe YAML reading for every file weldcell takes from users (programs, cell configs, scenes, ...).

``yaml.safe_load`` refuses code execution but not three other outside inputs, which this module
turns into ordinary :class:`yaml.YAMLError` s (so every reader's existing YAML error handling names
the file and line):

* an alias bomb: a chain of aliases of aliases ("billion laughs") expands to billions of values
  from a few lines and hangs whatever walks the data (:data:`MAX_YAML_VALUES`);
* an alias cycle (``a: &a [*a]``): a self-containing structure, which recursion never leaves;
* a scalar Python cannot convert (an integer of more than 4300 digits, a date like 2026-13-45,
  an empty ``!!float``), which raised ``ValueError`` / ``IndexError`` with a traceback.

It also reads YAML 1.2 floats (``1e-3``, ``2E5``, ``1.5e1``): PyYAML follows YAML 1.1, where a
float needs a dot and a signed exponent, so ``scale: 1e-3`` was the text '1e-3' and refused as
"not a number", although every YAML 1.2 and JSON writer produces it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

#: Largest number of values a YAML document may expand to through aliases (``*name``). A real weld
#: program has a few thousand.
MAX_YAML_VALUES = 1_000_000

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster


class SafeYamlLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """``yaml.SafeLoader`` (libyaml when present) that also reads YAML 1.2 floats."""


SafeYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


class YamlLimitError(yaml.MarkedYAMLError):
    """An alias bomb or an alias cycle; ``problem`` says which, ``problem_mark`` where."""


class YamlValueError(yaml.YAMLError):
    """A scalar that cannot be converted (``problem`` says why)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = None


def check_expansion(root: yaml.Node) -> int:
    """Number of values ``root`` expands to, counting every alias use.

    Iterative (the nesting may be as deep as the parser allows) and memoised per node, so it costs
    one visit per distinct node however often aliases repeat it.

    Raises:
        YamlLimitError: an alias inside the value it refers to, or more than :data:`MAX_YAML_VALUES`.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            size[key] = 1
            continue
        children: list[yaml.Node] = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if children_done:
            on_path.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in children), MAX_YAML_VALUES + 1)
            if size[key] > MAX_YAML_VALUES:
                raise YamlLimitError(
                    problem=f"the YAML aliases expand to more than {MAX_YAML_VALUES} values (write them "
                    "out, or nest fewer aliases)",
                    problem_mark=node.start_mark,
                )
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise YamlLimitError(
                    problem="a YAML alias refers to a value that contains it (a cycle)",
                    problem_mark=child.start_mark,
                )
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)]


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (with line marks) and the data of one YAML document; (None, None) when empty.

    Raises:
        yaml.YAMLError: a syntax error, several documents, :class:`YamlLimitError` or
            :class:`YamlValueError`.
    """
    loader = SafeYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        check_expansion(node)
        try:
            return node, loader.construct_document(node)
        except yaml.YAMLError:
            raise
        except Exception as err:  # PyYAML's constructors raise plain Python errors on odd scalars:
            # an int of > 4300 digits (sys.int_info), a date like 2026-13-45, an empty '!!float'
            what = str(err).split(";")[0] or type(err).__name__
            raise YamlValueError(f"a YAML value cannot be read ({what})") from None
    finally:
        loader.dispose()


def safe_load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with the protections of this module (see the module docstring).

    Raises:
        yaml.YAMLError: as :func:`compose_and_load`.
    """
    return compose_and_load(text)[1]
