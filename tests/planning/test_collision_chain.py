"""The collision kernels run on the robot model's own chain: one URDF read, one forward kinematics.

``CapsuleCollisionChecker`` takes its chain arrays from ``Robot.link_chain``; the kernels' own FK
(``_collision_kernels.link_poses_batch``, the loop of ``collision_batch``) must then reproduce
``Robot.fk`` / ``Robot.link_poses`` for every shipped robot.
"""

from __future__ import annotations

import numpy as np
import pytest

from weldcell.kinematics import load_robot, robot_names
from weldcell.kinematics.models import URDF_DIR
from weldcell.planning import _collision_kernels as kernels


def test_every_arm_urdf_is_a_loadable_robot() -> None:
    """Every arm URDF in urdf/ (not torches, positioners) is covered by the parametrised test below."""
    names = {p.stem for p in URDF_DIR.glob("*.urdf")}
    not_arms = {n for n in names if n.startswith("torch_") or n.endswith(("_1ax", "_2ax"))}
    assert names - not_arms == set(robot_names())


@pytest.mark.parametrize("name", robot_names())
def test_kernel_fk_equals_robot_fk(name: str) -> None:
    robot = load_robot(name)
    c = robot.link_chain
    assert c.link_names == robot.link_names
    assert c.link_names[c.flange_link] == "flange"
    rng = np.random.default_rng(13)
    lo = np.maximum(robot.q_lower, -2 * np.pi)
    hi = np.minimum(robot.q_upper, 2 * np.pi)
    Q = rng.uniform(lo, hi, size=(64, robot.n_joints))
    P = kernels.link_poses_batch(Q, c.parent, c.origin, c.axis, c.qidx)  # (M, L, 3, 4)
    np.testing.assert_allclose(P[:, c.flange_link], robot.fk(Q)[:, :3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(P, robot.link_poses(Q)[:, :, :3], rtol=0, atol=1e-12)
    # the blocked FK inside collision_batch (configurations as lanes, 3x4 row-major per link)
    nb = kernels._BLOCK
    X = np.empty((len(c.link_names), 12, nb))
    kernels._fk_block(np.ascontiguousarray(Q[:nb].T), nb, c.parent, c.origin, c.axis, c.qidx, X)
    blocked = X.transpose(2, 0, 1).reshape(nb, len(c.link_names), 3, 4)
    np.testing.assert_allclose(blocked, P[:nb], rtol=0, atol=1e-12)


def test_link_chain_names_a_missing_link() -> None:
    from weldcell.errors import ModelError

    with pytest.raises(ModelError, match="not in the robot chain; links: "):
        load_robot("ur5e").link_chain.index("torch_tip")
