"""Planning benchmarks: the 200 mm seam case, the capsule checker against pybullet, the example programs.

Run: ``python benchmarks/bench_planning.py [--programs] [--scaling] [--quick]``.

Every figure is printed with its target (issue #14) and, where one exists, a peer measured in the
same run. Times are wall clock with the CPU time of this process beside them (the machine is shared:
the CPU time is what the code costs, the wall time what a user waits); note ``uptime`` with them.

1. The 200 mm fillet (2 mm way-point spacing = 101 way points, 36 rotation samples x 8 IK branches)
   on a UR5e with the MIG torch, with collision checking: the sparse-then-verified ladder (default)
   and the full ladder. Numba JIT warm-up is timed separately and excluded.
2. The capsule collision checker against pybullet's per-configuration check (robot + torch vs the
   cell, ``getClosestPoints``), same configurations, same run: checks per second and ratio.
3. Transit timing: ms per 1,000 output samples of a rest-to-rest move (ruckig, as the planner
   times straight moves) and of a move through way points (toppra, as the planner times searched
   paths), the peers called directly with the same limits.
   The dense weld-sample check (``planning/dense_check.py``) against checking every sample, and an
   ompl RRT-Connect search with the batched motion validator against ompl's default validator
   (same seeds: the paths must be equal), both in CPU time, same run.
4. With ``--programs``: warm ``plan_program`` time of every program in ``programs/`` (targets:
   ``box_frame`` ≤ 1.0 s, ``demo_tjoint`` ≤ 0.3 s), the peak memory of planning
   ``box_frame`` in a fresh process (target ≤ 250 MB) and where box_frame's CPU time goes, per
   component (``--components`` prints only that).
5. With ``--scaling``: a synthetic job of 10, 26 and 50 short seams (``synthetic_job.py``): time
   and peak traced memory, and their growth exponent with the number of seams (target: at most linear).
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
        cpu = _time(run, repeats, time.process_time)
        target = " (target ≤ 20 ms median)" if stride > 1 else " (peer: the sparse ladder above)"
        print(
            f"   {label}: median {statistics.median(times) * 1e3:.1f} ms wall, "
            f"{statistics.median(cpu) * 1e3:.1f} ms CPU{target}, min {min(times) * 1e3:.1f} ms "
            f"(first call incl. JIT load {warm * 1e3:.0f} ms); path min clearance "
            f"{res.min_clearance * 1e3:.1f} mm"
        )


def bench_dense_check(repeats: int) -> None:
    """The weld-sample collision check: dense path check (anchors + motion bound) against every sample."""
    from weldcell.planning.dense_check import dense_free

    robot, torch, cell, T, s = seam_case()
    checker = CapsuleCollisionChecker(robot, torch, cell)
    home = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])
    opts = LadderOptions(rotation_samples=36, coarse_stride=8)
    res = plan_seam(
        robot, checker, T, s, torch.T_flange_tcp(), rotation_angles(True, np.pi, opts), opts, q_ref=home
    )
    assert isinstance(res, SeamPath), res
    # the weld's samples: 10 mm/s at 2 ms = 0.02 mm apart (joint path interpolated between way points)
    fine = np.linspace(0.0, float(s[-1]), round(float(s[-1]) / 2e-5) + 1)
    Q = np.stack([np.interp(fine, s, res.q[:, j]) for j in range(res.q.shape[1])], axis=1)
    same = bool(np.array_equal(dense_free(checker, Q), checker.check(Q)))
    t_dense = min(_time(lambda: dense_free(checker, Q), repeats, time.process_time))
    t_all = min(_time(lambda: checker.check(Q), repeats, time.process_time))
    print(f"== weld samples of the 200 mm seam ({len(Q)} samples at 0.02 mm), collision flags")
    print(
        f"   dense path check: {t_dense / len(Q) * 1e6:.3f} µs CPU per sample; early-exit check of "
        f"every sample: {t_all / len(Q) * 1e6:.3f} µs; ratio {t_all / t_dense:.1f}x; same flags: {same}"
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
                # all joints in one call, so the ratio compares collision checking, not Python calls
                p.resetJointStatesMultiDof(rid, joints, [[float(v)] for v in q], physicsClientId=cid)
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


def bench_transit_timing(repeats: int) -> None:
    """ms per 1,000 output samples of the planner's transit timing, against the libraries called directly."""
    import toppra as ta
    import toppra.algorithm as algo
    import toppra.constraint as constraint
    from ruckig import InputParameter, Ruckig, Synchronization, Trajectory

    from weldcell.planning.timing import ruckig_rest_to_rest, toppra_through

    robot = load_robot("ur5e")
    vmax, amax = np.asarray(robot.qd_max) * 0.5, np.asarray(robot.qdd_max) * 0.5
    jmax = 10.0 * amax
    q0 = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])
    q1 = q0 + np.array([1.2, 0.4, -0.6, 0.5, 0.8, -1.0])
    way = np.stack(
        [
            q0,
            q0 + np.array([0.5, 0.3, -0.2, 0.2, 0.3, -0.4]),
            q0 + np.array([0.9, 0.2, -0.5, 0.4, 0.6, -0.7]),
            q1,
        ]
    )
    dt = 0.002
    print("== transit timing (UR5e, half speed limits, dt = 2 ms), target ≤ 5 ms per 1,000 samples")

    def per_k(fn) -> tuple[float, int]:  # type: ignore[no-untyped-def]
        out = fn()
        m = len(out[0]) if isinstance(out, tuple) else int(out)
        t = min(_time(fn, repeats, time.process_time))
        return t / m * 1e6, m  # ms per 1,000 samples

    def ruckig_direct() -> int:
        inp = InputParameter(6)
        inp.current_position, inp.target_position = q0.tolist(), q1.tolist()
        inp.current_velocity = inp.current_acceleration = [0.0] * 6
        inp.target_velocity = inp.target_acceleration = [0.0] * 6
        inp.max_velocity, inp.max_acceleration, inp.max_jerk = vmax.tolist(), amax.tolist(), jmax.tolist()
        inp.synchronization = Synchronization.Phase
        traj = Trajectory(6)
        Ruckig(6).calculate(inp, traj)
        m = int(np.ceil(traj.duration / dt)) + 1
        for i in range(m):
            traj.at_time(min(i * dt, traj.duration))
        return m

    def toppra_direct() -> int:
        chord = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(way, axis=0), axis=1))]
        path = ta.SplineInterpolator(chord / chord[-1], way, bc_type="clamped")
        inst = algo.TOPPRA(
            [
                constraint.JointVelocityConstraint(np.stack([-vmax, vmax], 1)),
                constraint.JointAccelerationConstraint(np.stack([-amax, amax], 1)),
            ],
            path,
            parametrizer="ParametrizeConstAccel",
            gridpt_min_nb_points=100,
        )
        traj = inst.compute_trajectory(0.0, 0.0)
        t = np.arange(0.0, traj.duration, dt)
        traj(t), traj(t, 1), traj(t, 2)
        return len(t)

    for label, mine, peer in (
        ("rest-to-rest (ruckig)", lambda: ruckig_rest_to_rest(q0, q1, vmax, amax, jmax, dt), ruckig_direct),
        ("through 4 way points (toppra)", lambda: toppra_through(way, vmax, amax, dt), toppra_direct),
    ):
        a, m = per_k(mine)
        b, _ = per_k(peer)
        print(f"   {label}: {a:.1f} ms per 1,000 samples ({m} samples); library called directly {b:.1f} ms")


