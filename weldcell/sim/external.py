"""Validation of trajectories with external axes (a positioner or a robot track).

* **Moving parts**: bodies ``mounted_on: positioner`` ride on the positioner flange. During the
  replay of the robot they are parked far away (the replay's motion bounds assume a still cell);
  then they are placed at the positioner pose of every sample where a mounted body has moved by
  :data:`MOVING_STEP` since the last check, the robot and torch placed at that sample, and the
  robot-cell and torch-cell clearance queries run there (:func:`moving_part_checks`).
* **Part frame**: weld judgements about the seam (coverage, travel speed along the seam) are made in
  the part frame: every world point is mapped to where it would be with the positioner at its home
  (:func:`home_part_maps`), the pose the program's seams are written for.
* **Device limits**: positions, speeds and accelerations of the external axes against the model's
  limits (:func:`external_limit_violations`).
* **Robot on a track**: the robot base rides on the carriage; :func:`track_base_poses` gives the base
  in the world at every sample (``JointTrajectory.T_world_base`` is the base with the carriage at 0),
  the replay moves the robot there, and :func:`track_base_mismatch` checks that the trajectory's base
  and the scene's robot base stand on the same carriage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.kinematics.positioner import PositionerModel, load_positioner
from weldcell.sim._bullet import se3_from_pos_quat_xyzw
from weldcell.sim.collision import ClearanceRules, Proximity, query, query_units
from weldcell.sim.report import Violation, ViolationKind
from weldcell.spatial import invert_transforms
from weldcell.trajectory import JointTrajectory, true_runs

if TYPE_CHECKING:
    from weldcell.program.model import Program
    from weldcell.sim.scene import Scene

NDArrayF = npt.NDArray[np.float64]
MOVING_STEP = 0.002  # [m] largest motion of a mounted body between two moving-part checks
_PARK = np.array([0.0, 0.0, -1000.0])  # where mounted bodies wait during the robot replay [m]


def _device(traj: JointTrajectory) -> tuple[PositionerModel, Any] | None:
    ext = traj.external
    if ext is None:
        return None
    return load_positioner(ext.device), ext


def home_part_maps(traj: JointTrajectory, program: Program | None) -> NDArrayF | None:
    """Per sample, the map (N, 4, 4) from world points to the same part points with the positioner
    at the program's home; None without a positioner (the part does not move)."""
    dev = _device(traj)
    if dev is None or dev[1].role != "positioner" or program is None or program.cell.external is None:
        return None
    model, ext = dev
    T_wf_home = ext.T_world_base @ model.T_base_flange(program.cell.external.home)
    T_wf = ext.T_world_base @ model.T_base_flange(ext.q)
    return np.asarray(T_wf_home @ invert_transforms(T_wf), dtype=np.float64)


def track_base_poses(traj: JointTrajectory) -> NDArrayF | None:
    """Robot base in the world at every sample (N, 4, 4) for a robot on a track; None otherwise.

    ``T_world_base(i) = T_world_tbase @ T_tbase_carriage(q_ext[i]) @ T_carriage_base`` with the robot
    base on the carriage ``T_carriage_base = inv(T_world_tbase @ T_tbase_carriage(0)) @
    traj.T_world_base`` (docs/trajectory-format.md, "External axes").
    """
    dev = _device(traj)
    if dev is None or dev[1].role != "track":
        return None
    model, ext = dev
    T_world_c0 = ext.T_world_base @ model.T_base_flange(np.zeros(model.n_axes))
    T_carriage_base = invert_transforms(T_world_c0) @ traj.T_world_base
    return np.asarray(ext.T_world_base @ model.T_base_flange(ext.q) @ T_carriage_base, dtype=np.float64)


