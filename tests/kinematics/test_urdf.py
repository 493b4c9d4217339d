"""The URDF files: up to date with the generator, loadable offline by pybullet and roboticstoolbox,
consistent with weldcell's FK, and with collision capsules that enclose the collision primitives."""

from __future__ import annotations

import math
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import numpy as np
import pytest

from weldcell.errors import InputShapeError, UnknownModelError
from weldcell.kinematics import load_robot, load_torch, robot_names, torch_names, urdf_path
from weldcell.kinematics.chain import load_chain
from weldcell.kinematics.positioner import positioner_names
from weldcell.kinematics.urdf_gen import URDF_DIR, generate_all
from weldcell.spatial import se3_from_xyz_rpy

pybullet = pytest.importorskip("pybullet")


def test_generated_urdfs_are_up_to_date() -> None:
    files = generate_all()
    assert set(files) == {f"{n}.urdf" for n in (*robot_names(), *torch_names(), *positioner_names())}
    for fname, text in files.items():
        path = URDF_DIR / fname
        assert path.is_file(), f"{fname} missing: run python -m weldcell.kinematics.urdf_gen"
        assert path.read_text(encoding="utf-8") == text, (
            f"{fname} is stale: run python -m weldcell.kinematics.urdf_gen"
        )


@pytest.fixture
def bullet() -> Iterator[int]:
    cid = pybullet.connect(pybullet.DIRECT)
    try:
        yield cid
    finally:
        pybullet.disconnect(cid)


@pytest.mark.parametrize("name", robot_names())
def test_pybullet_loads_robot_and_agrees_with_fk(bullet: int, name: str) -> None:
    robot = load_robot(name)
    body = pybullet.loadURDF(str(robot.urdf_path), useFixedBase=True, physicsClientId=bullet)
    infos = [
        pybullet.getJointInfo(body, i, physicsClientId=bullet)
        for i in range(pybullet.getNumJoints(body, physicsClientId=bullet))
    ]
    revolute = [i for i, info in enumerate(infos) if info[2] == pybullet.JOINT_REVOLUTE]
    assert [infos[i][1].decode() for i in revolute] == list(robot.joint_names)
    np.testing.assert_allclose([infos[i][8] for i in revolute], robot.q_lower)
    np.testing.assert_allclose([infos[i][9] for i in revolute], robot.q_upper)
    np.testing.assert_allclose([infos[i][11] for i in revolute], robot.qd_max)
    flange = next(i for i, info in enumerate(infos) if info[12].decode() == "flange")
    rng = np.random.default_rng(20)
    # pybullet stores joint positions and computes link poses in single precision, so its FK can
    # only be matched to ~1e-7; use float32-exact joint values and a 1e-6 m / 1e-6 tolerance
    # (the 1e-12 comparisons with the DH table, the OPW formula and roboticstoolbox: test_fk.py, below)
    q = (
        rng.uniform(robot.q_lower, robot.q_upper, size=(25, robot.n_joints))
        .astype(np.float32)
        .astype(np.float64)
    )
    T = robot.fk(q)
    for k in range(len(q)):
        for j, idx in enumerate(revolute):
            pybullet.resetJointState(body, idx, q[k, j], physicsClientId=bullet)
        state = pybullet.getLinkState(body, flange, computeForwardKinematics=True, physicsClientId=bullet)
        R = np.array(pybullet.getMatrixFromQuaternion(state[5])).reshape(3, 3)
        np.testing.assert_allclose(state[4], T[k, :3, 3], atol=1e-6)
        np.testing.assert_allclose(R, T[k, :3, :3], atol=1e-6)


