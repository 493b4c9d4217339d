"""ABB GoFa CRB 15000-5/0.95: FK against roboticstoolbox's modified-DH robot and ABB's dimensions at
zero, all-branch IK of the offset wrist (residual, completeness, labels; property test)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.kinematics.gofa import CRB15000_5_095, N_GOFA_BRANCHES, _mdh, gofa_fk, gofa_ik

rtb = pytest.importorskip("roboticstoolbox")


def _wrap(a: np.ndarray) -> np.ndarray:
    return np.arctan2(np.sin(a), np.cos(a))


def test_fk_matches_roboticstoolbox_and_abb_dimensions() -> None:
    dh = CRB15000_5_095
    links = [rtb.RevoluteMDH(a=dh.a[i], d=dh.d[i], alpha=dh.alpha[i], offset=dh.offset[i]) for i in range(6)]
    robot = rtb.DHRobot(links, name="crb15000")
    q = np.random.default_rng(3).uniform(-math.pi, math.pi, size=(40, 6))
    ours = gofa_fk(q)
    for k in range(len(q)):
        np.testing.assert_allclose(ours[k], robot.fkine(q[k]).A, atol=1e-12)  # type: ignore[attr-defined]
    # at zero (lower arm upright, upper arm horizontal): 470 mm upper arm + 101 mm to the flange
    # forward; 265 + 444 + 110 + 80 mm up; flange z forward, x down (ABB's tool0 convention)
    T0 = gofa_fk(np.zeros(6))
    np.testing.assert_allclose(T0[:3, 3], [0.470 + 0.101, 0.0, 0.265 + 0.444 + 0.110 + 0.080], atol=1e-12)
    np.testing.assert_allclose(T0[:3, 2], [1.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(T0[:3, 0], [0.0, 0.0, -1.0], atol=1e-12)


def test_all_branches_round_trip() -> None:
    rng = np.random.default_rng(11)
    q = rng.uniform(-math.pi, math.pi, size=(400, 6))
    T = gofa_fk(q)
    Q, lab = gofa_ik(T)
    assert Q.shape == (400, N_GOFA_BRANCHES, 6) and lab.shape == (400, N_GOFA_BRANCHES, 3)
    ok = ~np.isnan(Q).any(axis=-1)
    assert np.array_equal(ok, (lab >= 0).all(axis=-1))
    Tb = gofa_fk(np.where(ok[..., None], Q, 0.0))
    err = np.abs(Tb - T[:, None])[ok]
    assert err[:, :3, 3].max() <= 1e-9 and err[:, :3, :3].max() <= 1e-9
    # the configuration the pose came from is among the branches (all but near-tangent roots)
    same = (np.nan_to_num(np.abs(_wrap(Q - q[:, None])), nan=9.0).max(axis=-1) < 1e-6).any(axis=1)
    assert same.mean() >= 0.99
    assert ok.sum(axis=1).max() > 8  # more than the 8 branches of a spherical wrist occur
    # solutions are distinct, and labelled (J1 branch, elbow, root k) with k counting up per arm branch
    for p in range(30):
        rows, sol = lab[p][ok[p]], Q[p][ok[p]]
        for i in range(len(sol)):
            for j in range(i):
                assert np.abs(_wrap(sol[i] - sol[j])).max() > 1e-6
        for b in {(int(r[0]), int(r[1])) for r in rows}:
            ks = [int(r[2]) for r in rows if (int(r[0]), int(r[1])) == b]
            assert ks == list(range(len(ks)))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-math.pi, math.pi, allow_nan=False), min_size=6, max_size=6),
)
def test_ik_recovers_the_configuration(q_list: list[float]) -> None:
    q = np.array(q_list)
    dh = CRB15000_5_095
    # O5 (the J4-J5 intersection) away from the edge of the reach, where f only touches zero
    T5 = np.eye(4)
    for i in range(5):
        T5 = T5 @ _mdh(np.array(q[i] + dh.offset[i]), dh.alpha[i], dh.a[i], dh.d[i])
    reach = dh.a[2] + math.hypot(dh.a[3], dh.d[3])
    dist = math.hypot(math.hypot(T5[0, 3], T5[1, 3]), T5[2, 3] - dh.d[0])
    if dist > reach - 1e-3 or math.hypot(T5[0, 3], T5[1, 3]) < 1e-3:
        return  # the stretched arm and the J1 axis: branches merge (documented)
    T = gofa_fk(q)
    Q, _ = gofa_ik(T)
    ok = ~np.isnan(Q).any(axis=-1)
    assert ok.any()
    d = np.abs(_wrap(Q[ok] - q)).max(axis=-1)
    assert d.min() < 1e-6, (np.degrees(q), d.min())
