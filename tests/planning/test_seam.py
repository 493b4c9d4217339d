"""Seam search on a UR5e: FK reproduces the path, continuity, and precise failure reasons."""

from __future__ import annotations

from types import SimpleNamespace
from types import SimpleNamespace as NS  # noqa: N814

import numpy as np
import pytest

from weldcell.kinematics import load_robot, load_torch
from weldcell.planning.collision import CapsuleCollisionChecker
from weldcell.planning.nominal import deviation_cost
from weldcell.planning.seam import (
    LadderOptions,
    SeamFailure,
    SeamPath,
    orientation_offsets,
    plan_seam,
    rotation_angles,
)
from weldcell.spatial import se3_from_xyz_rpy

HOME = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])


def _box(
    name: str, role: str, size: tuple[float, float, float], xyz: tuple[float, float, float]
) -> SimpleNamespace:
    return SimpleNamespace(
        name=name,
        role=role,
        shape="box",
        size=np.array(size),
        radius=0.0,
        length=0.0,
        mesh_path=None,
        T_world_body=se3_from_xyz_rpy(xyz, (0, 0, 0)),
    )


def _cell(*extra: SimpleNamespace) -> SimpleNamespace:
    bodies = (
        _box("table", "table", (1.5, 1.2, 0.04), (0.5, 0.0, -0.12)),
        _box("plate", "workpiece", (0.4, 0.3, 0.01), (0.5, 0.0, -0.095)),
        _box("web", "workpiece", (0.4, 0.01, 0.1), (0.5, 0.005, -0.04)),
        *extra,
    )
    return SimpleNamespace(T_world_base=np.eye(4), bodies=bodies, clearance=0.002)


def _fillet(
    x0: float = 0.4, length: float = 0.2, n: int = 101, y: float = -0.0005
) -> tuple[np.ndarray, np.ndarray]:
    """A 45° fillet along +x in the corner of plate and web; z points from the torch into the joint."""
    s = np.linspace(0.0, length, n)
    z = np.array([0.0, 1.0, -1.0]) / np.sqrt(2.0)
    x = np.array([1.0, 0.0, 0.0])
    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, :3, 0], T[:, :3, 1], T[:, :3, 2] = x, np.cross(z, x), z
    T[:, :3, 3] = np.stack([x0 + s, np.full(n, y), np.full(n, -0.0895)], axis=1)
    return T, s


@pytest.fixture(scope="module")
def robot_torch() -> tuple:
    robot = load_robot("ur5e")
    torch = load_torch("torch_mig_22")
    return robot, torch, torch.T_flange_tcp()


def test_seam_path_reproduces_tool_path(robot_torch: tuple) -> None:
    robot, torch, T_ft = robot_torch
    checker = CapsuleCollisionChecker(robot, torch, _cell())
    T, s = _fillet()
    opts = LadderOptions(rotation_samples=24)
    path = plan_seam(
        robot, checker, T, s, T_ft, rotation_angles(True, np.pi, opts), opts, seam_id="f", q_ref=HOME
    )
    assert isinstance(path, SeamPath)
    T_fk = robot.fk(path.q) @ T_ft
    T_nom = T @ orientation_offsets(path.angles)
    assert np.max(np.linalg.norm(T_fk[:, :3, 3] - T_nom[:, :3, 3], axis=1)) < 1e-5  # 0.01 mm
    cosang = np.clip(np.sum(T_fk[:, :3, 2] * T[:, :3, 2], axis=1), -1, 1)
    assert np.degrees(np.max(np.arccos(cosang))) < 0.05  # torch axis unchanged by the free rotation
    assert np.max(np.abs(np.diff(path.q, axis=0))) <= opts.max_joint_step
    labels = robot.configuration_labels(path.q)
    assert np.all(labels == labels[0])  # no configuration flip inside the seam
    assert np.all(checker.check(path.q))
    assert np.all(robot.within_limits(path.q))


