"""Every exception class in weldcell is in, or listed by, weldcell/errors.py with its parent."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import weldcell
import weldcell.errors as errors
from weldcell.errors import InvalidValueError, UnknownModelError, UnknownNameError, WeldcellError


def _exception_classes() -> dict[tuple[str, str], type[BaseException]]:
    found: dict[tuple[str, str], type[BaseException]] = {}
    for info in pkgutil.walk_packages(weldcell.__path__, "weldcell."):
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == info.name:
                found[(info.name, name)] = obj
    return found


def test_every_exception_class_is_in_or_listed_by_errors_py() -> None:
    listed = {(m, c): parent for m, c, parent in errors.DEFINED_ELSEWHERE}
    internal = set(errors.INTERNAL_SIGNALS)
    problems = []
    for (module, name), cls in _exception_classes().items():
        if module == "weldcell.errors":
            assert issubclass(cls, WeldcellError), name
            continue
        if (module, name) in internal:
            assert not issubclass(cls, WeldcellError), f"{module}.{name} is a WeldcellError, not a signal"
            continue
        parent = listed.get((module, name))
        if parent is None:
            problems.append(f"{module}.{name} is neither in errors.py nor in errors.DEFINED_ELSEWHERE")
        elif cls.__bases__[0] is not getattr(errors, parent):
            problems.append(f"{module}.{name}: parent {cls.__bases__[0].__name__}, errors.py lists {parent}")
        elif name not in (errors.__doc__ or ""):
            problems.append(f"{module}.{name} is missing from the tree in errors.py's docstring")
    assert not problems, "\n".join(problems)
    for module, name in [*internal, *listed]:  # the lists name nothing that is gone
        assert hasattr(importlib.import_module(module), name), f"{module}.{name} listed but not defined"


def test_user_input_errors_are_weldcell_errors() -> None:
    from weldcell.kinematics.safety import default_limits, limits_from_mapping, ur_default

    base = default_limits("ur5e")
    with pytest.raises(InvalidValueError, match=r"cell\.yaml: field 'power_w': expected a positive number"):
        limits_from_mapping({"power_w": -3}, base, "cell.yaml")
    with pytest.raises(InvalidValueError, match="unknown field 'speed'"):
        limits_from_mapping({"speed": 1}, base, "cell.yaml")
    with pytest.raises(UnknownModelError, match="ur7e"):
        ur_default("ur7e")
    with pytest.raises(InvalidValueError, match="fraction"):
        base.scaled(0.0)
    assert issubclass(UnknownNameError, KeyError) and issubclass(InvalidValueError, ValueError)
