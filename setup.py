"""Build hook: copy the shipped data (urdf/, programs/, sim/scenes/) into the package.

The models and example programs live in top-level folders of the checkout (the project layout);
a wheel must carry them inside the package so that an installed weldcell works from any
directory. Editable installs read the checkout folders directly (see weldcell/resources.py).
Everything else is configured in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA = {"urdf": "urdf", "programs": "programs", "scenes": "sim/scenes"}


class BuildPyWithData(build_py):
    """build_py that also copies the data folders to ``weldcell/_data/`` in the build tree."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name, rel in DATA.items():
            src = ROOT / rel
            dst = Path(self.build_lib) / "weldcell" / "_data" / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*_validation", "__pycache__"))


setup(cmdclass={"build_py": BuildPyWithData})
