"""Seam detection on generated assemblies: every joint type, noise, gaps, rigid-motion invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weldcell.cad import DetectOptions, detect_seams, make_part
from weldcell.cad.evaluate import score
from weldcell.cad.testparts import GENERATORS, Assembly, moved, perturbed, random_rigid
from weldcell.errors import InvalidValueError

OPT = DetectOptions()


def _detect(asm: Assembly):  # type: ignore[no-untyped-def]
    return detect_seams([make_part(n, V, F, OPT) for n, V, F in asm.parts], OPT)


def _check(asm: Assembly, pos_mm: float = 0.5, ang_deg: float = 1.0) -> None:
    found = _detect(asm)
    sc = score(found, asm.seams)
    kinds = [(s.id, s.joint, s.curve, round(s.length * 1e3, 1)) for s in found]
    assert sc.true_pos == sc.detected, f"{asm.name}: false candidates among {kinds}"
    assert sc.found == sc.known, f"{asm.name}: {sc.known - sc.found} known seams missed; found {kinds}"
    assert np.max(sc.position_err) * 1e3 <= pos_mm
    assert np.rad2deg(np.max(sc.angle_err)) <= ang_deg


# the families that are quick to detect; the pipe families run once each below
FAST = [k for k in GENERATORS if k not in ("flange_on_pipe", "pipe_on_flange")]


@pytest.mark.parametrize("family", FAST)
def test_each_family_clean_and_noisy(family: str) -> None:
    rng = np.random.default_rng(sum(map(ord, family)))
    asm = moved(GENERATORS[family](rng), random_rigid(rng))
    _check(asm)
    _check(perturbed(asm, rng))


@pytest.mark.parametrize("family", ["pipe_on_flange", "flange_on_pipe"])
def test_tessellated_pipes_give_circles(family: str) -> None:
    rng = np.random.default_rng(7)
    asm = moved(GENERATORS[family](rng), random_rigid(rng))
    noisy = perturbed(asm, rng)
    found = _detect(noisy)
    assert [s.curve for s in found] == ["circle", "circle"]
    assert all(s.joint == "fillet" and abs(np.rad2deg(s.sweep) - 360) < 1e-6 for s in found)
    _check(noisy)


@pytest.mark.parametrize("seed", [13, 18])
def test_short_seams_at_small_noisy_faces_keep_the_work_angle(seed: int) -> None:
    """Issue 19: the 6-10 mm seams at the ends of a noisy box's walls, whose end faces are only
    6-10 mm wide, stay within 1°; these seeds gave 1.23° and 1.29° with per-edge normals."""
    rng = np.random.default_rng(seed)
    _check(perturbed(moved(GENERATORS["box"](rng), random_rigid(rng)), rng))


def test_joint_types_and_angles() -> None:
    rng = np.random.default_rng(3)
    lap = _detect(GENERATORS["lap"](rng))
    assert [s.joint for s in lap] == ["lap", "lap"]
    butt = _detect(GENERATORS["butt_gap"](rng))
    assert [s.joint for s in butt] == ["butt", "butt"]
    assert all(s.normal_2 is None and np.isclose(s.work_angle, np.pi / 2) for s in butt)
    lean = [s for s in _detect(GENERATORS["tjoint_lean70"](rng)) if s.length > 0.03]  # not the end seams
    assert sorted(round(float(np.rad2deg(s.interior)), 3) for s in lean) == [70.0, 110.0]
    assert sorted(round(float(np.rad2deg(s.work_angle)), 3) for s in lean) == [35.0, 55.0]
    curved = _detect(GENERATORS["curved_web"](rng))
    assert sorted(s.curve for s in curved) == ["arc", "arc", "line", "line"]
    bent = _detect(GENERATORS["bent_web"](rng))
    assert sorted(s.curve for s in bent) == ["line", "line", "polyline", "polyline"]


def test_gap_wider_than_tolerance_is_not_a_contact() -> None:
    from weldcell.cad.testparts import tjoint

    rng = np.random.default_rng(11)
    asm = tjoint(rng, 90.0, gap=1.2e-3)
    assert _detect(asm) == ()
    wide = DetectOptions(gap_tol=1.5e-3, probe=4.5e-3)
    found = detect_seams([make_part(n, V, F, wide) for n, V, F in asm.parts], wide)
    assert score(found, asm.seams).found == len(asm.seams)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    family=st.sampled_from(["bracket", "tjoint_lean115", "butt_gap", "curved_web"]),
)
def test_rigid_motion_moves_the_seams_with_the_parts(seed: int, family: str) -> None:
    rng = np.random.default_rng(seed)
    asm = GENERATORS[family](rng)
    T = random_rigid(rng)
    a = _detect(asm)
    b = _detect(moved(asm, T))
    assert len(a) == len(b)
    R, p = T[:3, :3], T[:3, 3]
    for s in a:
        pts, w = s.sample_torch(1e-3)
        pts = pts @ R.T + p
        w = w @ R.T
        match = [
            x for x in b if x.joint == s.joint and x.curve == s.curve and abs(x.length - s.length) < 1e-6
        ]
        errs = []
        for x in match:
            q, v = x.sample_torch(1e-3)
            if len(q) != len(pts):
                continue
            for qq, vv in ((q, v), (q[::-1], v[::-1])):
                errs.append(
                    max(
                        np.max(np.linalg.norm(qq - pts, axis=1)),
                        np.max(np.linalg.norm(vv - w, axis=1)) * 1e-3,
                    )
                )
        assert errs and min(errs) < 1e-6, f"{s.id} ({s.joint} {s.curve}) has no moved counterpart"


def test_bad_input() -> None:
    rng = np.random.default_rng(0)
    asm = GENERATORS["tjoint"](rng)
    parts = [make_part(n, V, F, OPT) for n, V, F in asm.parts]
    with pytest.raises(InvalidValueError, match="at least two parts"):
        detect_seams(parts[:1])
    with pytest.raises(InvalidValueError, match="gap_tol must be > 0"):
        DetectOptions(gap_tol=0.0)
    with pytest.raises(InvalidValueError, match="probe"):
        DetectOptions(gap_tol=2e-3, probe=1e-3)
    with pytest.raises(InvalidValueError, match="finite"):
        make_part("bad", np.full((3, 3), np.nan), np.array([[0, 1, 2]]), OPT)
