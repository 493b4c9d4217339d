"""ABB GoFa CRB 15000-5/0.95: FK against roboticstoolbox's modified-DH robot and ABB's dimensions at
zero, all-branch IK of the offset wrist (residual, completeness, labels; property test)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.errors import InputShapeError
from weldcell.kinematics.gofa import (
    CRB15000_5_095,
    N_GOFA_BRANCHES,
    ModifiedDH,
    _gofa_ik_numpy,
    _mdh,
    gofa_fk,
    gofa_ik,
)

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


def _poses_hard(dh: ModifiedDH, rng: np.random.Generator, n: int) -> np.ndarray:
    """Flange poses of random joints, plus ones near and past the edge of the reach and near the
    J1 axis (arm branches meeting, the clamped residual), as (3n, 4, 4)."""
    T = gofa_fk(rng.uniform(-math.pi, math.pi, size=(n, 6)), dh)
    far = T.copy()
    far[:, :3, 3] *= rng.uniform(1.0, 1.6, size=(n, 1))  # stretched toward and past the reach
    axis = T.copy()
    axis[:, :2, 3] = rng.normal(0.0, 0.02, size=(n, 2))  # the wrist near the J1 axis
    return np.concatenate([T, far, axis])


@pytest.mark.parametrize(
    ("dh", "n_grid"),
    [
        (CRB15000_5_095, 360),
        (CRB15000_5_095, 48),  # a coarse grid: more cells with two roots (the golden-section split)
        # another offset-wrist arm of the same layout (longer links, larger wrist offset)
        (
            ModifiedDH(
                alpha=CRB15000_5_095.alpha,
                a=(0.0, 0.0, 0.7, 0.05, 0.0, 0.15),
                d=(0.4, 0.0, 0.0, 0.6, 0.0, 0.12),
                offset=CRB15000_5_095.offset,
            ),
            360,
        ),
    ],
)
def test_kernel_matches_numpy_formulation(dh: ModifiedDH, n_grid: int) -> None:
    """The compiled kernel and the NumPy formulation of the method return the same branches."""
    T = _poses_hard(dh, np.random.default_rng(5), 60)
    Q, lab = gofa_ik(T, dh, n_grid)
    Qn, labn = _gofa_ik_numpy(T, dh, n_grid)
    assert np.array_equal(lab, labn)
    assert np.array_equal(np.isnan(Q), np.isnan(Qn))
    ok = ~np.isnan(Q)
    assert np.abs(_wrap(Q[ok] - Qn[ok])).max() < 1e-9
    assert ok[..., 0].sum() > 3 * len(T)  # the comparison is not over empty results
    Tb = gofa_fk(np.where(ok, Q, 0.0), dh)
    err = np.abs(Tb - T[:, None])[ok[..., 0]]
    assert err.max() <= 1e-9


def test_ik_rejects_bad_shapes_and_keeps_leading_axes() -> None:
    with pytest.raises(InputShapeError, match="T_base_flange"):
        gofa_ik(np.eye(3))
    T = gofa_fk(np.random.default_rng(2).uniform(-1.0, 1.0, size=(2, 3, 6)))
    Q, lab = gofa_ik(T)
    assert Q.shape == (2, 3, N_GOFA_BRANCHES, 6) and lab.shape == (2, 3, N_GOFA_BRANCHES, 3)
    Q1, _ = gofa_ik(T[1, 2])
    np.testing.assert_array_equal(Q1, Q[1, 2])


def test_ik_cpu_time_per_pose() -> None:
    """Planning a GoFa seam solves IK at thousands of poses (a T-joint: ~8000): the compiled kernel
    takes ~0.15 ms of CPU per pose; the NumPy formulation ~1 ms and its first version ~4 ms."""
    import time

    T = _poses_hard(CRB15000_5_095, np.random.default_rng(8), 400)
    gofa_ik(T[:1])  # compiled (or loaded from numba's cache) outside the measurement
    t0 = time.process_time()
    Q, _ = gofa_ik(T)
    cpu = time.process_time() - t0
    assert (~np.isnan(Q[..., 0])).sum() > len(T)
    assert cpu < 0.6e-3 * len(T), f"{cpu:.2f} s CPU for {len(T)} poses"


def test_root_at_phi_zero_is_found() -> None:
    """q6 = ±π puts the root of f at φ = 0, the two ends of the grid: it was missed when f(0) and
    f(2π) (equal but evaluated apart) fell on different sides of zero by rounding."""
    rng = np.random.default_rng(21)
    q = rng.uniform(-3.0, 3.0, size=(200, 6))
    q[:, 5] = np.where(rng.random(200) < 0.5, math.pi, -math.pi)
    q[0] = (0.0, 2.5, 2.0, 3.0, 1.0, math.pi)  # found by hypothesis
    Q, _ = gofa_ik(gofa_fk(q))
    d = np.nan_to_num(np.abs(_wrap(Q - q[:, None])).max(axis=-1), nan=9.0).min(axis=1)
    assert d[0] < 1e-6
    assert (d < 1e-6).mean() >= 0.99
