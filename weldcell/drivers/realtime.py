"""Real-time support for streaming control loops (any vendor): loop timer, thread scheduling, GC pause.

CPython cannot guarantee deadlines, but most of the lateness of a naive 500 Hz loop comes from a
few avoidable sources, handled here:

* **Sleep overshoot.** ``time.sleep`` wakes 50-100 µs late on Linux (timer slack, scheduler
  latency). :class:`LoopTimer` sleeps until ``spin`` seconds before the deadline and busy-waits on
  ``time.perf_counter`` for the rest (hybrid sleep).
* **Scheduling.** :func:`configure_thread` puts the calling thread under ``SCHED_FIFO`` (it then
  preempts ordinary processes at once), optionally pins it to one CPU, and lowers its timer slack
  to 1 µs. Each step falls back to ordinary scheduling with a note when not permitted.
* **Garbage collection.** A full collection of a process that has loaded numpy, scipy and the
  kinematics stack walks every tracked object and takes several ms. :class:`ProcessRealtime`
  freezes the existing objects (``gc.freeze``) and by default disables the cyclic collector while
  a slice streams, and lowers the interpreter's thread switch interval so that the control thread
  gets the GIL back quickly from busy Python threads; everything is restored afterwards.

The GC and the switch interval are interpreter-wide, so :class:`ProcessRealtime` is a reference
counted singleton (:data:`PROCESS_REALTIME`): with two drivers streaming, the settings are restored
when the last stream ends. This is the one piece of module state in the driver layer; it exists
because the interpreter state it guards is itself global.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from weldcell.errors import InvalidValueError

NDArrayF = npt.NDArray[np.float64]

_PR_SET_TIMERSLACK = 29  # linux/prctl.h


@dataclass(frozen=True, slots=True)
class RealtimeConfig:
    """Real-time settings of the streaming control loop.

    Attributes:
        fifo_priority: ``SCHED_FIFO`` priority (1-99) of the control thread for its lifetime; None
            keeps ordinary scheduling. Needs root or CAP_SYS_NICE (or an rtprio limit); without
            permission the loop runs ordinarily and logs one line.
        reader_fifo_priority: ``SCHED_FIFO`` priority of the RTDE reader thread (below the control
            thread, so that a reader holding the GIL is not descheduled by other processes while the
            control thread waits for it); None keeps ordinary scheduling.
        cpu: CPU the control thread is pinned to; None leaves the affinity alone (on a busy 2-core
            machine pinning often hurts more than it helps).
        gc: Cyclic garbage collector while a slice streams: ``"off"`` freezes the existing objects
            and disables the collector (re-enabled after the slice; reference counting still frees
            acyclic garbage), ``"freeze"`` only freezes (the collector keeps running over new
            objects), ``"on"`` leaves it alone.
        switch_interval: Interpreter thread switch interval [s] while a slice streams (CPython's
            default 5 ms bounds how long the control thread can wait for the GIL held by a busy
            thread); None leaves it alone.
        timer_slack: Timer slack [s] of the control thread (Linux default 50 µs); None leaves it.
    """

    fifo_priority: int | None = 10
    reader_fifo_priority: int | None = 5
    cpu: int | None = None
    gc: Literal["off", "freeze", "on"] = "off"
    switch_interval: float | None = 0.0005
    timer_slack: float | None = 1e-6

    def __post_init__(self) -> None:
        for name in ("fifo_priority", "reader_fifo_priority"):
            p = getattr(self, name)
            if p is not None and not 1 <= p <= 99:
                raise InvalidValueError(f"RealtimeConfig.{name} must be 1-99 or None, got {p}")
        if self.gc not in ("off", "freeze", "on"):
            raise InvalidValueError(f"RealtimeConfig.gc must be 'off', 'freeze' or 'on', got {self.gc!r}")
        if self.switch_interval is not None and not 1e-6 <= self.switch_interval <= 0.1:
            raise InvalidValueError(
                f"RealtimeConfig.switch_interval must be in [1e-6, 0.1] s, got {self.switch_interval}"
            )


def configure_thread(
    fifo_priority: int | None, cpu: int | None = None, timer_slack: float | None = None
) -> list[str]:
    """Apply real-time scheduling settings to the calling thread.

    Args:
        fifo_priority: ``SCHED_FIFO`` priority (1-99); None keeps the current policy.
        cpu: CPU index to pin the thread to; None keeps the affinity.
        timer_slack: Timer slack [s]; None keeps it.

    Returns:
        One note per setting, saying what was applied or why it was not (for one log line each).
    """
    notes: list[str] = []
    if fifo_priority is not None:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(fifo_priority))  # 0: this thread
            notes.append(f"SCHED_FIFO priority {fifo_priority}")
        except (AttributeError, OSError) as err:
            notes.append(f"SCHED_FIFO not available ({err}); ordinary scheduling")
    if cpu is not None:
        try:
            os.sched_setaffinity(0, {cpu})
            notes.append(f"pinned to CPU {cpu}")
        except (AttributeError, OSError, ValueError) as err:
            notes.append(f"cannot pin to CPU {cpu} ({err})")
    if timer_slack is not None and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            ns = ctypes.c_ulong(max(1, round(timer_slack * 1e9)))
            if libc.prctl(_PR_SET_TIMERSLACK, ns, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            notes.append(f"timer slack {ns.value} ns")
        except (OSError, AttributeError) as err:
            notes.append(f"cannot set the timer slack ({err})")
    return notes


@contextlib.contextmanager
def thread_priority(fifo_priority: int | None, what: str = "threads") -> Iterator[list[str]]:
    """Run the body with every ordinary Python thread of this process (the calling one included)
    under ``SCHED_FIFO`` ``fifo_priority``, then restore their policies; yields one note per
    thread that could not be raised (empty: all raised, or ``fifo_priority`` None).

    Threads already real-time keep their priority; threads started in the body inherit their
    creator's policy (Linux), and those still alive at the end with exactly this priority go back to
    ordinary scheduling (a pool started during the job does not stay real-time). Used while a job
    streams: the real-time threads of a process share its GIL with the ordinary ones, and an
    ordinary thread preempted by ordinary processes while it holds the GIL keeps every real-time
    thread of the process waiting until the scheduler runs it again (tens to hundreds of ms on a
    loaded machine); at even the lowest real-time priority it is only
    preempted by real-time threads. Without permission the threads stay ordinary.
    """
    if fifo_priority is None:
        yield []
        return
    notes: list[str] = []
    raised: list[tuple[int, int, int]] = []  # (native id, policy, priority) to restore
    existing = {t.native_id for t in threading.enumerate()}
    for t in threading.enumerate():
        tid = t.native_id
        if tid is None:
            continue
        try:
            policy = os.sched_getscheduler(tid)
            if policy not in (os.SCHED_OTHER, os.SCHED_BATCH, os.SCHED_IDLE):
                continue  # already real-time
            prio = os.sched_getparam(tid).sched_priority
            os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(fifo_priority))
            raised.append((tid, policy, prio))
        except (AttributeError, OSError) as err:
            notes.append(f"{what}: thread {t.name!r} not raised to SCHED_FIFO {fifo_priority} ({err})")
    try:
        yield notes
    finally:
        for tid, policy, prio in raised:
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                os.sched_setscheduler(tid, policy, os.sched_param(prio))
        for t in threading.enumerate():
            tid = t.native_id
            if tid is None or tid in existing:
                continue
            with contextlib.suppress(AttributeError, OSError):
                if os.sched_getscheduler(tid) == os.SCHED_FIFO and (
                    os.sched_getparam(tid).sched_priority == fifo_priority
                ):
                    os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))


#: Cycles added to the look-ahead for the round trip of the register window (the PC sees the
#: robot's "received" counter one or two cycles late, and a package takes a cycle to apply).
LOOKAHEAD_MARGIN_CYCLES = 4


def lookahead_from_lateness(
    base_cycles: int, worst_lateness: float, cycle: float, max_cycles: int
) -> tuple[int, bool]:
    """Look-ahead [cycles] of a streaming loop sized from its measured worst lateness.

    Rule: ``max(base, ceil(2 * worst_lateness / cycle) + LOOKAHEAD_MARGIN_CYCLES)``, at most
    ``max_cycles`` (the robot-side buffer). A loop stalled for L seconds drains L of buffer; the
    buffer refills only a few set-points per cycle faster than the robot takes them (the register
    window holds 4), so a second stall soon after finds it partly refilled: twice the worst stall
    covers two back-to-back worst stalls, the margin covers the window's round trip.

    Args:
        base_cycles: Configured look-ahead [cycles], the floor.
        worst_lateness: Worst lateness of the loop measured so far [s] (send after deadline).
        cycle: Controller cycle [s].
        max_cycles: Largest look-ahead the robot's buffer can hold [cycles].

    Returns:
        (look-ahead [cycles], True if ``max_cycles`` cut it below what the rule asks for).
    """
    need = math.ceil(2.0 * max(0.0, worst_lateness) / cycle - 1e-9) + LOOKAHEAD_MARGIN_CYCLES
    want = max(base_cycles, need)
    return min(want, max_cycles), want > max_cycles


class ProcessRealtime:
    """Reference-counted interpreter-wide settings for streaming (GC pause, switch interval).

    ``acquire(config)`` at the start of a slice, ``release()`` at its end; the state before the
    first acquire is restored by the last release. The settings of the first acquirer apply.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._gc_was_enabled = True
        self._froze = False
        self._switch: float | None = None

    @property
    def active(self) -> int:
        """Number of streams currently holding the settings."""
        return self._count

    def acquire(self, config: RealtimeConfig) -> None:
        """Apply ``config``'s GC and switch-interval settings (first acquirer) and count a holder."""
        with self._lock:
            self._count += 1
            if self._count > 1:
                return
            self._gc_was_enabled = gc.isenabled()
            self._froze = config.gc in ("off", "freeze")
            if self._froze:
                gc.freeze()  # O(1): moves every tracked object to the permanent generation
            if config.gc == "off":
                gc.disable()
            if config.switch_interval is not None:
                self._switch = sys.getswitchinterval()
                sys.setswitchinterval(config.switch_interval)

    def release(self) -> None:
        """Drop one holder; the last one restores the collector and the switch interval."""
        with self._lock:
            if self._count == 0:
                return
            self._count -= 1
            if self._count > 0:
                return
            if self._switch is not None:
                sys.setswitchinterval(self._switch)
                self._switch = None
            if self._gc_was_enabled:
                gc.enable()
            if self._froze:
                gc.unfreeze()
                self._froze = False


