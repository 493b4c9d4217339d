"""Arc start and arc end handshakes with a :class:`~weldcell.drivers.powersource.PowerSource`.

Arc start: send the seam's parameters, raise weld start, and wait for *arc stable* and *robot
motion release* before the robot may move. No ignition → drop weld start, acknowledge the error,
wait for the power source to become ready, and try again, up to :attr:`ArcProcedure.ignition_retries`
extra attempts; then :class:`ArcStartError`.

Arc end: drop weld start, wait for the current to stop (the power source runs its crater fill and
burn-back), and check the wire is free: a stuck wire raises :class:`WireStickError` so the robot
does not tear the torch off the part.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from weldcell.drivers.powersource.base import ErrorCode, PowerSource, PowerSourceStatus, WeldParams
from weldcell.errors import DriverFaultError, DriverTimeoutError, InvalidValueError

log = logging.getLogger(__name__)


class ArcStartError(DriverFaultError):
    """The arc did not ignite after all retries (``error_code`` is the power source's last error)."""


class WireStickError(DriverFaultError):
    """The wire stuck in the weld pool at arc end; cut the wire before the robot moves."""


@dataclass(frozen=True, slots=True)
class ArcProcedure:
    """Arc handshake settings.

    Attributes:
        ignition_timeout: Longest wait for arc stable + motion release after weld start [s].
        ignition_retries: Extra weld-start attempts after a failed ignition.
        ready_timeout: Longest wait for the power source to be ready again before a retry [s].
        arc_off_timeout: Longest wait for the current to stop after weld start is dropped [s].
        restart_overlap: Weld overlap when a seam is restarted after an interruption [m]: the arc
            restarts this far before the point where it went out.
        command_timeout: Timeout of single power-source commands [s].
    """

    ignition_timeout: float = 1.5
    ignition_retries: int = 2
    ready_timeout: float = 3.0
    arc_off_timeout: float = 3.0
    restart_overlap: float = 0.005
    command_timeout: float = 1.0

    def __post_init__(self) -> None:
        if self.ignition_retries < 0:
            raise InvalidValueError(f"ignition_retries must be >= 0, got {self.ignition_retries}")
        for name in ("ignition_timeout", "ready_timeout", "arc_off_timeout", "command_timeout"):
            if getattr(self, name) <= 0:
                raise InvalidValueError(
                    f"ArcProcedure.{name} must be positive seconds, got {getattr(self, name)}"
                )
        if self.restart_overlap < 0:
            raise InvalidValueError(f"restart_overlap must be >= 0 m, got {self.restart_overlap}")


@dataclass(frozen=True, slots=True)
class ArcStart:
    """Result of a successful arc start: attempts used and time to arc stable [s]."""

    attempts: int
    ignition_time: float
    status: PowerSourceStatus


def strike_arc(
    power: PowerSource,
    proc: ArcProcedure,
    params: WeldParams | None = None,
    *,
    on_retry: Callable[[int, str], None] | None = None,
    abort: Callable[[], bool] | None = None,
) -> ArcStart:
    """Start the arc and wait until the robot may move.

    Args:
        power: Connected power source.
        proc: Handshake settings.
        params: Welding parameters of the seam (None: keep what the power source has).
        on_retry: Called as ``on_retry(attempt, reason)`` before each retry.
        abort: Polled while waiting; returning True stops the weld and raises ``ArcStartError``.

    Returns:
        The attempts used and the ignition time.

    Raises:
        ArcStartError: no stable arc after ``1 + ignition_retries`` attempts, or aborted.
        DriverConnectionError: the link to the power source was lost.
    """
    if params is not None:
        power.set_parameters(params, timeout=proc.command_timeout)
    reason = ""
    code = 0
    for attempt in range(1, proc.ignition_retries + 2):
        if abort is not None and abort():
            power.stop_weld(timeout=proc.command_timeout)
            raise ArcStartError("arc start aborted", error_code=code)
        t0 = time.monotonic()
        try:
            power.start_weld(timeout=proc.command_timeout)
        except DriverFaultError as err:
            if err.error_code == ErrorCode.INVALID_COMMAND:
                raise _rejected(params, int(err.error_code)) from err
            raise
        if power.wait_arc_stable(proc.ignition_timeout):
            st = power.status()
            return ArcStart(attempt, time.monotonic() - t0, st)
        st = power.status()
        code = st.error_code
        reason = ErrorCode.describe(code) if code else f"no stable arc within {proc.ignition_timeout:.2f} s"
        log.warning("arc start attempt %d failed: %s", attempt, reason)
        if code == ErrorCode.INVALID_COMMAND:  # retrying the same command cannot help
            power.stop_weld(timeout=proc.command_timeout)
            raise _rejected(params, code)
        power.stop_weld(timeout=proc.command_timeout)
        if attempt > proc.ignition_retries:
            break
        if on_retry is not None:
            on_retry(attempt, reason)
        _recover_ready(power, proc)
    raise ArcStartError(
        f"arc did not ignite after {proc.ignition_retries + 1} attempts ({reason}); check wire, contact tip, "
        "gas and work clamp",
        error_code=code,
    )


def _rejected(params: WeldParams | None, code: int) -> ArcStartError:
    """The power source refused the command values or the job number (retrying cannot help)."""
    what = (
        f"job {params.job} is not stored on the power source (store it there, or send the "
        "procedure's parameters with --send-parameters)"
        if params is not None and params.job
        else "the power source rejected the welding parameters"
    )
    return ArcStartError(f"no arc start: {what} (error {code}: {ErrorCode.describe(code)})", error_code=code)


def _recover_ready(power: PowerSource, proc: ArcProcedure) -> None:
    """Acknowledge a power-source error and wait until it is ready for a new weld start."""
    if power.status().error_code:
        power.reset_error(timeout=proc.command_timeout)
    st = power.wait_for(lambda s: s.ready and not s.process_active and not s.error, proc.ready_timeout)
    if st is None:
        last = power.status()
        raise DriverTimeoutError(
            f"power source not ready {proc.ready_timeout:.1f} s after a failed ignition "
            f"(error: {ErrorCode.describe(last.error_code)}, process active: {last.process_active})"
        )


def end_arc(power: PowerSource, proc: ArcProcedure, *, check_wire_stick: bool = True) -> PowerSourceStatus:
    """Drop weld start and wait until the current has stopped (after crater fill and burn-back).

    Raises:
        WireStickError: the power source reports the wire stuck in the pool.
        DriverTimeoutError: the current did not stop within ``arc_off_timeout``.
    """
    power.stop_weld(timeout=proc.command_timeout)
    st = power.wait_for(lambda s: not s.current_flow and not s.arc_stable, proc.arc_off_timeout)
    if st is None:
        raise DriverTimeoutError(
            f"welding current still flowing {proc.arc_off_timeout:.1f} s after weld stop; switch the power "
            "source off"
        )
    if check_wire_stick:
        # the stick is detected at the end of burn-back; give it a short moment to show
        stuck = power.wait_for(lambda s: s.wire_stick or s.error_code == ErrorCode.WIRE_STICK, 0.05)
        if stuck is not None:
            raise WireStickError(
                "wire stuck in the weld pool at arc end; cut the wire, then reset and resume",
                error_code=int(ErrorCode.WIRE_STICK),
            )
    return st