def bench_ompl_motion(repeats: int) -> None:
    """An ompl transit search with the batched motion validator against ompl's default, same run."""
    import ompl.base as ob  # noqa: F401 - fail early when ompl is missing

    from weldcell.planning import transit
    from weldcell.planning.transit import TransitOptions

    robot = load_robot("ur5e")
    cell = SimpleNamespace(
        T_world_base=np.eye(4),
        clearance=0.01,
        bodies=(
            _box("table", "table", (1.5, 1.5, 0.04), (0.3, 0.0, -0.05)),
            _box("wall", "obstacle", (0.05, 0.4, 0.6), (-0.65, 0.0, 0.3)),
        ),
    )
    checker = CapsuleCollisionChecker(robot, None, cell)  # type: ignore[arg-type]
    # from one side of the wall to the other: the straight joint line is blocked
    q0 = np.array([0.9, -0.8, 1.0, -1.8, -1.57, 0.0])
    q1 = np.array([-0.9, -0.8, 1.0, -1.8, -1.57, 0.0])
    seeds = range(1, 9)
    batched = transit._batched_motion_validator

    def ompl_default(_ob: object, si: object, *_: object) -> object:
        return si.getMotionValidator()  # type: ignore[attr-defined]

    def run() -> list:  # type: ignore[type-arg]
        return [transit._ompl_path(robot, checker, q0, q1, TransitOptions(seed=s)) for s in seeds]

    run()  # warm-up: ompl import, kernels
    t_b = min(_time(run, repeats, time.process_time))
    paths_b = run()
    transit._batched_motion_validator = ompl_default  # type: ignore[assignment]
    try:
        t_d = min(_time(run, repeats, time.process_time))
        paths_d = run()
    finally:
        transit._batched_motion_validator = batched  # type: ignore[assignment]
    pairs = zip(paths_b, paths_d, strict=True)
    same = all(a is not None and b is not None and np.array_equal(a, b) for a, b in pairs)
    print("== ompl RRT-Connect + simplifier around a wall (UR5e), 8 seeded searches")
    print(
        f"   batched motion validator: {t_b / len(seeds) * 1e3:.1f} ms CPU per search; ompl's default "
        f"(one state per callback): {t_d / len(seeds) * 1e3:.1f} ms; ratio {t_d / t_b:.1f}x; "
        f"same paths: {same}"
    )


