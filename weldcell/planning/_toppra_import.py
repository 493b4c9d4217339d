"""Import toppra without importing matplotlib.

toppra imports ``matplotlib.pyplot`` at the top of ``toppra.algorithm.algorithm`` although only its
plotting helpers use it: 0.5-1 s and about 40 MB per planning process (issue #14), paid by every
``weldcell plan`` that times a transit. While toppra is imported, ``matplotlib`` and
``matplotlib.pyplot`` are stand-in modules in ``sys.modules``; toppra's module keeps its ``plt``
name bound to a stand-in that imports the real ``matplotlib.pyplot`` on its first attribute access
(a toppra plot), and the stand-ins leave ``sys.modules`` straight after, so every other import of
matplotlib gets the real package. The standard library's ``importlib.util.LazyLoader`` cannot do
this: finding the spec of ``matplotlib.pyplot`` imports the ``matplotlib`` package itself, which is
half of the cost.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from typing import Any

_LOCK = threading.Lock()


class _Deferred(types.ModuleType):
    """A module that imports the real one (``self.__name__``) on first attribute access."""

    def __init__(self, name: str, children: dict[str, types.ModuleType] | None = None) -> None:
        super().__init__(name)
        self._children = children or {}

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_") and attr != "__all__":
            raise AttributeError(attr)
        if attr in self._children:
            return self._children[attr]
        return getattr(importlib.import_module(self.__name__), attr)


def import_toppra() -> tuple[types.ModuleType, types.ModuleType, types.ModuleType]:
    """``(toppra, toppra.algorithm, toppra.constraint)``, imported without matplotlib."""
    with _LOCK:
        if "toppra.algorithm" not in sys.modules:
            placed: list[str] = []
            if "matplotlib.pyplot" not in sys.modules:
                pyplot = _Deferred("matplotlib.pyplot")
                sys.modules["matplotlib.pyplot"] = pyplot
                placed.append("matplotlib.pyplot")
                if "matplotlib" not in sys.modules:
                    sys.modules["matplotlib"] = _Deferred("matplotlib", {"pyplot": pyplot})
                    placed.append("matplotlib")
            try:
                importlib.import_module("toppra.algorithm")
            finally:
                for name in placed:
                    if isinstance(sys.modules.get(name), _Deferred):
                        del sys.modules[name]
    return (
        importlib.import_module("toppra"),
        importlib.import_module("toppra.algorithm"),
        importlib.import_module("toppra.constraint"),
    )
