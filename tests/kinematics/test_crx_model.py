"""The FANUC CRX-10iA/L as a weldcell robot model (``load_robot("crx10ial")``): the URDF generated
from the DH table of :mod:`weldcell.kinematics.crx`, ``Robot.ik`` with the 16-branch solver, the
configuration labels, and ``programs/fanuc_crx_tjoint.yaml`` planning and validating."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from weldcell.errors import InputShapeError
from weldcell.kinematics import load_robot
from weldcell.kinematics.crx import N_CRX_BRANCHES, crx_fk, crx_ik
from weldcell.kinematics.specs import CRX_SPECS

ROBOT = load_robot("crx10ial")
SPEC = CRX_SPECS["crx10ial"]


def _T_base_dh0() -> np.ndarray:
    T = np.eye(4)
    T[2, 3] = SPEC.base_height
    return T


def test_urdf_chain_is_the_dh_table_on_its_base() -> None:
    assert ROBOT.kind == "crx" and ROBOT.n_branches == N_CRX_BRANCHES == 16
    rng = np.random.default_rng(11)
    q = rng.uniform(ROBOT.q_lower, ROBOT.q_upper, size=(300, 6))
    np.testing.assert_allclose(ROBOT.fk(q), _T_base_dh0() @ crx_fk(q), atol=1e-12)
    # at zero: upper arm up (710 mm over the 245 mm base), forearm and faceplate forward
    T0 = ROBOT.fk(np.zeros(6))
    np.testing.assert_allclose(np.abs(T0[:3, 3]), [0.540 + 0.160, 0.150, 0.245 + 0.710], atol=1e-12)
    # FANUC's 120/120/180/180/180/180 deg/s are for FANUC's joints (J3 = q3 + q2): the model's box
    np.testing.assert_allclose(np.degrees(ROBOT.qd_max), [120, 72, 108, 180, 180, 180])


def test_ik_all_branches_accurate_in_limits_and_complete() -> None:
    rng = np.random.default_rng(12)
    q = rng.uniform(ROBOT.q_lower * 0.95, ROBOT.q_upper * 0.95, size=(400, 6))
    q[:, 2] = rng.uniform(-math.pi, math.pi, size=400)  # one representative of each elbow angle
    T = ROBOT.fk(q)
    Q = ROBOT.ik(T)
    assert Q.shape == (400, 16, 6)
    ok = np.isfinite(Q).all(axis=-1)
    assert ok.sum(axis=1).min() >= 2 and ok.sum(axis=1).max() > 8
    Tq = ROBOT.fk(np.where(ok[..., None], Q, 0.0))
    err = np.abs(Tq - T[:, None])[ok]
    assert err[:, :3, 3].max() <= 1e-9 and err[:, :3, :3].max() <= 1e-9
    assert ROBOT.within_limits(Q[ok]).all()
    d = np.abs(np.arctan2(np.sin(Q - q[:, None]), np.cos(Q - q[:, None]))).max(axis=-1)
    assert (np.nan_to_num(d, nan=9.0).min(axis=1) < 1e-6).mean() >= 0.99  # the source configuration is found
    # leading dimensions broadcast, as for the other models
    assert ROBOT.ik(T[:6].reshape(2, 3, 4, 4)).shape == (2, 3, 16, 6)
    with pytest.raises(InputShapeError):
        ROBOT.ik(np.zeros((3, 3)))


def test_labels_follow_the_solver_branches() -> None:
    """Robot.configuration_labels gives the J1 branch and elbow crx_ik solved each row in (+1 for
    branch 0), so the planner's "no configuration change" rule means what it says."""
    rng = np.random.default_rng(13)
    q = rng.uniform(-3.0, 3.0, size=(150, 6))
    T_dh0 = crx_fk(q)
    Q, lab = crx_ik(T_dh0)
    ok = (lab >= 0).all(axis=-1)
    labels = ROBOT.configuration_labels(np.where(ok[..., None], Q, 0.0))
    assert np.array_equal(labels[..., 0][ok], 1 - 2 * lab[..., 0][ok].astype(int))
    assert np.array_equal(labels[..., 1][ok], 1 - 2 * lab[..., 1][ok].astype(int))
    assert np.array_equal(labels[..., 2][ok], np.where(np.sin(Q[..., 4][ok]) >= 0, 1, -1))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (6,), elements=st.floats(-3.0, 3.0)))
def test_every_ik_row_reaches_the_pose(q: np.ndarray) -> None:
    T = ROBOT.fk(q)
    Q = ROBOT.ik(T)
    ok = np.isfinite(Q).all(axis=-1)
    assert ok.any()
    Tq = ROBOT.fk(Q[ok])
    assert np.abs(Tq - T).max() <= 1e-9


def test_wrist_singular_pose_has_solutions() -> None:
    # found by hypothesis: with J5 = 0 the residual f touches zero without crossing it (a double
    # root); the search found no root and this reachable pose had no solution
    q = np.array([0.0, 0.0, 1.4375, 1.0, 0.0, 0.0])
    T = ROBOT.fk(q)
    Q = ROBOT.ik(T)
    ok = np.isfinite(Q).all(axis=-1)
    assert ok.sum() >= 2  # both arm branches through the same wrist
    assert np.abs(ROBOT.fk(Q[ok]) - T).max() <= 1e-9


def test_crx_program_plans_and_validates() -> None:
    """A CRX on a base turned 90°, part to its left: plans with the 16-branch IK and validates in
    pybullet. (``programs/fanuc_crx_tjoint.yaml`` is planned and checked against an independent FK by
    ``tests/accuracy``.)"""
    from pathlib import Path

    from weldcell.planning import plan_program
    from weldcell.program import load_program
    from weldcell.sim import validate_trajectory

    program = load_program(Path(__file__).parent / "programs" / "crx_side_fillet.yaml")
    plan = plan_program(program)
    assert plan.trajectory is not None, plan.reason
    traj = plan.trajectory
    assert traj.robot == "crx10ial"
    report = validate_trajectory(traj, program)
    assert report.passed, [v.message() for v in report.violations][:3]
    # one arc-on run, welded on one configuration, the flange over the part 0.6 m to the robot's left
    assert len(np.flatnonzero(np.diff(traj.arc_on.astype(int)) == 1)) == 1
    lab = ROBOT.configuration_labels(traj.q[traj.arc_on])
    assert len({tuple(r) for r in lab.tolist()}) == 1
    T_world_base = program.cell.T_world_base
    p_world = (T_world_base @ ROBOT.fk(traj.q[traj.arc_on]))[:, :3, 3]
    assert p_world[:, 1].min() > 0.2 and np.abs(p_world[:, 0]).max() < 0.4