def track_base_mismatch(
    traj: JointTrajectory, T_world_base_scene: NDArrayF, program: Program | None
) -> tuple[float, str]:
    """How far [m] the scene's robot base is from where the trajectory's carriage carries it.

    With the program (its track and home), the scene's base must be the trajectory's base at the
    carriage home exactly. Without it the home is unknown: the scene's base must lie on the carriage's
    path (same orientation, offset along the prismatic axes; least squares). Returns the distance
    (rotation differences counted as the largest matrix entry difference [-] when larger) and what
    was compared.
    """
    dev = _device(traj)
    assert dev is not None and dev[1].role == "track"  # caller's check
    model, ext = dev
    T_world_c0 = ext.T_world_base @ model.T_base_flange(np.zeros(model.n_axes))
    T_carriage_base = invert_transforms(T_world_c0) @ traj.T_world_base
    ctrack = program.cell.external if program is not None else None
    if ctrack is not None and ctrack.role == "track":
        T = ext.T_world_base @ model.T_base_flange(ctrack.home) @ T_carriage_base
        what = f"robot base with {model.name} at the program's home"
    else:
        k = model.n_axes
        p0 = (T_world_c0 @ T_carriage_base)[:3, 3]
        p_unit = (ext.T_world_base @ model.T_base_flange(np.eye(k)) @ T_carriage_base)[:, :3, 3]
        cols = (p_unit - p0).T  # base offset per unit of each axis (affine for prismatic axes)
        qfit, *_ = np.linalg.lstsq(cols, T_world_base_scene[:3, 3] - p0, rcond=None)
        T = ext.T_world_base @ model.T_base_flange(qfit) @ T_carriage_base
        what = f"robot base on the path of {model.name} (no program: home unknown)"
    d = float(np.linalg.norm(T[:3, 3] - T_world_base_scene[:3, 3]))
    r = float(np.abs(T[:3, :3] - T_world_base_scene[:3, :3]).max())
    return max(d, r), what


def external_limit_violations(traj: JointTrajectory, ctx: Any, tolerance: float) -> list[Violation]:
    """External-axis positions, speeds and accelerations outside the device model's limits."""
    dev = _device(traj)
    if dev is None:
        return []
    model, ext = dev
    out: list[Violation] = []
    checks = (
        (ViolationKind.JOINT_POSITION, np.maximum(ext.q - model.upper, model.lower - ext.q), 0.0),
        (ViolationKind.JOINT_VELOCITY, np.abs(ext.qd) - model.qd_max * (1 + tolerance), None),
        (ViolationKind.JOINT_ACCELERATION, np.abs(ext.qdd) - model.qdd_max * (1 + tolerance), None),
    )
    for kind, excess, _ in checks:
        for j in range(model.n_axes):
            for a, b in true_runs(excess[:, j] > 1e-9):
                v = ctx.violation(kind, a, b, (f"{model.name}:{model.axis_names[j]}",), 0.0, 0.0)
                vals = {ViolationKind.JOINT_POSITION: ext.q, ViolationKind.JOINT_VELOCITY: ext.qd}.get(
                    kind, ext.qdd
                )
                lim = {
                    ViolationKind.JOINT_POSITION: max(abs(model.lower[j]), abs(model.upper[j])),
                    ViolationKind.JOINT_VELOCITY: model.qd_max[j],
                }.get(kind, model.qdd_max[j])
                out.append(
                    Violation(
                        v.kind,
                        v.time,
                        v.time_end,
                        v.seam_id,
                        v.context,
                        v.bodies,
                        float(np.abs(vals[a : b + 1, j]).max()),
                        float(lim),
                    )
                )
    return out


