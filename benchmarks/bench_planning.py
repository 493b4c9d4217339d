"""Planning benchmarks: the 200 mm seam case, the capsule checker against pybullet, the example programs.

Run: ``python benchmarks/bench_planning.py [--programs] [--quick]``.

1. The 200 mm fillet (2 mm way-point spacing = 101 way points, 36 rotation samples x 8 IK branches)
   on a UR5e with the MIG torch, with collision checking: the sparse-then-verified ladder (default)
   and the full ladder. Numba JIT warm-up is timed separately and excluded.
2. The capsule collision checker against pybullet's per-configuration check (robot + torch vs the
   cell, ``getClosestPoints``), same configurations, same run: checks per second and ratio.
3. With ``--programs``: total ``plan_program`` time of every program in ``programs/``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from weldcell.kinematics import load_robot, load_torch
from weldcell.planning import CapsuleCollisionChecker, LadderOptions
from weldcell.planning.seam import SeamPath, plan_seam, rotation_angles
from weldcell.spatial import se3_from_xyz_rpy

ROOT = Path(__file__).resolve().parents[1]


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


def seam_case() -> tuple:
    """UR5e, MIG torch, a T-joint on a table; a 200 mm 45° fillet at 2 mm spacing."""
    robot, torch = load_robot("ur5e"), load_torch("torch_mig_22")
    cell = SimpleNamespace(
        T_world_base=np.eye(4),
        clearance=0.002,
        bodies=(
            _box("table", "table", (1.5, 1.2, 0.04), (0.5, 0.0, -0.12)),
            _box("plate", "workpiece", (0.4, 0.3, 0.01), (0.5, 0.0, -0.095)),
            _box("web", "workpiece", (0.4, 0.01, 0.1), (0.5, 0.005, -0.04)),
        ),
    )
    n = 101
    s = np.linspace(0.0, 0.2, n)
    z = np.array([0.0, 1.0, -1.0]) / np.sqrt(2.0)
    x = np.array([1.0, 0.0, 0.0])
    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, :3, 0], T[:, :3, 1], T[:, :3, 2] = x, np.cross(z, x), z
    T[:, :3, 3] = np.stack([0.4 + s, np.full(n, -0.0005), np.full(n, -0.0895)], axis=1)
    return robot, torch, cell, T, s


def _time(fn, repeats: int, clock=time.perf_counter) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


def bench_seam(repeats: int) -> None:
    robot, torch, cell, T, s = seam_case()
    t0 = time.perf_counter()
    checker = CapsuleCollisionChecker(robot, torch, cell)
    build = time.perf_counter() - t0
    T_ft = torch.T_flange_tcp()
    home = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])
    print("== 200 mm seam: 101 way points x 36 rotation samples x 8 IK branches, with collision checking")
    print(f"   collision model build (self-collision pair analysis): {build * 1e3:.0f} ms")
    for label, stride in (("sparse ladder (every 8th way point) + verified fill-in", 8), ("full ladder", 1)):
        opts = LadderOptions(rotation_samples=36, coarse_stride=stride)
        ang = rotation_angles(True, np.pi, opts)

        def run(opts: LadderOptions = opts, ang: np.ndarray = ang) -> object:
            return plan_seam(robot, checker, T, s, T_ft, ang, opts, seam_id="bench", q_ref=home)

        t0 = time.perf_counter()
        res = run()  # JIT warm-up (cached compilation is loaded here)
        warm = time.perf_counter() - t0
        assert isinstance(res, SeamPath), res
        times = _time(run, repeats)
        print(
            f"   {label}: median {statistics.median(times) * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms "
            f"(first call incl. JIT load {warm * 1e3:.0f} ms); path min clearance "
            f"{res.min_clearance * 1e3:.1f} mm"
        )


def bench_checker(n_configs: int, n_pybullet: int) -> None:
    import pybullet as p
    from scipy.spatial.transform import Rotation

    from weldcell.program import load_program

    program = load_program(ROOT / "programs" / "demo_tjoint.yaml")
    cell = program.cell
    robot, torch = load_robot(cell.robot), load_torch(cell.torch)
    checker = CapsuleCollisionChecker(robot, torch, cell)
    rng = np.random.default_rng(0)
    Q = rng.uniform(robot.q_lower / 2, robot.q_upper / 2, (n_configs, robot.n_joints))
    checker.check(Q[:10])  # JIT warm-up
    print(
        f"== collision checker vs pybullet ({robot.name} + {torch.name}, {len(cell.bodies)} bodies, "
        f"{checker.n_pairs[0]} capsule-body + {checker.n_pairs[1]} self pairs)"
    )
    # CPU time of this process (the machine is shared: wall time would count other processes)
    cpu = time.process_time
    t = min(_time(lambda: checker.check(Q), 5, cpu))
    rate = n_configs / t
    print(
        f"   capsule checker, batch of {n_configs} ({checker.check(Q).mean():.0%} free): "
        f"{rate:,.0f} checks/s per core ({t / n_configs * 1e6:.3f} µs CPU per check)"
    )
    t = min(_time(lambda: checker.query(Q, exact_below=0.02), 3, cpu))
    print(f"   capsule checker with exact clearance below 2 cm: {n_configs / t:,.0f} configurations/s")
    cid = p.connect(p.DIRECT)
    try:
        rid = p.loadURDF(str(robot.urdf_path), useFixedBase=True, physicsClientId=cid)
        tid = p.loadURDF(str(torch.urdf_path), physicsClientId=cid)
        infos = [
            p.getJointInfo(rid, j, physicsClientId=cid)
            for j in range(p.getNumJoints(rid, physicsClientId=cid))
        ]
        joints = [i[0] for i in infos if i[2] == p.JOINT_REVOLUTE]
        flange = next(i[0] for i in infos if i[12].decode() == "flange")
        bodies = []
        for b in cell.bodies:
            shape = p.createCollisionShape(
                p.GEOM_BOX, halfExtents=(0.5 * b.size).tolist(), physicsClientId=cid
            )
            quat = Rotation.from_matrix(b.T_world_body[:3, :3]).as_quat().tolist()
            bodies.append(
                p.createMultiBody(
                    0,
                    shape,
                    basePosition=b.T_world_body[:3, 3].tolist(),
                    baseOrientation=quat,
                    physicsClientId=cid,
                )
            )

        def pb_check() -> None:
            for q in Q[:n_pybullet]:
                for j, v in zip(joints, q, strict=True):
                    p.resetJointState(rid, j, float(v), physicsClientId=cid)
                st = p.getLinkState(rid, flange, computeForwardKinematics=True, physicsClientId=cid)
                p.resetBasePositionAndOrientation(tid, st[4], st[5], physicsClientId=cid)
                for bid in bodies:
                    p.getClosestPoints(rid, bid, cell.clearance, physicsClientId=cid)
                    p.getClosestPoints(tid, bid, cell.clearance, physicsClientId=cid)

        t_pb = min(_time(pb_check, 2, cpu)) / n_pybullet
        print(
            f"   pybullet getClosestPoints per configuration: {1 / t_pb:,.0f} checks/s "
            f"({t_pb * 1e6:.1f} µs CPU)"
        )
        print(f"   ratio capsule checker / pybullet: {rate * t_pb:.0f}x")
    finally:
        p.disconnect(cid)


def bench_programs() -> None:
    from weldcell.planning import plan_program
    from weldcell.program import load_program

    print("== example programs: plan_program total time (default options)")
    for path in sorted((ROOT / "programs").glob("*.yaml")):
        program = load_program(path)
        t0 = time.perf_counter()
        res = plan_program(program)
        dt = time.perf_counter() - t0
        extra = (
            f"cycle {res.cycle_time:.1f} s, arc {res.arc_time:.1f} s, air {res.air_time:.1f} s"
            if res.ok
            else res.reason
        )
        print(f"   {path.name:28s} {dt:6.1f} s  {res.status.value:10s} {len(res.seams)} segments; {extra}")


def main() -> None:
    """Run the benchmarks and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", action="store_true", help="also plan every example program")
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    bench_seam(3 if args.quick else 10)
    bench_checker(20_000 if args.quick else 200_000, 300 if args.quick else 2000)
    if args.programs:
        bench_programs()


if __name__ == "__main__":
    main()
