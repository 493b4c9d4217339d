"""The pybullet world: one object owns one physics client and every call names that client.

``PybulletWorld`` is a context manager. It connects in :class:`Mode.DIRECT` (tests, CI, headless
rendering with the tiny renderer) or :class:`Mode.GUI` (the desktop viewer) and disconnects on exit.
There is no global client: code that talks to pybullet gets the world (or its ``client_id``) passed in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from enum import Enum
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt
import pybullet as pb

from weldcell.errors import ModelError, SimulatorError
from weldcell.sim._bullet import pos_quat_xyzw_from_se3

log = logging.getLogger(__name__)
NDArrayF = npt.NDArray[np.float64]


class Mode(Enum):
    """Connection mode of a :class:`PybulletWorld`."""

    DIRECT = "direct"
    GUI = "gui"


class SimConnectionError(SimulatorError):
    """pybullet could not open a physics client (for GUI: no display)."""


def check_display() -> None:
    """Fail early when the pybullet GUI cannot open a window (it would end the process).

    Raises:
        SimConnectionError: on Linux without an X display (``DISPLAY`` not set).
    """
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise SimConnectionError(
            "no X display for the 3D viewer (DISPLAY is not set); use --record out.gif to render "
            "headless, or run under xvfb-run"
        )


class PybulletWorld:
    """Owner of one pybullet physics client.

    Example::

        with PybulletWorld(Mode.DIRECT) as world:
            robot = world.load_urdf(path, T_world_base)

    Args:
        mode: DIRECT (no window) or GUI (needs an X display).
        gravity: Gravity vector in the world frame [m/s²], shape (3,).
        window_size: GUI window (width, height) [px].
    """

    def __init__(
        self,
        mode: Mode = Mode.DIRECT,
        gravity: tuple[float, float, float] = (0.0, 0.0, -9.81),
        window_size: tuple[int, int] = (1024, 768),
    ):
        self.mode = mode
        self._gravity = gravity
        self._window = window_size
        self._client_id: int | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def connect(self) -> PybulletWorld:
        """Open the physics client. Idempotent."""
        if self._client_id is not None:
            return self
        if self.mode is Mode.GUI:
            # pybullet ends the whole process when it cannot open an X display: check first
            check_display()
            cid = pb.connect(pb.GUI, options=f"--width={self._window[0]} --height={self._window[1]}")
        else:
            cid = pb.connect(pb.DIRECT)
        if cid < 0:
            raise SimConnectionError(
                f"could not start pybullet in {self.mode.value} mode"
                + (" (is there an X display? try xvfb-run)" if self.mode is Mode.GUI else "")
            )
        self._client_id = cid
        pb.setGravity(*self._gravity, physicsClientId=cid)
        if self.mode is Mode.GUI:
            pb.configureDebugVisualizer(pb.COV_ENABLE_GUI, 1, physicsClientId=cid)
            for preview in (
                pb.COV_ENABLE_RGB_BUFFER_PREVIEW,
                pb.COV_ENABLE_DEPTH_BUFFER_PREVIEW,
                pb.COV_ENABLE_SEGMENTATION_MARK_PREVIEW,
            ):
                pb.configureDebugVisualizer(preview, 0, physicsClientId=cid)
        log.debug("pybullet client %d connected (%s)", cid, self.mode.value)
        return self

    def close(self) -> None:
        """Disconnect the client. Idempotent."""
        if self._client_id is None:
            return
        cid, self._client_id = self._client_id, None
        if pb.isConnected(physicsClientId=cid):
            pb.disconnect(physicsClientId=cid)
        log.debug("pybullet client %d disconnected", cid)

    def __enter__(self) -> PybulletWorld:
        return self.connect()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_client_id", None) is not None:
            log.warning("PybulletWorld was not closed; disconnecting client %s", self._client_id)
            with contextlib.suppress(Exception):  # interpreter shutdown: pybullet may already be gone
                self.close()

    # --- access ------------------------------------------------------------------------------
    @property
    def client_id(self) -> int:
        """The pybullet client id (raises if the world is not connected)."""
        if self._client_id is None:
            raise SimConnectionError("the pybullet world is not connected (use it as a context manager)")
        return self._client_id

    @property
    def is_connected(self) -> bool:
        """True while the client is open (a GUI window closed by the user counts as disconnected)."""
        return self._client_id is not None and bool(pb.isConnected(physicsClientId=self._client_id))

    # --- loading -----------------------------------------------------------------------------
    def load_urdf(self, path: Path, T_world_base: NDArrayF, *, fixed_base: bool = True) -> int:
        """Load a URDF file with its base link at ``T_world_base`` (4, 4). Returns the body id.

        Raises:
            ModelError: the file is missing or pybullet cannot parse it.
        """
        p = Path(path)
        if not p.is_file():
            raise ModelError(f"URDF file not found: {p}")
        pos, orn = pos_quat_xyzw_from_se3(np.asarray(T_world_base, dtype=np.float64))
        flags = pb.URDF_USE_INERTIA_FROM_FILE
        try:
            body = pb.loadURDF(
                str(p),
                basePosition=pos,
                baseOrientation=orn,
                useFixedBase=fixed_base,
                flags=flags,
                physicsClientId=self.client_id,
            )
        except pb.error as err:
            raise ModelError(f"pybullet could not load the URDF {p}: {err}") from err
        return int(body)

    def set_base_pose(self, body: int, T_world_body: NDArrayF) -> None:
        """Move a body's base to ``T_world_body`` (4, 4) without simulating."""
        pos, orn = pos_quat_xyzw_from_se3(T_world_body)
        pb.resetBasePositionAndOrientation(body, pos, orn, physicsClientId=self.client_id)