#: The interpreter-wide instance shared by all drivers of this process.
PROCESS_REALTIME = ProcessRealtime()


class LoopTimer:
    """Fixed-rate pacing with a hybrid sleep and preallocated timing statistics.

    Args:
        frequency: Loop rate [Hz].
        spin: Busy-wait margin [s] before each deadline (0: sleep only). Mutable: the driver spins
            only while a slice streams.
        history: Number of timing samples kept (ring buffers, preallocated).
        warn: Lateness [s] above which a cycle counts as an overrun.

    Call :meth:`sleep` once per cycle and :meth:`mark_sent` when the cycle's package is handed to
    the kernel. ``lateness`` holds the wake-up delays [s] after each deadline, ``send_lateness``
    the delay [s] of the send after the deadline; ``peak`` is the largest send delay [s] of the
    cycles while ``active`` (set-points streaming), after the first ``warmup`` cycles (thread
    start-up is not load). ``overruns`` counts cycles later than ``warn``;
    ``active_overruns`` and ``worst`` (the largest lateness [s] since the last :meth:`take_worst`)
    count only cycles while ``active`` is True (the driver sets it while a slice streams).
    """

    def __init__(
        self,
        frequency: float,
        spin: float = 0.0,
        history: int = 1 << 17,
        warn: float = 0.001,
        warmup: int = 250,
    ) -> None:
        if frequency <= 0:
            raise InvalidValueError(f"LoopTimer frequency must be > 0 Hz, got {frequency}")
        self.period = 1.0 / frequency
        self.spin = spin
        self.warn = warn
        self.slack = 0.0
        self.overruns = 0
        self.active = False
        self.active_overruns = 0
        self.worst = 0.0
        self.peak = 0.0
        self.warmup = warmup
        self.n = 0
        self._late = np.zeros(history)
        self._sent = np.zeros(history)
        self._next = time.perf_counter() + self.period
        self._deadline = self._next

    def sleep(self) -> None:
        """Wait for the next deadline (sleep, then spin for the last ``spin`` seconds)."""
        clock = time.perf_counter
        target = self._next
        self.slack = slack = target - clock()
        if slack > 0.0:
            coarse = slack - self.spin
            if coarse > 0.0:
                time.sleep(coarse)
            while clock() < target:
                pass
        now = clock()
        late = now - target
        i = self.n % self._late.shape[0]
        self._late[i] = late
        self._sent[i] = late
        self.n += 1
        self._deadline = target
        if late > self.warn:
            self.overruns += 1
            if self.active:
                self.active_overruns += 1
                if late > self.worst:
                    self.worst = late
        if late > 10 * self.period:  # far behind: do not try to catch up with a burst
            self._next = now + self.period
        else:
            self._next = target + self.period

    def mark_sent(self) -> None:
        """Record the time of this cycle's send (after :meth:`sleep`)."""
        late = time.perf_counter() - self._deadline
        self._sent[(self.n - 1) % self._sent.shape[0]] = late
        if late > self.peak and self.active and self.n > self.warmup:
            self.peak = late

    def take_worst(self) -> float:
        """Largest lateness [s] of an active overrun since the last call (0 if none), and reset it."""
        w, self.worst = self.worst, 0.0
        return w

    def _window(self, ring: NDArrayF, since: int) -> NDArrayF:
        n, size = self.n, ring.shape[0]
        first = max(since, n - size, 0)
        idx = np.arange(first, n) % size
        out: NDArrayF = ring[idx].copy()
        return out

    @property
    def lateness(self) -> NDArrayF:
        """Wake-up delays [s] after the deadline of the recorded cycles, oldest first."""
        return self._window(self._late, 0)

    @property
    def send_lateness(self) -> NDArrayF:
        """Delays [s] of each cycle's send after its deadline, oldest first."""
        return self._window(self._sent, 0)

    def lateness_since(self, cycle: int) -> tuple[NDArrayF, NDArrayF]:
        """(wake-up, send) delays [s] of the cycles from cycle number ``cycle`` (see ``n``) on."""
        return self._window(self._late, cycle), self._window(self._sent, cycle)
