"""The capsule collision checker: exact primitives, conservative against pybullet, protocol."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from weldcell.planning import _collision_kernels as kernels
from weldcell.planning.collision import CapsuleCollisionChecker, CollisionChecker
from weldcell.spatial import se3_from_xyz_rpy

sys.path.insert(0, str(Path(__file__).parent))
import synthetic


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[synthetic.SynthRobot, Path, synthetic.SynthCell]:
    d = tmp_path_factory.mktemp("synth")
    robot = synthetic.SynthRobot(synthetic.write_urdf(d / "synth.urdf"))
    synthetic.write_torch_urdf(d / "torch.urdf")
    return robot, d / "torch.urdf", synthetic.default_cell()


@pytest.fixture(scope="module")
def checker(synth: tuple[synthetic.SynthRobot, Path, synthetic.SynthCell]) -> CapsuleCollisionChecker:
    robot, _, cell = synth
    return CapsuleCollisionChecker(robot, synthetic.SynthTorch(), cell, margin=0.01)


def _body_row(kind: int, T: np.ndarray, h: tuple[float, float, float]) -> np.ndarray:
    row = np.zeros((1, 15))
    row[0, :12] = np.linalg.inv(T)[:3].ravel()
    row[0, 12:] = h
    return row


def _sampled_distance(kind: int, T: np.ndarray, h: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    t = np.linspace(0.0, 1.0, 4001)
    p = a + t[:, None] * (b - a)
    bd = _body_row(kind, T, tuple(h))
    return float(np.min([kernels._sdf(kind, bd, 0, x, y, z) for x, y, z in p]))


@pytest.mark.parametrize("kind", [kernels.SPHERE, kernels.BOX, kernels.CYLINDER])
def test_segment_body_distance_is_a_tight_lower_bound(kind: int) -> None:
    rng = np.random.default_rng(kind)
    for _ in range(10):
        T = se3_from_xyz_rpy(rng.uniform(-0.2, 0.2, 3), rng.uniform(-np.pi, np.pi, 3))
        h = rng.uniform(0.02, 0.2, 3)
        a, b = rng.uniform(-0.4, 0.4, 3), rng.uniform(-0.4, 0.4, 3)
        bd = _body_row(kind, T, tuple(h))
        d = kernels._segment_body_distance(*a, *b, kind, bd, 0)
        ref = _sampled_distance(kind, T, h, a, b)
        # the sampled minimum is an upper bound of the true minimum; the lower bound must be below it
        assert d <= ref + 1e-12
        assert d >= ref - 3e-4  # and tight: the sampling step is 0.2 mm


def test_sdf_signs() -> None:
    bd = _body_row(kernels.BOX, np.eye(4), (0.1, 0.2, 0.3))
    assert kernels._sdf(kernels.BOX, bd, 0, 0.0, 0.0, 0.0) == pytest.approx(-0.1)
    assert kernels._sdf(kernels.BOX, bd, 0, 0.4, 0.0, 0.0) == pytest.approx(0.3)
    assert kernels._sdf(kernels.BOX, bd, 0, 0.4, 0.6, 0.3) == pytest.approx(0.5)
    bd = _body_row(kernels.CYLINDER, np.eye(4), (0.1, 0.2, 0.0))
    assert kernels._sdf(kernels.CYLINDER, bd, 0, 0.0, 0.3, 0.0) == pytest.approx(0.2)
    assert kernels._sdf(kernels.CYLINDER, bd, 0, 0.0, 0.0, 0.5) == pytest.approx(0.3)


def test_segment_segment_distance() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        p1, q1, p2, q2 = rng.uniform(-1, 1, (4, 3))
        t = np.linspace(0, 1, 401)
        A = p1 + t[:, None] * (q1 - p1)
        B = p2 + t[:, None] * (q2 - p2)
        ref = np.min(np.linalg.norm(A[:, None] - B[None], axis=-1))
        assert kernels._segment_segment_distance(p1, q1, p2, q2) == pytest.approx(ref, abs=6e-3)
        assert kernels._segment_segment_distance(p1, q1, p2, q2) <= ref + 1e-12


def test_checker_implements_protocol(checker: CapsuleCollisionChecker) -> None:
    assert isinstance(checker, CollisionChecker)
    q = np.zeros((3, 6))
    assert checker.check(q).shape == (3,)
    assert checker.clearance(q).shape == (3,)
    assert not checker.check(np.full((1, 6), np.nan))[0]


def test_colliding_bodies_names_the_body(checker: CapsuleCollisionChecker, synth: tuple) -> None:
    _robot, _, _cell = synth
    rng = np.random.default_rng(7)
    Q = rng.uniform(-np.pi, np.pi, (3000, 6))
    res = checker.query(Q)
    hits = np.flatnonzero(~res.free)
    assert hits.size > 100
    for i in hits[:50]:
        pairs = checker.colliding_bodies(Q[i])
        assert pairs, "a configuration in collision must name at least one pair"
        assert checker.pair_names(int(res.worst_pair[i])) in pairs
    free = np.flatnonzero(res.free)[:20]
    for i in free:
        assert checker.colliding_bodies(Q[i]) == []


class _Bullet:
    """Robot + torch + bodies in a private pybullet DIRECT client (closed by the fixture)."""

    def __init__(self, robot_urdf: Path, torch_urdf: Path, cell: synthetic.SynthCell) -> None:
        import pybullet as p

        self.p = p
        self.cid = p.connect(p.DIRECT)
        self.robot = p.loadURDF(str(robot_urdf), useFixedBase=True, physicsClientId=self.cid)
        self.torch = p.loadURDF(str(torch_urdf), physicsClientId=self.cid)
        self.joints = [
            j
            for j in range(p.getNumJoints(self.robot, physicsClientId=self.cid))
            if p.getJointInfo(self.robot, j, physicsClientId=self.cid)[2] == p.JOINT_REVOLUTE
        ]
        names = [p.getJointInfo(self.robot, j, physicsClientId=self.cid)[12].decode() for j in range(7)]
        self.flange = names.index("flange")
        self.bodies: list[tuple[int, str]] = []
        for b in cell.bodies:
            if b.shape == "box":
                shape = p.createCollisionShape(
                    p.GEOM_BOX, halfExtents=(0.5 * b.size).tolist(), physicsClientId=self.cid
                )
            elif b.shape == "sphere":
                shape = p.createCollisionShape(p.GEOM_SPHERE, radius=b.radius, physicsClientId=self.cid)
            else:
                shape = p.createCollisionShape(
                    p.GEOM_CYLINDER, radius=b.radius, height=b.length, physicsClientId=self.cid
                )
            T = b.T_world_body
            from scipy.spatial.transform import Rotation

            quat = Rotation.from_matrix(T[:3, :3]).as_quat()  # xyzw, as pybullet wants
            bid = p.createMultiBody(
                0,
                shape,
                basePosition=T[:3, 3].tolist(),
                baseOrientation=quat.tolist(),
                physicsClientId=self.cid,
            )
            self.bodies.append((bid, b.role))

    def min_distance(self, q: np.ndarray, cutoff: float) -> tuple[float, float]:
        """Smallest distance [m] of the moving robot links and of the torch to the bodies."""
        p = self.p
        for j, v in zip(self.joints, q, strict=True):
            p.resetJointState(self.robot, j, float(v), physicsClientId=self.cid)
        st = p.getLinkState(self.robot, self.flange, computeForwardKinematics=True, physicsClientId=self.cid)
        p.resetBasePositionAndOrientation(self.torch, st[4], st[5], physicsClientId=self.cid)
        best = [np.inf, np.inf]
        for bid, _role in self.bodies:
            for k, other in enumerate((self.robot, self.torch)):
                for pt in p.getClosestPoints(other, bid, cutoff, physicsClientId=self.cid):
                    if k == 0 and pt[3] == -1:
                        continue  # the base link does not move; the checker leaves it to the cell layout
                    best[k] = min(best[k], pt[8])
        return float(best[0]), float(best[1])

    def close(self) -> None:
        self.p.disconnect(self.cid)


@pytest.fixture
def bullet(synth: tuple) -> Iterator[_Bullet]:
    robot, torch_urdf, cell = synth
    world = _Bullet(robot.urdf_path, torch_urdf, cell)
    yield world
    world.close()


def test_never_free_when_pybullet_finds_contact_within_margin(bullet: _Bullet, synth: tuple) -> None:
    robot, _, cell = synth
    margin = 0.01
    # self collision off: pybullet is only asked about robot/torch vs bodies here
    chk = CapsuleCollisionChecker(robot, synthetic.SynthTorch(), cell, margin=margin, self_margin=-1.0)
    rng = np.random.default_rng(11)
    Q = rng.uniform(-np.pi, np.pi, (2500, 6))
    ours = chk.query(Q)
    n_both, n_conservative = 0, 0
    for q, free, dist in zip(Q, ours.free, ours.distance, strict=True):
        d_robot, d_torch = bullet.min_distance(q, margin)
        if d_robot < margin - 1e-6 or d_torch < cell.clearance - 1e-6:
            assert not free, f"checker calls q={q.tolist()} free, pybullet finds {d_robot=}, {d_torch=} m"
            n_both += 1
        elif not free:
            n_conservative += 1
        d_pb = min(d_robot, d_torch)
        if np.isfinite(d_pb) and d_pb > 0:
            assert dist <= d_pb + 1e-5
    assert n_both > 200  # the sample really exercises contacts
    assert n_conservative < 0.05 * len(Q)  # and the checker is not uselessly pessimistic


def test_real_models_conservative_against_pybullet() -> None:
    """UR5e + MIG torch (their URDF collision primitives in pybullet) in the demo cell."""
    import pybullet as p
    from scipy.spatial.transform import Rotation

    from weldcell.kinematics import load_robot, load_torch
    from weldcell.program import load_program

    root = Path(__file__).resolve().parents[2]
    cell = load_program(root / "programs" / "demo_tjoint.yaml").cell
    robot, torch = load_robot(cell.robot), load_torch(cell.torch)
    chk = CapsuleCollisionChecker(robot, torch, cell, self_margin=-1.0)
    rng = np.random.default_rng(2)
    # random configurations plus configurations with the torch at the seam (wire tip on the joint)
    Q = rng.uniform(robot.q_lower / 2, robot.q_upper / 2, (2000, 6))
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("xyz", [3 * np.pi / 4, 0, 0]).as_matrix()
    seam = []
    for x in np.linspace(0.47, 0.53, 40):
        for g in np.linspace(0, 2 * np.pi, 12, endpoint=False):
            T[:3, 3] = [x, 0.0055, 0.0105]
            Tg = T @ np.array(
                [[np.cos(g), -np.sin(g), 0, 0], [np.sin(g), np.cos(g), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
            )
            qs = robot.ik(np.linalg.inv(cell.T_world_base) @ Tg @ np.linalg.inv(cell.T_flange_tcp))
            seam.append(qs[np.all(np.isfinite(qs), axis=1)])
    Q = np.vstack([Q, *seam])
    ours = chk.query(Q)
    cid = p.connect(p.DIRECT)
    try:
        # the URDF primitives themselves (implicit cylinders: pybullet's default convex hulls report
        # distances up to 1 mm short), which the capsules must enclose
        flags = p.URDF_USE_IMPLICIT_CYLINDER
        rid = p.loadURDF(str(robot.urdf_path), useFixedBase=True, flags=flags, physicsClientId=cid)
        tid = p.loadURDF(str(torch.urdf_path), flags=flags, physicsClientId=cid)
        infos = [
            p.getJointInfo(rid, j, physicsClientId=cid)
            for j in range(p.getNumJoints(rid, physicsClientId=cid))
        ]
        joints = [i[0] for i in infos if i[2] == p.JOINT_REVOLUTE]
        flange = next(i[0] for i in infos if i[12].decode() == "flange")
        tip = next(
            j
            for j in range(p.getNumJoints(tid, physicsClientId=cid))
            if p.getJointInfo(tid, j, physicsClientId=cid)[12].decode() == "contact_tip"
        )
        bodies = []
        for b in cell.bodies:
            shape = p.createCollisionShape(
                p.GEOM_BOX, halfExtents=(0.5 * b.size).tolist(), physicsClientId=cid
            )
            bid = p.createMultiBody(
                0, shape, basePosition=b.T_world_body[:3, 3].tolist(), physicsClientId=cid
            )
            bodies.append((bid, b.role))
        n_hit = 0
        for q, free in zip(Q, ours.free, strict=True):
            for j, v in zip(joints, q, strict=True):
                p.resetJointState(rid, j, float(v), physicsClientId=cid)
            st = p.getLinkState(rid, flange, computeForwardKinematics=True, physicsClientId=cid)
            p.resetBasePositionAndOrientation(tid, st[4], st[5], physicsClientId=cid)
            close = False
            for bid, role in bodies:
                for pt in p.getClosestPoints(rid, bid, cell.clearance, physicsClientId=cid):
                    close |= pt[3] != -1 and pt[8] < cell.clearance  # the fixed base stands on the table
                for pt in p.getClosestPoints(tid, bid, cell.clearance, physicsClientId=cid):
                    close |= not (role == "workpiece" and pt[3] == tip) and pt[8] < cell.clearance
            if close:
                n_hit += 1
                assert not free, (
                    f"checker calls {q.tolist()} free; pybullet finds contact within the clearance"
                )
        assert n_hit > 100
    finally:
        p.disconnect(cid)


def test_polynomial_sincos_matches_libm() -> None:
    from numba import njit

    @njit
    def both(x: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
        out = np.empty((2, x.size))
        for i in range(x.size):
            out[0, i], out[1, i] = kernels._sincos(x[i])
        return out

    x = np.concatenate([np.linspace(-20.0, 20.0, 40_001), np.arange(-8, 9) * np.pi / 4])
    got = both(x)
    assert np.max(np.abs(got[0] - np.sin(x))) < 1e-15
    assert np.max(np.abs(got[1] - np.cos(x))) < 1e-15


def _real_checker(prune: bool) -> CapsuleCollisionChecker:
    import weldcell.planning.collision as col
    from weldcell.kinematics import load_robot, load_torch
    from weldcell.program import load_program

    cell = load_program(Path(__file__).parents[2] / "programs" / "demo_tjoint.yaml").cell
    saved = col._PRUNE_MAX_JOINTS
    col._PRUNE_MAX_JOINTS = saved if prune else 0
    try:
        return CapsuleCollisionChecker(load_robot(cell.robot), load_torch(cell.torch), cell)
    finally:
        col._PRUNE_MAX_JOINTS = saved


def test_pruned_self_pairs_never_come_within_the_margin() -> None:
    pruned_checker, full = _real_checker(True), _real_checker(False)
    kept = set(zip(*(v.tolist() for v in pruned_checker._self[:2]), strict=True))
    pairs = [(a, b) for a, b in zip(*(v.tolist() for v in full._self[:2]), strict=True) if (a, b) not in kept]
    assert len(pairs) >= 5  # the analysis does prune (e.g. wrist 2 against the torch tip)
    pa = np.array([a for a, _ in pairs], dtype=np.int64)
    pb = np.array([b for _, b in pairs], dtype=np.int64)
    robot = full.robot
    Q = np.random.default_rng(11).uniform(robot.q_lower, robot.q_upper, (4000, robot.n_joints))
    e = np.zeros(0, dtype=np.int64)
    args = (*full._chain_args(), *full._caps, *full._bodies[:2], e, e, pa, pb)
    dmin = min(float(kernels.pair_distances(q, *args).min()) for q in Q)  # type: ignore[call-arg]
    assert dmin > full._self[2][0]
    # the same checks with and without the pruned pairs
    Q = np.random.default_rng(12).uniform(robot.q_lower / 2, robot.q_upper / 2, (20_000, robot.n_joints))
    assert np.array_equal(pruned_checker.check(Q), full.check(Q))


def test_pair_proof_fails_for_a_pair_that_touches() -> None:
    full = _real_checker(False)
    names = full.capsule_names
    ca, cb = names.index("robot:base_0"), names.index("robot:forearm_link_0")
    assert not full._never_within(ca, cb, 0.003)  # the forearm can be folded onto the base


def test_batch_agrees_with_per_pair_distances_and_rejects_nan() -> None:
    checker = _real_checker(True)
    robot = checker.robot
    Q = np.random.default_rng(13).uniform(robot.q_lower / 2, robot.q_upper / 2, (1500, robot.n_joints))
    Q[7, 2] = np.nan
    Q[100, 0] = np.inf
    free = checker.check(Q)
    env_cap, env_body, env_req = checker._env
    sa, sb, sr = checker._self
    req = np.concatenate([env_req, sr])
    args = (*checker._chain_args(), *checker._caps, *checker._bodies[:2], env_cap, env_body, sa, sb)
    for i, q in enumerate(Q):
        if not np.all(np.isfinite(q)):
            assert not free[i]
            continue
        d = kernels.pair_distances(q, *args)  # type: ignore[call-arg]
        assert free[i] == bool(np.all(d >= req)), i
