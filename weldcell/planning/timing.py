"""Time parametrisation: seam progress at the weld speed, and time-optimal transit moves.

* Weld: the seam arc length ``s(t)`` starts and ends at rest, accelerates over the ramp length with a
  raised-cosine speed profile (continuous acceleration), then runs at exactly the programmed travel
  speed (``t = s / v`` plus a constant offset). The joint trajectory follows from IK at every sample.
* Transit: rest-to-rest straight joint moves are time-optimal and jerk-limited with ruckig (phase
  synchronised, so the move stays on the straight line that was collision-checked); paths through
  several way points are parametrised time-optimally with toppra under joint velocity and
  acceleration limits.

All functions sample at a fixed period ``dt`` [s]; sample i is at ``i * dt``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import PlanningError
from weldcell.trajectory.ops import differentiate as differentiate

NDArrayF = npt.NDArray[np.float64]


def seam_progress(
    length: float, speed: float, ramp_length: float, dt: float, min_ramp_time: float = 0.1
) -> NDArrayF:
    """Arc length samples ``s(i·dt)`` [m] from rest at 0 to rest at ``length``.

    Args:
        length: Seam (segment) length [m], > 0.
        speed: Programmed travel speed [m/s], > 0.
        ramp_length: Length of the speed ramp at each end [m] (raised-cosine speed profile).
        dt: Sample period [s].
        min_ramp_time: Shortest ramp [s]; used when ``ramp_length`` is shorter (the robot must still
            start from rest).

    Returns:
        s, shape (M,), ``s[0] = 0``, ``s[-1] = length``; constant speed ``speed`` between the ramps.
    """
    if not (length > 0 and speed > 0 and dt > 0):
        raise PlanningError(f"seam progress needs length, speed, dt > 0; got {length}, {speed}, {dt}")
    L_r = max(ramp_length, 0.5 * speed * min_ramp_time)
    L_r = min(L_r, 0.5 * length)
    T_r = 2.0 * L_r / speed
    t_cruise = (length - 2.0 * L_r) / speed
    total = 2.0 * T_r + t_cruise
    M = math.ceil(total / dt - 1e-9) + 1
    t = np.arange(M) * dt
    s = np.empty(M)
    up = t < T_r
    s[up] = 0.5 * speed * (t[up] - T_r / np.pi * np.sin(np.pi * t[up] / T_r))
    cruise = (t >= T_r) & (t < T_r + t_cruise)
    s[cruise] = L_r + speed * (t[cruise] - T_r)
    down = t >= T_r + t_cruise
    tau = np.minimum(t[down] - T_r - t_cruise, T_r)
    s[down] = length - L_r + speed * (tau - 0.5 * (tau - T_r / np.pi * np.sin(np.pi * tau / T_r)))
    s[-1] = length
    return np.clip(s, 0.0, length)


def ruckig_rest_to_rest(
    q0: NDArrayF, q1: NDArrayF, qd_max: NDArrayF, qdd_max: NDArrayF, jerk_max: NDArrayF, dt: float
) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
    """Time-optimal jerk-limited straight joint move between rest states (ruckig, phase synchronised).

    Returns:
        (q, qd, qdd) samples, each (M, n), first = q0 and last = q1 at rest.
    """
    from ruckig import InputParameter, Result, Ruckig, Synchronization, Trajectory

    n = q0.shape[0]
    if np.allclose(q0, q1, atol=1e-12):
        z = np.zeros((1, n))
        return q0[None].copy(), z, z.copy()
    inp = InputParameter(n)
    inp.current_position = q0.tolist()
    inp.current_velocity = [0.0] * n
    inp.current_acceleration = [0.0] * n
    inp.target_position = q1.tolist()
    inp.target_velocity = [0.0] * n
    inp.target_acceleration = [0.0] * n
    inp.max_velocity = qd_max.tolist()
    inp.max_acceleration = qdd_max.tolist()
    inp.max_jerk = jerk_max.tolist()
    inp.synchronization = Synchronization.Phase
    traj = Trajectory(n)
    result = Ruckig(n).calculate(inp, traj)
    if result not in (Result.Working, Result.Finished):
        raise PlanningError(f"ruckig could not time the joint move ({result})")
    duration = float(traj.duration)
    M = math.ceil(duration / dt - 1e-9) + 1
    # one list of (p, v, a) triples turned into an array at once (per-row numpy stores cost 3x)
    pva = np.array([traj.at_time(min(i * dt, duration)) for i in range(M)], dtype=np.float64)
    q, qd, qdd = pva[:, 0].copy(), pva[:, 1].copy(), pva[:, 2].copy()
    q[-1] = q1
    qd[-1] = 0.0
    qdd[-1] = 0.0
    return q, qd, qdd


def toppra_through(
    waypoints: NDArrayF, qd_max: NDArrayF, qdd_max: NDArrayF, dt: float
) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
    """Time-optimal motion along a cubic spline through joint way points, from rest to rest (toppra).

    toppra solves the time-optimal parametrisation (its TOPP-RA algorithm with the seidel LP solver,
    on the grid its ``propose_gridpoints`` would choose); the glue around the solve is done here
    with numpy, because toppra's own is Python loops that cost three times the solve (issue #14:
    ≤ 5 ms per 1,000 samples): the grid refinement evaluates one mid point per call, the
    constant-acceleration output is evaluated one sample per loop iteration, and every constraint
    object formats its limits into a string when built. The result is the same to the last bit:
    the same grid (the same refinement rule, evaluated in batches), the same solve, the same
    constant-acceleration formulas (``tests/planning/test_timing_transit.py`` compares them with
    toppra's ``compute_trajectory``).

    Args:
        waypoints: Joint positions [rad], shape (W, n), W ≥ 2.
        qd_max: Velocity limits [rad/s], shape (n,).
        qdd_max: Acceleration limits [rad/s²], shape (n,).
        dt: Sample period [s].

    Returns:
        (q, qd, qdd) samples, each (M, n).
    """
    ta, algo, _constraint = _import()

    chord = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(waypoints, axis=0), axis=1))]
    if chord[-1] <= 1e-12:
        z = np.zeros((1, waypoints.shape[1]))
        return waypoints[:1].copy(), z, z.copy()
    path = ta.SplineInterpolator(chord / chord[-1], waypoints, bc_type="clamped")
    instance = algo.TOPPRA(
        list(_toppra_constraints(qd_max, qdd_max)),
        path,
        gridpoints=toppra_gridpoints(path, min_nb_points=max(100, 20 * len(waypoints))),
        solver_wrapper="seidel",  # what toppra picks first anyway; naming it skips a module search
        parametrizer="ParametrizeConstAccel",
    )
    _sdd, sd, _v = instance.compute_parameterization(0.0, 0.0)
    if sd is None or not np.all(np.isfinite(sd)):
        raise PlanningError("toppra found no time parametrisation of the transit path")
    return sample_const_accel(path, instance.problem_data.gridpoints, sd, dt, waypoints[-1])


def toppra_gridpoints(
    path: Any, max_err_threshold: float = 1e-3, max_seg_length: float = 0.05, min_nb_points: int = 100
) -> NDArrayF:
    """The grid toppra's ``propose_gridpoints`` chooses for ``path`` (as ``algorithm.TOPPRA`` calls it).

    The same rule (halve every segment longer than ``max_seg_length`` or whose mid-point
    interpolation error estimate ``0.5·|q''(s_mid)|·Δs²`` exceeds ``max_err_threshold``, until
    none does; then halve all until there are ``min_nb_points``), with every pass evaluated in one
    call. Path parameter is toppra's normalised ``s`` in ``path.path_interval``.
    """
    grid = np.asarray(path.path_interval, dtype=np.float64)
    for _ in range(100):
        a, b = grid[:-1], grid[1:]
        dist = b - a
        mid = 0.5 * (a + b)
        split = dist > max_seg_length
        test = ~split
        if np.any(test):
            err = np.max(np.abs(0.5 * np.asarray(path(mid[test], 2)) * (dist[test] ** 2)[:, None]), axis=1)
            split[test] = err > max_err_threshold
        if not np.any(split):
            break
        grid = np.sort(np.concatenate([grid, mid[split]]))
    else:
        raise PlanningError("toppra's grid refinement did not converge on the transit path")
    while len(grid) < min_nb_points:
        grid = np.sort(np.concatenate([grid, 0.5 * (grid[:-1] + grid[1:])]))
    return grid


def sample_const_accel(
    path: Any, ss: NDArrayF, sd: NDArrayF, dt: float, q_end: NDArrayF
) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
    """Samples every ``dt`` [s] of a path timed by path velocities ``sd`` at grid points ``ss``.

    Constant path acceleration between grid points, as toppra's ``ParametrizeConstAccel``. The last
    sample is ``q_end`` at rest.

    Returns:
        (q, qd, qdd), each (M, n) [rad, rad/s, rad/s²].
    """
    ss = np.asarray(ss, dtype=np.float64)
    sd = np.asarray(sd, dtype=np.float64)
    xs = sd**2
    us = 0.5 * (xs[1:] - xs[:-1]) / (ss[1:] - ss[:-1])
    ts = np.concatenate([[0.0], np.cumsum(2.0 * (ss[1:] - ss[:-1]) / (sd[:-1] + sd[1:]))])
    duration = float(ts[-1] - ts[0])
    M = math.ceil(duration / dt - 1e-9) + 1
    t = np.minimum(np.arange(M) * dt, duration)
    idx = np.minimum(np.searchsorted(ts, t, side="right") - 1, len(us) - 1)
    tau = t - ts[idx]
    u = us[idx]
    v = sd[idx] + tau * u
    s = ss[idx] + tau * sd[idx] + 0.5 * tau**2 * u
    q = np.asarray(path(s), dtype=np.float64)
    dq = np.asarray(path(s, 1), dtype=np.float64)
    qd = dq * v[:, None]
    qdd = np.asarray(path(s, 2), dtype=np.float64) * (v**2)[:, None] + dq * u[:, None]
    q[-1] = q_end
    qd[-1] = 0.0
    qdd[-1] = 0.0
    return q, qd, qdd


@functools.lru_cache(maxsize=32)
def _toppra_constraints_cached(vb: bytes, ab: bytes) -> tuple[Any, Any]:
    _ta, _algo, constraint = _import()
    qd_max = np.frombuffer(vb)
    qdd_max = np.frombuffer(ab)
    return (
        constraint.JointVelocityConstraint(np.stack([-qd_max, qd_max], axis=1)),
        constraint.JointAccelerationConstraint(np.stack([-qdd_max, qdd_max], axis=1)),
    )


def _toppra_constraints(qd_max: NDArrayF, qdd_max: NDArrayF) -> tuple[Any, Any]:
    """toppra's joint velocity and acceleration constraints for these limits.

    Built once per limit set: toppra's constructors format their limits into a description string
    (about 0.2 ms per constraint). The objects are not changed by a solve.
    """
    v = np.ascontiguousarray(qd_max, dtype=np.float64)
    a = np.ascontiguousarray(qdd_max, dtype=np.float64)
    return _toppra_constraints_cached(v.tobytes(), a.tobytes())


def _import() -> tuple[Any, Any, Any]:
    from weldcell.planning._toppra_import import import_toppra

    return import_toppra()
