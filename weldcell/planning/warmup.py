"""Compiled kernels: is numba's on-disk cache there, and compile everything ahead of time.

numba compiles the kinematics, collision and ladder kernels on their first call (40-55 s on a
2-core machine) and keeps them in its cache (``__pycache__/*.nbi`` + ``*.nbc`` next to each source
file, or under ``$NUMBA_CACHE_DIR``). :func:`kernel_cache_missing` tells cheaply, without importing
numba, whether that first-run compile is still ahead (the CLI then says so instead of waiting
silently); :func:`warm_up_kernels` (``weldcell warmup``, run by ``scripts/setup.sh``) does it once.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]

#: The source files holding ``@njit(cache=True)`` kernels.
KERNEL_SOURCES: tuple[Path, ...] = (
    _PACKAGE / "kinematics" / "chain.py",
    _PACKAGE / "kinematics" / "analytic.py",
    _PACKAGE / "kinematics" / "_sigma.py",
    _PACKAGE / "kinematics" / "_crx_kernel.py",
    _PACKAGE / "kinematics" / "_gofa_kernel.py",
    _PACKAGE / "planning" / "_collision_kernels.py",
    _PACKAGE / "planning" / "_convex_kernels.py",
    _PACKAGE / "planning" / "_ladder_kernels.py",
)


def _index_files(source: Path) -> list[Path]:
    """numba's cache index files (``<module>.<function>-<line>.pyXY.nbi``) for ``source``."""
    pattern = f"{source.stem}.*.py{sys.version_info.major}{sys.version_info.minor}.nbi"
    found = list((source.parent / "__pycache__").glob(pattern))
    user_dir = os.environ.get("NUMBA_CACHE_DIR")
    if user_dir and Path(user_dir).is_dir():
        found += Path(user_dir).rglob(pattern)
    return found


def kernel_cache_missing(sources: tuple[Path, ...] = KERNEL_SOURCES) -> list[Path]:
    """The kernel source files whose compiled code numba would have to build on first use.

    A file counts as compiled when at least one of its cache index files is at least as new as
    the source, or was written for the same source text: numba before 0.61 invalidates a file's
    cache when its mtime changes, later versions only when its content does (the index holds the
    SHA-256 of the source; a checkout that rewrites an unchanged file keeps the cache valid).
    Cheap: a few directory listings (and reading the index files of a source newer than them);
    numba is not imported.
    """
    missing = []
    for source in sources:
        try:
            src_mtime = source.stat().st_mtime
        except OSError:
            continue  # not shipped (nothing to compile)
        stamps = []
        indexes = _index_files(source)
        for index in indexes:
            try:
                stamps.append(index.stat().st_mtime)
            except OSError:
                continue
        stale = not stamps or (max(stamps) < src_mtime and not _index_has_content_stamp(source, indexes))
        if stale:
            missing.append(source)
    return missing


def _index_has_content_stamp(source: Path, indexes: list[Path]) -> bool:
    """True when one of numba's index files of ``source`` was written for its current text.

    numba ≥ 0.61 pickles the SHA-256 digest of the source file as the index's stamp; the 32 bytes
    appear verbatim in the pickle, so they are looked for without unpickling the file.
    """
    try:
        digest = hashlib.sha256(source.read_bytes()).digest()
    except OSError:
        return False
    for index in indexes:
        try:
            if digest in index.read_bytes():
                return True
        except OSError:
            continue
    return False


def warm_up_kernels(progress: Callable[[str], None] | None = None) -> None:
    """Compile (or load from numba's cache) every kernel by calling it on small inputs.

    Kinematics: FK, link poses, Jacobian and all-branch IK of every shipped robot (UR, OPW and
    numerical arms). Planning: the collision, ladder and transit kernels, by planning the shipped
    demo program (a T-joint, two short fillets), and the mesh-body kernels on a cube mesh.

    Args:
        progress: Called with a one-line description of each step.

    Raises:
        WeldcellError: the demo program does not plan (a broken install).
    """
    import numpy as np

    from weldcell.errors import WeldcellError
    from weldcell.kinematics import load_robot, robot_names, singularity_distance_from_jacobian
    from weldcell.planning.planner import plan_program
    from weldcell.program import load_program
    from weldcell.resources import data_dir

    say = progress or (lambda _msg: None)
    for name in robot_names():
        say(f"kinematics of {name}")
        robot = load_robot(name)
        q = np.clip(np.full(robot.n_joints, 0.3), robot.q_lower, robot.q_upper)
        T_base_flange = robot.fk(q)
        robot.link_poses(q)
        J = robot.jacobian(q)
        robot.singularity_distance(q)
        robot.singularity_distance(q, exact_below=0.05)
        robot.singularity_distance(np.stack([q, q]), exact_below=0.05, along_path=True)
        singularity_distance_from_jacobian(J, robot.reach)
        if robot.kind != "numerical":
            robot.ik(T_base_flange)
    say("planning the demo program (collision, ladder and transit kernels)")
    result = plan_program(load_program(data_dir("programs") / "demo_tjoint.yaml"))
    if not result.ok:
        raise WeldcellError(f"warm-up: the shipped demo program does not plan: {result.reason}")
    say("mesh body kernels")
    _warm_up_mesh_kernels()


def _warm_up_mesh_kernels() -> None:
    """Compile the convex-piece kernels: a checker with a 100 mm cube mesh, queried once."""
    import tempfile
    from types import SimpleNamespace

    import numpy as np
    import trimesh

    from weldcell.kinematics import load_robot
    from weldcell.planning.collision import CapsuleCollisionChecker
    from weldcell.program.model import Body

    with tempfile.TemporaryDirectory(prefix="weldcell_warmup_") as tmp:
        path = Path(tmp) / "cube.stl"
        trimesh.creation.box((100.0, 100.0, 100.0)).export(path)
        T_world_body = np.eye(4)
        T_world_body[:3, 3] = (0.4, 0.0, 0.2)
        body = Body("cube", "obstacle", "mesh", mesh_path=path, T_world_body=T_world_body, mesh_scale=0.001)
        cell = SimpleNamespace(T_world_base=np.eye(4), bodies=(body,), clearance=0.01)
        checker = CapsuleCollisionChecker(load_robot("ur5e"), None, cell)  # type: ignore[arg-type]
        q = np.zeros((2, checker.n_joints))
        checker.query(q)
        checker.is_free(q[0])
        checker.colliding_bodies(q[0])