def _plan_timed(path: Path) -> tuple[object, float, float]:
    from weldcell.planning import plan_program
    from weldcell.program import load_program

    program = load_program(path)
    t0, c0 = time.perf_counter(), time.process_time()
    res = plan_program(program)
    return res, time.perf_counter() - t0, time.process_time() - c0


_TARGETS = {"box_frame.yaml": 1.0, "demo_tjoint.yaml": 0.3}


def bench_programs() -> None:
    print("== example programs: warm plan_program time (default options); wall s / CPU s")
    for path in sorted((ROOT / "programs").glob("*.yaml")):
        _plan_timed(path)  # warm: kernels loaded, models cached
        res, dt, cpu = _plan_timed(path)
        extra = (
            f"cycle {res.cycle_time:.1f} s, arc {res.arc_time:.1f} s, air {res.air_time:.1f} s"  # type: ignore[attr-defined]
            if res.ok  # type: ignore[attr-defined]
            else res.reason  # type: ignore[attr-defined]
        )
        target = (
            f" (target ≤ {_TARGETS[path.name]:.1f} s CPU: {cpu / _TARGETS[path.name]:.1f}x the target)"
            if path.name in _TARGETS
            else ""
        )
        print(
            f"   {path.name:26s} {dt:6.2f} s / {cpu:5.2f} s{target}  {res.status.value:8s} "  # type: ignore[attr-defined]
            f"{len(res.seams)} segments; {extra}"  # type: ignore[attr-defined]
        )
    # peak memory as a user meets it: the resident set of a fresh ``weldcell plan`` process
    # (interpreter, numba and its kernels, models and the planning arrays); the planning arrays
    # alone (tracemalloc) from a second plan in this process
    import tempfile
    import tracemalloc

    from bench_memory_startup import plan_peak_mb

    with tempfile.TemporaryDirectory(prefix="weldcell-bench-") as tmp:
        peak = plan_peak_mb(ROOT / "programs" / "box_frame.yaml", Path(tmp))
    tracemalloc.start()
    _plan_timed(ROOT / "programs" / "box_frame.yaml")
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(
        f"   box_frame peak memory: resident {peak:.0f} MB for a fresh 'weldcell plan' "
        f"(target ≤ 250 MB; benchmarks/bench_memory_startup.py shows what the process holds before "
        f"planning), of which the planning arrays peak at {traced:.0f} MB (tracemalloc)"
    )


_COMPONENTS = (
    # (module, attribute, label); inner kernels are counted inside the stages that call them
    ("weldcell.planning.planner", "plan_seam", "seam search (ladders, fill-in)"),
    ("weldcell.planning.planner", "weld_samples", "weld samples (timed welds)"),
    ("weldcell.planning.planner", "_job_branches", "job-wide configuration choice"),
    ("weldcell.planning.planner", "_assemble", "assembly (transits, timing, timeline)"),
    ("weldcell.planning.collision", "CapsuleCollisionChecker.query", "  collision queries (all stages)"),
    ("weldcell.kinematics.robot", "Robot.singularity_distance", "  singularity measure (all stages)"),
    ("weldcell.planning.seam", "ladder_dp_multi", "  ladder dynamic programme"),
    ("weldcell.kinematics.robot", "Robot.ik", "  IK (all stages)"),
)