def test_full_and_sparse_search_agree_on_feasibility(robot_torch: tuple) -> None:
    robot, torch, T_ft = robot_torch
    checker = CapsuleCollisionChecker(robot, torch, _cell())
    T, s = _fillet(n=41, length=0.08)
    for stride in (1, 8):
        opts = LadderOptions(rotation_samples=12, coarse_stride=stride)
        path = plan_seam(robot, checker, T, s, T_ft, rotation_angles(True, np.pi, opts), opts, q_ref=HOME)
        assert isinstance(path, SeamPath)


def test_unreachable_seam_reports_interval(robot_torch: tuple) -> None:
    robot, torch, T_ft = robot_torch
    checker = CapsuleCollisionChecker(robot, torch, _cell())
    # runs from 0.6 m out to 1.2 m: the UR5e (reach ~0.85 m) loses it part way
    T, s = _fillet(x0=0.6, length=0.6, n=121)
    opts = LadderOptions(rotation_samples=12)
    res = plan_seam(robot, checker, T, s, T_ft, rotation_angles(True, np.pi, opts), opts, seam_id="far")
    assert isinstance(res, SeamFailure)
    assert res.cause == "out_of_reach"
    assert 0.05 < res.s_from < 0.45 and res.s_to == pytest.approx(0.6)
    assert "far" in res.message and "mm" in res.message


def test_blocked_seam_names_the_body(robot_torch: tuple) -> None:
    robot, torch, T_ft = robot_torch
    block = _box("clamp", "fixture", (0.04, 0.2, 0.2), (0.5, -0.08, 0.0))  # sits on the seam at x = 0.5 m
    checker = CapsuleCollisionChecker(robot, torch, _cell(block))
    T, s = _fillet()
    opts = LadderOptions(rotation_samples=12)
    res = plan_seam(robot, checker, T, s, T_ft, rotation_angles(True, np.pi, opts), opts, seam_id="blocked")
    assert isinstance(res, SeamFailure)
    assert res.cause == "collision"
    assert res.detail == "clamp"
    assert res.s_from <= 0.1 <= res.s_to + 0.03  # the clamp covers s = 80-120 mm (plus the torch's size)


def test_weld_speed_the_arm_cannot_hold_is_reported(robot_torch: tuple) -> None:
    """A 10 mm circle with the torch turning with the seam at 50 mm/s: wrist 3 would need ~10 rad/s."""
    from weldcell.planning.weld import weld_samples

    robot, torch, T_ft = robot_torch
    checker = CapsuleCollisionChecker(robot, torch, _cell())
    n = 200
    s = np.linspace(0.0, 2 * np.pi * 0.005, n)
    phi = s / 0.005
    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, :3, 0] = np.stack([-np.sin(phi), np.cos(phi), 0 * phi], axis=1)  # travel direction
    T[:, :3, 2] = [0.0, 0.0, -1.0]  # torch straight down
    T[:, :3, 1] = np.cross(T[:, :3, 2], T[:, :3, 0])
    T[:, :3, 3] = np.stack([0.5 + 0.005 * np.cos(phi), 0.1 + 0.005 * np.sin(phi), np.full(n, 0.1)], axis=1)
    opts = LadderOptions(rotation_samples=1)
    path = plan_seam(robot, checker, T, s, T_ft, np.zeros(1), opts, seam_id="circle", q_ref=HOME)
    assert isinstance(path, SeamPath)
    seg = NS(seam_id="circle", s=s, T_world_tcp=T, travel_speed=0.05, ramp_length=0.0, travel_angle=0.0)
    res = weld_samples(robot, checker, seg, s, path.q, path.angles, np.eye(4), T_ft, 0.002, 0.1)
    assert isinstance(res, SeamFailure)
    assert res.cause == "weld_speed"
    assert res.detail == "wrist_3_joint"
    assert "circle" in res.message and "wrist_3_joint" in res.message and "mm/s" in res.message
    assert "allow torch rotation" in res.message  # the procedure fixes the rotation here
    # never suggest a remedy already in effect: with free rotation, only the speed is left
    free = NS(**{**vars(seg), "free_rotation": True, "rotation_range": np.pi})
    res_free = weld_samples(robot, checker, free, s, path.q, path.angles, np.eye(4), T_ft, 0.002, 0.1)
    assert isinstance(res_free, SeamFailure) and res_free.cause == "weld_speed"
    assert "lower the travel speed" in res_free.message and "rotation" not in res_free.message
    # the same seam slowly is fine
    slow = NS(seam_id="circle", s=s, T_world_tcp=T, travel_speed=0.005, ramp_length=0.0, travel_angle=0.0)
    ok = weld_samples(robot, checker, slow, s, path.q, path.angles, np.eye(4), T_ft, 0.002, 0.1)
    assert not isinstance(ok, SeamFailure), ok
    assert np.all(np.abs(ok.qd) <= robot.qd_max) and np.all(np.abs(ok.qdd) <= robot.qdd_max)


