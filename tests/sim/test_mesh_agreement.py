"""Mesh bodies: planner and pybullet model the same convex pieces and agree within 0.1 mm.

A mesh written in millimetres (scale 0.001) with several shells, one of them not convex, is placed
around arms on a floor, a hanging and a wall mount; over configurations drawn by hypothesis, every
(robot link or torch part, mesh body) distance of the planner's checker equals pybullet's to 0.1 mm
(where they overlap, both engines say so).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pybullet as pb
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.kinematics import load_robot, load_torch
from weldcell.planning import _convex_kernels as convex
from weldcell.planning.body_models import PLANNER_SHAPES
from weldcell.planning.collision import CapsuleCollisionChecker
from weldcell.program.shapes import SHAPES
from weldcell.sim import CellBody, CellModel, PybulletWorld, build_scene
from weldcell.sim.body_shapes import PYBULLET_SHAPES
from weldcell.sim.capsule_urdf import torch_link_name
from weldcell.spatial import se3_from_xyz_rpy

AGREE = 1e-4  # [m]


def _write_mesh(path: Path) -> Path:
    """Three shells in millimetres: a box, an icosphere and a (non-convex) ring."""
    parts = [
        trimesh.creation.box((180.0, 120.0, 90.0)),
        trimesh.creation.icosphere(subdivisions=2, radius=70.0).apply_translation((0.0, 320.0, 40.0)),
        trimesh.creation.annulus(r_min=40.0, r_max=90.0, height=60.0).apply_translation((-300.0, 0.0, 0.0)),
    ]
    trimesh.util.concatenate(parts).export(path)
    return path


CASES = [
    ("ur5e", se3_from_xyz_rpy(np.zeros(3), np.zeros(3))),
    ("ur16e", se3_from_xyz_rpy(np.array([0.0, 0.0, 1.6]), np.array([np.pi, 0.0, 0.0]))),  # hanging
    ("ur10e", se3_from_xyz_rpy(np.array([0.0, 0.0, 1.0]), np.array([0.0, np.pi / 2, 0.0]))),  # wall
]


def test_every_shape_has_a_planner_and_a_simulator_model() -> None:
    assert set(SHAPES) == set(PLANNER_SHAPES) == set(PYBULLET_SHAPES)


@pytest.mark.parametrize(("robot_name", "T_world_base"), CASES, ids=[c[0] for c in CASES])
def test_planner_and_pybullet_agree_on_mesh_bodies(
    robot_name: str, T_world_base: np.ndarray, tmp_path: Path
) -> None:
    mesh = _write_mesh(tmp_path / "parts.stl")
    robot = load_robot(robot_name)
    torch = load_torch("torch_mig_22")
    T_a = T_world_base @ se3_from_xyz_rpy(np.array([0.4, -0.1, 0.25]), np.array([0.3, -0.2, 0.6]))
    T_b = T_world_base @ se3_from_xyz_rpy(np.array([-0.3, 0.35, 0.45]), np.array([1.1, 0.4, -0.3]))
    bodies = (
        CellBody("parts", "fixture", "mesh", T_a, mesh_path=mesh, mesh_scale=0.001),
        CellBody("parts_2", "workpiece", "mesh", T_b, mesh_path=mesh, mesh_scale=0.001),
    )
    assert len(bodies[0].geometry.convex_pieces()) == 3
    checker = CapsuleCollisionChecker(
        robot, torch, SimpleNamespace(T_world_base=T_world_base, bodies=bodies, clearance=0.0), 0.0
    )
    mesh_cap, mesh_piece, _ = checker._mesh_env
    body_of_piece = [next(i for i, b in enumerate(bodies) if b.name == n) for n in checker.piece_names]
    cell = CellModel(
        robot=robot_name,
        robot_urdf=robot.urdf_path,
        T_world_base=T_world_base,
        torch="torch_mig_22",
        torch_urdf=torch.urdf_path,
        T_flange_tcp=torch.T_flange_tcp(),
        bodies=bodies,
    )
    stats = {"compared": 0, "overlaps": 0, "worst": 0.0}
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        assert [len(ids) for ids in scene.cell_piece_ids] == [3, 3]
        robot_link = {name: k for k, name in scene.link_names.items()}
        torch_link = {name: k for k, name in scene.torch_link_names.items()}

        @settings(max_examples=40, deadline=None, database=None, derandomize=True)
        @given(st.lists(st.floats(-np.pi, np.pi), min_size=robot.n_joints, max_size=robot.n_joints))
        def agree(q_list: list[float]) -> None:
            q = np.clip(np.array(q_list), robot.q_lower, robot.q_upper)
            D = convex.convex_pair_distances(  # type: ignore[call-arg]
                q, *checker._chain_args(), *checker._caps, *checker._pieces[:3], mesh_cap, mesh_piece
            )
            scene.set_configuration(q)
            planner: dict[tuple[int, int, int], float] = {}  # (pybullet body, link, cell body) -> distance
            for k, (ci, pi) in enumerate(zip(mesh_cap, mesh_piece, strict=True)):
                owner, name = checker.capsule_names[ci].split(":", 1)
                if owner == "robot":
                    key = (scene.robot_id, robot_link[robot.collision_capsules[ci].link], body_of_piece[pi])
                else:
                    key = (scene.torch_id, torch_link[torch_link_name(name)], body_of_piece[pi])  # type: ignore[assignment]
                planner[key] = min(planner.get(key, np.inf), float(D[k]))
            for (body_id, link, bi), d_plan in planner.items():
                res = [
                    r
                    for piece in scene.cell_piece_ids[bi]
                    for r in pb.getClosestPoints(
                        body_id, piece, 0.2, linkIndexA=link, physicsClientId=scene.client
                    )
                ]
                if not res:
                    assert d_plan > 0.2 - AGREE, (link, bi, q, d_plan)
                    continue
                d_bullet = min(r[8] for r in res)
                if min(d_bullet, d_plan) < 0.0:
                    assert max(d_bullet, d_plan) < AGREE, (link, bi, q, d_bullet, d_plan)
                    stats["overlaps"] += 1
                elif min(d_bullet, d_plan) < 0.15:
                    stats["worst"] = max(stats["worst"], abs(d_bullet - d_plan))
                    stats["compared"] += 1
                    assert d_bullet == pytest.approx(d_plan, abs=AGREE), (link, bi, q, d_bullet, d_plan)

        agree()
    print(f"{robot_name}: {stats}")
    assert stats["compared"] > 30


def test_a_millimetre_mesh_cube_is_100mm_in_pybullet_too(tmp_path: Path) -> None:
    path = tmp_path / "cube.stl"
    trimesh.creation.box((100.0, 100.0, 100.0)).export(path)
    robot = load_robot("ur5e")
    T = se3_from_xyz_rpy(np.array([0.5, 0.2, 0.1]), np.zeros(3))
    cell = CellModel(
        robot="ur5e",
        robot_urdf=robot.urdf_path,
        T_world_base=np.eye(4),
        bodies=(CellBody("cube", "fixture", "mesh", T, mesh_path=path, mesh_scale=0.001),),
    )
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        ((piece,),) = scene.cell_piece_ids
        assert scene.cell_ids == (piece,)
        cid = scene.client
        ball = pb.createMultiBody(
            0.0, pb.createCollisionShape(pb.GEOM_SPHERE, radius=0.01, physicsClientId=cid)
        )
        pb.changeDynamics(ball, -1, collisionMargin=0.0, physicsClientId=cid)
        # 30 mm off each face (faces at 50 mm from the centre) and off a corner: exact distances
        for offset in ([0.08, 0.0, 0.0], [0.0, -0.08, 0.0], [0.0, 0.0, 0.08], [0.08, 0.08, 0.08]):
            pos = np.array([0.5, 0.2, 0.1]) + offset
            pb.resetBasePositionAndOrientation(ball, pos.tolist(), [0, 0, 0, 1], physicsClientId=cid)
            (hit,) = pb.getClosestPoints(ball, piece, 1.0, physicsClientId=cid)
            expected = float(np.linalg.norm(np.maximum(np.abs(offset) - 0.05, 0.0))) - 0.01
            assert hit[8] == pytest.approx(expected, abs=1e-6)
