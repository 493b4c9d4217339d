"""IK benchmark: weldcell's analytic IK against roboticstoolbox's C++ ik_LM and pybullet's IK.

Run::

    python benchmarks/bench_ik.py [--robot ur5e] [--batch 100000] [--n-ref 2000]

The same random reachable poses (FK of random joint vectors inside the limits) go through

* weldcell ``Robot.ik`` in one batch (all branches per pose: 8 for UR and OPW arms, 16 for the
  offset-wrist cobots CRX and GoFa, ``--robot crx10ial`` / ``crb15000_5_95``) and one pose per call,
* roboticstoolbox ``ets().ik_LM`` (C++ Levenberg-Marquardt) from a warm seed (the true q plus
  N(0, 0.05 rad) noise) with ``tol=1e-10`` on its ½eᵀe error,
* pybullet ``calculateInverseKinematics`` from the same warm seed (100 iterations, threshold 1e-10).

Accuracy is measured with weldcell's FK (validated against the DH table and roboticstoolbox to
1e-12) as flange position error [m] and orientation error [rad]. Timings are the best of a few
repeats on one thread; on a shared machine, rerun for stable numbers.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from weldcell.kinematics import load_robot
from weldcell.spatial import rotation_angle_between


def _errors(robot, T: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    Tb = robot.fk(q)
    return np.linalg.norm(Tb[..., :3, 3] - T[..., :3, 3], axis=-1), rotation_angle_between(
        Tb[..., :3, :3], T[..., :3, :3]
    )


def _best(fn, repeats: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best wall-clock and best CPU time [s] of ``fn()`` over ``repeats`` runs."""
    wall = cpu = np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - t0)
    return wall, cpu


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--robot", default="ur5e")
    ap.add_argument("--batch", type=int, default=100_000, help="poses in the batch IK run")
    ap.add_argument("--n-ref", type=int, default=2000, help="poses for the single-pose and reference solvers")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    robot = load_robot(args.robot)
    rng = np.random.default_rng(args.seed)
    q_true = rng.uniform(robot.q_lower, robot.q_upper, size=(args.batch, robot.n_joints))
    T = robot.fk(q_true)
    robot.ik(T[:8])  # load the compiled kernels

    # ---------------------------------------------------------------- batch, all branches
    # Each figure is the best of several runs, in wall-clock and in CPU time of this process (the
    # latter excludes time the OS gave the core to other processes; ratios use CPU time).
    Q = robot.ik(T)
    wall, cpu = _best(lambda: robot.ik(T), 5)
    wall_nc, cpu_nc = _best(lambda: robot.ik(T, check=False), 5)
    small = T[:10_000]
    wall_10k, cpu_10k = _best(lambda: robot.ik(small), 20)
    valid = ~np.isnan(Q).any(axis=-1)
    pe, re = _errors(robot, T[:, None], np.where(valid[..., None], Q, 0.0))
    pe, re = pe[valid], re[valid]
    wrapped = np.abs((Q - q_true[:, None] + np.pi) % (2 * np.pi) - np.pi).max(axis=-1)
    found_orig = (np.where(valid, wrapped, np.inf).min(axis=1) < 1e-7).mean()
    batch_cpu = cpu / args.batch

    # ---------------------------------------------------------------- one pose per call
    n = args.n_ref
    Ts = [np.array(T[i]) for i in range(n)]

    def single_loop() -> None:
        for Ti in Ts:
            robot.ik(Ti)

    single_wall, single_cpu = (t / n for t in _best(single_loop, 3))

    seeds = np.clip(q_true[:n] + rng.normal(0, 0.05, size=(n, robot.n_joints)), robot.q_lower, robot.q_upper)

    # ---------------------------------------------------------------- roboticstoolbox ik_LM
    import roboticstoolbox as rtb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ets = rtb.Robot.URDF(str(robot.urdf_path)).ets(end="flange")
    q_rtb = np.zeros((n, robot.n_joints))
    ok_rtb = np.zeros(n, dtype=bool)

    def rtb_loop() -> None:
        for i in range(n):
            sol = ets.ik_LM(Ts[i], q0=seeds[i], ilimit=100, slimit=1, tol=1e-10, joint_limits=True)
            q_rtb[i] = sol.q
            ok_rtb[i] = sol.success

    rtb_wall, rtb_cpu = (t / n for t in _best(rtb_loop, 2))
    pe_rtb, re_rtb = _errors(robot, T[:n], q_rtb)
    # the same solver at its default tolerance, to show what "success" means there
    ok_def = np.zeros(n, dtype=bool)
    q_def = np.zeros((n, robot.n_joints))
    for i in range(n):
        sol = ets.ik_LM(Ts[i], q0=seeds[i], ilimit=30, slimit=1)
        q_def[i], ok_def[i] = sol.q, sol.success
    pe_def, _ = _errors(robot, T[:n], q_def)

    # ---------------------------------------------------------------- pybullet
    import pybullet as p
    from scipy.spatial.transform import Rotation

    quats_xyzw = Rotation.from_matrix(T[:n, :3, :3]).as_quat()
    cid = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(str(robot.urdf_path), useFixedBase=True, physicsClientId=cid)
        infos = [
            p.getJointInfo(body, j, physicsClientId=cid)
            for j in range(p.getNumJoints(body, physicsClientId=cid))
        ]
        rev = [j for j, inf in enumerate(infos) if inf[2] == p.JOINT_REVOLUTE]
        flange = next(j for j, inf in enumerate(infos) if inf[12].decode() == "flange")
        lo, hi = list(robot.q_lower), list(robot.q_upper)
        rngs = list(robot.q_upper - robot.q_lower)
        q_pb = np.zeros((n, robot.n_joints))
        pb_wall = pb_cpu = 0.0
        for i in range(n):
            for k, j in enumerate(rev):  # warm start: pybullet's IK starts from the current state
                p.resetJointState(body, j, seeds[i, k], physicsClientId=cid)
            pos, quat, rest = T[i, :3, 3].tolist(), quats_xyzw[i].tolist(), seeds[i].tolist()
            t0, c0 = time.perf_counter(), time.process_time()
            sol_pb = p.calculateInverseKinematics(
                body, flange, pos, quat, lowerLimits=lo, upperLimits=hi, jointRanges=rngs,
                restPoses=rest, maxNumIterations=100, residualThreshold=1e-10, physicsClientId=cid,
            )  # fmt: skip
            pb_wall += time.perf_counter() - t0
            pb_cpu += time.process_time() - c0
            q_pb[i] = sol_pb[: robot.n_joints]
        pb_wall /= n
        pb_cpu /= n
    finally:
        p.disconnect(cid)
    pe_pb, re_pb = _errors(robot, T[:n], q_pb)

    # ---------------------------------------------------------------- report
    print(
        f"robot {robot.name} ({robot.kind}), {args.batch} poses in batch, {n} poses for the per-pose solvers"
    )
    print("times: wall clock / CPU time of this process (best of several runs)")
    print()
    nb = robot.n_branches
    print(f"weldcell analytic IK (all {nb} branches per pose)")
    print(f"  batch:        {args.batch / wall:12,.0f} / {args.batch / cpu:12,.0f} poses/s (input checks on)")
    print(f"  check=False:  {args.batch / wall_nc:12,.0f} / {args.batch / cpu_nc:12,.0f} poses/s")
    print(
        f"  batch of {len(small):,}: {len(small) / wall_10k:12,.0f} / {len(small) / cpu_10k:12,.0f} poses/s "
        "(less fresh output memory to fault in than the large batch)"
    )
    print(f"  single pose:  {single_wall * 1e6:8.2f} / {single_cpu * 1e6:8.2f} µs per call from Python")
    print(f"  branches found per pose: {valid.sum(axis=1).mean():.2f} of {nb} (inside joint limits)")
    print(f"  original configuration among branches: {found_orig * 100:.2f} %")
    print(f"  max error over all {valid.sum():,} solutions: {pe.max():.1e} m, {re.max():.1e} rad")
    print()
    print("roboticstoolbox ets().ik_LM, warm seed, tol=1e-10 (one branch)")
    print(f"  {rtb_wall * 1e6:8.2f} / {rtb_cpu * 1e6:8.2f} µs/pose, success {ok_rtb.mean() * 100:.1f} %")
    print(
        f"  error of reported successes: median {np.median(pe_rtb[ok_rtb]):.1e} m, "
        f"max {pe_rtb[ok_rtb].max():.1e} m, max {re_rtb[ok_rtb].max():.1e} rad"
    )
    print(
        f"  at its default tol=1e-6: success {ok_def.mean() * 100:.1f} %, "
        f"max error of reported successes {pe_def[ok_def].max():.1e} m"
    )
    print()
    print("pybullet calculateInverseKinematics, warm seed, 100 iterations (one branch)")
    print(f"  {pb_wall * 1e6:8.2f} / {pb_cpu * 1e6:8.2f} µs/pose")
    print(
        f"  error: median {np.median(pe_pb):.1e} m, 95th pct {np.percentile(pe_pb, 95):.1e} m, "
        f"max {pe_pb.max():.1e} m; orientation median {np.median(re_pb):.1e} rad"
    )
    print()
    print("ratios of CPU time per pose (reference / weldcell)")
    print(f"  rtb ik_LM   / weldcell batch ({nb} branches): {rtb_cpu / batch_cpu:7.1f} x")
    print(f"  rtb ik_LM   / weldcell single call:        {rtb_cpu / single_cpu:8.1f} x")
    print(f"  pybullet IK / weldcell batch ({nb} branches): {pb_cpu / batch_cpu:7.1f} x")
    print(f"  pybullet IK / weldcell single call:        {pb_cpu / single_cpu:8.1f} x")
    print()
    if nb == 8:  # closed-form arms (UR, OPW)
        ok = args.batch / cpu >= 1e6 and single_cpu < 20e-6 and pe.max() <= 1e-9 and re.max() <= 1e-9
        print(
            "targets (>= 1,000,000 poses/s batch, < 20 µs single call (CPU time), "
            "every solution <= 1e-9 m / rad): " + ("met" if ok else "NOT met")
        )
    else:  # offset-wrist cobots (CRX, GoFa): a 1-D root search, all 16 branches; faster than ik_LM
        ok = rtb_cpu / batch_cpu > 1.0 and pe.max() <= 1e-9 and re.max() <= 1e-9
        print(
            f"targets (all {nb} branches in less CPU per pose than one ik_LM branch, every solution "
            "<= 1e-9 m / rad): " + ("met" if ok else "NOT met")
        )


if __name__ == "__main__":
    main()
