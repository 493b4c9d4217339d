"""The planner's body models: mesh bodies as exact convex pieces, scale honoured, shape registry."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.errors import BodyShapeError, ModelError
from weldcell.kinematics import load_robot, load_torch
from weldcell.planning import _collision_kernels as kernels
from weldcell.planning import _convex_kernels as convex
from weldcell.planning.body_models import ConvexBody, bodies_in_base
from weldcell.planning.collision import CapsuleCollisionChecker
from weldcell.program.model import Body
from weldcell.program.shapes import Mesh
from weldcell.spatial import se3_from_xyz_rpy

T_PART = se3_from_xyz_rpy(np.array([0.45, 0.05, 0.15]), np.array([0.2, -0.1, 0.7]))


@pytest.fixture(scope="module")
def cube_mm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mesh") / "cube_100mm.stl"
    trimesh.creation.box((100.0, 100.0, 100.0)).export(path)
    return path


def _cell(*bodies: Body) -> SimpleNamespace:
    return SimpleNamespace(T_world_base=np.eye(4), bodies=bodies, clearance=0.0)


def test_a_millimetre_mesh_cube_is_a_100mm_cube_in_the_planner(cube_mm: Path) -> None:
    body = Body("cube", "fixture", "mesh", mesh_path=cube_mm, T_world_body=T_PART, mesh_scale=0.001)
    prims, pieces = bodies_in_base(_cell(body))
    assert prims == [] and len(pieces) == 1
    (piece,) = pieces
    corners = piece.tris.reshape(-1, 3) - T_PART[:3, 3]
    # the review's bug: the planner made this a 100 m box; it is 0.1 m across
    np.testing.assert_allclose(np.ptp(corners @ T_PART[:3, :3], axis=0), [0.1, 0.1, 0.1], atol=1e-12)
    assert piece.sphere[3] == pytest.approx(0.05 * np.sqrt(3.0))


def test_mesh_cube_and_box_give_the_same_clearances(cube_mm: Path) -> None:
    robot, torch = load_robot("ur5e"), load_torch("torch_mig_22")
    mesh = Body("cube", "fixture", "mesh", mesh_path=cube_mm, T_world_body=T_PART, mesh_scale=0.001)
    box = Body("cube", "fixture", "box", size=np.full(3, 0.1), T_world_body=T_PART)
    a = CapsuleCollisionChecker(robot, torch, _cell(mesh), 0.0)
    b = CapsuleCollisionChecker(robot, torch, _cell(box), 0.0)
    Q = np.random.default_rng(4).uniform(-np.pi, np.pi, (400, 6))
    qa, qb = a.query(Q, exact_below=0.3), b.query(Q, exact_below=0.3)
    near = qb.distance < 0.3
    assert near.sum() > 100 and (~qb.free).sum() > 5
    np.testing.assert_array_equal(qa.free, qb.free)
    separated = near & (qb.distance > 0.0)
    np.testing.assert_allclose(qa.distance[separated], qb.distance[separated], atol=1e-6)
    hits = [i for i in np.flatnonzero(~qb.free) if b.pair_names(int(qb.worst_pair[i]))[1] == "cube"]
    assert hits
    for i in hits[:5]:
        assert a.pair_names(int(qa.worst_pair[i])) == b.pair_names(int(qb.worst_pair[i]))
        assert sorted(a.colliding_bodies(Q[i])) == sorted(b.colliding_bodies(Q[i]))


def _random_hull(seed: int) -> tuple[np.ndarray, np.ndarray, trimesh.Trimesh]:
    rng = np.random.default_rng(seed)
    hull = trimesh.convex.convex_hull(rng.normal(size=(40, 3)) * [0.12, 0.07, 0.05])
    T = se3_from_xyz_rpy(rng.uniform(-0.1, 0.1, 3), rng.uniform(-np.pi, np.pi, 3))
    hull.apply_transform(T)
    n = np.asarray(hull.face_normals)
    planes = np.column_stack([n, np.einsum("ij,ij->i", n, hull.vertices[hull.faces[:, 0]])])
    tris = np.ascontiguousarray(hull.vertices[hull.faces].reshape(-1, 9))
    return np.ascontiguousarray(planes), tris, hull


HULLS = [_random_hull(s) for s in range(3)]
point = st.tuples(*[st.floats(-0.35, 0.35)] * 3)


@settings(max_examples=60, deadline=None, database=None)
@given(a=point, b=point, which=st.integers(0, len(HULLS) - 1))
def test_segment_to_convex_distance_is_exact(a: tuple, b: tuple, which: int) -> None:
    planes, tris, hull = HULLS[which]
    pa, pb = np.array(a), np.array(b)
    d = convex.segment_convex_distance(*pa, *pb, planes, tris, 0, len(planes))
    t = np.linspace(0.0, 1.0, 401)
    P = pa + t[:, None] * (pb - pa)
    outside = trimesh.proximity.closest_point(hull, P)[1]
    inside = (P @ planes[:, :3].T - planes[:, 3]).max(axis=1)
    sdf = np.where(inside > 0.0, outside, inside)  # independent reference: trimesh outside, planes inside
    ref = float(sdf.min())
    step = float(np.linalg.norm(pb - pa)) / 400
    assert ref - 0.5 * step - 1e-9 <= d <= ref + 1e-9


def test_convex_kernel_matches_the_box_kernel_on_a_cube() -> None:
    rng = np.random.default_rng(11)
    box = trimesh.creation.box((0.2, 0.1, 0.3))
    n = np.asarray(box.face_normals)
    planes = np.column_stack([n, np.einsum("ij,ij->i", n, box.vertices[box.faces[:, 0]])])
    tris = np.ascontiguousarray(box.vertices[box.faces].reshape(-1, 9))
    bd = np.zeros((1, 15))
    bd[0, :12] = np.eye(4)[:3].ravel()
    bd[0, 12:] = [0.1, 0.05, 0.15]
    for a, b in rng.uniform(-0.4, 0.4, (300, 2, 3)):
        d_box = kernels._segment_body_distance(*a, *b, kernels.BOX, bd, 0)
        d_cvx = convex.segment_convex_distance(*a, *b, planes, tris, 0, len(planes))
        assert d_cvx == pytest.approx(d_box, abs=1e-6)


def test_a_shell_that_is_not_convex_is_its_hull_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "ring.stl"
    trimesh.creation.annulus(r_min=40.0, r_max=60.0, height=20.0).export(path)
    mesh = Mesh(path, 0.001)
    (piece,) = mesh.convex_pieces()
    assert piece.closed and piece.added_volume == pytest.approx(np.pi * 0.04**2 * 0.02, rel=0.02)
    (msg,) = mesh.hull_warnings("clamp_ring")
    assert "clamp_ring" in msg and "ring.stl" in msg and "not convex" in msg and "mm³" in msg
    # an L made of two closed convex shells is exact: no warning, two pieces
    path = tmp_path / "ell.stl"
    trimesh.util.concatenate(
        [
            trimesh.creation.box((100, 20, 20)),
            trimesh.creation.box((20, 20, 80)).apply_translation((40, 0, 50)),
        ]
    ).export(path)
    ell = Mesh(path, 0.001)
    assert len(ell.convex_pieces()) == 2 and ell.hull_warnings("ell") == []


def test_flat_or_missing_meshes_are_clear_errors(tmp_path: Path) -> None:
    flat = tmp_path / "sheet.obj"
    trimesh.Trimesh(
        vertices=[[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], faces=[[0, 1, 2], [0, 2, 3]]
    ).export(flat)
    with pytest.raises(BodyShapeError, match="flat"):
        Mesh(flat, 0.001).convex_pieces()
    with pytest.raises(ModelError, match=r"'fix'.*mesh file not found"):
        Body("fix", "fixture", "mesh", mesh_path=tmp_path / "none.stl")
    with pytest.raises(ModelError, match="unknown shape 'cone'"):
        Body("fix", "fixture", "cone")
    with pytest.raises(ModelError, match="role 'wall'"):
        Body("fix", "wall", "sphere", radius=0.1)


def test_convex_pieces_are_in_the_base_frame_of_a_hanging_robot(cube_mm: Path) -> None:
    T_world_base = se3_from_xyz_rpy(np.array([0.0, 0.0, 1.6]), np.array([np.pi, 0.0, 0.0]))
    body = Body("cube", "fixture", "mesh", mesh_path=cube_mm, T_world_body=T_PART, mesh_scale=0.001)
    _, (piece,) = bodies_in_base(SimpleNamespace(T_world_base=T_world_base, bodies=(body,), clearance=0.0))
    assert isinstance(piece, ConvexBody)
    p_base = np.linalg.inv(T_world_base) @ np.append(T_PART[:3, 3], 1.0)
    centre = piece.tris.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(centre, p_base[:3], atol=1e-9)
    # every face plane has the centre 50 mm inside
    np.testing.assert_allclose(piece.planes[:, 3] - piece.planes[:, :3] @ p_base[:3], 0.05, atol=1e-9)


def test_a_very_fine_hull_is_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "ball.stl"
    trimesh.creation.icosphere(subdivisions=4, radius=50.0).export(path)  # 2562 vertices, convex
    mesh = Mesh(path, 0.001)
    (piece,) = mesh.convex_pieces()
    assert piece.closed and piece.added_volume == 0.0 and len(piece.vertices) == 2562
    (msg,) = mesh.hull_warnings("ball")
    assert "2562 hull vertices" in msg and "0.1 mm" in msg


def test_a_refusal_at_a_hull_says_it_is_the_hull(tmp_path: Path) -> None:
    path = tmp_path / "ring.stl"
    trimesh.creation.annulus(r_min=150.0, r_max=200.0, height=40.0).export(path)
    ring = Body("ring", "obstacle", "mesh", mesh_path=path, T_world_body=T_PART, mesh_scale=0.001)
    checker = CapsuleCollisionChecker(load_robot("ur5e"), load_torch("torch_mig_22"), _cell(ring), 0.0)
    Q = np.random.default_rng(2).uniform(-np.pi, np.pi, (300, 6))
    res = checker.query(Q, exact_below=0.2)
    near = [
        i
        for i in range(len(Q))
        if res.worst_pair[i] >= 0 and checker.pair_names(int(res.worst_pair[i]))[1] == "ring"
    ]
    assert near
    text = checker.describe(Q[near[0]])
    assert "ring (convex hull of its non-convex shell 1)" in text and "needs 0.0 mm" in text
