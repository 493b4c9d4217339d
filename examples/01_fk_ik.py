"""Forward and inverse kinematics of a UR5e with a MIG torch: from joint angles to the wire tip and back.

Run headless::

    python examples/01_fk_ik.py

It computes the wire-tip pose for a joint configuration, asks for every IK branch of the flange
pose that puts the wire tip there, checks each branch through FK, labels the configurations,
keeps joint continuity with ``nearest_equivalent`` and reports the distance to singularity.
"""

from __future__ import annotations

import numpy as np

from weldcell.kinematics import load_robot, load_torch
from weldcell.spatial import invert_transforms, rotation_angle_between


def main() -> None:
    """Print FK, all IK branches and their checks for one torch pose."""
    robot = load_robot("ur5e")
    torch = load_torch("torch_mig_22")
    T_flange_tcp = torch.T_flange_tcp(stickout=0.015)

    q = np.array([0.3, -1.9, 1.7, -1.4, -1.57, 0.2])  # [rad]
    T_base_tcp = robot.fk(q) @ T_flange_tcp
    print(f"{robot.name}: q = {np.round(q, 3)} rad")
    print(f"wire tip in base frame: {np.round(T_base_tcp[:3, 3] * 1000, 2)} mm")
    print(f"torch axis (tcp z) in base frame: {np.round(T_base_tcp[:3, 2], 3)}")

    # IK works on the flange: T_base_flange = T_base_tcp @ T_tcp_flange
    T_base_flange = T_base_tcp @ invert_transforms(T_flange_tcp)
    Q = robot.ik(T_base_flange)  # (8, 6), NaN rows where a branch does not exist
    labels = robot.configuration_labels(np.nan_to_num(Q))
    print("\nbranch  shoulder elbow wrist   q [rad]                                      tip error")
    for b, (qb, lab) in enumerate(zip(Q, labels, strict=True)):
        if np.isnan(qb).any():
            print(f"  {b}     (no solution inside the joint limits)")
            continue
        T_check = robot.fk(qb) @ T_flange_tcp
        err_m = np.linalg.norm(T_check[:3, 3] - T_base_tcp[:3, 3])
        err_rad = rotation_angle_between(T_check[:3, :3], T_base_tcp[:3, :3])
        print(
            f"  {b}     {lab[0]:+d}       {lab[1]:+d}    {lab[2]:+d}     {np.round(qb, 3)}  "
            f"{err_m:.1e} m {err_rad:.1e} rad"
        )

    same = int(np.nanargmin(np.abs(Q - q).max(axis=1)))
    print(f"\nthe configuration we started from is branch {same}")
    q_next = robot.nearest_equivalent(Q[same], q_ref=q)
    print(f"nearest 2π-equivalent to the previous way point: {np.round(q_next, 3)}")
    print(f"distance to singularity: {float(robot.singularity_distance(q)):.3f} (0 = singular)")

    # a whole seam at once: 200 poses 1 mm apart along base x, all branches in one call
    seam = np.repeat(T_base_flange[None], 200, axis=0)
    seam[:, 0, 3] += np.arange(200) * 1e-3
    Qs = robot.ik(seam)
    print(f"\nseam of {len(seam)} poses: {np.isfinite(Qs).all(axis=-1).sum(axis=0)} solutions per branch")


if __name__ == "__main__":
    main()
