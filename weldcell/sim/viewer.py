"""Watching a trajectory: the interactive pybullet GUI viewer and the headless recorder.

Both replay the trajectory in a scene with the seams drawn (green = passed, red = a violation on
that seam, grey = not validated), the transit torch path, and a weld bead laid behind the wire tip
while the arc is on.

* :func:`view` opens the pybullet GUI: "play / pause" button, "time [s]" slider to scrub (moving
  it pauses), "speed" slider, "camera follows" switch; the camera keeps the user's orbit and
  follows the torch. Needs an X display (``xvfb-run`` works).
* :func:`record` renders headless (DIRECT mode, tiny renderer) to a GIF (or MP4 when
  ``imageio-ffmpeg`` is installed) plus still PNGs.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.errors import ValidationError
from weldcell.sim.cell_model import CellModel
from weldcell.sim.render import (
    BEAD,
    Camera,
    add_points,
    add_trajectory_markers,
    auto_camera,
    remove_bodies,
    render,
    resample_polyline,
    snapshot_images,
)
from weldcell.sim.report import ValidationReport
from weldcell.sim.scene import Scene, build_scene
from weldcell.sim.world import Mode, PybulletWorld
from weldcell.trajectory import JointTrajectory

log = logging.getLogger(__name__)
NDArrayF = npt.NDArray[np.float64]
BEAD_SPACING = 0.002  # [m]
BEAD_RADIUS = 0.003  # [m]


class Playback:
    """Puts a scene at a trajectory sample and keeps the bead trail in step with it.

    Args:
        scene: The scene (its robot must match the trajectory).
        traj: The trajectory.
        report: Validation report for the seam colours (None = grey).
    """

    def __init__(self, scene: Scene, traj: JointTrajectory, report: ValidationReport | None = None) -> None:
        self.scene = scene
        self.traj = traj
        self.idx = scene.joint_order(traj.joint_names)
        self.markers = add_trajectory_markers(scene, traj, report)
        pts: list[NDArrayF] = []
        reached: list[npt.NDArray[np.int64]] = []
        p = traj.T_world_tcp[:, :3, 3]
        arc = traj.arc_on
        m = np.concatenate([[0], arc.astype(np.int8), [0]])
        d = np.diff(m)
        for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True):
            seg = p[a : b + 1]
            bead = resample_polyline(seg, BEAD_SPACING)
            s_seg = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(seg, axis=0), axis=1))])
            s_bead = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(bead, axis=0), axis=1))])
            pts.append(bead)
            reached.append(a + np.searchsorted(s_seg, s_bead - 1e-12, side="left"))
        self.bead_points = np.concatenate(pts) if pts else np.zeros((0, 3))
        self.bead_sample = np.concatenate(reached) if reached else np.zeros(0, dtype=np.int64)
        self._bead_ids: list[int] = []
        self.index = 0

    def show(self, i: int) -> None:
        """Put the robot at sample ``i`` and lay (or take back) the bead up to it."""
        i = int(np.clip(i, 0, self.traj.n_samples - 1))
        self.scene.set_configuration(self.traj.q[i], self.idx)
        want = int(np.searchsorted(self.bead_sample, i, side="right"))
        have = len(self._bead_ids)
        if want > have:
            self._bead_ids += add_points(self.scene, self.bead_points[have:want], BEAD_RADIUS, BEAD)
        elif want < have:
            remove_bodies(self.scene, self._bead_ids[want:])
            del self._bead_ids[want:]
        self.index = i

    def tcp(self, i: int | None = None) -> NDArrayF:
        """Nominal TCP position at sample ``i`` (default: the current one) [m], (3,)."""
        return np.asarray(self.traj.T_world_tcp[self.index if i is None else i, :3, 3])

    def label(self, i: int) -> str:
        """Status text for sample ``i``."""
        k = int(self.traj.seam_index[i])
        where = self.traj.seam_ids[k] if k >= 0 else "transit"
        arc = "ARC ON" if self.traj.arc_on[i] else "arc off"
        return f"t = {self.traj.t[i]:6.2f} s   {where}   {arc}"


@dataclass(frozen=True, slots=True)
class ViewResult:
    """What :func:`view` did: frames drawn, last time shown [s], optional final screenshot."""

    frames: int
    last_time: float
    screenshot: npt.NDArray[np.uint8] | None
    segmentation: npt.NDArray[np.int32] | None
    robot_id: int


def view(
    traj: JointTrajectory,
    cell: CellModel,
    report: ValidationReport | None = None,
    *,
    speed: float = 1.0,
    autoplay: bool = True,
    exit_after: float | None = None,
    screenshot: tuple[int, int] | None = None,
    window_size: tuple[int, int] = (1024, 768),
) -> ViewResult:
    """Open the pybullet GUI and play ``traj`` until the window is closed (or ``exit_after`` [s]).

    Args:
        traj: Trajectory to show.
        cell: Cell to show it in.
        report: Validation report (seam colours).
        speed: Initial playback speed factor.
        autoplay: Start playing immediately.
        exit_after: Close after this many wall-clock seconds (demos, tests).
        screenshot: (width, height) of a final OpenGL screenshot to return.
        window_size: Window (width, height) [px].

    Raises:
        SimConnectionError: no display.
        ValidationError: ``speed`` or ``exit_after`` out of range (see :func:`check_view_options`).
    """
    check_view_options(speed, exit_after)
    with PybulletWorld(Mode.GUI, window_size=window_size) as world:
        cid = world.client_id
        pb.configureDebugVisualizer(pb.COV_ENABLE_RENDERING, 0, physicsClientId=cid)
        scene = build_scene(world, cell)
        play = Playback(scene, traj, report)
        pb.configureDebugVisualizer(pb.COV_ENABLE_RENDERING, 1, physicsClientId=cid)
        cam = auto_camera(scene, traj.T_world_tcp[traj.arc_on] if traj.arc_on.any() else None)
        pb.resetDebugVisualizerCamera(
            cam.distance,
            math.degrees(cam.yaw),
            math.degrees(cam.pitch),
            list(cam.target),
            physicsClientId=cid,
        )
        p_time = pb.addUserDebugParameter("time [s]", 0.0, max(traj.duration, 1e-3), 0.0, physicsClientId=cid)
        p_speed = pb.addUserDebugParameter("speed", 0.1, 10.0, speed, physicsClientId=cid)
        p_play = pb.addUserDebugParameter("play / pause", 1, 0, 0, physicsClientId=cid)
        p_follow = pb.addUserDebugParameter("camera follows (0/1)", 0, 1, 1, physicsClientId=cid)
        text = -1
        playing, t = autoplay, 0.0
        last_slider, last_clicks = 0.0, 0
        start = last = time.monotonic()
        frames = 0
        while world.is_connected:
            now = time.monotonic()
            try:
                slider = pb.readUserDebugParameter(p_time, physicsClientId=cid)
                clicks = int(pb.readUserDebugParameter(p_play, physicsClientId=cid))
                factor = pb.readUserDebugParameter(p_speed, physicsClientId=cid)
                follow = pb.readUserDebugParameter(p_follow, physicsClientId=cid) >= 0.5
            except pb.error:
                break  # window closed
            if clicks != last_clicks:
                last_clicks, playing = clicks, not playing
                if playing and t >= traj.duration:
                    t = 0.0
            if abs(slider - last_slider) > 1e-9:
                last_slider, t, playing = slider, slider, False
            if playing:
                t = min(traj.duration, t + (now - last) * factor)
                playing = t < traj.duration
            last = now
            i = min(round(t / traj.dt), traj.n_samples - 1)
            try:
                play.show(i)
                tcp = play.tcp(i)
                text = pb.addUserDebugText(
                    play.label(i),
                    (tcp + np.array([0.0, 0.0, 0.25])).tolist(),
                    textColorRGB=[0.1, 0.1, 0.1],
                    textSize=1.3,
                    replaceItemUniqueId=text,
                    physicsClientId=cid,
                )
                if follow:
                    c = pb.getDebugVisualizerCamera(physicsClientId=cid)
                    pb.resetDebugVisualizerCamera(c[10], c[8], c[9], tcp.tolist(), physicsClientId=cid)
            except pb.error:
                break
            frames += 1
            if exit_after is not None and now - start >= exit_after:
                break
            time.sleep(max(0.0, 1.0 / 60.0 - (time.monotonic() - now)))
        shot = seg = None
        if screenshot is not None and world.is_connected:
            c = pb.getDebugVisualizerCamera(physicsClientId=cid)
            cam_now = Camera(tuple(c[11]), c[10], math.radians(c[8]), math.radians(c[9]))
            shot, seg = render(scene, cam_now, *screenshot)
        return ViewResult(frames, float(traj.t[play.index]), shot, seg, scene.robot_id)


@dataclass(frozen=True, slots=True)
class RecordResult:
    """Files written by :func:`record`: the animation, the still images, and the frame count."""

    path: Path
    stills: tuple[Path, ...]
    frames: int
    speed: float


def check_record_options(out: Path, fps: float, speed: float | None) -> None:
    """Check the arguments of :func:`record` before any (slow) work is done.

    Args:
        out: Output file; must end in .gif or .mp4 (.mp4 needs ``imageio-ffmpeg``).
        fps: Frames per second of the animation, finite and > 0.
        speed: Playback speed factor, finite and > 0 (None = automatic).

    Raises:
        ValidationError: one line naming the bad value and what is expected.
    """
    if not (math.isfinite(fps) and fps > 0):
        raise ValidationError(f"--fps {fps:g}: expected frames per second of the recording, > 0")
    if speed is not None and not (math.isfinite(speed) and speed > 0):
        raise ValidationError(f"--speed {speed:g}: expected a playback speed factor, > 0 (1 = real time)")
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValidationError(f"--record {out}: cannot record to {out.name}: use a .gif or .mp4 file name")
    if out.is_dir():
        raise ValidationError(f"--record {out}: is a folder; expected a .gif or .mp4 file name")
    if suffix == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError as err:
            raise ValidationError(
                "recording .mp4 needs the imageio-ffmpeg package (pip install imageio-ffmpeg); "
                ".gif works as is"
            ) from err


def check_view_options(speed: float, exit_after: float | None) -> None:
    """Check the arguments of :func:`view` before any (slow) work is done.

    Raises:
        ValidationError: ``speed`` not finite and > 0, or ``exit_after`` [s] not finite and >= 0.
    """
    if not (math.isfinite(speed) and speed > 0):
        raise ValidationError(f"--speed {speed:g}: expected a playback speed factor, > 0 (1 = real time)")
    if exit_after is not None and not (math.isfinite(exit_after) and exit_after >= 0):
        raise ValidationError(
            f"--exit-after {exit_after:g}: expected seconds after which the viewer closes, >= 0"
        )


def record(
    traj: JointTrajectory,
    cell: CellModel,
    out: Path,
    report: ValidationReport | None = None,
    *,
    fps: float = 10.0,
    speed: float | None = None,
    width: int = 480,
    height: int = 360,
    max_video_length: float = 20.0,
    stills: bool = True,
) -> RecordResult:
    """Render ``traj`` headless to ``out`` (.gif, or .mp4 with imageio-ffmpeg) and still PNGs.

    Args:
        traj: Trajectory.
        cell: Cell.
        out: Output file (.gif or .mp4).
        report: Validation report (seam colours, violation close-ups in the stills).
        fps: Frames per second of the animation.
        speed: Playback speed factor; default makes the video at most ``max_video_length`` [s].
        width, height: Frame size [px].
        max_video_length: Longest video when ``speed`` is None [s].
        stills: Also write still PNGs next to ``out`` (``<stem>_NN.png``).

    Raises:
        ValidationError: unsupported file type, missing video encoder, ``fps`` or ``speed`` not > 0.
    """
    import imageio.v3 as iio

    out = Path(out)
    check_record_options(out, fps, speed)
    suffix = out.suffix.lower()
    factor = speed if speed is not None else max(1.0, traj.duration / max_video_length)
    times = np.arange(0.0, traj.duration + 1e-9, factor / fps)
    if times[-1] < traj.duration:
        times = np.append(times, traj.duration)
    frames: list[npt.NDArray[np.uint8]] = []
    still_paths: list[Path] = []
    with PybulletWorld(Mode.DIRECT) as world:
        scene = build_scene(world, cell)
        play = Playback(scene, traj, report)
        cam = auto_camera(scene, traj.T_world_tcp[traj.arc_on] if traj.arc_on.any() else None)
        centre = np.asarray(cam.target)
        for t in times:
            i = min(round(t / traj.dt), traj.n_samples - 1)
            play.show(i)
            frames.append(render(scene, cam.moved_to(0.5 * (centre + play.tcp(i))), width, height)[0])
        if stills:
            play.show(0)  # stills show the cell, not the finished bead
            imgs = snapshot_images(scene, traj, report, 2 * width, 2 * height)
            out.parent.mkdir(parents=True, exist_ok=True)
            for k, img in enumerate(imgs.values()):
                p = out.with_name(f"{out.stem}_{k:02d}.png")
                iio.imwrite(p, img)
                still_paths.append(p)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        iio.imwrite(out, np.stack(frames), duration=1000.0 / fps, loop=0)
    else:
        iio.imwrite(out, np.stack(frames), fps=fps, plugin="FFMPEG")
    return RecordResult(out, tuple(still_paths), len(frames), float(factor))
