"""Array operations every trajectory consumer needs, as pure functions on numpy arrays.

* :func:`true_runs` — the (first, last) index of each run of ``True`` in a flag array (arc-on
  segments, samples below a clearance, ...);
* :func:`cycle_times` and :func:`interpolate_uniform` — resampling uniformly sampled joint
  positions to a controller cycle (UR 2 ms servo, KUKA RSI 4 ms ``IPO_FAST`` / 12 ms ``IPO``);
* :func:`differentiate` — joint velocities and accelerations by central differences, with one
  end rule (zero at both ends: every slice a controller executes starts and ends at rest);
* :func:`quintic_rest_to_rest` and :func:`rest_to_rest_duration` — the one rest-to-rest joint
  profile (quintic polynomial in time) and its duration under joint speed/acceleration limits.

No :class:`~weldcell.trajectory.JointTrajectory` here: its methods call these functions, so this
module stays free of the type (and of import cycles). Everything is vectorised over samples.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError

NDArrayF = npt.NDArray[np.float64]

#: Peak speed of the quintic rest-to-rest profile: max |d/ds (10s³ − 15s⁴ + 6s⁵)| = 15/8 at s = 1/2.
QUINTIC_PEAK_SPEED = 1.875
#: Peak acceleration of the quintic profile: max |d²/ds²| = 10/√3 at s = 1/2 ∓ √3/6.
QUINTIC_PEAK_ACCELERATION = 5.7735


def true_runs(mask: npt.ArrayLike) -> list[tuple[int, int]]:
    """The (first, last) index (both inclusive) of each run of ``True`` in ``mask``, in order.

    Args:
        mask: Flags, shape (N,).
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 1:
        raise InputShapeError(f"true_runs: expected a flag array of shape (N,), got shape {m.shape}")
    if not m.any():
        return []
    d = np.diff(np.concatenate(([0], m.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1).tolist(), (np.flatnonzero(d == -1) - 1).tolist(), strict=True))


def cycle_times(duration: float, cycle: float) -> NDArrayF:
    """Times [s] of a controller cycling every ``cycle`` [s] over ``[0, duration]``.

    The last time is ``duration`` itself (appended when ``duration`` is not a whole number of
    cycles), so a resampled slice ends exactly on its last sample (at rest).

    Args:
        duration: Length of the interval [s], >= 0.
        cycle: Controller period [s], > 0.

    Returns:
        Times [s], shape (M,), starting at 0.
    """
    if not (np.isfinite(cycle) and cycle > 0):
        raise InputShapeError(f"cycle must be a positive period in seconds, got {cycle}")
    if not (np.isfinite(duration) and duration >= 0):
        raise InputShapeError(f"duration must be a finite time >= 0 s, got {duration}")
    tt = np.arange(0.0, duration + 1e-12, cycle)
    if tt[-1] < duration - 1e-12:
        tt = np.append(tt, duration)
    return np.asarray(tt, dtype=np.float64)


def interpolate_uniform(values: npt.ArrayLike, dt: float, tt: npt.ArrayLike) -> NDArrayF:
    """Linear interpolation of samples taken every ``dt`` [s] (from t = 0) at the times ``tt`` [s].

    Times outside the sampled interval are clamped to the first / last sample.

    Args:
        values: Samples, shape (N, ...) (e.g. joint positions (N, n) [rad]).
        dt: Sample period of ``values`` [s].
        tt: Query times [s], shape (M,).

    Returns:
        Interpolated values, shape (M, ...).
    """
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[0]
    if n == 0:
        raise InputShapeError("interpolate_uniform: no samples to interpolate")
    u = np.clip(np.asarray(tt, dtype=np.float64) / dt, 0.0, n - 1)
    lo = np.minimum(np.floor(u).astype(np.int64), max(n - 2, 0))
    hi = np.minimum(lo + 1, n - 1)
    w = (u - lo).reshape((-1,) + (1,) * (v.ndim - 1))
    return np.asarray((1.0 - w) * v[lo] + w * v[hi], dtype=np.float64)


