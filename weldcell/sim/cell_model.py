"""The cell as the simulator sees it: robot and torch URDF files, placements and the cell bodies.

Cell bodies are the program's one body model, :class:`weldcell.program.model.Body` (``CellBody`` is
a constructor spelling of it with the pose fourth).

:class:`CellModel` is a frozen description, independent of pybullet. It is built from a weld program
(``CellModel.from_program``) or directly (tests, reusable scenes in the top-level ``sim/`` folder).
Its :meth:`CellModel.content_hash` covers the URDF files and every body, so a validation stamp can be
bound to the cell the trajectory was checked in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import ModelError
from weldcell.program.model import ROLES, Body
from weldcell.program.shapes import SHAPES as SHAPE_REGISTRY
from weldcell.spatial import check_transforms

if TYPE_CHECKING:
    from weldcell.program.model import Program

NDArrayF = npt.NDArray[np.float64]

SHAPES = tuple(SHAPE_REGISTRY)
__all__ = ["ROLES", "SHAPES", "CellBody", "CellModel"]


def _ro(a: Any) -> NDArrayF:
    arr = np.array(a, dtype=np.float64, copy=True)
    arr.flags.writeable = False
    return arr


def CellBody(
    name: str,
    role: str,
    shape: str,
    T_world_body: npt.ArrayLike,
    size: npt.ArrayLike | None = None,
    radius: float = 0.0,
    length: float = 0.0,
    mesh_path: Path | str | None = None,
    mesh_scale: float = 1.0,
) -> Body:
    """A cell :class:`~weldcell.program.model.Body` with the pose as fourth argument (SI units).

    There is one body model (``weldcell.program.model.Body``); this is a constructor spelling of it.

    Raises:
        ModelError: unknown role or shape, a missing/invalid shape field, a missing mesh file.
    """
    return Body(
        name,
        role,
        shape,
        size=None if size is None else np.asarray(size, dtype=np.float64),
        radius=float(radius),
        length=float(length),
        mesh_path=None if mesh_path is None else Path(mesh_path),
        T_world_body=np.asarray(T_world_body, dtype=np.float64),
        mesh_scale=float(mesh_scale),
    )


@dataclass(frozen=True, slots=True)
class CellModel:
    """Robot, torch and bodies of a welding cell.

    Attributes:
        robot: Robot model name (e.g. "ur5e").
        robot_urdf: Robot URDF file.
        T_world_base: Robot base in the world, shape (4, 4).
        torch: Torch model name ("" = no torch).
        torch_urdf: Torch URDF file, root frame = robot flange (None = no torch).
        T_flange_tcp: Wire tip in the flange frame, shape (4, 4).
        bodies: Static cell bodies.
        clearance: Minimum clearance robot/torch to the cell [m].
        home_q: Home configuration [rad], shape (n,) (empty if unknown).
    """

    robot: str
    robot_urdf: Path
    T_world_base: NDArrayF
    torch: str = ""
    torch_urdf: Path | None = None
    T_flange_tcp: NDArrayF = field(default_factory=lambda: np.eye(4))
    bodies: tuple[Body, ...] = ()
    clearance: float = 0.01
    home_q: NDArrayF = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        object.__setattr__(self, "robot_urdf", Path(self.robot_urdf))
        if self.torch_urdf is not None:
            object.__setattr__(self, "torch_urdf", Path(self.torch_urdf))
        object.__setattr__(self, "T_world_base", _ro(check_transforms(self.T_world_base, "T_world_base")))
        object.__setattr__(self, "T_flange_tcp", _ro(check_transforms(self.T_flange_tcp, "T_flange_tcp")))
        object.__setattr__(self, "home_q", _ro(self.home_q))
        object.__setattr__(self, "bodies", tuple(self.bodies))
        names = [b.name for b in self.bodies]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ModelError(f"cell body names must be unique; repeated: {dup}")
        if not self.clearance >= 0:
            raise ModelError(f"cell clearance must be >= 0 m, got {self.clearance}")

    def body(self, name: str) -> Body:
        """The body called ``name`` (ModelError listing the names if absent)."""
        for b in self.bodies:
            if b.name == name:
                return b
        raise ModelError(f"no cell body {name!r}; bodies: {[b.name for b in self.bodies]}")

    def files(self) -> tuple[Path, ...]:
        """Model files the cell depends on (URDFs and meshes), for the validation stamp."""
        out = [self.robot_urdf]
        if self.torch_urdf is not None:
            out.append(self.torch_urdf)
        out += [Path(b.mesh_path) for b in self.bodies if b.mesh_path is not None]
        return tuple(p.resolve() for p in out)

    def content_hash(self) -> str:
        """SHA-256 over the URDF files, placements, clearance and every body."""
        doc = {
            "robot": self.robot,
            "robot_urdf": _file_hash(self.robot_urdf),
            "T_world_base": np.round(self.T_world_base, 9).tolist(),
            "torch": self.torch,
            "torch_urdf": None if self.torch_urdf is None else _file_hash(self.torch_urdf),
            "T_flange_tcp": np.round(self.T_flange_tcp, 9).tolist(),
            "clearance": round(self.clearance, 9),
            "bodies": [b.as_dict() for b in self.bodies],
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def with_body(self, body: Body) -> CellModel:
        """A copy with ``body`` added, or replacing the body of the same name."""
        return self.with_bodies((body,))

    def with_bodies(self, extra: tuple[Body, ...]) -> CellModel:
        """A copy with ``extra`` bodies added; each replaces a body of the same name."""
        names = {b.name for b in extra}
        bodies = (*(b for b in self.bodies if b.name not in names), *extra)
        return CellModel(
            self.robot,
            self.robot_urdf,
            self.T_world_base,
            self.torch,
            self.torch_urdf,
            self.T_flange_tcp,
            bodies,
            self.clearance,
            self.home_q,
        )

    @classmethod
    def from_program(
        cls, program: Program, *, robot_urdf: Path | None = None, torch_urdf: Path | None = None
    ) -> CellModel:
        """Cell of a weld program (``weldcell.program.Program``; its ``cell`` section).

        URDF files come from ``weldcell.kinematics.load_robot/load_torch`` unless given.

        Raises:
            ModelError: unknown robot/torch model or inconsistent bodies.
        """
        cell = program.cell
        if robot_urdf is None:
            robot_urdf = _model_urdf("robot", cell.robot)
        if torch_urdf is None and str(getattr(cell, "torch", "") or ""):
            torch_urdf = _model_urdf("torch", cell.torch)
        bodies = tuple(b if isinstance(b, Body) else _as_body(b) for b in cell.bodies)
        return cls(
            robot=cell.robot,
            robot_urdf=robot_urdf,
            T_world_base=np.asarray(cell.T_world_base, dtype=np.float64),
            torch=getattr(cell, "torch", "") or "",
            torch_urdf=torch_urdf,
            T_flange_tcp=np.asarray(cell.T_flange_tcp, dtype=np.float64),
            bodies=bodies,
            clearance=float(cell.clearance),
            home_q=np.asarray(getattr(cell, "home_q", np.zeros(0)), dtype=np.float64),
        )


def _as_body(b: Any) -> Body:
    """A :class:`Body` from a duck-typed body with the flat fields (name, role, shape, size, ...)."""
    return CellBody(
        b.name,
        b.role,
        b.shape,
        b.T_world_body,
        size=getattr(b, "size", None),
        radius=float(getattr(b, "radius", 0.0) or 0.0),
        length=float(getattr(b, "length", 0.0) or 0.0),
        mesh_path=getattr(b, "mesh_path", None),
        mesh_scale=float(getattr(b, "mesh_scale", 1.0) or 1.0),
    )


def _model_urdf(kind: str, name: str) -> Path:
    """URDF path of a robot or torch model via ``weldcell.kinematics``."""
    from weldcell.sim._models import load_robot_model, load_torch_model

    model = load_robot_model(name) if kind == "robot" else load_torch_model(name)
    return Path(model.urdf_path)


def _file_hash(path: Path) -> str:
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"model file not found: {p}")
    return hashlib.sha256(p.read_bytes()).hexdigest()
