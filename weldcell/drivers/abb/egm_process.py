"""The virtual ABB controller in its own process (``weldcell demo --robot abb``, whole-cell tests).

The child builds the :class:`VirtualEgm` (its socket bound, nothing sent yet) and waits:
:meth:`~weldcell.drivers.controller_process.ControllerProcess.go` starts the EGM session, the way an
operator starts the RAPID program (``EGMRunJoint``) once the sensor listens; ``stop()`` ends it and
returns the final :class:`VirtualEgmStatus`. The runner is the one every vendor shares
(:mod:`weldcell.drivers.controller_process`).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any

from weldcell.drivers.abb.virtual_egm import VirtualEgm, VirtualEgmConfig, VirtualEgmStatus
from weldcell.drivers.controller_process import ControllerProcess, controller_process

#: The handle of a virtual ABB controller child process.
EgmProcess = ControllerProcess[VirtualEgmStatus]


def _status(data: dict[str, Any]) -> VirtualEgmStatus:
    data["output_log"] = [tuple(x) for x in data["output_log"]]
    return VirtualEgmStatus(**data)


def virtual_egm_process(
    config: VirtualEgmConfig, *, start_timeout: float = 120.0, log_level: int = logging.WARNING
) -> AbstractContextManager[EgmProcess]:
    """Run a :class:`VirtualEgm` in a child process (spawned); yields its handle, waiting for ``go()``.

    Args:
        config: Controller settings (sensor address, sample rate, start joints, arc loopback, ...).
        start_timeout: Longest wait for the child to be ready [s].
        log_level: Logging level in the child.

    Raises:
        DriverConnectionError: the child did not start, or rejected the configuration.
    """
    return controller_process(
        VirtualEgm,
        config,
        status=_status,
        what="the virtual ABB controller",
        name="virtual-abb",
        start_timeout=start_timeout,
        log_level=log_level,
    )