def test_ladder_nodes_computed_apart_are_the_same(robot_torch: tuple) -> None:
    """The full ladder reuses the sparse ladder's nodes and computes the rest in blocks of way
    points: every node value depends on its own node only, so the sparse rows merged with the
    blocks equal the nodes computed at once (bit for bit)."""
    from weldcell.planning.seam import _NODE_BLOCK, _ladder_block, _ladder_nodes

    robot, torch, T_ft = robot_torch
    checker = CapsuleCollisionChecker(robot, torch, _cell())
    T, _s = _fillet(n=41, length=0.08)
    assert 2 * _NODE_BLOCK < 41  # several blocks, the last one partial
    opts = LadderOptions(rotation_samples=12)
    gamma = rotation_angles(True, np.pi, opts)
    offsets = orientation_offsets(np.stack([gamma, 0.0 * gamma, 0.0 * gamma], axis=1))
    T_tf = np.linalg.inv(T_ft)
    idx = np.unique(np.r_[np.arange(0, 41, 8), 40])
    whole = _ladder_block(robot, checker, T, offsets, T_tf, opts)
    held = [(idx, _ladder_nodes(robot, checker, T[idx], offsets, T_tf, opts))]
    merged = _ladder_nodes(robot, checker, T, offsets, T_tf, opts, held)
    assert held == []  # the sparse nodes were taken over
    blocked = _ladder_nodes(robot, checker, T, offsets, T_tf, opts)
    for nodes in (merged, blocked):
        assert nodes.B == whole.B
        for field in ("Q", "reach", "lim_min", "free", "sing", "clear", "labels"):
            got, want = getattr(nodes, field), getattr(whole, field)
            assert got.dtype == want.dtype, field
            np.testing.assert_array_equal(got, want, err_msg=field)
    assert whole.free.any() and not whole.free.all()  # both kinds of node are compared
    np.testing.assert_array_equal(whole.rows(idx).Q, whole.Q[idx])


class _NarrowBlock:
    """Free space, except that over a 6 mm stretch of the seam (between two way points of the sparse
    ladder) the torch may not keep its programmed rotation about its axis: it must turn ≥ 12°."""

    def __init__(self, robot, y_lo: float, y_hi: float) -> None:  # type: ignore[no-untyped-def]
        self.robot, self.y_lo, self.y_hi = robot, y_lo, y_hi

    def check(self, q: np.ndarray) -> np.ndarray:
        T = self.robot.fk(q)
        rot = np.degrees(np.arccos(np.clip(T[:, 0, 0], -1, 1)))  # programmed: flange x = base x
        inside = (T[:, 1, 3] > self.y_lo) & (T[:, 1, 3] < self.y_hi)
        return ~(inside & (rot < 12.0))

    def clearance(self, q: np.ndarray) -> np.ndarray:
        return np.full(np.atleast_2d(q).shape[0], 1.0)

    def colliding_bodies(self, q: np.ndarray) -> list[tuple[str, str]]:
        return [] if self.check(np.atleast_2d(q))[0] else [("torch", "clamp")]


