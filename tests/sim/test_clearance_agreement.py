"""One clearance geometry: the planner's capsule checker and pybullet measure the same distances.

The simulator loads the planner's capsules into pybullet (weldcell.sim.capsule_urdf) and gives cell
bodies no collision margin, so on random configurations every (robot link or torch part, body)
distance agrees to 0.1 mm, on several robots and mounts, against boxes, cylinders and spheres
(where shapes overlap both engines say so; their penetration depths are different measures).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pybullet as pb
import pytest

from weldcell.kinematics import load_robot, load_torch
from weldcell.planning import _collision_kernels as kernels
from weldcell.planning.collision import CapsuleCollisionChecker
from weldcell.sim import CellBody, CellModel, PybulletWorld, build_scene
from weldcell.sim.capsule_urdf import torch_link_name
from weldcell.spatial import se3_from_xyz_rpy

AGREE = 1e-4  # [m]


def _bodies(scale: float, T_world_base: np.ndarray) -> tuple[CellBody, ...]:
    def at(xyz: tuple[float, float, float], rpy: tuple[float, float, float]) -> np.ndarray:
        return T_world_base @ se3_from_xyz_rpy(np.array(xyz) * scale, np.array(rpy))

    return (
        CellBody(
            "block",
            "obstacle",
            "box",
            at((0.45, 0.15, 0.25), (0.2, 0.0, 0.4)),
            size=np.array([0.3, 0.2, 0.25]),
        ),
        CellBody(
            "pipe", "obstacle", "cylinder", at((0.2, -0.45, 0.3), (1.2, 0.3, 0.0)), radius=0.06, length=0.4
        ),
        CellBody("ball", "obstacle", "sphere", at((-0.35, 0.2, 0.5), (0.0, 0.0, 0.0)), radius=0.08),
        CellBody(
            "post",
            "obstacle",
            "box",
            at((-0.3, -0.3, 0.2), (0.0, 0.0, 0.7)),
            size=np.array([0.08, 0.08, 0.4]),
        ),
    )


CASES = [
    ("ur5e", se3_from_xyz_rpy(np.zeros(3), np.zeros(3)), 1.0),
    ("ur16e", se3_from_xyz_rpy(np.array([0.0, 0.0, 1.6]), np.array([np.pi, 0.0, 0.0])), 1.3),  # hanging
    ("ur10e", se3_from_xyz_rpy(np.array([0.0, 0.0, 1.0]), np.array([0.0, np.pi / 2, 0.0])), 1.2),  # wall
    ("kr6_r900", se3_from_xyz_rpy(np.zeros(3), np.zeros(3)), 1.0),
]


@pytest.mark.parametrize(("robot_name", "T_world_base", "scale"), CASES, ids=[c[0] for c in CASES])
def test_planner_and_pybullet_distances_agree(
    robot_name: str, T_world_base: np.ndarray, scale: float
) -> None:
    robot = load_robot(robot_name)
    torch = load_torch("torch_mig_22")
    bodies = _bodies(scale, T_world_base)
    T_flange_tcp = torch.T_flange_tcp()
    planner_cell = SimpleNamespace(T_world_base=T_world_base, bodies=bodies, clearance=0.0)
    checker = CapsuleCollisionChecker(robot, torch, planner_cell, 0.0)
    env_cap, env_body, _ = checker._env
    no_self = np.zeros(0, dtype=np.int64)
    cell = CellModel(
        robot=robot_name,
        robot_urdf=robot.urdf_path,
        T_world_base=T_world_base,
        torch="torch_mig_22",
        torch_urdf=torch.urdf_path,
        T_flange_tcp=T_flange_tcp,
        bodies=bodies,
    )
    rng = np.random.default_rng(3)
    lo, hi = np.maximum(robot.q_lower, -np.pi), np.minimum(robot.q_upper, np.pi)
    compared = 0
    overlaps = 0
    worst = 0.0
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        robot_link = {name: k for k, name in scene.link_names.items()}
        torch_link = {name: k for k, name in scene.torch_link_names.items()}
        for q in rng.uniform(lo, hi, size=(120, robot.n_joints)):
            D = kernels.pair_distances(  # type: ignore[call-arg]
                q,
                *checker._chain_args(),
                *checker._caps,
                *checker._bodies[:2],
                env_cap,
                env_body,
                no_self,
                no_self,
            )
            scene.set_configuration(q)
            # planner: smallest distance per (pybullet link, body) over that link's capsules
            planner: dict[tuple[int, int, int], float] = {}
            for k, (ci, bi) in enumerate(zip(env_cap, env_body, strict=True)):
                owner, name = checker.capsule_names[ci].split(":", 1)
                if owner == "robot":
                    key = (scene.robot_id, robot_link[robot.collision_capsules[ci].link], int(bi))
                else:
                    key = (scene.torch_id, torch_link[torch_link_name(name)], int(bi))  # type: ignore[assignment]
                planner[key] = min(planner.get(key, np.inf), float(D[k]))
            for (body_id, link, bi), d_plan in planner.items():
                res = pb.getClosestPoints(
                    body_id, scene.cell_ids[bi], 0.2, linkIndexA=link, physicsClientId=scene.client
                )
                if not res and d_plan > 0.2 - AGREE:
                    continue
                d_bullet = min(r[8] for r in res)
                if min(d_bullet, d_plan) < 0.0:
                    # overlapping: both engines say so (penetration depths are measured differently)
                    assert max(d_bullet, d_plan) < AGREE, (robot_name, link, bi, q, d_bullet, d_plan)
                    overlaps += 1
                elif min(d_bullet, d_plan) < 0.1:
                    worst = max(worst, abs(d_bullet - d_plan))
                    compared += 1
                    assert d_bullet == pytest.approx(d_plan, abs=AGREE), (robot_name, link, bi, q)
    print(f"{robot_name}: {compared} separated pairs, worst {worst * 1e3:.5f} mm; {overlaps} overlaps")
    assert compared > 50
    assert worst < AGREE
