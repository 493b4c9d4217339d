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

import math

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

    Args:
        waypoints: Joint positions [rad], shape (W, n), W ≥ 2.
        qd_max: Velocity limits [rad/s], shape (n,).
        qdd_max: Acceleration limits [rad/s²], shape (n,).
        dt: Sample period [s].

    Returns:
        (q, qd, qdd) samples, each (M, n).
    """
    from weldcell.planning._toppra_import import import_toppra

    ta, algo, constraint = import_toppra()

    chord = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(waypoints, axis=0), axis=1))]
    if chord[-1] <= 1e-12:
        z = np.zeros((1, waypoints.shape[1]))
        return waypoints[:1].copy(), z, z.copy()
    path = ta.SplineInterpolator(chord / chord[-1], waypoints, bc_type="clamped")
    vlim = np.stack([-qd_max, qd_max], axis=1)
    alim = np.stack([-qdd_max, qdd_max], axis=1)
    instance = algo.TOPPRA(
        [constraint.JointVelocityConstraint(vlim), constraint.JointAccelerationConstraint(alim)],
        path,
        parametrizer="ParametrizeConstAccel",
        gridpt_min_nb_points=max(100, 20 * len(waypoints)),
    )
    traj = instance.compute_trajectory(0.0, 0.0)
    if traj is None:
        raise PlanningError("toppra found no time parametrisation of the transit path")
    duration = float(traj.duration)
    M = math.ceil(duration / dt - 1e-9) + 1
    t = np.minimum(np.arange(M) * dt, duration)
    q = np.asarray(traj(t), dtype=np.float64)
    qd = np.asarray(traj(t, 1), dtype=np.float64)
    qdd = np.asarray(traj(t, 2), dtype=np.float64)
    q[-1] = waypoints[-1]
    qd[-1] = 0.0
    qdd[-1] = 0.0
    return q, qd, qdd
