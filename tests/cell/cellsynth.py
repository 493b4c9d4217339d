"""Short synthetic trajectories for cell tests: home → seam A → seam B → home, in joint space.

Joint-space straight lines with quintic timing; the arc-on blocks have an arc-start dwell and a
crater fill at rest, seam arc length grows linearly with the weld samples. Small and fast, so the
fault tests run in seconds.
"""

from __future__ import annotations

import numpy as np

from weldcell.drivers.powersource.base import WeldParams
from weldcell.drivers.powersource.virtual_model import VirtualTiming
from weldcell.trajectory import ArcEvent, JointTrajectory

#: Short but realistic power-source timing for the virtual power source in cell tests.
FAST_TIMING = VirtualTiming(
    pre_flow=0.03,
    ignition_delay=0.04,
    ignition_jitter=0.01,
    ignition_timeout=0.25,
    arc_settle=0.03,
    crater_fill=0.05,
    post_flow=0.05,
    comm_timeout=0.4,
)
#: Stored job 1 of the virtual power source (140 A, 18.5 V).
JOB1 = WeldParams(job=1)

#: The power source's own heartbeat timeout [s] the cell sets in the cell tests that are not about
#: it. The cell's default (``CellConfig.power_source_comm_timeout``, 0.15 s) protects a real machine;
#: with the tests' 50 ms heartbeat it tolerates two late toggles, fewer than a loaded CI host's I/O
#: thread can miss. The tests about the timeout itself (PC death, killed cell child) keep 0.15 s.
PSU_COMM_TIMEOUT = 1.0
DT = 0.002
HOME = np.array([0.0, -1.57, 1.57, -1.57, -1.57, 0.0])
T_FLANGE_TCP = np.array(
    [[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0.25], [0, 0, 0, 1]]
)  # straight torch, 250 mm


def _quintic(qa: np.ndarray, qb: np.ndarray, n_min: int) -> np.ndarray:
    """Rest-to-rest quintic; at least ``n_min`` samples and slow enough for 3 rad/s² (peak 5.77·Δ/T²)."""
    T = np.sqrt(5.7735 * float(np.max(np.abs(qb - qa))) / 3.0)
    n = max(n_min, int(np.ceil(T / DT)) + 1)
    x = np.linspace(0.0, 1.0, n)[:, None]
    return qa + (qb - qa) * (10 * x**3 - 15 * x**4 + 6 * x**5)


def _linear_weld(qa: np.ndarray, qb: np.ndarray, n: int) -> np.ndarray:
    """Constant-rate joint line with quintic blends over the first/last 10 % (rest to rest)."""
    n_b = max(n // 10, 3)
    # speed profile (increments between samples): smoothstep up, flat, smoothstep down
    r = np.linspace(0.0, 1.0, n_b + 1)[1:]
    up = r * r * (3 - 2 * r)
    v = np.concatenate([up, np.ones(n - 1 - 2 * n_b), up[::-1]])
    u = np.concatenate([[0.0], np.cumsum(v)])
    u /= u[-1]
    return qa + (qb - qa) * u[:, None]


def make_trajectory(
    *,
    weld_time: float = 0.6,
    transit_time: float = 0.5,
    dwell: float = 0.05,
    crater: float = 0.05,
    robot: str = "ur5e",
) -> JointTrajectory:
    """Two seams welded in ``weld_time`` [s] each; TCP poses and seam arc lengths from the UR5e
    forward kinematics (the "seam" is the curve the TCP traces, about 30 mm long)."""
    from weldcell.kinematics import load_robot

    model = load_robot(robot)
    a0 = HOME + np.array([0.3, 0.1, -0.1, 0.0, 0.0, 0.0])
    a1 = a0 + np.array([0.05, 0.0, 0.0, 0.0, 0.0, 0.0])
    b0 = HOME + np.array([-0.3, 0.1, -0.1, 0.0, 0.0, 0.0])
    b1 = b0 + np.array([-0.05, 0.02, 0.0, 0.0, 0.0, 0.0])
    nt, nw = int(transit_time / DT), int(weld_time / DT)
    nd, nc = int(dwell / DT), int(crater / DT)
    pieces: list[tuple[np.ndarray, int, str]] = []  # q block, seam index, kind

    def weld(qa: np.ndarray, qb: np.ndarray, k: int) -> None:
        pieces.append((np.repeat(qa[None], nd, 0), k, "dwell"))
        pieces.append((_linear_weld(qa, qb, nw), k, "weld"))
        pieces.append((np.repeat(qb[None], nc, 0), k, "crater"))

    pieces.append((_quintic(HOME, a0, nt)[:-1], -1, "move"))
    weld(a0, a1, 0)
    pieces.append((_quintic(a1, b0, nt)[1:-1], -1, "move"))
    weld(b0, b1, 1)
    pieces.append((_quintic(b1, HOME, nt)[1:], -1, "move"))

    q = np.concatenate([p[0] for p in pieces])
    seam_index = np.concatenate([np.full(len(p[0]), p[1], dtype=np.int32) for p in pieces])
    seam_s = np.full(len(q), np.nan)
    pos = 0
    for blk, _k, kind in pieces:
        m = len(blk)
        if kind == "dwell":
            seam_s[pos : pos + m] = 0.0
        elif kind == "weld":  # arc length of the TCP path
            p = (model.fk(blk) @ T_FLANGE_TCP)[:, :3, 3]
            seam_s[pos : pos + m] = np.concatenate(
                [[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))]
            )
        elif kind == "crater":
            seam_s[pos : pos + m] = seam_s[pos - 1]
        pos += m
    n = len(q)
    t = np.arange(n) * DT
    arc_on = seam_index >= 0
    T = model.fk(q) @ T_FLANGE_TCP
    qd = np.gradient(q, DT, axis=0)
    still = np.all(np.diff(q, axis=0) == 0.0, axis=1)
    rest = np.zeros(n, dtype=bool)
    rest[:-1] |= still
    rest[1:] |= still
    qd[rest] = 0.0  # at rest at every arc on/off sample, as the planner guarantees
    qd[0] = qd[-1] = 0.0
    on = np.flatnonzero(np.diff(arc_on.astype(int)) == 1) + 1
    off = np.flatnonzero(np.diff(arc_on.astype(int)) == -1)
    events = []
    for a, b in zip(on, off, strict=True):
        sid = ("A", "B")[seam_index[a]]
        events += [
            ArcEvent(float(t[a]), "arc_on", sid, 0.0),
            ArcEvent(float(t[b]), "arc_off", sid, seam_s[b]),
        ]
    return JointTrajectory(
        robot=robot,
        joint_names=tuple(model.joint_names),
        dt=DT,
        t=t,
        q=q,
        qd=qd,
        qdd=np.gradient(qd, DT, axis=0),
        T_world_tcp=T,
        arc_on=arc_on,
        seam_index=seam_index,
        seam_s=seam_s,
        T_world_base=np.eye(4),
        T_flange_tcp=T_FLANGE_TCP,
        seam_ids=("A", "B"),
        events=tuple(events),
        program_hash="synthetic",
        travel_speed={k: float(np.nanmax(seam_s[seam_index == i])) / weld_time for i, k in enumerate("AB")},
    )
