"""The streaming loop's real-time helpers: pacing, statistics, interpreter settings restored."""

from __future__ import annotations

import gc
import sys
import time

import numpy as np
import pytest

from weldcell.drivers.realtime import LoopTimer, ProcessRealtime, RealtimeConfig, configure_thread


def test_loop_timer_keeps_the_rate_and_records_lateness() -> None:
    timer = LoopTimer(500.0, spin=0.0004, history=64)
    t0 = time.perf_counter()
    for _ in range(100):
        timer.sleep()
        timer.mark_sent()
    elapsed = time.perf_counter() - t0
    # 100 cycles at 2 ms: the deadlines are absolute, so the total does not drift with the work
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
