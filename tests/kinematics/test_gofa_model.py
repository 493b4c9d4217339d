"""The loadable ABB GoFa CRB 15000-5/0.95 (``crb15000_5_95``): its generated URDF equals an
independent FK written from ROS-Industrial's URDF of the arm (``abb_crb15000_support/urdf/
crb15000_5_95_macro.xacro``: joint origins, axes and ``tool0``), and ``Robot.ik`` returns every branch
within the limits with labels that match the IK branch order."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.kinematics import load_robot
from weldcell.kinematics.gofa import gofa_fk

# ROS-Industrial crb15000_5_95_macro.xacro: (origin xyz [m], axis) of joint_1 .. joint_6; tool0 is
# the flange turned +90° about y
_URDF = (
    ((0.0, 0.0, 0.265), (0.0, 0.0, 1.0)),
    ((0.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    ((0.0, 0.0, 0.444), (0.0, 1.0, 0.0)),
    ((0.0, 0.0, 0.110), (1.0, 0.0, 0.0)),
    ((0.470, 0.0, 0.0), (0.0, 1.0, 0.0)),
    ((0.101, 0.0, 0.080), (1.0, 0.0, 0.0)),
)

ROBOT = load_robot("crb15000_5_95")


def _rot(axis: tuple[float, float, float], a: float) -> np.ndarray:
    k = np.asarray(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(a) * K + (1 - math.cos(a)) * K @ K


def urdf_fk(q: np.ndarray) -> np.ndarray:
    T = np.eye(4)
    for (xyz, axis), a in zip(_URDF, q, strict=True):
        S = np.eye(4)
        S[:3, 3] = xyz
        S[:3, :3] = _rot(axis, a)
        T = T @ S
    tool0 = np.eye(4)
    tool0[:3, :3] = _rot((0.0, 1.0, 0.0), math.pi / 2)
    return T @ tool0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-math.pi, math.pi), min_size=6, max_size=6))
def test_model_equals_ros_industrial_urdf(q: list[float]) -> None:
    qa = np.asarray(q)
    np.testing.assert_allclose(ROBOT.fk(qa), urdf_fk(qa), atol=1e-9)
    np.testing.assert_allclose(gofa_fk(qa), urdf_fk(qa), atol=1e-9)


def test_limits_and_branches() -> None:
    np.testing.assert_allclose(np.degrees(ROBOT.q_lower), [-180, -180, -225, -180, -180, -180])
    np.testing.assert_allclose(np.degrees(ROBOT.q_upper), [180, 180, 85, 180, 180, 180])
    np.testing.assert_allclose(np.degrees(ROBOT.qd_max), [125, 125, 140, 200, 200, 200])
    assert ROBOT.kind == "gofa" and ROBOT.n_branches == 16
    rng = np.random.default_rng(5)
    q = rng.uniform(ROBOT.q_lower, ROBOT.q_upper, size=(200, 6))
    Q = ROBOT.ik(ROBOT.fk(q))
    assert Q.shape == (200, 16, 6)
    ok = ~np.isnan(Q).any(axis=-1)
    assert np.all((Q[ok] >= ROBOT.q_lower - 1e-12) & (Q[ok] <= ROBOT.q_upper + 1e-12))
    back = ROBOT.fk(np.where(ok[..., None], Q, 0.0))
    assert np.abs(back - ROBOT.fk(q)[:, None])[ok].max() <= 1e-9
    found = (np.nan_to_num(np.abs(Q - q[:, None]), nan=9.0).max(axis=-1) < 1e-6).any(axis=1)
    assert found.mean() >= 0.98
    # labels: the branch order of the solver is (J1 branch, elbow); every solution's label agrees
    lab = ROBOT.configuration_labels(Q[ok])
    assert set(np.unique(lab[:, 0])) == {-1, 1} and set(np.unique(lab[:, 1])) == {-1, 1}
    lab_src = ROBOT.configuration_labels(q)
    for p in range(50):
        rows = Q[p][ok[p]]
        same = np.abs(rows - q[p]).max(axis=-1) < 1e-6
        if same.any():
            np.testing.assert_array_equal(ROBOT.configuration_labels(rows[same][0]), lab_src[p])


def test_hanging_gofa_program_plans_fast_and_validates() -> None:
    """A GoFa hanging from a beam (base turned 180° about x) welds a fillet along world y: plans with
    the 16-branch IK in a few seconds of CPU (the IK kernel; the NumPy IK took ~30 s of the ~35 s
    plan of programs/gofa_tjoint.yaml) and validates in pybullet."""
    import time
    from pathlib import Path

    from weldcell.planning import plan_program
    from weldcell.program import load_program
    from weldcell.sim import validate_trajectory

    program = load_program(Path(__file__).parent / "programs" / "gofa_hanging_fillet.yaml")
    t0 = time.process_time()
    plan = plan_program(program)
    cpu = time.process_time() - t0
    assert plan.trajectory is not None, plan.reason
    traj = plan.trajectory
    assert cpu < 10.0, f"planning took {cpu:.1f} s CPU"
    report = validate_trajectory(traj, program)
    assert report.passed, [v.message() for v in report.violations][:3]
    # one arc-on run on one configuration; the torch tip on the seam: 0.4 m in front of the hanging
    # base, on the base plate's top (z 0.308 m), along world y over the seam's 60 mm
    assert len(np.flatnonzero(np.diff(traj.arc_on.astype(int)) == 1)) == 1
    lab = ROBOT.configuration_labels(traj.q[traj.arc_on])
    assert len({tuple(r) for r in lab.tolist()}) == 1
    p_tcp = traj.T_world_tcp[traj.arc_on][:, :3, 3]
    assert np.abs(p_tcp[:, 0] - 0.396).max() < 0.01 and np.abs(p_tcp[:, 2] - 0.308).max() < 0.01
    assert np.ptp(p_tcp[:, 1]) > 0.055
    p_flange = (program.cell.T_world_base @ ROBOT.fk(traj.q[traj.arc_on]))[:, :3, 3]
    assert p_flange[:, 2].min() > p_tcp[:, 2].max()  # the torch points down from the hanging arm
