"""Scene building, client ownership, pybullet FK, and the motion bounds the validator relies on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pybullet as pb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.errors import ModelError
from weldcell.kinematics.models import load_robot
from weldcell.sim import CellBody, CellModel, PybulletWorld, SimConnectionError, TorchPart, build_scene
from weldcell.sim import _bullet as bl


def test_world_owns_and_closes_its_client() -> None:
    with PybulletWorld() as world:
        cid = world.client_id
        assert pb.isConnected(physicsClientId=cid)
        with PybulletWorld() as other:
            assert other.client_id != cid
    assert not pb.isConnected(physicsClientId=cid)
    with pytest.raises(SimConnectionError):
        _ = world.client_id
    world.close()  # idempotent


def test_missing_urdf_is_a_model_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with PybulletWorld() as world, pytest.raises(ModelError, match="not found"):
        world.load_urdf(tmp_path / "nope.urdf", np.eye(4))


def test_scene_of_demo_cell(cell: CellModel) -> None:
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        robot = load_robot("ur5e")
        assert scene.joint_names == robot.joint_names
        assert scene.link_names[scene.flange_link] == "flange"
        assert scene.torch_parts[-1] is TorchPart.BODY
        parts = {scene.torch_link_names[k]: v for k, v in scene.torch_parts.items()}
        assert parts["torch_neck"] is TorchPart.NOZZLE and parts["torch_nozzle"] is TorchPart.NOZZLE
        assert parts["contact_tip"] is TorchPart.TIP and parts["torch_wire"] is TorchPart.WIRE
        names = scene.link_names
        pairs = {(names[a], names[b]) for a, b in scene.self_pairs}
        assert ("upper_arm_link", "wrist_1_link") in pairs
        assert ("upper_arm_link", "forearm_link") not in pairs  # adjacent
        assert {names[k] for k in scene.torch_skip_links} >= {"wrist_3_link", "flange", "wrist_2_link"}
        assert len(scene.cell_ids) == len(cell.bodies)


def test_pybullet_fk_matches_kinematics_core(cell: CellModel) -> None:
    robot = load_robot("ur5e")
    rng = np.random.default_rng(3)
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        for q in rng.uniform(-3, 3, (20, 6)):
            scene.set_configuration(q)
            T = scene.T_world_flange()
            np.testing.assert_allclose(T, cell.T_world_base @ robot.fk(q), atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.001, 3.0))
def test_lever_arms_bound_every_point(cell: CellModel, seed: int, scale: float) -> None:
    """No point of the robot or torch moves more than Σ lever_arm[j]·|Δq_j| between two configurations."""
    rng = np.random.default_rng(seed)
    q1 = rng.uniform(-3, 3, 6)
    q2 = q1 + rng.uniform(-1, 1, 6) * scale
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        cid = scene.client

        def points() -> np.ndarray:
            pts: list[np.ndarray] = []
            for k in scene.link_names:
                if k >= 0:
                    pts.append(np.asarray(bl.link_state(cid, scene.robot_id, k).link_frame_pos))
            T_tcp = scene.T_world_flange() @ cell.T_flange_tcp
            pts.append(T_tcp[:3, 3])
            return np.asarray(pts)

        scene.set_configuration(q1)
        p1 = points()
        scene.set_configuration(q2)
        p2 = points()
        bound = float(np.abs(q2 - q1) @ scene.lever_arms)
        assert np.linalg.norm(p2 - p1, axis=1).max() <= bound + 1e-9


def test_body_shapes_and_checks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    T = np.eye(4)
    with pytest.raises(ModelError, match="role"):
        CellBody("x", "wall", "box", T, size=np.ones(3))
    with pytest.raises(ModelError, match="radius"):
        CellBody("x", "obstacle", "sphere", T)
    with pytest.raises(ModelError, match="mesh file"):
        CellBody("x", "obstacle", "mesh", T, mesh_path=tmp_path / "none.stl")
    mesh = tmp_path / "tri.obj"
    mesh.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 4\n")
    bodies = (
        CellBody("c", "obstacle", "cylinder", T, radius=0.05, length=0.2),
        CellBody("s", "obstacle", "sphere", T, radius=0.05),
        CellBody("m", "fixture", "mesh", T, mesh_path=mesh, mesh_scale=0.1),
    )
    cm = CellModel("ur5e", load_robot("ur5e").urdf_path, np.eye(4), bodies=bodies)
    assert len(cm.content_hash()) == 64
    with PybulletWorld() as world:
        scene = build_scene(world, cm)
        assert scene.torch_id is None and len(scene.cell_ids) == 3


def test_reusable_scenes_from_sim_folder(cell: CellModel, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from weldcell.sim.scenes import load_scene

    root = Path(__file__).resolve().parents[2] / "sim" / "scenes"
    rail = load_scene(root / "clamp_rail.yaml")
    assert [b.name for b in rail] == ["clamp_rail", "clamp_post_left", "clamp_post_right"]
    assert rail[1].shape == "cylinder" and rail[1].radius == pytest.approx(0.012)
    np.testing.assert_allclose(rail[0].T_world_body[:3, 3], [0.82, 0.0, 0.015])
    table = load_scene(root / "weld_table_600x800.yaml")
    bigger = cell.with_bodies(rail + table)
    assert {b.name for b in bigger.bodies} >= {"table", "web", "clamp_rail"}
    assert len(bigger.bodies) == len(cell.bodies) + 3  # the table was replaced, not doubled
    with PybulletWorld() as world:
        scene = build_scene(world, bigger)
        assert len(scene.cell_ids) == len(bigger.bodies)
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: weldcell.scene/1\nbodies:\n  - {name: x, role: fixture, box: {}}\n")
    with pytest.raises(ModelError, match="size_mm"):
        load_scene(bad)


def test_gui_without_display_is_a_clear_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    from weldcell.sim import Mode

    if not sys.platform.startswith("linux"):
        pytest.skip("the DISPLAY check is for Linux/X11")
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(SimConnectionError, match="xvfb-run"), PybulletWorld(Mode.GUI):
        pass


def test_reset_runs_pybullet_fk(cell: CellModel) -> None:
    """After resetJointStatesMultiDof, getLinkState without recomputing FK is already current."""
    rng = np.random.default_rng(5)
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        cid, robot = scene.client, scene.robot_id
        for q in rng.uniform(-3, 3, (20, 6)):
            pb.resetJointStatesMultiDof(robot, scene.joint_indices, [[x] for x in q], physicsClientId=cid)
            cached = bl.link_state(cid, robot, scene.flange_link, compute_fk=False)
            fresh = bl.link_state(cid, robot, scene.flange_link, compute_fk=True)
            assert cached == fresh


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.001, 1.0))
def test_query_unit_bounds_hold(cell: CellModel, seed: int, scale: float) -> None:
    """Each query unit's distance changes by at most Σ lever_arm[j]·|Δq_j| of that unit; splitting
    torch-vs-robot into one unit per robot link finds the same pairs as one call over the robot."""
    from weldcell.sim.collision import ClearanceRules, query, query_units

    rng = np.random.default_rng(seed)
    q1 = rng.uniform(-3, 3, 6)
    q2 = q1 + rng.uniform(-1, 1, 6) * scale
    rules = ClearanceRules(clearance=cell.clearance)
    look = 3.0  # everything is in range: every unit reports its true distance
    with PybulletWorld() as world:
        scene = build_scene(world, cell)
        units = query_units(scene)
        assert {u.link_b for u in units if u.kind == "torch-robot"} == set(scene.collision_links) - set(
            scene.torch_skip_links
        )

        def distances(q: np.ndarray) -> list[float]:
            scene.set_configuration(q)
            return [min((p.distance for p in query(scene, u, rules, look)), default=np.inf) for u in units]

        d1, d2 = distances(q1), distances(q2)
        whole = pb.getClosestPoints(scene.torch_id, scene.robot_id, look, physicsClientId=scene.client)
        expected = {(r[3], r[4]) for r in whole if r[4] not in scene.torch_skip_links}
        found = set()
        for u in units:
            if u.kind == "torch-robot":
                found |= {
                    (r[3], r[4])
                    for r in pb.getClosestPoints(
                        scene.torch_id,
                        scene.robot_id,
                        look,
                        linkIndexB=u.link_b,
                        physicsClientId=scene.client,
                    )
                }
        assert found == expected
    dq = np.abs(q2 - q1)
    for u, a, b in zip(units, d1, d2, strict=True):
        if np.isfinite(a) and np.isfinite(b):
            assert abs(b - a) <= float(dq @ np.asarray(u.lever_arms)) + 1e-6, u
