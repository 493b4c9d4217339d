"""The streaming loop's real-time helpers: pacing, statistics, interpreter settings restored."""

from __future__ import annotations

import gc
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.drivers.realtime import (
    LOOKAHEAD_MARGIN_CYCLES,
    LoopTimer,
    ProcessRealtime,
    RealtimeConfig,
    configure_thread,
    lookahead_from_lateness,
    thread_priority,
)


def test_loop_timer_keeps_the_rate_and_records_lateness() -> None:
    # 100 cycles at 2 ms: the deadlines are absolute, so the total does not drift with the work.
    # Best of 3 runs: a loaded host can wake the last cycle late, or stall one long enough (over 10
    # periods) that the timer re-anchors, which is the timer doing its job, not a drift
    for _ in range(3):
        timer = LoopTimer(500.0, spin=0.0004, history=64)
        t0 = time.perf_counter()
        for _ in range(100):
            timer.sleep()
            timer.mark_sent()
        elapsed = time.perf_counter() - t0
        if elapsed == pytest.approx(0.2, abs=0.03):
            break
    assert elapsed == pytest.approx(0.2, abs=0.03)
    late = timer.lateness
    assert late.shape == (64,)  # ring buffer keeps the newest `history` cycles
    assert np.all(late >= 0.0)
    assert np.all(timer.send_lateness >= late - 1e-12)  # a send cannot precede the wake-up
    assert timer.n == 100
    wake, sent = timer.lateness_since(90)
    assert wake.shape == sent.shape == (10,)


def test_loop_timer_counts_overruns_and_does_not_burst_after_a_stall() -> None:
    timer = LoopTimer(500.0, warn=0.001)
    timer.active = True
    timer.sleep()
    time.sleep(0.05)  # a 50 ms stall: 25 periods
    timer.sleep()
    assert timer.overruns >= 1 and timer.active_overruns >= 1
    assert timer.take_worst() > 0.04
    assert timer.take_worst() == 0.0
    t0 = time.perf_counter()
    timer.sleep()  # re-anchored: the next deadline is one period after the late wake-up
    assert time.perf_counter() - t0 > 0.001


def test_process_realtime_restores_gc_and_switch_interval() -> None:
    pr = ProcessRealtime()
    before_switch = sys.getswitchinterval()
    assert gc.isenabled()
    pr.acquire(RealtimeConfig(gc="off", switch_interval=0.0005))
    pr.acquire(RealtimeConfig())
    try:
        assert not gc.isenabled()
        assert sys.getswitchinterval() == pytest.approx(0.0005)
        pr.release()  # one holder left: still active
        assert not gc.isenabled()
        assert pr.active == 1
    finally:
        pr.release()
    assert gc.isenabled()
    assert sys.getswitchinterval() == pytest.approx(before_switch)
    assert gc.get_freeze_count() == 0
    pr.release()  # an extra release is harmless
    assert pr.active == 0


def test_realtime_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="1-99"):
        RealtimeConfig(fifo_priority=0)
    with pytest.raises(ValueError, match="switch_interval"):
        RealtimeConfig(switch_interval=1.0)
    with pytest.raises(ValueError, match="frequency"):
        LoopTimer(0.0)


def test_configure_thread_reports_each_setting() -> None:
    notes = configure_thread(None, cpu=None, timer_slack=50e-6)  # restore Linux's default slack
    assert len(notes) == (1 if sys.platform.startswith("linux") else 0)


def test_lookahead_rule_floor_growth_and_cap() -> None:
    cycle = 0.002
    # no lateness measured: the configured look-ahead
    assert lookahead_from_lateness(100, 0.0, cycle, 120) == (100, False)
    # 60 ms worst lateness: 2 x 60 ms = 60 cycles + the window's round trip, below the floor
    assert lookahead_from_lateness(100, 0.06, cycle, 120) == (100, False)
    # 100 ms: 100 + 4 cycles
    assert lookahead_from_lateness(50, 0.1, cycle, 248) == (100 + LOOKAHEAD_MARGIN_CYCLES, False)
    # more than the robot's ring holds: cut, and said so
    assert lookahead_from_lateness(100, 0.2, cycle, 120) == (120, True)


@settings(max_examples=200, deadline=None)
@given(
    base=st.integers(1, 500),
    late=st.floats(0.0, 2.0, allow_nan=False),
    more=st.floats(0.0, 1.0, allow_nan=False),
    cycle=st.sampled_from([0.002, 0.008, 0.004]),
    room=st.integers(1, 1000),
)
def test_lookahead_rule_properties(base: int, late: float, more: float, cycle: float, room: int) -> None:
    n, cut = lookahead_from_lateness(base, late, cycle, room)
    assert 1 <= n <= room
    if cut:  # the robot's buffer is the limit
        assert n == room
    else:  # covers two back-to-back worst stalls plus the round trip, never below the floor
        assert n >= base and n * cycle >= 2 * late + LOOKAHEAD_MARGIN_CYCLES * cycle - 1e-9
    n2, _ = lookahead_from_lateness(base, late + more, cycle, room)
    assert n2 >= n  # monotone in the lateness


def test_loop_timer_peak_skips_warmup_then_tracks_the_worst_send() -> None:
    timer = LoopTimer(500.0, warmup=3)
    timer.sleep()
    time.sleep(0.03)  # idle (no slice streaming): not counted
    timer.mark_sent()
    timer.active = True
    for _ in range(2):  # start-up cycles: a stall here is thread start, not load
        timer.sleep()
        time.sleep(0.01)
        timer.mark_sent()
    assert timer.peak == 0.0
    timer.sleep()
    time.sleep(0.02)  # work after the wake-up delays the send: the package is 20 ms late
    timer.mark_sent()
    assert 0.02 <= timer.peak < 0.2
    timer.sleep()
    timer.mark_sent()
    assert timer.peak >= 0.02  # the worst is kept


def test_thread_priority_raises_every_ordinary_thread_and_restores_them() -> None:
    import os
    import threading

    def policy(tid: int = 0) -> tuple[int, int]:
        return os.sched_getscheduler(tid), os.sched_getparam(tid).sched_priority

    before = policy()
    seen: list[tuple[int, int]] = []
    go, done = threading.Event(), threading.Event()

    def waiter() -> None:  # an ordinary thread started before
        go.wait(5.0)
        seen.append(policy())
        done.wait(5.0)

    w = threading.Thread(target=waiter)
    w.start()
    assert w.native_id is not None
    other_before = policy(w.native_id)
    try:
        with thread_priority(1, "test") as notes:
            inside = policy()
            go.set()
            child = threading.Thread(target=lambda: seen.append(policy()))
            child.start()
            child.join()
            w_inside = policy(w.native_id)
            late_done = threading.Event()
            late = threading.Thread(target=late_done.wait, args=(5.0,))  # outlives the body
            late.start()
        assert late.native_id is not None
        late_after = policy(late.native_id)
        late_done.set()
        late.join()
    finally:
        go.set()
        done.set()
        w.join()
    assert policy() == before and late_after == before  # a thread started inside: back to ordinary
    if not notes:
        assert inside == (os.SCHED_FIFO, 1) and w_inside == inside
        assert seen == [inside, inside]  # the other thread raised, a thread started inside inherits
    else:  # not permitted here: ordinary scheduling, said so per thread
        assert all("not raised" in n for n in notes) and inside == before and w_inside == other_before
    with thread_priority(None) as none:
        assert none == [] and policy() == before