def component_times(path: Path, repeats: int = 4) -> tuple[float, dict[str, float]]:
    """Warm CPU time [s] of ``plan_program`` on ``path`` and of its components in that run.

    The fastest of ``repeats`` plans (after one warm-up plan) is kept, with the CPU time spent in
    each of ``_COMPONENTS`` during it (the functions are wrapped for the measurement and restored
    after; a stage's time excludes the stages it calls, the indented kernels are parts of the stages).
    """
    import importlib

    from weldcell.planning import plan_program
    from weldcell.program import load_program

    acc: dict[str, float] = {}
    stack: list[str] = []
    saved = []
    for module, attr, label in _COMPONENTS:
        owner: object = importlib.import_module(module)
        name = attr
        if "." in attr:
            cls, name = attr.split(".")
            owner = getattr(owner, cls)
        fn = getattr(owner, name)
        saved.append((owner, name, fn))

        def timed(*args: object, _fn=fn, _label=label, **kwargs: object) -> object:  # type: ignore[no-untyped-def]
            stage = not _label.startswith(" ")
            if stage:
                stack.append(_label)
            c0 = time.process_time()
            try:
                return _fn(*args, **kwargs)
            finally:
                dt = time.process_time() - c0
                acc[_label] = acc.get(_label, 0.0) + dt
                if stage:
                    stack.pop()
                    if stack:  # a stage called by another (weld samples in the job-wide choice)
                        acc[stack[-1]] = acc.get(stack[-1], 0.0) - dt

        setattr(owner, name, timed)
    try:
        program = load_program(path)
        plan_program(program)
        best: tuple[float, dict[str, float]] = (np.inf, {})
        for _ in range(repeats):
            acc.clear()
            c0 = time.process_time()
            plan_program(program)
            cpu = time.process_time() - c0
            if cpu < best[0]:
                best = (cpu, dict(acc))
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
    return best


def bench_components(repeats: int) -> None:
    """Where the warm CPU time of planning ``box_frame`` goes (issue #14: target ≤ 1.0 s)."""
    total, parts = component_times(ROOT / "programs" / "box_frame.yaml", repeats)
    target = _TARGETS["box_frame.yaml"]
    print(
        f"== box_frame warm plan_program, CPU per component (min of {repeats}): {total:.2f} s "
        f"(target ≤ {target:.1f} s: {total / target:.1f}x the target)"
    )
    for _module, _attr, label in _COMPONENTS:
        t = parts.get(label, 0.0)
        print(f"   {label:40s} {t:6.3f} s  {100.0 * t / total:5.1f} %")
    stages = sum(parts.get(label, 0.0) for _m, _a, label in _COMPONENTS if not label.startswith(" "))
    rest = total - stages
    print(f"   {'rest (ordering, tool paths, reports)':40s} {rest:6.3f} s  {100.0 * rest / total:5.1f} %")


def bench_scaling(sizes: tuple[int, ...]) -> None:
    """Time and traced memory of the synthetic rib-grid job against its number of seams."""
    import tempfile
    import tracemalloc

    from synthetic_job import rib_grid_program

    print("== synthetic rib-grid job (UR10e, 40 mm fillets, order chosen by the planner): growth with seams")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = rib_grid_program(n, Path(tmp))
            res, dt, cpu = _plan_timed(path)
            tracemalloc.start()
            _plan_timed(path)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            rows.append((n, cpu, peak))
            print(
                f"   {n:3d} seams: {dt:6.1f} s wall, {cpu:6.1f} s CPU ({cpu / n * 1e3:.0f} ms per seam), "
                f"peak traced memory {peak:.0f} MB, {res.status.value}"  # type: ignore[attr-defined]
            )
    if len(rows) >= 2:
        x = np.log([r[0] for r in rows])
        for k, what in ((1, "CPU time"), (2, "peak memory")):
            slope = float(np.polyfit(x, np.log([r[k] for r in rows]), 1)[0])
            print(f"   growth exponent of {what} with seams: {slope:.2f} (target: at most linear, ≤ 1.1)")


def main() -> None:
    """Run the benchmarks and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", action="store_true", help="also plan every example program")
    ap.add_argument("--scaling", action="store_true", help="also plan the synthetic 10/26/50-seam job")
    ap.add_argument(
        "--components", action="store_true", help="only the CPU per component of planning box_frame"
    )
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    if args.components:
        bench_components(3 if args.quick else 6)
        return
    bench_seam(3 if args.quick else 10)
    bench_checker(20_000 if args.quick else 200_000, 300 if args.quick else 2000)
    bench_dense_check(3 if args.quick else 10)
    bench_transit_timing(3 if args.quick else 10)
    bench_ompl_motion(1 if args.quick else 3)
    if args.programs:
        bench_programs()
        bench_components(3 if args.quick else 6)
    if args.scaling:
        bench_scaling((10, 26, 50))


if __name__ == "__main__":
    main()