def differentiate(q: npt.ArrayLike, dt: float) -> tuple[NDArrayF, NDArrayF]:
    """Velocities and accelerations of samples ``q`` by central differences, zero at both ends.

    The one end rule of weldcell: the first and last sample are rest states (every piece the
    planner builds and every slice a controller executes starts and ends at rest), so their
    velocity and acceleration are zero; in between, ``qd[i] = (q[i+1] - q[i-1]) / 2dt`` and
    ``qdd[i] = (q[i+1] - 2 q[i] + q[i-1]) / dt²``. Fewer than three samples give zeros.

    Args:
        q: Joint positions [rad], shape (M, n), sampled every ``dt``.
        dt: Sample period [s].

    Returns:
        Joint velocities [rad/s] and accelerations [rad/s²], each shape (M, n).
    """
    qa = np.asarray(q, dtype=np.float64)
    if not (np.isfinite(dt) and dt > 0):
        raise InputShapeError(f"dt must be a positive period in seconds, got {dt}")
    qd = np.zeros_like(qa)
    qdd = np.zeros_like(qa)
    if qa.shape[0] >= 3:
        qd[1:-1] = (qa[2:] - qa[:-2]) / (2.0 * dt)
        qdd[1:-1] = (qa[2:] - 2.0 * qa[1:-1] + qa[:-2]) / (dt * dt)
    return qd, qdd


def rest_to_rest_duration(
    dq: npt.ArrayLike,
    qd_max: npt.ArrayLike,
    qdd_max: npt.ArrayLike | None = None,
    *,
    min_time: float = 0.0,
) -> float:
    """Shortest duration [s] of the quintic rest-to-rest move ``dq`` within joint limits.

    The quintic's peak speed is 1.875·|Δq|/T and its peak acceleration 5.774·|Δq|/T².

    Args:
        dq: Joint displacement [rad], shape (n,).
        qd_max: Joint speed limits [rad/s], shape (n,) or scalar (already scaled by the caller).
        qdd_max: Joint acceleration limits [rad/s²], or None to leave acceleration unbounded.
        min_time: Lower bound on the result [s].
    """
    a = np.abs(np.asarray(dq, dtype=np.float64))
    t = max(
        float(np.max(QUINTIC_PEAK_SPEED * a / np.asarray(qd_max, dtype=np.float64), initial=0.0)), min_time
    )
    if qdd_max is not None:
        t_a = np.sqrt(QUINTIC_PEAK_ACCELERATION * a / np.asarray(qdd_max, dtype=np.float64))
        t = max(t, float(np.max(t_a, initial=0.0)))
    return t


def quintic_rest_to_rest(
    q0: npt.ArrayLike,
    q1: npt.ArrayLike,
    dt: float,
    duration: float,
    *,
    min_intervals: int = 1,
) -> tuple[NDArrayF, NDArrayF, NDArrayF]:
    """Quintic rest-to-rest joint move from ``q0`` to ``q1``, sampled every ``dt``.

    The duration is rounded up to a whole number of periods (at least ``min_intervals``), so the
    move ends exactly on ``q1`` with zero velocity and acceleration.

    Args:
        q0: Start joint positions [rad], shape (n,).
        q1: Goal joint positions [rad], shape (n,).
        dt: Sample period [s].
        duration: Requested duration [s] (e.g. from :func:`rest_to_rest_duration`).
        min_intervals: Least number of periods in the move.

    Returns:
        Joint positions [rad], velocities [rad/s] and accelerations [rad/s²], each (M, n),
        M = intervals + 1; the time of sample k is k·dt.
    """
    qa = np.asarray(q0, dtype=np.float64)
    dq = np.asarray(q1, dtype=np.float64) - qa
    if not (np.isfinite(dt) and dt > 0):
        raise InputShapeError(f"dt must be a positive period in seconds, got {dt}")
    if not np.isfinite(duration) or not np.all(np.isfinite(dq)):
        raise InputShapeError(f"rest-to-rest move: non-finite duration {duration} or joint positions")
    k = max(int(np.ceil(duration / dt)), min_intervals, 1)
    T = k * dt
    s = np.arange(k + 1, dtype=np.float64) / k
    p = 10 * s**3 - 15 * s**4 + 6 * s**5
    pd = (30 * s**2 - 60 * s**3 + 30 * s**4) / T
    pdd = (60 * s - 180 * s**2 + 120 * s**3) / T**2
    return qa + p[:, None] * dq, pd[:, None] * dq, pdd[:, None] * dq