@pytest.mark.parametrize("name", robot_names())
def test_roboticstoolbox_loads_robot_and_agrees_with_fk(name: str) -> None:
    rtb = pytest.importorskip("roboticstoolbox")
    robot = load_robot(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = rtb.Robot.URDF(str(robot.urdf_path))
    ets = model.ets(end="flange")
    assert ets.n == robot.n_joints
    rng = np.random.default_rng(21)
    q = rng.uniform(robot.q_lower, robot.q_upper, size=(25, robot.n_joints))
    for qq in q:
        np.testing.assert_allclose(ets.eval(qq), robot.fk(qq), atol=1e-12)
        np.testing.assert_allclose(ets.jacob0(qq), robot.jacobian(qq), atol=1e-12)


def test_torch_urdf_loads_and_tcp_link_matches_model(bullet: int) -> None:
    torch = load_torch("torch_mig_22")
    body = pybullet.loadURDF(str(torch.urdf_path), useFixedBase=True, physicsClientId=bullet)
    names = [
        pybullet.getJointInfo(body, i, physicsClientId=bullet)[12].decode()
        for i in range(pybullet.getNumJoints(body, physicsClientId=bullet))
    ]
    assert "tcp" in names and "torch_neck" in names
    chain = load_chain(torch.urdf_path, tip="tcp")
    T_tcp = chain.origins[0]
    np.testing.assert_allclose(T_tcp, torch.T_flange_tcp(), atol=1e-12)


def _points_in_primitive(coll: ET.Element, rng: np.random.Generator, n: int = 400) -> np.ndarray:
    origin = coll.find("origin")
    assert origin is not None
    T = se3_from_xyz_rpy(
        [float(v) for v in origin.get("xyz", "0 0 0").split()],
        [float(v) for v in origin.get("rpy", "0 0 0").split()],
    )
    geom = coll.find("geometry")
    assert geom is not None
    shape = geom[0]
    u = rng.uniform(-1, 1, size=(n, 3))
    if shape.tag == "cylinder":
        r, L = float(shape.get("radius", "0")), float(shape.get("length", "0"))
        ang = rng.uniform(0, 2 * math.pi, n)
        rad = r * np.sqrt(rng.uniform(0, 1, n))
        rad[: n // 4] = r  # surface and rim points
        z = u[:, 2] * L / 2
        z[: n // 8] = np.sign(z[: n // 8] + 1e-12) * L / 2
        p = np.stack([rad * np.cos(ang), rad * np.sin(ang), z], axis=-1)
    elif shape.tag == "sphere":
        r = float(shape.get("radius", "0"))
        d = u / np.linalg.norm(u, axis=-1, keepdims=True)
        p = d * r * rng.uniform(0, 1, (n, 1)) ** (1 / 3)
        p[: n // 4] = d[: n // 4] * r
    else:
        half = np.array([float(v) for v in shape.get("size", "0 0 0").split()]) / 2
        p = u * half
        p[: n // 4] = np.sign(u[: n // 4]) * half  # corners
    return p @ T[:3, :3].T + T[:3, 3]


def _inside_capsule(p: np.ndarray, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    ab = b - a
    L2 = float(ab @ ab)
    t = np.clip(((p - a) @ ab) / L2, 0, 1) if L2 > 0 else np.zeros(len(p))
    d = np.linalg.norm(p - (a + t[:, None] * ab), axis=-1)
    return d <= r + 1e-12


@pytest.mark.parametrize("name", robot_names())
def test_collision_capsules_enclose_the_urdf_primitives(name: str) -> None:
    robot = load_robot(name)
    root = ET.parse(robot.urdf_path).getroot()
    rng = np.random.default_rng(22)
    caps = list(robot.collision_capsules)
    count = 0
    for link in root.findall("link"):
        lname = link.get("name")
        link_caps = [c for c in caps if c.link == lname]
        colls = link.findall("collision")
        assert len(link_caps) == len(colls)
        for coll, cap in zip(colls, link_caps, strict=True):
            pts = _points_in_primitive(coll, rng)
            assert _inside_capsule(pts, cap.p0, cap.p1, cap.radius).all(), (lname, cap)
            count += 1
    assert count >= 5
    assert {c.link for c in caps} <= set(robot.link_names)


def test_torch_tcp_and_capsules() -> None:
    torch = load_torch("torch_mig_22")
    assert math.isclose(torch.neck_angle, math.radians(22))
    T = torch.T_flange_tcp()
    np.testing.assert_allclose(T[:3, :3] @ T[:3, :3].T, np.eye(3), atol=1e-15)
    # tcp z leans 22° from flange z towards flange +x, tcp y = flange y
    np.testing.assert_allclose(
        T[:3, 2], [math.sin(math.radians(22)), 0, math.cos(math.radians(22))], atol=1e-15
    )
    np.testing.assert_allclose(T[:3, 1], [0, 1, 0], atol=1e-15)
    T20 = torch.T_flange_tcp(0.020)
    np.testing.assert_allclose(T20[:3, 3] - T[:3, 3], 0.005 * T[:3, 2], atol=1e-15)
    caps = {c.name: c for c in torch.collision_capsules}
    assert set(caps) == {"mount", "body", "neck", "nozzle", "contact_tip", "wire"}
    assert all(c.link == "flange" for c in caps.values())
    np.testing.assert_allclose(caps["wire"].p1, T[:3, 3], atol=1e-15)
    # the nozzle keeps clearance from the wire tip: its envelope ends well before the TCP
    axis = T[:3, 2]
    nozzle_reach = float((caps["nozzle"].p1 - T[:3, 3]) @ axis) + caps["nozzle"].radius
    assert -0.015 < nozzle_reach < -0.008
    # the nozzle capsule encloses both nozzle cylinders of the URDF
    root = ET.parse(torch.urdf_path).getroot()
    neck = next(link for link in root.findall("link") if link.get("name") == "torch_neck")
    rng = np.random.default_rng(23)
    T_neck = torch.T_flange_neck
    for coll in neck.findall("collision")[1:]:
        pts = _points_in_primitive(coll, rng) @ T_neck[:3, :3].T + T_neck[:3, 3]
        assert _inside_capsule(pts, caps["nozzle"].p0, caps["nozzle"].p1, caps["nozzle"].radius).all()
    for bad in (-0.001, 0.2, float("nan")):
        with pytest.raises(InputShapeError, match="stickout"):
            torch.T_flange_tcp(bad)


def test_unknown_torch_and_paths() -> None:
    with pytest.raises(UnknownModelError, match="torch_mig_22"):
        load_torch("binzel")
    assert urdf_path("ur5e").is_file()
    with pytest.raises(UnknownModelError, match="ur5e"):
        urdf_path("nope")
