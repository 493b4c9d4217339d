"""Where the shipped data lives: robot, torch and scene models and the example weld programs.

In a checkout (and an editable install) the data is read from the top-level folders ``urdf/``,
``programs/`` and ``sim/scenes/``. A built wheel carries copies of them inside the package, under
``weldcell/_data/`` (``setup.py`` copies them at build time), read through
:mod:`importlib.resources` so that every command works from any directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: Data folders: name → path relative to the checkout root (and under ``weldcell/_data`` when built).
DATA_FOLDERS = {"urdf": "urdf", "programs": "programs", "scenes": "sim/scenes"}


def data_dir(name: str) -> Path:
    """The folder of shipped data called ``name`` (``"urdf"``, ``"programs"`` or ``"scenes"``).

    Raises:
        KeyError: ``name`` is not one of :data:`DATA_FOLDERS`.
        FileNotFoundError: neither the installed copy nor the checkout folder exists (a broken install).
    """
    rel = DATA_FOLDERS[name]
    installed = Path(str(resources.files("weldcell").joinpath("_data", name)))
    if installed.is_dir():
        return installed
    checkout = Path(__file__).resolve().parents[1] / rel
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"weldcell's {name} data is missing: looked in {installed} and {checkout}; reinstall weldcell"
    )


def cache_dir() -> Path:
    """weldcell's per-user cache folder (not created here): ``$WELDCELL_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/weldcell``, else ``~/.cache/weldcell``. Only derived data lives there (it can be
    deleted at any time; every entry is recomputed when missing)."""
    import os

    explicit = os.environ.get("WELDCELL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "weldcell"
