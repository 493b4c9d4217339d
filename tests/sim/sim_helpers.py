"""Trajectories for the simulator tests, built without the planner (helper module, not tests).

``weld_trajectory`` makes a simple, valid weld program trajectory for one seam of a program: a
smooth joint move from home to the seam start, arc-start dwell, the weld at the programmed travel
speed (with short speed ramps), crater fill, and a smooth move home. Joint values come from the
closed-form IK of ``weldcell.kinematics`` (branch nearest home, continuous along the seam); the
nominal TCP poses are that model's FK, so a validation also cross-checks pybullet against it.
"""

from __future__ import annotations

import numpy as np

from weldcell.kinematics.models import load_robot
from weldcell.spatial import invert_transforms
from weldcell.toolpath import toolpaths_for_program
from weldcell.trajectory import ArcEvent, JointTrajectory


def _smooth_move(q0: np.ndarray, q1: np.ndarray, duration: float, dt: float) -> np.ndarray:
    n = max(2, round(duration / dt) + 1)
    u = np.linspace(0.0, 1.0, n)
    s = 10 * u**3 - 15 * u**4 + 6 * u**5  # quintic: rest to rest
    return q0 + s[:, None] * (q1 - q0)


def weld_trajectory(program, seam: int = 0, dt: float = 0.002, move_time: float = 2.5) -> JointTrajectory:
    """A plausible weld trajectory for segment ``seam`` of ``program`` (see module docstring)."""
    cell = program.cell
    robot = load_robot(cell.robot)
    seg = toolpaths_for_program(program)[seam]
    T_base_flange = (
        invert_transforms(cell.T_world_base) @ seg.T_world_tcp @ invert_transforms(cell.T_flange_tcp)
    )
    branches = robot.ik(T_base_flange)  # (N, 8, n)
    first = branches[0]
    ok = ~np.isnan(first).any(axis=1)
    b0 = int(np.flatnonzero(ok)[np.argmin(np.abs(first[ok] - cell.home_q).sum(axis=1))])
    q_path = [first[b0]]
    for k in range(1, len(branches)):
        cand = branches[k]
        good = ~np.isnan(cand).any(axis=1)
        q_path.append(cand[good][np.argmin(np.abs(cand[good] - q_path[-1]).sum(axis=1))])
    q_s = np.array(q_path)
    s = seg.s - seg.s[0]
    v, a = seg.travel_speed, 0.5  # [m/s], [m/s²]
    t_ramp = v / a
    L = float(s[-1])
    t_weld = L / v + t_ramp
    tt = np.arange(0.0, t_weld + dt / 2, dt)
    s_t = np.where(
        tt < t_ramp,
        0.5 * a * tt**2,
        np.where(
            tt > t_weld - t_ramp,
            L - 0.5 * a * np.clip(t_weld - tt, 0, None) ** 2,
            0.5 * a * t_ramp**2 + v * (tt - t_ramp),
        ),
    )
    s_t = np.clip(s_t, 0.0, L)
    q_weld = np.stack([np.interp(s_t, s, q_s[:, j]) for j in range(q_s.shape[1])], axis=1)
    dwell = np.repeat(q_weld[:1], round(seg.arc_start_dwell / dt) + 1, axis=0)
    crater = np.repeat(q_weld[-1:], round(max(seg.crater_fill_time, 0.1) / dt) + 1, axis=0)
    go = _smooth_move(cell.home_q, q_weld[0], move_time, dt)
    back = _smooth_move(q_weld[-1], cell.home_q, move_time, dt)
    parts = [go[:-1], dwell, q_weld, crater, back[1:]]
    q = np.concatenate(parts)
    arc = np.concatenate(
        [
            np.zeros(len(go) - 1, bool),
            np.ones(len(dwell) + len(q_weld) + len(crater), bool),
            np.zeros(len(back) - 1, bool),
        ]
    )
    seam_s = np.concatenate(
        [
            np.full(len(go) - 1, np.nan),
            np.zeros(len(dwell)),
            s_t,
            np.full(len(crater), L),
            np.full(len(back) - 1, np.nan),
        ]
    )
    N = len(q)
    t = np.arange(N, dtype=np.float64) * dt
    qd = np.gradient(q, dt, axis=0)
    qd[~np.isfinite(qd)] = 0.0
    # rest exactly where the arc switches (dwell and crater are stationary)
    i_on = len(go) - 1
    i_off = i_on + len(dwell) + len(q_weld) + len(crater)
    qd[[i_on, i_off - 1, i_off]] = 0.0
    qdd = np.gradient(qd, dt, axis=0)
    T_world_tcp = cell.T_world_base @ robot.fk(q) @ cell.T_flange_tcp
    return JointTrajectory(
        robot=cell.robot,
        joint_names=robot.joint_names,
        dt=dt,
        t=t,
        q=q,
        qd=qd,
        qdd=qdd,
        T_world_tcp=T_world_tcp,
        arc_on=arc,
        seam_index=np.where(arc, 0, -1).astype(np.int32),
        seam_s=seam_s,
        T_world_base=cell.T_world_base,
        T_flange_tcp=cell.T_flange_tcp,
        seam_ids=(seg.seam_id,),
        events=(
            ArcEvent(float(t[i_on]), "arc_on", seg.seam_id, 0.0),
            ArcEvent(float(t[i_off - 1]), "arc_off", seg.seam_id, L),
        ),
        program_hash=program.hash,
        travel_speed={seg.seam_id: v},
    )
