"""The virtual KRC in its own process (``weldcell demo --robot kuka``, tests of whole cell runs).

The child builds the :class:`VirtualKrc` (its socket bound, no telegram sent yet) and waits:
:meth:`~weldcell.drivers.controller_process.ControllerProcess.go` starts RSI, the way an operator
starts the KRL program once the sensor listens; ``stop()`` ends it and returns the final
:class:`KrcStatus`. The runner is the one every vendor shares
(:mod:`weldcell.drivers.controller_process`).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any

from weldcell.drivers.controller_process import ControllerProcess, controller_process
from weldcell.drivers.kuka.virtual_krc import KrcConfig, KrcStatus, VirtualKrc

#: The handle of a virtual KRC child process.
KrcProcess = ControllerProcess[KrcStatus]


def _status(data: dict[str, Any]) -> KrcStatus:
    return KrcStatus(**data)


def virtual_krc_process(
    config: KrcConfig, *, start_timeout: float = 120.0, log_level: int = logging.WARNING
) -> AbstractContextManager[KrcProcess]:
    """Run a :class:`VirtualKrc` in a child process (spawned); yields its handle, waiting for ``go()``.

    Args:
        config: Controller settings (sensor address, cycle, start pose, arc loopback, ...).
        start_timeout: Longest wait for the child to be ready [s].
        log_level: Logging level in the child (its break-off message is also in the final status).

    Raises:
        DriverConnectionError: the child did not start, or rejected the configuration.
    """
    return controller_process(
        VirtualKrc,
        config,
        status=_status,
        what="the virtual KRC",
        name="virtual-krc",
        start_timeout=start_timeout,
        log_level=log_level,
    )
