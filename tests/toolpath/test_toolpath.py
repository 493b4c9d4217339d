"""Tool paths checked against independent formulas: positions, torch angles, weave, stitches, passes.

Expected values are computed here from the documented conventions (docs/program-format.md), not
from the implementation: joint frame J (x = t, z = -unit(n1 + n2), y = z × x), work angle α from
surface 1 (w = cos α u1 + sin α n1), travel angle β push-positive (z_tcp = cos β z_S + sin β x_S).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import CubicSpline
from scipy.spatial import cKDTree
from toolpath_programs import make_program

from weldcell.program import load_program
from weldcell.spatial import se3_from_xyz_rpy
from weldcell.toolpath import toolpaths_for_program, toolpaths_for_seam

T_WORLD_PART = se3_from_xyz_rpy([0.5, 0.0, 0.005], [0.0, 0.0, math.radians(30.0)])
R_WP = T_WORLD_PART[:3, :3]
ANGLE_TOL = math.radians(0.01)


def to_world(p_part_mm: np.ndarray) -> np.ndarray:
    return np.asarray(p_part_mm) * 1e-3 @ R_WP.T + T_WORLD_PART[:3, 3]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def measured_angles(
    T: np.ndarray, t: np.ndarray, n1: np.ndarray, u1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Work and travel angles [rad] from torch poses, by the documented definitions."""
    z = T[:, :3, 2]
    zt = np.einsum("ij,ij->i", z, t) if t.ndim == 2 else z @ t
    travel = np.arcsin(zt)
    w = -unit(z - np.atleast_2d(zt).T * t)
    work = np.arctan2(
        np.einsum("ij,ij->i", w, np.broadcast_to(n1, w.shape)),
        np.einsum("ij,ij->i", w, np.broadcast_to(u1, w.shape)),
    )
    return work, travel


