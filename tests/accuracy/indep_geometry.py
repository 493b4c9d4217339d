"""Seam geometry and robot kinematics rebuilt from the program YAML, independently of weldcell.

Nothing here imports weldcell: the YAML is parsed with PyYAML, the seam curves, surface-normal
transport, seam frames, work / travel angles and weave offsets follow the written definitions in
``docs/program-format.md``, and the forward kinematics come straight from the vendors' tables:

* UR e-series: Universal Robots, "DH Parameters for calculations of kinematics and dynamics"
  (universal-robots.com/articles/ur/application-installation/
  dh-parameters-for-calculations-of-kinematics-and-dynamics): standard DH,
  ``T = Rz(θ) Tz(d) Tx(a) Rx(α)``, α = (90°, 0, 0, 90°, -90°, 0).
* KUKA KR 6 R900 sixx: OPW parameters (Brandstötter, Angerer, Hofbaur, "An analytical solution of
  the inverse kinematics problem of industrial serial manipulators with an ortho-parallel basis and a
  spherical wrist", 2014) a1 = 25, a2 = -35, b = 0, c1 = 400, c2 = 455, c3 = 420, c4 = 80 mm, with
  the axis signs (-1, 1, 1, -1, 1, -1) and offsets (0, -90°, 0, 0, 0, 0) of ROS-Industrial's
  kuka_kr6_support ``opw_parameters_kr6r900sixx.yaml``, applied as opw_kinematics does in its
  forward kinematics: native angle θ = sign · q - offset (A2 = 0 is the upper arm horizontal).
* KUKA KR 10 R1420: the same OPW chain, signs and offsets, with the lengths of KUKA's KR 10 R1420
  data sheet a1 = 150, a2 = -20, b = 0, c1 = 450, c2 = 610, c3 = 660, c4 = 80 mm (the figures
  weldcell's model is built from: for this arm the check covers the chain and the seam geometry,
  not the lengths).
* FANUC CRX-10iA/L: standard DH with FANUC's link lengths (upper arm 710, forearm 540, wrist offset
  150, faceplate 160 mm; Wandelbots' ``FANUC_CRX10iAL`` table), J2 offset +90°, on a 245 mm base
  (weldcell's estimate of the J2 height: the check covers the chain and the seam geometry, not that
  height).
* ABB IRB 1520ID: ABB's product specification 3HEA802921-001 ("Dimensions") as ABB draws the arm at
  zero (lower arm upright, upper arm horizontal): axis 2 453 mm up and 160 mm forward, lower arm
  590 mm, axis 3-4 offset 200 mm up, upper arm 723 mm to the wrist centre, 200 mm to the mounting
  flange; joint axes z, y, y, x, y, x, all positive (ROS-Industrial abb_*_support convention); tool0
  at zero has z forward and x down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.interpolate import CubicSpline

# ---------------------------------------------------------------------------------- kinematics
UR_DH = {  # d1, a2, a3, d4, d5, d6 [m] (published tables)
    "ur3e": (0.15185, -0.24355, -0.2132, 0.13105, 0.08535, 0.0921),
    "ur5e": (0.1625, -0.425, -0.3922, 0.1333, 0.0997, 0.0996),
    "ur10e": (0.1807, -0.6127, -0.57155, 0.17415, 0.11985, 0.11655),
    "ur16e": (0.1807, -0.4784, -0.36, 0.17415, 0.11985, 0.11655),
}
KR6_OPW = {"a1": 0.025, "a2": -0.035, "b": 0.0, "c1": 0.400, "c2": 0.455, "c3": 0.420, "c4": 0.080}
KR10_OPW = {"a1": 0.150, "a2": -0.020, "b": 0.0, "c1": 0.450, "c2": 0.610, "c3": 0.660, "c4": 0.080}
KR6_SIGNS = np.array([-1.0, 1.0, 1.0, -1.0, 1.0, -1.0])
KR6_OFFSETS = np.array([0.0, -math.pi / 2, 0.0, 0.0, 0.0, 0.0])
# FANUC ARC Mate 100iD / M-10iD/12 as FANUC draws it at zero (J2 450 mm up and 75 mm forward, upper arm
# 640, J3-J4 offset 195 up, forearm 700, faceplate 75): joint origins [m] and axes; faceplate z forward, x up
ARCMATE100ID = (
    ((0, 0, 0.450), (0, 0, 1)),
    ((0.075, 0, 0), (0, 1, 0)),
    ((0, 0, 0.640), (0, -1, 0)),
    ((0, 0, 0.195), (-1, 0, 0)),
    ((0.700, 0, 0), (0, -1, 0)),
    ((0.075, 0, 0), (-1, 0, 0)),
)
# ABB IRB 1520ID as ABB draws it at zero: joint origins [m] (each relative to the previous) and axes
IRB1520ID = (
    ((0, 0, 0), (0, 0, 1)),
    ((0.160, 0, 0.453), (0, 1, 0)),
    ((0, 0, 0.590), (0, 1, 0)),
    ((0, 0, 0.200), (1, 0, 0)),
    ((0.723, 0, 0), (0, 1, 0)),
    ((0.200, 0, 0), (1, 0, 0)),
)
# ABB GoFa CRB 15000-5/0.95 as ROS-Industrial's crb15000_5_95_macro.xacro draws it (tool0 as IRB's)
CRB15000_5_95 = (
    ((0, 0, 0.265), (0, 0, 1)),
    ((0, 0, 0), (0, 1, 0)),
    ((0, 0, 0.444), (0, 1, 0)),
    ((0, 0, 0.110), (1, 0, 0)),
    ((0.470, 0, 0), (0, 1, 0)),
    ((0.101, 0, 0.080), (1, 0, 0)),
)


def _rz(t: np.ndarray) -> np.ndarray:
    c, s = np.cos(t), np.sin(t)
    R = np.zeros((*np.shape(t), 4, 4))
    R[..., 0, 0], R[..., 0, 1], R[..., 1, 0], R[..., 1, 1] = c, -s, s, c
    R[..., 2, 2] = R[..., 3, 3] = 1.0
    return R


def _ry(t: np.ndarray) -> np.ndarray:
    c, s = np.cos(t), np.sin(t)
    R = np.zeros((*np.shape(t), 4, 4))
    R[..., 0, 0], R[..., 0, 2], R[..., 2, 0], R[..., 2, 2] = c, s, -s, c
    R[..., 1, 1] = R[..., 3, 3] = 1.0
    return R


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    R = np.eye(4)
    R[1, 1], R[1, 2], R[2, 1], R[2, 2] = c, -s, s, c
    return R


def _trans(x: float, y: float, z: float) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return T


def fk_flange(robot: str, q: np.ndarray) -> np.ndarray:
    """Flange poses (N, 4, 4) in the robot base frame for joints q (N, 6) [rad]."""
    q = np.asarray(q, dtype=np.float64)
    if robot in UR_DH:
        d1, a2, a3, d4, d5, d6 = UR_DH[robot]
        d = (d1, 0.0, 0.0, d4, d5, d6)
        a = (0.0, a2, a3, 0.0, 0.0, 0.0)
        alpha = (math.pi / 2, 0.0, 0.0, math.pi / 2, -math.pi / 2, 0.0)
        T = np.broadcast_to(np.eye(4), (len(q), 4, 4)).copy()
        for i in range(6):
            ct, st = np.cos(q[:, i]), np.sin(q[:, i])
            ca, sa = math.cos(alpha[i]), math.sin(alpha[i])
            A = np.zeros((len(q), 4, 4))
            A[:, 0, 0], A[:, 0, 1], A[:, 0, 2], A[:, 0, 3] = ct, -st * ca, st * sa, a[i] * ct
            A[:, 1, 0], A[:, 1, 1], A[:, 1, 2], A[:, 1, 3] = st, ct * ca, -ct * sa, a[i] * st
            A[:, 2, 1], A[:, 2, 2], A[:, 2, 3] = sa, ca, d[i]
            A[:, 3, 3] = 1.0
            T = T @ A
        return T
    if robot.startswith(("kr6_r900", "kr10_r1420")):
        p = KR6_OPW if robot.startswith("kr6_r900") else KR10_OPW
        th = q * KR6_SIGNS - KR6_OFFSETS  # opw_kinematics: θ = sign · q - offset
        # arm upright at native zero; elementary chain of the OPW geometry
        T = _rz(th[:, 0]) @ _trans(p["a1"], p["b"], p["c1"]) @ _ry(th[:, 1]) @ _trans(0, 0, p["c2"])
        T = T @ _ry(th[:, 2]) @ _trans(p["a2"], 0, p["c3"])
        T = T @ _rz(th[:, 3]) @ _ry(th[:, 4]) @ _rz(th[:, 5]) @ _trans(0, 0, p["c4"])
        return T
    if robot in ("arcmate100id", "irb1520id", "crb15000_5_95"):
        chain = {"arcmate100id": ARCMATE100ID, "irb1520id": IRB1520ID, "crb15000_5_95": CRB15000_5_95}[robot]
        T = np.broadcast_to(np.eye(4), (len(q), 4, 4)).copy()
        for i, (xyz, axis) in enumerate(chain):
            R = np.broadcast_to(np.eye(4), (len(q), 4, 4)).copy()
            R[:, :3, :3] = _rot_axis_angle(np.array(axis, dtype=float), q[:, i])
            T = T @ _trans(*xyz) @ R
        F = np.eye(4)
        if robot == "arcmate100id":
            F[:3, :3] = [[0, 0, 1], [0, -1, 0], [1, 0, 0]]
        else:
            F[:3, :3] = [[0, 0, 1], [0, 1, 0], [-1, 0, 0]]  # tool0: z forward, x down
        return T @ F
    if robot == "crx10ial":
        # standard DH, T = Rz(θ) Tz(d) Tx(a) Rx(α) per joint, θ = q + offset, above the 245 mm base
        rows = (  # a, d, α, offset
            (0.0, 0.0, math.pi / 2, 0.0),
            (0.710, 0.0, 0.0, math.pi / 2),
            (0.0, 0.0, -math.pi / 2, 0.0),
            (0.0, -0.540, math.pi / 2, 0.0),
            (0.0, 0.150, -math.pi / 2, 0.0),
            (0.0, -0.160, math.pi, 0.0),
        )
        T = np.broadcast_to(_trans(0, 0, 0.245), (len(q), 4, 4)).copy()
        for i, (a, d, alpha, off) in enumerate(rows):
            T = T @ _rz(q[:, i] + off) @ _trans(0, 0, d) @ _trans(a, 0, 0) @ _rx(alpha)
        return T
    raise KeyError(f"no independent kinematics for robot {robot!r}")


# ---------------------------------------------------------------------------------- program
def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _rot_axis_angle(axis: np.ndarray, ang: np.ndarray) -> np.ndarray:
    """Rodrigues rotations (N, 3, 3) about unit ``axis`` (3,) by angles (N,)."""
    k = axis / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    a = np.asarray(ang)[:, None, None]
    return np.eye(3) + np.sin(a) * K + (1 - np.cos(a)) * (K @ K)


def pose_from_spec(spec: dict[str, Any] | None) -> np.ndarray:
    """URDF roll-pitch-yaw pose (mm, deg) → (4, 4) [m]: R = Rz(yaw) Ry(pitch) Rx(roll)."""
    spec = spec or {}
    x = np.asarray(spec.get("xyz_mm", [0, 0, 0]), float) * 1e-3
    r, p, y = np.radians(spec.get("rpy_deg", [0, 0, 0]))
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    Rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    Ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    Rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    T = np.eye(4)
    T[:3, :3] = Rz @ Ry @ Rx
    T[:3, 3] = x
    return T


class Curve:
    """A seam curve in the part frame [m], by arc length, with normal transport."""

    def __init__(self, g: dict[str, Any]) -> None:
        self.pieces: list[tuple[str, float, float, tuple[Any, ...]]] = []  # kind, s0, len, data
        if "line" in g:
            a, b = (np.asarray(g["line"][k], float) * 1e-3 for k in ("start_mm", "end_mm"))
            self._line(a, b)
        elif "arc" in g:
            p0, p1, p2 = (np.asarray(g["arc"][k], float) * 1e-3 for k in ("start_mm", "mid_mm", "end_mm"))
            # circumcentre: equidistant from the three points, in their plane
            n = np.cross(p1 - p0, p2 - p0)
            A = np.stack([p1 - p0, p2 - p0, n])
            rhs = np.array([(p1 @ p1 - p0 @ p0) / 2, (p2 @ p2 - p0 @ p0) / 2, n @ p0])
            c = np.linalg.solve(A, rhs)
            axis = _unit(n)
            r0, r2 = p0 - c, p2 - c
            sweep = math.atan2(np.cross(r0, r2) @ axis, r0 @ r2) % (2 * math.pi)
            self._arc(c, axis, p0, sweep)
        elif "circle" in g:
            ci = g["circle"]
            c = np.asarray(ci["center_mm"], float) * 1e-3
            self._arc(c, _unit(np.asarray(ci["axis"], float)), np.asarray(ci["start_mm"], float) * 1e-3,
                      math.radians(ci["sweep_deg"]))  # fmt: skip
        elif "polyline" in g:
            pts = np.asarray(g["polyline"]["points_mm"], float) * 1e-3
            r = g["polyline"].get("blend_radius_mm", 3.0) * 1e-3
            u = _unit(np.diff(pts, axis=0))
            start = pts[0]
            for k in range(len(u)):
                if k == len(u) - 1:
                    self._line(start, pts[-1])
                    break
                turn = math.acos(float(np.clip(u[k] @ u[k + 1], -1, 1)))
                if turn < 1e-9:
                    continue
                cut = r * math.tan(turn / 2)
                a0 = pts[k + 1] - cut * u[k]
                self._line(start, a0)
                inward = _unit(u[k + 1] - (u[k + 1] @ u[k]) * u[k])
                centre = a0 + r * inward
                self._arc(centre, _unit(np.cross(u[k], u[k + 1])), a0, turn)
                start = pts[k + 1] + cut * u[k + 1]
        elif "spline" in g:
            pts = np.asarray(g["spline"]["points_mm"], float) * 1e-3
            u = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
            sp = CubicSpline(u, pts, bc_type="natural", axis=0)
            uu = np.linspace(0, u[-1], 200_001)
            d = np.linalg.norm(sp(uu, 1), axis=1)
            ss = np.concatenate([[0], np.cumsum((d[1:] + d[:-1]) / 2 * np.diff(uu))])
            self.pieces.append(("spline", 0.0, float(ss[-1]), (sp, uu, ss)))
        else:
            raise KeyError(f"unknown geometry {list(g)}")
        self.length = sum(p[2] for p in self.pieces)

    def _s0(self) -> float:
        return sum(p[2] for p in self.pieces)

    def _line(self, a: np.ndarray, b: np.ndarray) -> None:
        L = float(np.linalg.norm(b - a))
        if L > 1e-12:
            self.pieces.append(("line", self._s0(), L, (a, (b - a) / L)))

    def _arc(self, c: np.ndarray, axis: np.ndarray, start: np.ndarray, sweep: float) -> None:
        r_vec = start - c
        r = float(np.linalg.norm(r_vec))
        self.pieces.append(("arc", self._s0(), r * sweep, (c, axis, r_vec)))

    def evaluate(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points (N, 3), unit tangents (N, 3), normal transport rotations (N, 3, 3) at s (N,)."""
        s = np.clip(np.asarray(s, float), 0.0, self.length)
        p = np.zeros((len(s), 3))
        t = np.zeros((len(s), 3))
        R = np.broadcast_to(np.eye(3), (len(s), 3, 3)).copy()
        R_acc = np.eye(3)
        t_prev: np.ndarray | None = None
        for i, (kind, s0, L, data) in enumerate(self.pieces):
            last = i == len(self.pieces) - 1
            m = (s >= s0) & ((s < s0 + L) | last)
            ds = s[m] - s0
            if kind == "line":
                a, e = data
                t_start = e
            elif kind == "arc":
                c, axis, r_vec = data
                t_start = _unit(np.cross(axis, r_vec))
            else:
                t_start = None
            if t_prev is not None and t_start is not None:  # corner between pieces (blend: none)
                v = np.cross(t_prev, t_start)
                if np.linalg.norm(v) > 1e-12:
                    ang = math.atan2(np.linalg.norm(v), t_prev @ t_start)
                    R_acc = _rot_axis_angle(v, np.array([ang]))[0] @ R_acc
            if kind == "line":
                p[m] = a + ds[:, None] * e
                t[m] = e
                R[m] = R_acc
                t_prev = e
            elif kind == "arc":
                r = np.linalg.norm(r_vec)
                Rot = _rot_axis_angle(axis, ds / r)
                p[m] = c + Rot @ r_vec
                t[m] = Rot @ t_start
                R[m] = Rot @ R_acc
                R_end = _rot_axis_angle(axis, np.array([L / r]))[0]
                R_acc = R_end @ R_acc
                t_prev = R_end @ t_start
            else:
                sp, uu, ss = data
                u_m = np.interp(ds, ss, uu)
                p[m] = sp(u_m)
                t[m] = _unit(sp(u_m, 1))
                # rotation-minimising transport integrated on the fine table
                tg = _unit(sp(uu, 1))
                steps = _min_rot(tg[:-1], tg[1:])
                acc = [np.eye(3)]
                for k in range(0, len(steps), 1):
                    acc.append(steps[k] @ acc[-1])
                acc_a = np.asarray(acc)
                j = np.clip(np.searchsorted(ss, ds, side="right") - 1, 0, len(ss) - 1)
                R[m] = _min_rot(tg[j], t[m]) @ acc_a[j]
        return p, t, R


