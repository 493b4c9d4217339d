"""The actual joint positions of a UR controller, read by a second RTDE client (the way a sensor
or a supervisor beside the cell's driver reads them on a real controller).

:class:`RTDEJointFeed` subscribes to ``actual_q`` at 500 Hz (RTDE output recipe; UR's RTDE guide:
several clients may subscribe to outputs at the same time) and keeps the newest sample, so
``feed()`` never blocks: the virtual power source's contact sensor calls it inside its own cycle.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import numpy.typing as npt

from weldcell.drivers.ur.client.rtde_client import RTDEClient
from weldcell.errors import DriverConnectionError, DriverError, DriverTimeoutError

log = logging.getLogger(__name__)

#: Output rate of the subscription [Hz] (the controller's RTDE maximum on e-Series).
FEED_FREQUENCY = 500.0


class RTDEJointFeed:
    """Newest ``actual_q`` of a UR controller [rad], shape (6,), from a background RTDE reader.

    Args:
        host: Controller address.
        port: RTDE port.
        frequency: Output rate [Hz].
        timeout: Connection and first-sample timeout [s].
        stale: Age of the newest sample [s] beyond which ``feed()`` raises (the stream stopped).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        frequency: float = FEED_FREQUENCY,
        timeout: float = 5.0,
        stale: float = 0.5,
    ) -> None:
        self._client = RTDEClient(host, port, timeout=timeout)
        self._where = f"{host}:{port}"
        self._stale = stale
        self._lock = threading.Lock()
        self._q: npt.NDArray[np.float64] | None = None
        self._t = 0.0
        self._closed = threading.Event()
        self._client.connect()
        try:
            self._client.negotiate_protocol()
            self._client.setup_outputs(["actual_q"], frequency)
            self._client.start()
        except DriverError:
            self._client.close()
            raise
        self._thread = threading.Thread(target=self._read, name="rtde-joint-feed", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while self._q is None and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.002)
        if self._q is None:
            self.close()
            raise DriverTimeoutError(f"RTDE joint feed at {self._where}: no actual_q within {timeout} s")

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                pkg = self._client.receive_latest(timeout=1.0)
            except DriverTimeoutError:
                continue
            except DriverError as err:
                if not self._closed.is_set():
                    log.debug("RTDE joint feed at %s ended: %s", self._where, err)
                return
            q = np.asarray(pkg["actual_q"], dtype=np.float64)
            with self._lock:
                self._q, self._t = q, time.monotonic()

    def __call__(self) -> npt.NDArray[np.float64]:
        """The newest actual joint positions [rad], shape (6,).

        Raises:
            DriverConnectionError: the stream stopped (no sample for ``stale`` seconds).
        """
        with self._lock:
            q, t = self._q, self._t
        if q is None or time.monotonic() - t > self._stale:
            raise DriverConnectionError(f"RTDE joint feed at {self._where}: no current actual_q")
        return q

    def close(self) -> None:
        """Stop the reader and close the connection (idempotent)."""
        self._closed.set()
        self._client.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2.0)


def open_joint_feed(url: str) -> RTDEJointFeed:
    """The joint feed of the controller at ``ur://HOST:RTDE_PORT`` (the target a virtual UR cell names
    in :attr:`weldcell.drivers.vendor.VirtualCell.joint_feed`)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "ur" or not parts.hostname or parts.port is None:
        raise DriverConnectionError(f"joint feed URL {url!r}: expected ur://HOST:RTDE_PORT")
    return RTDEJointFeed(parts.hostname, parts.port)


__all__ = ["FEED_FREQUENCY", "RTDEJointFeed", "open_joint_feed"]