def seam_frame_axes(
    t: np.ndarray, n1: np.ndarray, u1: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    w = math.cos(alpha) * u1 + math.sin(alpha) * n1
    z = -w
    return np.cross(z, t), z


LINE = {"geometry": {"line": {"start_mm": [-50, 5, 5], "end_mm": [50, 5, 5]}}}
T_LINE = R_WP @ np.array([1.0, 0, 0])
N1 = R_WP @ np.array([0, 0, 1.0])
N2 = R_WP @ np.array([0, 1.0, 0])


def check_rotations(T: np.ndarray) -> None:
    R = T[:, :3, :3]
    assert np.abs(np.swapaxes(R, 1, 2) @ R - np.eye(3)).max() < 1e-12
    assert np.all(np.linalg.det(R) > 0)


def test_line_positions_with_pass_offsets(program_factory) -> None:
    prog = program_factory(
        {
            **LINE,
            "passes": [
                {},
                {"lateral_mm": -2.0, "height_mm": 3.0},
                {"lateral_mm": 2.5, "height_mm": 1.0, "work_angle_deg": 30},
            ],
        }
    )
    segs = toolpaths_for_program(prog)
    assert [s.pass_index for s in segs] == [0, 1, 2]
    b = unit(N1 + N2)
    y_j = np.cross(-b, T_LINE)
    start = to_world(np.array([-50, 5, 5]))
    for seg, (lat, h) in zip(segs, [(0, 0), (-2e-3, 3e-3), (2.5e-3, 1e-3)], strict=True):
        ds = np.diff(seg.s)
        assert ds.max() <= 1e-3 + 1e-12 and np.allclose(ds, ds[0], atol=1e-12)
        assert seg.s[0] == 0.0 and seg.s[-1] == pytest.approx(0.1, abs=1e-12)
        expected = start + seg.s[:, None] * T_LINE + lat * y_j + h * b
        assert np.abs(seg.T_world_tcp[:, :3, 3] - expected).max() < 1e-6
        check_rotations(seg.T_world_tcp)
    work, _ = measured_angles(segs[2].T_world_tcp, T_LINE, N1, N2)
    assert np.abs(work - math.radians(30)).max() < ANGLE_TOL


@pytest.mark.parametrize(("alpha", "beta"), [(45, 10), (30, -15), (60, 0), (80, 25), (45, -5)])
def test_torch_angles_measured_back(program_factory, alpha: float, beta: float) -> None:
    prog = program_factory(LINE, {"work_angle_deg": alpha, "travel_angle_deg": beta})
    (seg,) = toolpaths_for_program(prog)
    work, travel = measured_angles(seg.T_world_tcp, T_LINE, N1, N2)
    assert np.abs(work - math.radians(alpha)).max() < ANGLE_TOL
    assert np.abs(travel - math.radians(beta)).max() < ANGLE_TOL
    # push: the approach direction leans forward along travel
    assert np.sign(seg.T_world_tcp[0, :3, 2] @ T_LINE) == np.sign(beta) or beta == 0
    assert seg.free_rotation and seg.rotation_range == pytest.approx(math.pi)


def test_fixed_rotation_about_torch_axis(program_factory) -> None:
    free = toolpaths_for_program(program_factory(LINE))[0]
    fixed = toolpaths_for_program(
        program_factory(LINE, {"torch_rotation": {"mode": "fixed", "angle_deg": 30, "tolerance_deg": 10}})
    )[0]
    assert not fixed.free_rotation and fixed.rotation_range == pytest.approx(math.radians(10))
    z0, z1 = free.T_world_tcp[:, :3, 2], fixed.T_world_tcp[:, :3, 2]
    assert np.abs(z0 - z1).max() < 1e-12  # same axis
    x0, x1 = free.T_world_tcp[:, :3, 0], fixed.T_world_tcp[:, :3, 0]
    ang = np.arctan2(np.einsum("ij,ij->i", np.cross(x0, x1), z0), np.einsum("ij,ij->i", x0, x1))
    assert np.abs(ang - math.radians(30)).max() < 1e-9


def expected_weave(
    pattern: str,
    A: float,
    f: float,
    tau: np.ndarray,
    dwell: float = 0.0,
    height: float = 0.0,
    longi: float = 0.0,
) -> np.ndarray:
    """(x, y, lift) offsets by the documented formulas, written independently of the implementation."""
    w = 2 * math.pi * f
    out = np.zeros((len(tau), 3))
    if pattern == "sine":
        out[:, 1] = A * np.sin(w * tau)
    elif pattern in ("zigzag", "triangle"):
        tri = (2 / math.pi) * np.arcsin(np.clip(np.sin(w * tau), -1, 1))
        out[:, 1] = A * tri
        if pattern == "triangle":
            out[:, 2] = height * (1 - np.abs(tri))
    elif pattern == "trapezoid":
        T = 1 / f
        tr = (T - 2 * dwell) / 2
        knots = np.array([0, tr / 2, tr / 2 + dwell, 1.5 * tr + dwell, 1.5 * tr + 2 * dwell, T])
        vals = np.array([0, 1, 1, -1, -1, 0.0])
        out[:, 1] = A * np.interp(np.mod(tau, T), knots, vals)
    elif pattern == "circular":
        out[:, 1] = A * np.sin(w * tau)
        out[:, 0] = longi * np.cos(w * tau)
    elif pattern == "figure_eight":
        out[:, 1] = A * np.sin(w * tau)
        out[:, 0] = longi * np.sin(2 * w * tau)
    return out


WEAVES = [
    {"pattern": "sine", "amplitude_mm": 2.0, "frequency_hz": 2.0},
    {"pattern": "zigzag", "amplitude_mm": 3.0, "frequency_hz": 1.5},
    {"pattern": "triangle", "amplitude_mm": 2.5, "frequency_hz": 1.0, "height_mm": 1.5},
    {"pattern": "trapezoid", "amplitude_mm": 4.0, "frequency_hz": 0.8, "dwell_s": 0.2},
    {"pattern": "circular", "amplitude_mm": 1.5, "frequency_hz": 2.5, "longitudinal_mm": 1.0},
    {"pattern": "figure_eight", "amplitude_mm": 2.0, "frequency_hz": 1.2},
]


@pytest.mark.parametrize("weave", WEAVES, ids=[w["pattern"] for w in WEAVES])
def test_weave_exact_in_time(program_factory, weave: dict) -> None:
    v = 4e-3
    prog = program_factory(LINE, {"travel_speed_mm_s": 4, "weave": weave, "work_angle_deg": 40})
    (seg,) = toolpaths_for_program(prog)
    A, f = weave["amplitude_mm"] * 1e-3, weave["frequency_hz"]
    ds = np.diff(seg.s)
    assert ds.max() <= min(1e-3, v / (20 * f)) + 1e-12  # ≥ 20 samples per cycle
    tau = seg.s / v
    assert np.allclose(seg.t, tau)
    longi = weave.get("longitudinal_mm", weave["amplitude_mm"]) * 1e-3
    off = expected_weave(
        weave["pattern"], A, f, tau, weave.get("dwell_s", 0.0), weave.get("height_mm", 0.0) * 1e-3, longi
    )
    y_s, z_s = seam_frame_axes(T_LINE, N1, N2, math.radians(40))
    nominal = to_world(np.array([-50, 5, 5])) + seg.s[:, None] * T_LINE
    expected = nominal + off[:, :1] * T_LINE + off[:, 1:2] * y_s - off[:, 2:] * z_s
    assert np.abs(seg.T_world_tcp[:, :3, 3] - expected).max() < 1e-6
    # amplitude and frequency measured from the path itself
    lateral = (seg.T_world_tcp[:, :3, 3] - nominal) @ y_s
    assert lateral.max() == pytest.approx(A, rel=0.02) and -lateral.min() == pytest.approx(A, rel=0.02)
    up = np.flatnonzero((lateral[:-1] < 0) & (lateral[1:] >= 0))  # upward zero crossings
    t_cross = tau[up] - lateral[up] * (tau[up + 1] - tau[up]) / (lateral[up + 1] - lateral[up])
    assert 1.0 / np.diff(t_cross).mean() == pytest.approx(f, rel=1e-3)
    # the torch orientation does not weave
    assert np.abs(seg.T_world_tcp[:, :3, :3] - seg.T_world_tcp[0, :3, :3]).max() < 1e-12


@pytest.mark.parametrize("weave", WEAVES, ids=[w["pattern"] for w in WEAVES])
def test_weave_samples_hold_every_corner(program_factory, weave: dict) -> None:
    """Straight lines between the samples follow piecewise-linear weaves exactly (corners are samples)."""
    v = 4e-3
    prog = program_factory(LINE, {"travel_speed_mm_s": 4, "weave": weave, "work_angle_deg": 40})
    (seg,) = toolpaths_for_program(prog)
    fine = np.linspace(seg.s[0], seg.s[-1], 40_001)
    exact = seg.poses_at(fine)[:, :3, 3]
    A, f = weave["amplitude_mm"] * 1e-3, weave["frequency_hz"]
    longi = weave.get("longitudinal_mm", weave["amplitude_mm"]) * 1e-3
    off = expected_weave(
        weave["pattern"], A, f, fine / v, weave.get("dwell_s", 0.0), weave.get("height_mm", 0.0) * 1e-3, longi
    )
    y_s, z_s = seam_frame_axes(T_LINE, N1, N2, math.radians(40))
    nominal = to_world(np.array([-50, 5, 5])) + fine[:, None] * T_LINE
    expected = nominal + off[:, :1] * T_LINE + off[:, 1:2] * y_s - off[:, 2:] * z_s
    assert np.abs(exact - expected).max() < 1e-9  # poses_at is the definition between samples too
    lerp = np.stack([np.interp(fine, seg.s, seg.T_world_tcp[:, :3, 3][:, k]) for k in range(3)], axis=1)
    err = np.linalg.norm(lerp - expected, axis=1).max()
    if weave["pattern"] in ("zigzag", "triangle", "trapezoid"):
        assert err < 1e-9, f"{weave['pattern']}: a corner is cut by {err * 1e3:.4f} mm"
    else:  # smooth weaves: chords of ≥ 20 samples per cycle (figure eight: 10 per x cycle)
        assert err < (A + longi) * (1 - math.cos(2 * math.pi / 20)) + 1e-9


@pytest.mark.parametrize("weave", WEAVES[1:4], ids=[w["pattern"] for w in WEAVES[1:4]])
def test_reversed_segment_is_the_reversed_definition(program_factory, weave: dict) -> None:
    """A segment welded backwards by the planner: same seam points, weave restarted at the new start."""
    from weldcell.planning.weld import reversed_segment

    prog = program_factory(LINE, {"travel_speed_mm_s": 4, "weave": weave, "work_angle_deg": 40})
    (seg,) = toolpaths_for_program(prog)
    rev = reversed_segment(seg, 0.04, 0.06)
    assert rev.path is not None and rev.path.reversed
    assert np.allclose(rev.T_world_tcp, rev.poses_at(rev.s), atol=1e-12)
    # without weave offsets, the reversed pass curve is the forward one read backwards
    Rf, pf = seg.path.seam_frames(seg.s)
    Rr, pr = rev.path.seam_frames(seg.s[0] + seg.s[-1] - seg.s)
    assert np.allclose(pf, pr, atol=1e-12)
    assert np.allclose(Rf[:, :, 0], -Rr[:, :, 0]) and np.allclose(Rf[:, :, 2], Rr[:, :, 2])
    # the weave restarts: the first reversed pose has no lateral offset
    d0 = rev.T_world_tcp[0, :3, 3] - rev.T_world_seam[0, :3, 3]
    assert abs(d0 @ rev.T_world_seam[0, :3, 1]) < 1e-9
    # and its corners are samples as well
    corners = rev.path.corners()
    assert np.min(np.abs(rev.s[:, None] - corners[None, :]), axis=0).max() < 1e-12


def test_stitch_segments(program_factory) -> None:
    prog = program_factory(
        {
            "geometry": {"line": {"start_mm": [-80, 5, 5], "end_mm": [80, 5, 5]}},
            "stitch": {"length_mm": 30, "pitch_mm": 55, "start_offset_mm": 5},
        }
    )
    segs = toolpaths_for_program(prog)
    # starts 5, 60, 115 (ends 145 ≤ 160); a 4th at 170 would not fit
    assert [s.stitch_index for s in segs] == [0, 1, 2]
    start = to_world(np.array([-80, 5, 5]))
    for k, seg in enumerate(segs):
        assert seg.s[0] == pytest.approx((5 + 55 * k) * 1e-3, abs=1e-12)
        assert seg.length == pytest.approx(0.030, abs=1e-12)
        measured = np.linalg.norm(seg.T_world_tcp[-1, :3, 3] - seg.T_world_tcp[0, :3, 3])
        assert measured == pytest.approx(0.030, abs=1e-9)
        assert np.abs(seg.T_world_tcp[0, :3, 3] - (start + seg.s[0] * T_LINE)).max() < 1e-9


def test_approach_depart_and_times(program_factory) -> None:
    prog = program_factory(LINE, {"arc_start": {"dwell_s": 0.4}, "crater_fill": {"time_s": 0.7}})
    (seg,) = toolpaths_for_program(prog)
    T0, T1 = seg.T_world_tcp[0], seg.T_world_tcp[-1]
    assert np.allclose(seg.T_world_approach[:3, 3], T0[:3, 3] - 0.040 * T0[:3, 2])
    assert np.allclose(seg.T_world_depart[:3, 3], T1[:3, 3] - 0.060 * T1[:3, 2])
    assert np.allclose(seg.T_world_approach[:3, :3], T0[:3, :3])
    assert seg.arc_time == pytest.approx(0.1 / 0.008 + 0.4 + 0.7)
    assert not seg.T_world_tcp.flags.writeable


def test_reverse_direction_welds_the_same_beads(program_factory) -> None:
    passes = {"passes": [{"lateral_mm": 2.0, "height_mm": 1.0}]}
    fwd = toolpaths_for_program(program_factory({**LINE, **passes}))[0]
    rev = toolpaths_for_program(program_factory({**LINE, **passes, "direction": "reverse"}))[0]
    assert np.abs(rev.T_world_tcp[:, :3, 3] - fwd.T_world_tcp[::-1, :3, 3]).max() < 1e-9
    work, travel = measured_angles(rev.T_world_tcp, -T_LINE, N1, N2)
    assert np.abs(work - math.radians(45)).max() < ANGLE_TOL
    assert np.abs(travel - math.radians(10)).max() < ANGLE_TOL


def test_butt_joint_tilt_side(program_factory) -> None:
    """One-face joint: u1 = n1 × (direction the seam is written in); reversing keeps the side."""
    butt = {**LINE, "joint": "butt", "normals": None, "face_normal": [0, 0, 1]}
    for direction in ("forward", "reverse"):
        prog = program_factory(
            {**butt, "direction": direction}, {"work_angle_deg": 70, "travel_angle_deg": 0}
        )
        (seg,) = toolpaths_for_program(prog)
        back = -seg.T_world_tcp[:, :3, 2]  # from the joint to the torch
        u1 = np.cross(N1, T_LINE)  # left of the written direction, seen from above
        assert np.allclose(back @ u1, math.cos(math.radians(70)))
        assert np.allclose(back @ N1, math.sin(math.radians(70)))


def test_circle_on_pipe(program_factory) -> None:
    seam = {
        "geometry": {
            "circle": {"center_mm": [0, 0, 5], "axis": [0, 0, 1], "start_mm": [-40, 0, 5], "sweep_deg": 185}
        },
        "normals": [[0, 0, 1], [-1, 0, 0]],
    }
    (seg,) = toolpaths_for_program(program_factory(seam, {"work_angle_deg": 40, "travel_angle_deg": 7}))
    assert seg.seam_length == pytest.approx(0.040 * math.radians(185), abs=1e-12)
    c = to_world(np.array([0, 0, 5]))
    p = seg.T_world_tcp[:, :3, 3]
    radial = p - c
    assert np.abs(radial @ N1).max() < 1e-9  # in the flange plane
    assert np.abs(np.linalg.norm(radial, axis=1) - 0.040).max() < 1e-6
    r_hat = unit(radial)
    t = np.cross(N1, r_hat)  # right-handed about the axis
    work, travel = measured_angles(seg.T_world_tcp, t, N1, r_hat)
    assert np.abs(work - math.radians(40)).max() < ANGLE_TOL
    assert np.abs(travel - math.radians(7)).max() < ANGLE_TOL


def test_arc_through_three_points(program_factory) -> None:
    seam = {
        "geometry": {"arc": {"start_mm": [30, 0, 5], "mid_mm": [0, 30, 5], "end_mm": [-30, 0, 5]}},
        "normals": [[0, 0, 1], [1, 0, 0]],
    }
    (seg,) = toolpaths_for_program(program_factory(seam))
    assert seg.seam_length == pytest.approx(math.pi * 0.030, abs=1e-12)
    radial = seg.T_world_tcp[:, :3, 3] - to_world(np.array([0, 0, 5]))
    assert np.abs(np.linalg.norm(radial, axis=1) - 0.030).max() < 1e-6


def test_polyline_blends_smoothly(program_factory) -> None:
    pts = [[-60, -40, 5], [40, -40, 5], [40, 50, 5], [-20, 70, 5]]
    seam = {
        "geometry": {"polyline": {"points_mm": pts, "blend_radius_mm": 6}},
        "normals": [[0, 0, 1], [0, 1, 0]],
    }
    (seg,) = toolpaths_for_program(program_factory(seam))
    P = np.array(pts, dtype=float) * 1e-3
    d = np.diff(P, axis=0)
    L = np.linalg.norm(d, axis=1)
    u = d / L[:, None]
    turn = np.arccos(np.einsum("ij,ij->i", u[:-1], u[1:]))
    r = 6e-3
    assert seg.seam_length == pytest.approx(
        L.sum() - 2 * r * np.tan(turn / 2).sum() + r * turn.sum(), abs=1e-12
    )
    p_part = (seg.T_world_tcp[:, :3, 3] - T_WORLD_PART[:3, 3]) @ R_WP
    # distance to the raw polyline: 0 on the straight parts, ≤ r (1/cos(θ/2) - 1) near corners
    dist = np.full(len(p_part), np.inf)
    for a, e in itertools.pairwise(P):
        h = np.clip((p_part - a) @ (e - a) / ((e - a) @ (e - a)), 0, 1)
        dist = np.minimum(dist, np.linalg.norm(p_part - (a + h[:, None] * (e - a)), axis=1))
    near = (
        np.min(np.linalg.norm(p_part[:, None] - P[None, 1:-1], axis=2), axis=1)
        < r * np.tan(turn.max() / 2) + 1e-9
    )
    assert dist[~near].max() < 1e-9
    assert dist.max() <= r * (1 / np.cos(turn.max() / 2) - 1) + 1e-9
    # smooth orientation: consecutive poses turn by at most step / r
    R = seg.T_world_tcp[:, :3, :3]
    rel = np.einsum("nji,njk->nik", R[:-1], R[1:])
    ang = np.arccos(np.clip((np.trace(rel, axis1=1, axis2=2) - 1) / 2, -1, 1))
    assert ang.max() <= np.diff(seg.s).max() / r + 1e-6
    # the torch keeps its angles all the way round (surface 2 turns with the seam): check on the
    # straight parts, where the tangent is exactly the segment direction
    seg_dist = np.stack(
        [
            np.linalg.norm(
                p_part - (a + np.clip((p_part - a) @ (e - a) / ((e - a) @ (e - a)), 0, 1)[:, None] * (e - a)),
                axis=1,
            )
            for a, e in itertools.pairwise(P)
        ]
    )
    k = np.argmin(seg_dist, axis=0)[~near]
    t = u[k] @ R_WP.T
    work, travel = measured_angles(seg.T_world_tcp[~near], t, N1, np.cross(N1, t))
    assert np.abs(work - math.radians(45)).max() < ANGLE_TOL
    assert np.abs(travel - math.radians(10)).max() < ANGLE_TOL


def test_spline_points_on_curve(program_factory) -> None:
    pts = np.array([[-60, 0, 5], [-20, 15, 5], [20, -10, 5], [60, 5, 5]], dtype=float)
    seam = {"geometry": {"spline": {"points_mm": pts.tolist()}}, "normals": [[0, 0, 1], [0, 1, 0]]}
    prog = program_factory(seam, {"travel_angle_deg": 0})
    (seg,) = toolpaths_for_program(prog)
    chord = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    spline = CubicSpline(chord, pts * 1e-3, bc_type="natural")
    dense = spline(np.linspace(0, chord[-1], 400_001))
    p_part = (seg.T_world_tcp[:, :3, 3] - T_WORLD_PART[:3, 3]) @ R_WP
    dist, _ = cKDTree(dense).query(p_part)
    assert dist.max() < 1e-6
    steps = np.linalg.norm(np.diff(p_part, axis=0), axis=1)
    ds = np.diff(seg.s)  # arc-length parametrised: chords are a hair shorter than the arcs
    assert np.all(steps <= ds + 1e-12) and np.all(steps >= ds * (1 - 1e-4))
    assert seg.seam_length == pytest.approx(np.linalg.norm(np.diff(dense, axis=0), axis=1).sum(), rel=1e-7)


def test_program_order_follows_sequence() -> None:
    prog = load_program("programs/box_frame.yaml")
    segs = toolpaths_for_program(prog)
    assert [s.seam_id for s in segs] == [s.id for s in prog.seams]
    one = toolpaths_for_seam(prog, prog.seams[3])
    assert one[0].seam_id == prog.seams[3].id


@settings(max_examples=40, deadline=None)
@given(
    theta=st.floats(0.0, math.pi),
    phi=st.floats(-math.pi, math.pi),
    roll=st.floats(-math.pi, math.pi),
    included=st.floats(30.0, 150.0),
    length=st.floats(5.0, 300.0),
    alpha=st.floats(15.0, 80.0),
    beta=st.floats(-30.0, 30.0),
    lateral=st.floats(-5.0, 5.0),
    height=st.floats(-3.0, 5.0),
    amp=st.floats(0.5, 4.0),
    freq=st.floats(0.3, 3.0),
)
def test_generated_line_seams(
    tmp_path_factory, theta, phi, roll, included, length, alpha, beta, lateral, height, amp, freq
) -> None:
    t = np.array([math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)])
    ref = np.array([1.0, 0, 0]) if abs(t[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = unit(np.cross(t, ref))
    e2 = np.cross(t, e1)
    n1 = math.cos(roll) * e1 + math.sin(roll) * e2
    n2_dir = (
        math.cos(roll + math.radians(180 - included)) * e1
        + math.sin(roll + math.radians(180 - included)) * e2
    )
    start = np.array([10.0, -20.0, 5.0])
    end = start + length * t
    seam = {
        "geometry": {"line": {"start_mm": start.tolist(), "end_mm": end.tolist()}},
        "normals": [n1.tolist(), n2_dir.tolist()],
        "passes": [{"lateral_mm": lateral, "height_mm": height}],
    }
    proc = {
        "work_angle_deg": alpha,
        "travel_angle_deg": beta,
        "weave": {"pattern": "sine", "amplitude_mm": amp, "frequency_hz": freq},
    }
    prog = make_program(tmp_path_factory.mktemp("gen"), seam, proc)
    (seg,) = toolpaths_for_program(prog)
    tw, n1w, n2w = R_WP @ t, R_WP @ n1, R_WP @ n2_dir
    u1 = unit(n2w - (n2w @ n1w) * n1w)
    work, travel = measured_angles(seg.T_world_tcp, tw, n1w, u1)
    assert np.abs(work - math.radians(alpha)).max() < ANGLE_TOL
    assert np.abs(travel - math.radians(beta)).max() < ANGLE_TOL
    b = unit(n1w + n2w)
    y_j = np.cross(-b, tw)
    y_s, _ = seam_frame_axes(tw, n1w, u1, math.radians(alpha))
    tau = seg.s / 8e-3
    expected = (
        to_world(start)
        + seg.s[:, None] * tw
        + lateral * 1e-3 * y_j
        + height * 1e-3 * b
        + (amp * 1e-3 * np.sin(2 * math.pi * freq * tau))[:, None] * y_s
    )
    assert np.abs(seg.T_world_tcp[:, :3, 3] - expected).max() < 1e-6
    check_rotations(seg.T_world_tcp)
    assert np.diff(seg.s).max() <= min(1e-3, 8e-3 / (20 * freq)) + 1e-12


@settings(max_examples=25, deadline=None)
@given(
    theta=st.floats(0.0, math.pi),
    phi=st.floats(-math.pi, math.pi),
    start_angle=st.floats(-math.pi, math.pi),
    radius=st.floats(20.0, 150.0),
    sweep=st.floats(30.0, 370.0),
    alpha=st.floats(20.0, 70.0),
    beta=st.floats(-20.0, 20.0),
)
def test_generated_circle_seams(
    tmp_path_factory, theta, phi, start_angle, radius, sweep, alpha, beta
) -> None:
    axis = np.array([math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)])
    ref = np.array([1.0, 0, 0]) if abs(axis[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = unit(np.cross(axis, ref))
    e2 = np.cross(axis, e1)
    r0 = math.cos(start_angle) * e1 + math.sin(start_angle) * e2
    center = np.array([5.0, -3.0, 5.0])
    seam = {
        "geometry": {
            "circle": {
                "center_mm": center.tolist(),
                "axis": axis.tolist(),
                "start_mm": (center + radius * r0).tolist(),
                "sweep_deg": sweep,
            }
        },
        "normals": [axis.tolist(), r0.tolist()],  # flange face, pipe surface (radial) at the start
    }
    prog = make_program(
        tmp_path_factory.mktemp("circ"), seam, {"work_angle_deg": alpha, "travel_angle_deg": beta}
    )
    (seg,) = toolpaths_for_program(prog)
    assert seg.seam_length == pytest.approx(radius * 1e-3 * math.radians(sweep), rel=1e-12)
    n1 = R_WP @ axis
    radial = seg.T_world_tcp[:, :3, 3] - to_world(center)
    assert np.abs(radial @ n1).max() < 1e-9
    assert np.abs(np.linalg.norm(radial, axis=1) - radius * 1e-3).max() < 1e-6
    r_hat = unit(radial)
    work, travel = measured_angles(seg.T_world_tcp, np.cross(n1, r_hat), n1, r_hat)
    assert np.abs(work - math.radians(alpha)).max() < ANGLE_TOL
    assert np.abs(travel - math.radians(beta)).max() < ANGLE_TOL
    check_rotations(seg.T_world_tcp)


def test_a_weave_needing_too_many_samples_is_refused_naming_file_seam_and_fields(tmp_path: Path) -> None:
    """Found by fuzzing: the refusal named only the seam; it now names the file, the pass and the
    fields that set the sample count (one line)."""
    import yaml

    from weldcell.errors import ToolpathError
    from weldcell.program import load_program
    from weldcell.toolpath import toolpaths_for_program

    root = Path(__file__).resolve().parents[2]
    data = yaml.safe_load((root / "programs" / "butt_weave.yaml").read_text())
    for proc in data["procedures"].values():  # slow travel, fast weave: 0.005 mm per sample
        proc["travel_speed_mm_s"] = 0.5
        proc["weave"].update(frequency_hz=5, dwell_s=0.0)
    data["seams"][0]["geometry"]["line"]["end_mm"] = [500, 12000, 10]  # 12.1 m: 2.4 M samples
    path = tmp_path / "dense_weave.yaml"
    path.write_text(yaml.safe_dump(data))
    program = load_program(path)
    with pytest.raises(ToolpathError) as err:
        toolpaths_for_program(program)
    msg = str(err.value)
    assert msg.startswith(str(path)) and "\n" not in msg
    assert "pass 1" in msg and "frequency_hz 5" in msg and "travel_speed_mm_s 0.5" in msg