def _min_rot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotations taking unit a onto unit b about a × b (N, 3, 3)."""
    v = np.cross(a, b)
    c = np.einsum("ni,ni->n", a, b)
    K = np.zeros((len(a), 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 0] = -v[:, 2], v[:, 1], v[:, 2]
    K[:, 1, 2], K[:, 2, 0], K[:, 2, 1] = -v[:, 0], -v[:, 1], v[:, 0]
    return np.eye(3) + K + (K @ K) / (1 + c)[:, None, None]


def weave(w: dict[str, Any] | None, tau: np.ndarray) -> np.ndarray:
    """Weave offsets (N, 3) [m]: x along travel, y across, lift away from the root (docs table)."""
    out = np.zeros((len(tau), 3))
    if not w:
        return out
    A = w["amplitude_mm"] * 1e-3
    f = w["frequency_hz"]
    om = 2 * math.pi * f
    ph = np.mod(f * tau, 1.0)
    tri = np.where(ph < 0.25, 4 * ph, np.where(ph < 0.75, 2 - 4 * ph, 4 * ph - 4))
    pat = w["pattern"]
    if pat == "sine":
        out[:, 1] = A * np.sin(om * tau)
    elif pat == "zigzag":
        out[:, 1] = A * tri
    elif pat == "triangle":
        out[:, 1] = A * tri
        out[:, 2] = w["height_mm"] * 1e-3 * (1 - np.abs(tri))
    elif pat == "trapezoid":
        T = 1 / f
        D = w["dwell_s"]
        tr = (T - 2 * D) / 2
        t = np.mod(tau, T)
        knots_t = [0, tr / 2, tr / 2 + D, tr / 2 + D + tr, tr / 2 + 2 * D + tr, T]
        out[:, 1] = A * np.interp(t, knots_t, [0, 1, 1, -1, -1, 0])
    elif pat == "circular":
        L = w.get("longitudinal_mm", w["amplitude_mm"]) * 1e-3
        out[:, 1] = A * np.sin(om * tau)
        out[:, 0] = L * np.cos(om * tau)
    elif pat == "figure_eight":
        L = w.get("longitudinal_mm", w["amplitude_mm"]) * 1e-3
        out[:, 1] = A * np.sin(om * tau)
        out[:, 0] = L * np.sin(2 * om * tau)
    else:
        raise KeyError(pat)
    return out


@dataclass
class Pass:
    """One welded pass of a seam as written in the YAML (SI units)."""

    seam_id: str
    index: int
    speed: float
    work: float
    travel: float
    tol_work: float
    tol_travel: float
    weave: dict[str, Any] | None
    lateral: float
    height: float


class SeamDef:
    """A seam: curve, normals, frames and passes, from the YAML alone."""

    def __init__(self, seam: dict[str, Any], data: dict[str, Any]) -> None:
        self.id = seam["id"]
        bodies = {b["name"]: b for b in data["cell"].get("bodies", [])}
        self.T_world_part = pose_from_spec(bodies[seam["workpiece"]].get("pose")) if seam.get(
            "workpiece") else np.eye(4)  # fmt: skip
        self.curve = Curve(seam["geometry"])
        self.reverse = seam.get("direction", "forward") == "reverse"
        if "normals" in seam:
            self.n1 = np.asarray(seam["normals"][0], float)
            self.n2: np.ndarray | None = np.asarray(seam["normals"][1], float)
        else:
            self.n1, self.n2 = np.asarray(seam["face_normal"], float), None
        _, t0, _ = self.curve.evaluate(np.zeros(1))
        self.n1 = _unit(self.n1 - (self.n1 @ t0[0]) * t0[0])
        if self.n2 is not None:
            self.n2 = _unit(self.n2 - (self.n2 @ t0[0]) * t0[0])
        st = seam.get("stitch")
        L = self.curve.length
        if st:
            ln, pitch, off = (
                st["length_mm"] * 1e-3,
                st["pitch_mm"] * 1e-3,
                st.get("start_offset_mm", 0) * 1e-3,
            )
            n = math.floor((L - off - ln) / pitch + 1e-9) + 1
            self.stitches = [(off + k * pitch, off + k * pitch + ln) for k in range(n)]
        else:
            self.stitches = [(0.0, L)]
        procs = data["procedures"]
        self.passes: list[Pass] = []
        for k, ps in enumerate(seam.get("passes") or [{}]):
            pr = procs[ps.get("procedure") or seam["procedure"]]
            tol = pr.get("tolerance", {})
            self.passes.append(
                Pass(self.id, k, pr["travel_speed_mm_s"] * 1e-3,
                     math.radians(ps.get("work_angle_deg", pr["work_angle_deg"])),
                     math.radians(ps.get("travel_angle_deg", pr.get("travel_angle_deg", 0.0))),
                     math.radians(tol.get("work_angle_deg", 0.0)),
                     math.radians(tol.get("travel_angle_deg", 0.0)),
                     pr.get("weave"), ps.get("lateral_mm", 0.0) * 1e-3, ps.get("height_mm", 0.0) * 1e-3)
            )  # fmt: skip

    def frames(self, s: np.ndarray) -> dict[str, np.ndarray]:
        """Point, welded tangent t, written tangent t_geo, n1p, u1, b at welded-direction s (N,)."""
        s_geo = self.curve.length - s if self.reverse else s
        p, t_geo, R = self.curve.evaluate(s_geo)
        Rw = self.T_world_part[:3, :3]
        p = p @ Rw.T + self.T_world_part[:3, 3]
        t_geo = t_geo @ Rw.T
        t = -t_geo if self.reverse else t_geo
        n1 = (R @ self.n1) @ Rw.T
        n1p = _unit(n1 - np.einsum("ni,ni->n", n1, t)[:, None] * t)
        if self.n2 is None:
            u1 = _unit(np.cross(n1p, t_geo))
            b = n1p
        else:
            n2 = (R @ self.n2) @ Rw.T
            n2p = _unit(n2 - np.einsum("ni,ni->n", n2, t)[:, None] * t)
            u1 = _unit(n2p - np.einsum("ni,ni->n", n2p, n1p)[:, None] * n1p)
            b = _unit(n1p + n2p)
        return {"p": p, "t": t, "t_geo": t_geo, "n1p": n1p, "u1": u1, "b": b}

    def tcp_points(
        self, ps: Pass, s: np.ndarray, s_start: float, s_end: float, backwards: bool
    ) -> np.ndarray:
        """Programmed TCP points (N, 3) [m] at welded-direction arc lengths s of one stitch.

        ``backwards``: the planner welds the segment from ``s_end`` to ``s_start``; the weave then
        starts there and the seam frame's x and y turn round.
        """
        f = self.frames(s)
        zJ = -f["b"]
        yJ = np.cross(zJ, f["t_geo"])
        p = f["p"] + ps.lateral * yJ + ps.height * f["b"]
        w = math.cos(ps.work) * f["u1"] + math.sin(ps.work) * f["n1p"]
        zS = -w
        xS = f["t"]
        yS = np.cross(zS, xS)
        if backwards:
            xS, yS = -xS, -yS
            tau = (s_end - s) / ps.speed
        else:
            tau = (s - s_start) / ps.speed
        off = weave(ps.weave, tau)
        return p + off[:, :1] * xS + off[:, 1:2] * yS - off[:, 2:] * zS

    def torch_angles(
        self, ps: Pass, s: np.ndarray, z_tcp: np.ndarray, backwards: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """(work, travel) angles [rad] of torch axes z_tcp (N, 3) at s (docs: measured back from a pose)."""
        f = self.frames(s)
        t = -f["t"] if backwards else f["t"]
        zt = np.einsum("ni,ni->n", z_tcp, t)
        travel = np.arcsin(np.clip(zt, -1, 1))
        w = -_unit(z_tcp - zt[:, None] * t)
        work = np.arctan2(np.einsum("ni,ni->n", w, f["n1p"]), np.einsum("ni,ni->n", w, f["u1"]))
        return work, travel


def load_yaml(path: Path) -> dict[str, Any]:
    """The program file as plain data."""
    return dict(yaml.safe_load(path.read_text()))