def _line_down(n: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Torch pointing down along a 200 mm line in front of the robot (base frame), 2 mm spacing."""
    y = np.linspace(-0.1, 0.1, n)
    T = np.tile(np.diag([1.0, -1.0, -1.0, 1.0]), (n, 1, 1))
    T[:, 0, 3], T[:, 1, 3], T[:, 2, 3] = 0.45, y, 0.1
    return T, y - y[0]


def test_fill_in_repairs_between_sparse_nodes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """An obstacle the sparse ladder steps over is avoided by searching the full ladder between the
    two sparse way points around it, not the whole seam again; the rest keeps the programmed rotation."""
    import weldcell.planning.seam as seam_mod

    robot = load_robot("ur5e")
    T, s = _line_down()
    T_ft = np.eye(4)
    T_ft[2, 3] = 0.2
    samples = np.array([(a, 0.0, 0.0) for a in np.linspace(-30, 30, 9) * np.pi / 180])
    # sparse way points every 8th (16 mm): rows 48 (y = -4 mm) and 56 (y = +12 mm) bracket the block
    checker = _NarrowBlock(robot, 0.001, 0.007)
    sizes: list[int] = []
    real = seam_mod._ladder_nodes

    def spy(robot, checker, T_base_tcp, *args, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(T_base_tcp.shape[0])
        return real(robot, checker, T_base_tcp, *args, **kwargs)

    monkeypatch.setattr(seam_mod, "_ladder_nodes", spy)
    seg = SimpleNamespace(rotation_range=np.radians(30), work_angle_tolerance=0.0, travel_angle_tolerance=0.0)
    cost = deviation_cost(samples, seg, limited_rotation=True)  # the programmed rotation first
    path = plan_seam(robot, checker, T, s, T_ft, samples, LadderOptions(), sample_cost=cost)
    assert isinstance(path, SeamPath), path
    assert max(sizes) < len(s)  # the whole seam's full ladder was never built
    assert 9 in sizes  # the interval's (8 steps)
    assert np.all(checker.check(path.q))
    gamma = np.degrees(np.abs(path.angles[:, 0]))
    blocked = (T[:, 1, 3] > 0.001) & (T[:, 1, 3] < 0.007)
    assert gamma[blocked].min() >= 12.0 - 1e-6
    rows = np.arange(len(s))
    assert np.all(gamma[(rows <= 48) | (rows >= 56)] < 1e-6)  # programmed rotation outside the interval
    d = np.diff(path.q, axis=0)
    assert np.abs(d).max() <= LadderOptions().max_joint_step
    np.testing.assert_allclose(robot.fk(path.q)[:, :3, 3], (T @ np.linalg.inv(T_ft))[:, :3, 3], atol=1e-7)
    # the full ladder turns the torch over the same stretch
    full = plan_seam(robot, checker, T, s, T_ft, samples, LadderOptions(coarse_stride=1), sample_cost=cost)
    assert isinstance(full, SeamPath)
    assert np.degrees(np.abs(full.angles[blocked, 0])).min() >= 12.0 - 1e-6


def test_fill_in_that_cannot_be_repaired_falls_back_to_the_full_ladder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blocked at every rotation over a stretch: the repair finds nothing, the full search names the
    place, and no way point's nodes are computed twice (the sparse and the repair nodes are reused)."""
    import weldcell.planning.seam as seam_mod

    robot = load_robot("ur5e")
    T, s = _line_down()
    T_ft = np.eye(4)
    T_ft[2, 3] = 0.2
    samples = np.array([(a, 0.0, 0.0) for a in np.linspace(-10, 10, 3) * np.pi / 180])
    rows: list[int] = []
    real = seam_mod._ladder_block

    def spy(robot, checker, T_base_tcp, *args):  # type: ignore[no-untyped-def]
        rows.append(T_base_tcp.shape[0])
        return real(robot, checker, T_base_tcp, *args)

    monkeypatch.setattr(seam_mod, "_ladder_block", spy)
    path = plan_seam(robot, _NarrowBlock(robot, 0.001, 0.007), T, s, T_ft, samples, LadderOptions())
    assert sum(rows) == len(s)
    assert isinstance(path, SeamFailure)
    assert path.cause == "collision" and "clamp" in path.message
    assert path.s_from <= 0.102 + 1e-9 and path.s_to >= 0.106 - 1e-9