class MountedBodies:
    """The pybullet bodies of the program's mounted parts in a scene, and their home poses."""

    def __init__(self, scene: Scene, traj: JointTrajectory, program: Program | None) -> None:
        self.scene = scene
        self.ids: list[int] = []
        self.home: list[NDArrayF] = []
        self.maps = home_part_maps(traj, program)
        if self.maps is None or program is None:
            return
        names = {b.name for b in program.cell.bodies if b.mounted_on is not None}
        cid = scene.client
        for i, body in enumerate(scene.cell.bodies):
            if body.name not in names:
                continue
            for pid in scene.cell_piece_ids[i]:
                pos, orn = pb.getBasePositionAndOrientation(pid, physicsClientId=cid)
                self.ids.append(pid)
                self.home.append(se3_from_pos_quat_xyzw(np.asarray(pos), np.asarray(orn)))

    def restore(self) -> None:
        """Put the mounted bodies back at their home poses (as the scene was built)."""
        for pid, T in zip(self.ids, self.home, strict=True):
            self._place(pid, T)

    def park(self) -> None:
        """Move the mounted bodies out of the way."""
        for pid, T in zip(self.ids, self.home, strict=True):
            self._place(pid, T, offset=_PARK)

    def place_at(self, i: int) -> None:
        """Place the mounted bodies where the positioner holds them at sample ``i``."""
        assert self.maps is not None  # mypy
        T_move = invert_transforms(self.maps[i])  # home-posed world -> world at sample i
        for pid, T in zip(self.ids, self.home, strict=True):
            self._place(pid, T_move @ T)

    def _place(self, pid: int, T: NDArrayF, offset: NDArrayF | None = None) -> None:
        from scipy.spatial.transform import Rotation

        pos = T[:3, 3] + (0.0 if offset is None else offset)
        quat = Rotation.from_matrix(T[:3, :3]).as_quat()  # x, y, z, w: pybullet's order
        pb.resetBasePositionAndOrientation(
            pid, pos.tolist(), quat.tolist(), physicsClientId=self.scene.client
        )


def moving_part_checks(
    scene: Scene,
    traj: JointTrajectory,
    idx: tuple[int, ...],
    T_world_flange: NDArrayF,
    mounted: MountedBodies,
    rules: ClearanceRules,
    lookahead: float,
) -> list[tuple[int, tuple[tuple[int, tuple[Proximity, ...]], ...]]]:
    """Clearance queries of robot and torch against the cell with the mounted parts where they are.

    Returns, per query unit (index into ``query_units(scene)``) of a robot-cell or torch-cell kind,
    the (sample, pairs) results at every checked sample.
    """
    if mounted.maps is None or not mounted.ids:
        return []
    cid = scene.client
    # how far a mounted body point moves between samples: its piece's centre exactly, plus the
    # rotation times the piece's half diagonal (pybullet's bounding box at home)
    Minv = invert_transforms(mounted.maps)  # home-posed world -> world at each sample
    dR = np.linalg.norm(Minv[1:, :3, :3] - Minv[:-1, :3, :3], axis=(1, 2))
    step_len = np.zeros(len(Minv) - 1)
    for pid, T in zip(mounted.ids, mounted.home, strict=True):
        lo, hi = pb.getAABB(pid, physicsClientId=cid)
        half = 0.5 * float(np.linalg.norm(np.subtract(hi, lo)))
        c = np.einsum("nij,j->ni", Minv[:, :3, :3], T[:3, 3]) + Minv[:, :3, 3]
        step_len = np.maximum(step_len, np.linalg.norm(np.diff(c, axis=0), axis=1) + dR * half)
    motion = np.concatenate([[0.0], np.cumsum(step_len)])
    step = np.floor(motion / MOVING_STEP).astype(np.int64)
    samples = np.flatnonzero(np.r_[True, step[1:] != step[:-1]])
    samples = np.union1d(samples, np.flatnonzero(traj.arc_on)[:: max(1, int(0.2 / traj.dt))])
    units = [(k, u) for k, u in enumerate(query_units(scene)) if u.kind in ("robot-cell", "torch-cell")]
    results: dict[int, list[tuple[int, tuple[Proximity, ...]]]] = {k: [] for k, _ in units}
    rows = traj.q
    for i in samples.tolist():
        mounted.place_at(i)
        pb.resetJointStatesMultiDof(
            scene.robot_id, list(idx), [[float(v)] for v in rows[i]], physicsClientId=cid
        )
        if scene.torch_id is not None:
            T = T_world_flange[i]
            from scipy.spatial.transform import Rotation

            quat = Rotation.from_matrix(T[:3, :3]).as_quat().tolist()
            pb.resetBasePositionAndOrientation(scene.torch_id, T[:3, 3].tolist(), quat, physicsClientId=cid)
        for k, u in units:
            results[k].append((i, tuple(query(scene, u, rules, lookahead))))
    mounted.restore()
    return [(k, tuple(v)) for k, v in results.items()]
