"""Cameras, images of the scene, and visual markers (seams, torch path, weld bead).

Images come from pybullet's ``getCameraImage``: the tiny software renderer in DIRECT mode (works
without a display, used for reports and recordings) and OpenGL in GUI mode. Markers are visual-only
bodies (no collision shape), so they show in both renderers and never affect the checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.sim.report import ValidationReport
from weldcell.sim.scene import Scene
from weldcell.sim.world import Mode
from weldcell.trajectory import JointTrajectory

NDArrayF = npt.NDArray[np.float64]
Rgba = tuple[float, float, float, float]

GREEN: Rgba = (0.1, 0.8, 0.2, 1.0)
RED: Rgba = (0.9, 0.1, 0.1, 1.0)
GREY: Rgba = (0.5, 0.5, 0.55, 0.8)
BEAD: Rgba = (0.95, 0.55, 0.1, 1.0)


@dataclass(frozen=True, slots=True)
class Camera:
    """An orbit camera (pybullet's yaw/pitch convention, also used by the GUI camera).

    The eye sits at ``target + distance * (sin(yaw)·cos(pitch), -cos(yaw)·cos(pitch), -sin(pitch))``.

    Attributes:
        target: Point looked at, world frame [m], shape (3,).
        distance: Distance from the target [m].
        yaw: Azimuth [rad].
        pitch: Elevation, negative = looking down [rad].
        fov: Vertical field of view [rad].
    """

    target: tuple[float, float, float]
    distance: float
    yaw: float = math.radians(50.0)
    pitch: float = math.radians(-30.0)
    fov: float = math.radians(50.0)

    def moved_to(self, target: NDArrayF) -> Camera:
        """The same camera looking at ``target`` (3,) [m]."""
        t = (float(target[0]), float(target[1]), float(target[2]))
        return Camera(t, self.distance, self.yaw, self.pitch, self.fov)


def auto_camera(scene: Scene, T_world_tcp: NDArrayF | None = None) -> Camera:
    """A camera framing the robot base and the non-table bodies, seen from the torch side.

    Args:
        scene: The scene.
        T_world_tcp: Torch poses with the arc on (M, 4, 4); the eye is placed on the side the torch
            comes from (against the mean approach direction), turned by 70° away from the robot base.
    """
    pts = [scene.cell.T_world_base[:3, 3], scene.cell.T_world_base[:3, 3] + [0.0, 0.0, 0.6]]
    for b in scene.cell.bodies:
        if b.role != "table":
            pts.append(b.T_world_body[:3, 3])
    P = np.asarray(pts)
    centre = 0.5 * (P.min(axis=0) + P.max(axis=0))
    extent = float(np.linalg.norm(P.max(axis=0) - P.min(axis=0)))
    work = P[2:].mean(axis=0) if len(P) > 2 else centre
    eye_dir = work - scene.cell.T_world_base[:3, 3]  # behind the work, looking towards the robot
    if T_world_tcp is not None and len(T_world_tcp):
        eye_dir = -np.asarray(T_world_tcp)[:, :3, 2].mean(axis=0)
    base_dir = scene.cell.T_world_base[:3, 3] - work
    yaw0 = math.atan2(float(eye_dir[0]), -float(eye_dir[1]))

    def towards_robot(yaw: float) -> float:  # turn away from the robot so it does not hide the work
        return math.sin(yaw) * float(base_dir[0]) - math.cos(yaw) * float(base_dir[1])

    yaw = min((yaw0 + math.radians(70.0), yaw0 - math.radians(70.0)), key=towards_robot)
    t = (float(centre[0]), float(centre[1]), float(centre[2]))
    return Camera(t, max(1.0, 1.7 * extent), yaw)


def render(
    scene: Scene, camera: Camera, width: int = 640, height: int = 480
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """Render the scene: RGB image (H, W, 3) uint8 and body-id segmentation (H, W) int32 (-1 = none)."""
    cid = scene.client
    view = pb.computeViewMatrixFromYawPitchRoll(
        cameraTargetPosition=list(camera.target),
        distance=camera.distance,
        yaw=math.degrees(camera.yaw),
        pitch=math.degrees(camera.pitch),
        roll=0.0,
        upAxisIndex=2,
        physicsClientId=cid,
    )
    proj = pb.computeProjectionMatrixFOV(
        fov=math.degrees(camera.fov), aspect=width / height, nearVal=0.02, farVal=20.0, physicsClientId=cid
    )
    renderer = pb.ER_BULLET_HARDWARE_OPENGL if scene.world.mode is Mode.GUI else pb.ER_TINY_RENDERER
    _, _, rgba, _depth, seg = pb.getCameraImage(
        width,
        height,
        viewMatrix=view,
        projectionMatrix=proj,
        renderer=renderer,
        lightDirection=[1.0, 1.0, 2.0],
        shadow=0,
        physicsClientId=cid,
    )
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()
    body = np.asarray(seg, dtype=np.int32).reshape(height, width)  # body unique id per pixel, -1 = none
    return rgb, body


def add_points(scene: Scene, points: NDArrayF, radius: float, rgba: Rgba) -> list[int]:
    """Add visual-only spheres of ``radius`` [m] at ``points`` (M, 3) [m]; returns their body ids."""
    if len(points) == 0:
        return []
    cid = scene.client
    vis = pb.createVisualShape(pb.GEOM_SPHERE, radius=radius, rgbaColor=list(rgba), physicsClientId=cid)
    ids: list[int] = []
    # pybullet creates up to a few thousand bodies per batch call
    for k in range(0, len(points), 1000):
        batch = np.asarray(points[k : k + 1000], dtype=np.float64).tolist()
        res = pb.createMultiBody(
            baseMass=0.0,
            baseCollisionShapeIndex=-1,
            baseVisualShapeIndex=vis,
            batchPositions=batch,
            physicsClientId=cid,
        )
        ids += list(res) if isinstance(res, (list, tuple)) else [int(res)]
    return ids


def remove_bodies(scene: Scene, ids: list[int]) -> None:
    """Remove marker bodies."""
    for b in ids:
        pb.removeBody(b, physicsClientId=scene.client)


def resample_polyline(points: NDArrayF, spacing: float) -> NDArrayF:
    """Points (M, 3) re-spaced every ``spacing`` [m] along the polyline (keeps both ends)."""
    P = np.asarray(points, dtype=np.float64)
    if len(P) < 2:
        return P
    seg = np.linalg.norm(np.diff(P, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return P[:1]
    n = max(2, math.ceil(s[-1] / spacing) + 1)
    u = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(u, s, P[:, k]) for k in range(3)], axis=1)


def seam_colour(report: ValidationReport | None, seam_id: str) -> Rgba:
    """Green if the seam passed, red if a violation happened on it, grey if not validated."""
    if report is None:
        return GREY
    return RED if any(v.seam_id == seam_id for v in report.violations) else GREEN


def add_trajectory_markers(
    scene: Scene, traj: JointTrajectory, report: ValidationReport | None = None
) -> list[int]:
    """Draw the seams (coloured by status) and the transit torch path; returns the marker body ids."""
    ids: list[int] = []
    p = traj.T_world_tcp[:, :3, 3]
    for k, sid in enumerate(traj.seam_ids):
        on = traj.arc_on & (traj.seam_index == k)
        if on.any():
            ids += add_points(scene, resample_polyline(p[on], 0.002), 0.0015, seam_colour(report, sid))
    transit = ~traj.arc_on
    if transit.any():
        ids += add_points(scene, resample_polyline(p[transit], 0.02), 0.002, GREY)
    return ids


def snapshot_images(
    scene: Scene,
    traj: JointTrajectory,
    report: ValidationReport | None = None,
    width: int = 640,
    height: int = 480,
    max_violations: int = 3,
) -> dict[str, npt.NDArray[np.uint8]]:
    """Rendered stills: start, middle of each weld, and the first violations (close-ups).

    Adds trajectory markers to the scene (visual only). Returns title -> RGB image (H, W, 3).
    """
    add_trajectory_markers(scene, traj, report)
    cam = auto_camera(scene, traj.T_world_tcp[traj.arc_on] if traj.arc_on.any() else None)
    shots: list[tuple[str, int, Camera]] = [("start", 0, cam)]
    for k, sid in enumerate(traj.seam_ids):
        on = np.flatnonzero(traj.arc_on & (traj.seam_index == k))
        if on.size:
            i = int(on[on.size // 2])
            shots.append((f"welding {sid} (t = {traj.t[i]:.2f} s)", i, cam))
    if report is not None:
        for v in report.violations[:max_violations]:
            i = min(round(v.time / traj.dt), traj.n_samples - 1)
            close = Camera(cam.target, cam.distance, cam.yaw, cam.pitch, cam.fov).moved_to(
                traj.T_world_tcp[i, :3, 3]
            )
            close = Camera(close.target, 0.6 * cam.distance, close.yaw, close.pitch, close.fov)
            shots.append((f"{v.kind.value} at t = {v.time:.3f} s: {' / '.join(v.bodies)}", i, close))
    out: dict[str, npt.NDArray[np.uint8]] = {}
    for title, i, c in shots:
        scene.set_configuration(traj.q[i], scene.joint_order(traj.joint_names))
        out[title] = render(scene, c, width, height)[0]
    return out
