"""Independent accuracy check of planned trajectories against the programs as written.

For every program in ``programs/`` and in ``tests/accuracy/programs/`` (weaves of every pattern,
vertical-up and overhead seams, arcs, circles, polylines, stitches, reversed seams, UR3e / UR10e /
UR16e / KR 6, hanging mounts) the trajectory from ``weldcell.planning.plan_program`` is checked
with kinematics from the vendors' published tables and seam geometry rebuilt from the YAML by
:mod:`indep_geometry` (no weldcell code), on every arc-on sample:

* TCP position (FK of the planned joints) within 0.05 mm of the programmed point, weave included,
  and the stored nominal pose within 0.01 mm of it;
* work and travel angles within 0.05° of the programmed ones (plus the procedure's tolerance);
* travel speed within 1 % of the programmed speed between the start and end ramps;
* every stitch of every pass welded from end to end.

Each program is planned once per session (``box_frame`` takes ~10 s).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from indep_geometry import SeamDef, fk_flange, load_yaml, pose_from_spec

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = [
    p
    for p in sorted((ROOT / "programs").glob("*.yaml"))
    + sorted((Path(__file__).parent / "programs").glob("*.yaml"))
    # cells with a positioner or track: the seam moves; tests/planning/test_coordinated.py judges them
    if not {"positioner", "track"} & set(load_yaml(p)["cell"])
]
POS_TOL = 0.05e-3  # [m]
NOMINAL_TOL = 0.01e-3  # [m]
ANGLE_TOL = math.radians(0.05)
SPEED_TOL = 0.01

_PLANS: dict[Path, Any] = {}


def _plan(path: Path) -> Any:
    if path not in _PLANS:
        from weldcell.planning import PlanStatus, plan_program
        from weldcell.program import load_program

        res = plan_program(load_program(path))
        assert res.status is PlanStatus.OK, f"{path.name}: {res.status}: {res.reason}"
        _PLANS[path] = res.trajectory
    return _PLANS[path]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def _welds(path: Path) -> list[dict[str, Any]]:
    """Every arc-on run of the trajectory matched to its seam, pass and stitch as written."""
    data = load_yaml(path)
    traj = _plan(path)
    seams = {s["id"]: SeamDef(s, data) for s in data["seams"]}
    T_base = pose_from_spec(data["cell"].get("base"))
    assert np.allclose(traj.T_world_base, T_base, atol=1e-9), "robot base differs from the program's"
    T_fk = T_base @ fk_flange(data["cell"]["robot"], traj.q) @ traj.T_flange_tcp
    count: dict[str, int] = {}
    out = []
    for a, b in _runs(traj.arc_on):
        ids = set(traj.seam_index[a:b].tolist())
        assert len(ids) == 1, f"one arc-on run spans seams {ids}"
        sid = traj.seam_ids[ids.pop()]
        seam = seams[sid]
        k = count.get(sid, 0)
        count[sid] = k + 1
        ps = seam.passes[k // len(seam.stitches)]
        s = traj.seam_s[a:b]
        backwards = bool(s[-1] < s[0])
        lo, hi = float(s.min()), float(s.max())
        j = int(np.argmin([abs(s0 - lo) + abs(s1 - hi) for s0, s1 in seam.stitches]))
        out.append(
            {"seam": seam, "pass": ps, "stitch": seam.stitches[j], "s": s, "backwards": backwards,
             "T": T_fk[a:b], "T_nominal": traj.T_world_tcp[a:b], "dt": traj.dt}
        )  # fmt: skip
    for sid, seam in seams.items():
        expected = len(seam.passes) * len(seam.stitches)
        assert count.get(sid, 0) == expected, f"seam {sid}: {count.get(sid, 0)} welds, expected {expected}"
    return out


@pytest.fixture(scope="session", params=PROGRAMS, ids=lambda p: p.stem)
def welds(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """The arc-on runs of one planned program (planned once per session)."""
    return _welds(request.param)


def test_every_stitch_welded_end_to_end(welds: list[dict[str, Any]]) -> None:
    for w in welds:
        s0, s1 = w["stitch"]
        s = w["s"]
        assert abs(s.min() - s0) < 1e-6 and abs(s.max() - s1) < 1e-6, (
            f"seam {w['seam'].id} pass {w['pass'].index}: welded {s.min() * 1e3:.3f}-{s.max() * 1e3:.3f} mm, "
            f"programmed {s0 * 1e3:.3f}-{s1 * 1e3:.3f} mm"
        )


def test_tcp_position_follows_the_program(welds: list[dict[str, Any]]) -> None:
    for w in welds:
        seam, ps = w["seam"], w["pass"]
        p_prog = seam.tcp_points(ps, w["s"], *w["stitch"], w["backwards"])
        err = np.linalg.norm(w["T"][:, :3, 3] - p_prog, axis=1)
        i = int(np.argmax(err))
        assert err[i] <= POS_TOL, (
            f"seam {seam.id} pass {ps.index}: TCP {err[i] * 1e3:.4f} mm from the programmed point at "
            f"s = {w['s'][i] * 1e3:.2f} mm (allowed {POS_TOL * 1e3} mm)"
        )


def test_nominal_poses_are_the_programmed_shape(welds: list[dict[str, Any]]) -> None:
    """The stored nominal poses are the definition itself (weave corners included) to 0.01 mm."""
    for w in welds:
        seam, ps = w["seam"], w["pass"]
        p_prog = seam.tcp_points(ps, w["s"], *w["stitch"], w["backwards"])
        err = np.linalg.norm(w["T_nominal"][:, :3, 3] - p_prog, axis=1)
        i = int(np.argmax(err))
        assert err[i] <= NOMINAL_TOL, (
            f"seam {seam.id} pass {ps.index}: nominal TCP {err[i] * 1e3:.4f} mm from the programmed "
            f"point at s = {w['s'][i] * 1e3:.2f} mm (allowed {NOMINAL_TOL * 1e3} mm)"
        )


def test_torch_angles_follow_the_program(welds: list[dict[str, Any]]) -> None:
    for w in welds:
        seam, ps = w["seam"], w["pass"]
        work, travel = seam.torch_angles(ps, w["s"], w["T"][:, :3, 2], w["backwards"])
        for name, got, want, tol in (
            ("work", work, ps.work, ps.tol_work),
            ("travel", travel, ps.travel, ps.tol_travel),
        ):
            err = np.abs(got - want)
            i = int(np.argmax(err))
            assert err[i] <= tol + ANGLE_TOL, (
                f"seam {seam.id} pass {ps.index}: {name} angle {math.degrees(got[i]):.4f}°, programmed "
                f"{math.degrees(want):.4f}° ± {math.degrees(tol):g}° (+0.05°) at s = {w['s'][i] * 1e3:.2f} mm"
            )


def test_travel_speed_is_the_programmed_speed(welds: list[dict[str, Any]]) -> None:
    for w in welds:
        seam, ps = w["seam"], w["pass"]
        v = np.abs(np.diff(w["s"])) / w["dt"]
        assert v.max() <= ps.speed * (1 + SPEED_TOL), (
            f"seam {seam.id}: {v.max() * 1e3:.3f} mm/s over the programmed speed"
        )
        cruise = np.flatnonzero(v >= ps.speed * (1 - SPEED_TOL))
        assert cruise.size, f"seam {seam.id} pass {ps.index}: never reaches {ps.speed * 1e3:g} mm/s"
        inner = v[cruise[0] : cruise[-1] + 1]
        err = np.abs(inner / ps.speed - 1.0)
        assert err.max() <= SPEED_TOL, f"seam {seam.id} pass {ps.index}: travel speed off by {err.max():.2%}"
        # the ramps are only at the ends: at most 1/3 of the seam each, and at rest at both ends
        ramp = max(float(np.sum(v[: cruise[0]]) * w["dt"]), float(np.sum(v[cruise[-1] + 1 :]) * w["dt"]))
        length = w["stitch"][1] - w["stitch"][0]
        assert ramp <= length / 3 + 1e-9, (
            f"seam {seam.id}: a {ramp * 1e3:.1f} mm speed ramp on a {length * 1e3:.1f} mm weld"
        )


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_weldable_programs_raise_no_plausibility_warning(path: Path) -> None:
    """Every program here plans and welds as written, so `weldcell check` must not doubt it."""
    from weldcell.program import load_program
    from weldcell.toolpath.plausibility import program_warnings

    assert [w.message for w in program_warnings(load_program(path))] == []


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_tool_paths_agree_with_the_independent_geometry(path: Path) -> None:
    """weldcell.toolpath and the rebuild from the YAML agree far below the tolerances (both directions)."""
    from weldcell.planning.weld import reversed_segment
    from weldcell.program import load_program
    from weldcell.toolpath import toolpaths_for_program

    data = load_yaml(path)
    seams = {s["id"]: SeamDef(s, data) for s in data["seams"]}
    for seg in toolpaths_for_program(load_program(path)):
        seam = seams[seg.seam_id]
        ps, stitch = seam.passes[seg.pass_index], seam.stitches[seg.stitch_index]
        for backwards, g in ((False, seg), (True, reversed_segment(seg, 0.05, 0.05))):
            s_seam = g.s if not backwards else g.s[0] + g.s[-1] - g.s  # arc length as programmed
            err = np.linalg.norm(
                g.T_world_tcp[:, :3, 3] - seam.tcp_points(ps, s_seam, *stitch, backwards), axis=1
            )
            assert err.max() < 1e-9, (
                f"seam {seam.id} pass {ps.index} (backwards={backwards}): {err.max():.3g} m"
            )
            work, travel = seam.torch_angles(ps, s_seam, g.T_world_tcp[:, :3, 2], backwards)
            assert np.abs(work - ps.work).max() < 1e-9 and np.abs(travel - ps.travel).max() < 1e-9
