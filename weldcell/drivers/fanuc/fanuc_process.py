"""The virtual FANUC controller in its own process (``weldcell demo --robot fanuc``, whole-cell tests).

The child binds the UDP port and starts the status cycle at once (the controller waits for a
client's start packet, as a controller running ``IBGN start`` does); ``stop()`` ends it and returns
the final :class:`VirtualFanucStatus`. The runner is the one every vendor shares
(:mod:`weldcell.drivers.controller_process`).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any

from weldcell.drivers.controller_process import ControllerProcess, controller_process
from weldcell.drivers.fanuc.virtual_controller import VirtualFanuc, VirtualFanucConfig, VirtualFanucStatus

#: The handle of a virtual FANUC controller child process.
FanucProcess = ControllerProcess[VirtualFanucStatus]


def _finish(ctrl: VirtualFanuc) -> VirtualFanucStatus:
    """The final status, then the controller closed (child side)."""
    status = ctrl.status()
    ctrl.close()
    return status


def _status(data: dict[str, Any]) -> VirtualFanucStatus:
    data["output_log"] = [tuple(x) for x in data["output_log"]]
    return VirtualFanucStatus(**data)


def virtual_fanuc_process(
    config: VirtualFanucConfig, *, start_timeout: float = 120.0, log_level: int = logging.WARNING
) -> AbstractContextManager[FanucProcess]:
    """Run a :class:`VirtualFanuc` in a child process (spawned); yields its handle once it listens.

    Args:
        config: Controller settings (address, cycle, start joints, arc loopback, ...); port 0 binds
            a free port, reported in the handle's ``address``.
        start_timeout: Longest wait for the child to be ready [s].
        log_level: Logging level in the child.

    Raises:
        DriverConnectionError: the child did not start, or rejected the configuration.
    """
    return controller_process(
        VirtualFanuc,
        config,
        status=_status,
        what="the virtual FANUC controller",
        name="virtual-fanuc",
        autostart=True,
        finish=_finish,
        start_timeout=start_timeout,
        log_level=log_level,
    )
