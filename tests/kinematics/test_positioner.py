"""Positioner and track models: FK against an independent product of elementary transforms written
from the models' published data (positioner_specs), pybullet agreement, limits, errors."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.errors import InputShapeError, UnknownModelError
from weldcell.kinematics.positioner import load_positioner, positioner_names

pybullet = pytest.importorskip("pybullet")


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1.0]])


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s, 0], [0, 1, 0, 0], [-s, 0, c, 0], [0, 0, 0, 1.0]])


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])


def _t(x: float, y: float, z: float) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return T


def independent_fk(name: str, q: np.ndarray) -> np.ndarray:
    """T_base_flange from the devices' data written out by hand (not from the URDF or the model)."""
    if name == "turntable_1ax":  # table axis z at 0.70 m, table top 0.05 m above it
        return _t(0, 0, 0.70) @ _rz(q[0]) @ _t(0, 0, 0.05)
    if name == "tilt_rotate_2ax":  # tilt about x at 0.85 m, rotary axis 0.10 m below, table 0.10 m thick
        return _t(0, 0, 0.85) @ _rx(q[0]) @ _t(0, 0, -0.10) @ _rz(q[1]) @ _t(0, 0, 0.10)
    if name == "headstock_1ax":  # spindle along base +x at 0.9 m height, face plate 0.04 m
        return _t(0.20, 0, 0.90) @ _ry(math.pi / 2) @ _rz(q[0]) @ _t(0, 0, 0.04)
    if name == "track_1ax":  # carriage along x, top 0.2 m above the floor
        return _t(q[0], 0, 0.15) @ _t(0, 0, 0.05)
    raise AssertionError(name)


@pytest.fixture(scope="module")
def models() -> dict[str, object]:
    return {n: load_positioner(n) for n in positioner_names()}


def test_names_and_roles(models: dict) -> None:
    assert set(positioner_names()) == {"turntable_1ax", "tilt_rotate_2ax", "headstock_1ax", "track_1ax"}
    assert models["track_1ax"].role == "track"
    assert models["track_1ax"].kinds == ("prismatic",)
    assert models["tilt_rotate_2ax"].axis_names == ("tilt", "rotate")
    for m in models.values():
        assert m.payload_kg > 0 and np.all(m.qd_max > 0) and np.all(m.qdd_max > 0)
        assert np.all(m.lower < m.upper)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["turntable_1ax", "tilt_rotate_2ax", "headstock_1ax", "track_1ax"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_fk_matches_independent_product(name: str, seed: int) -> None:
    m = load_positioner(name)
    rng = np.random.default_rng(seed)
    Q = rng.uniform(m.lower, m.upper, size=(7, m.n_axes))
    T = m.T_base_flange(Q)
    assert T.shape == (7, 4, 4)
    for q, Tk in zip(Q, T, strict=True):
        np.testing.assert_allclose(Tk, independent_fk(name, q), atol=1e-12)
    np.testing.assert_allclose(m.T_base_flange(Q[0]), T[0], atol=0)


@pytest.fixture
def bullet() -> Iterator[int]:
    cid = pybullet.connect(pybullet.DIRECT)
    try:
        yield cid
    finally:
        pybullet.disconnect(cid)


@pytest.mark.parametrize("name", ["turntable_1ax", "tilt_rotate_2ax", "headstock_1ax", "track_1ax"])
def test_pybullet_loads_and_agrees(bullet: int, name: str) -> None:
    m = load_positioner(name)
    body = pybullet.loadURDF(str(m.urdf), useFixedBase=True, physicsClientId=bullet)
    n = pybullet.getNumJoints(body, physicsClientId=bullet)
    infos = [pybullet.getJointInfo(body, i, physicsClientId=bullet) for i in range(n)]
    moving = [
        i for i, info in enumerate(infos) if info[2] in (pybullet.JOINT_REVOLUTE, pybullet.JOINT_PRISMATIC)
    ]
    assert [infos[i][1].decode() for i in moving] == list(m.axis_names)
    np.testing.assert_allclose([infos[i][8] for i in moving], m.lower)
    np.testing.assert_allclose([infos[i][11] for i in moving], m.qd_max)
    flange = next(i for i, info in enumerate(infos) if info[12].decode() == "flange")
    shapes = pybullet.getCollisionShapeData(body, -1, physicsClientId=bullet)
    assert len(shapes) >= 1  # the base has collision geometry
    q = np.float32(np.linspace(0.3, 0.9, m.n_axes))
    for i, qi in zip(moving, q, strict=True):
        pybullet.resetJointState(body, i, float(qi), physicsClientId=bullet)
    ls = pybullet.getLinkState(body, flange, computeForwardKinematics=True, physicsClientId=bullet)
    np.testing.assert_allclose(ls[4], m.T_base_flange(q.astype(float))[:3, 3], atol=1e-6)


def test_limits_and_errors(models: dict) -> None:
    m = models["tilt_rotate_2ax"]
    over = m.check_limits(np.array([[0.0, 0.0], [m.upper[0] + 0.1, 0.0]]))
    np.testing.assert_allclose(over, [0.0, 0.1])
    with pytest.raises(InputShapeError, match=r"shape \(N, 2\)"):
        m.T_base_flange(np.zeros(3))
    with pytest.raises(InputShapeError, match="NaN"):
        m.T_base_flange(np.array([np.nan, 0.0]))
    with pytest.raises(UnknownModelError, match="turntable_1ax"):
        load_positioner("turntable")
