"""Mesh queries against closed forms on boxes: on-face test, winding number, ray exit, welding."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.cad.mesh import (
    fitted_normals,
    on_faces,
    ray_exit,
    sharp_convex_edges,
    smoothed_normals,
    trimesh_from_arrays,
    weld_vertices,
    winding_number,
)
from weldcell.cad.testparts import box, random_rigid, tube

HALF = np.array([0.05, 0.03, 0.02])


def _box_mesh(T: np.ndarray):  # type: ignore[no-untyped-def]
    V, F = box(-HALF, HALF)
    return trimesh_from_arrays(V @ T[:3, :3].T + T[:3, 3], F)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_queries_match_the_box(seed: int) -> None:
    rng = np.random.default_rng(seed)
    T = random_rigid(rng)
    m = _box_mesh(T)
    R, p = T[:3, :3], T[:3, 3]
    local = rng.uniform(-1.5, 1.5, size=(200, 3)) * HALF
    inside = np.all(np.abs(local) < HALF, axis=1)
    margin = np.min(np.abs(np.abs(local) - HALF), axis=1) > 1e-4
    w = winding_number(m, local @ R.T + p)
    assert np.all(np.abs(w[margin] - inside[margin]) < 1e-6)
    # from the centre along a local axis the ray leaves through the face at HALF
    for k in range(3):
        d = ray_exit(m, p[None], R[:, k][None])[0]
        assert abs(d - HALF[k]) < 1e-12
    # points on the top face (local +z) within the margin, not beyond it
    q = np.c_[rng.uniform(-1, 1, (50, 2)) * HALF[:2] * 1.2, np.full(50, HALF[2] + 2e-4)]
    found, dist, face = on_faces(
        m, q @ R.T + p, np.tile(R[:, 2], (50, 1)), plane_tol=5e-4, margin=1e-3, cos_min=0.99
    )
    clearly_in = np.all(np.abs(q[:, :2]) <= HALF[:2], axis=1)
    clearly_out = np.any(np.abs(q[:, :2]) > HALF[:2] + 4e-3, axis=1)  # the margin widens at corners
    assert np.all(found[clearly_in]) and not np.any(found[clearly_out])
    assert np.allclose(dist[found], 2e-4) and np.all(face[found] >= 0) and np.all(face[~found] == -1)


def test_cleaning_and_edges() -> None:
    V, F = box(-HALF, HALF)
    soup = V[F].reshape(-1, 3)
    Vw, Fw = weld_vertices(soup, np.arange(len(soup)).reshape(-1, 3), 1e-9)
    assert len(Vw) == 8 and len(Fw) == 12
    m = trimesh_from_arrays(Vw, Fw)
    edges, faces = sharp_convex_edges(m, np.deg2rad(25))
    assert len(edges) == 12 and faces.shape == (12, 2)  # the box's 12 edges, not the face diagonals
    assert np.allclose(smoothed_normals(m, np.deg2rad(2)), m.N)
    Vt, Ft = tube(0.04, 0.05, 0.0, 0.1, 36, np.eye(3), np.zeros(3))
    t = trimesh_from_arrays(Vt, Ft)
    e, _ = sharp_convex_edges(t, np.deg2rad(25))
    assert len(e) == 4 * 36  # the two rims at each end; the facets turn 10° and are not edges


def _tilt_deg(n: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.rad2deg(np.arccos(np.clip(np.einsum("ij,ij->i", n, ref), -1.0, 1.0)))


def test_fitted_normals_are_exact_on_clean_flat_and_faceted_meshes() -> None:
    rng = np.random.default_rng(5)
    m = _box_mesh(random_rigid(rng))
    assert np.allclose(fitted_normals(m, np.deg2rad(2), 0.25e-3), m.N, atol=1e-12)
    Vt, Ft = tube(0.04, 0.05, 0.0, 0.1, 36, np.eye(3), np.zeros(3))  # facets turn 10°: each its own
    t = trimesh_from_arrays(Vt, Ft)
    assert np.allclose(fitted_normals(t, np.deg2rad(2), 0.25e-3), t.N, atol=1e-12)


def test_fitted_normals_of_a_small_noisy_face() -> None:
    """A 6 mm wide end face of a 150 mm wall under 0.05 mm vertex noise: the fitted normal (whole
    face, paired with the opposite end face) tilts less than the triangles' own normals."""
    rng = np.random.default_rng(19)
    V0, F = box([0, 0, 0], [0.006, 0.15, 0.06])
    ends = np.flatnonzero(np.abs(trimesh_from_arrays(V0, F).N[:, 0]) > 0.99)  # the ±x faces
    raw, fit = [], []
    for _ in range(40):
        V = V0 + np.clip(rng.normal(scale=5e-5, size=V0.shape), -1.5e-4, 1.5e-4)
        m = trimesh_from_arrays(V, F)
        clean = trimesh_from_arrays(V0, F).N[ends]
        raw.append(_tilt_deg(m.N[ends], clean))
        fit.append(_tilt_deg(fitted_normals(m, np.deg2rad(2), 0.25e-3)[ends], clean))
    r, f = np.concatenate(raw), np.concatenate(fit)
    assert np.sqrt(np.mean(f**2)) < 0.75 * np.sqrt(np.mean(r**2))
    assert np.max(f) < 1.5


def test_fitted_normals_leave_curved_faces_alone() -> None:
    """Tubes: a fine clean tessellation (facets turning 0.9°, one curved region) is not replaced
    by a plane; on noisy coarser tubes (10° and 3° facets) the fitted normals are no worse than
    the neighbour-averaged ones."""
    V0, F = tube(0.045, 0.05, 0.0, 0.1, 400, np.eye(3), np.zeros(3))
    fine = trimesh_from_arrays(V0, F)
    assert np.allclose(fitted_normals(fine, np.deg2rad(2), 0.25e-3), smoothed_normals(fine, np.deg2rad(2)))
    rng = np.random.default_rng(23)
    for n in (36, 120):
        V0, F = tube(0.045, 0.05, 0.0, 0.1, n, np.eye(3), np.zeros(3))
        clean = trimesh_from_arrays(V0, F).N
        m = trimesh_from_arrays(V0 + np.clip(rng.normal(scale=5e-5, size=V0.shape), -1.5e-4, 1.5e-4), F)
        wall = np.abs(clean[:, 2]) < 0.5
        got = _tilt_deg(fitted_normals(m, np.deg2rad(2), 0.25e-3)[wall], clean[wall])
        avg = _tilt_deg(smoothed_normals(m, np.deg2rad(2))[wall], clean[wall])
        assert np.sqrt(np.mean(got**2)) <= 1.05 * np.sqrt(np.mean(avg**2)), n
        assert np.max(got) <= np.max(avg) + 0.1, n
