"""The virtual power source's behaviour, driven with a manual clock (no sockets, no sleeps)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from weldcell.drivers.powersource.base import ErrorCode, PowerSourceValueError, WeldParams
from weldcell.drivers.powersource.image import encode_commands
from weldcell.drivers.powersource.virtual_model import (
    ProcessState,
    TestRegister,
    VirtualConfig,
    VirtualPowerSourceModel,
    VirtualTiming,
    resolve_setpoints,
)

TIMING = VirtualTiming(
    pre_flow=0.1,
    ignition_delay=0.08,
    ignition_jitter=0.0,
    ignition_timeout=0.4,
    arc_settle=0.04,
    crater_fill=0.15,
    post_flow=0.3,
    comm_timeout=0.5,
)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Robot:
    """Writes the model's coils like a robot would, with a heartbeat it toggles on demand."""

    def __init__(self, config: VirtualConfig | None = None, seed: int = 1) -> None:
        self.clock = Clock()
        self.m = VirtualPowerSourceModel(
            config or VirtualConfig(timing=TIMING), np.random.default_rng(seed), self.clock
        )
        self.img = self.m.image
        self.hb = False

    def coil(self, name: str, value: bool) -> None:
        self.m.write_coils(getattr(self.img, name), [value])

    def beat(self) -> None:
        self.hb = not self.hb
        self.coil("heartbeat_robot", self.hb)

    def params(self, p: WeldParams) -> None:
        start, words = encode_commands(self.img, p)
        self.m.write_holding_registers(start, words)

    def advance(self, dt: float, beat_every: float | None = 0.1) -> None:
        """Advance time in small steps, beating the heartbeat every ``beat_every`` s."""
        start = last = self.clock.t
        n = max(1, int(np.ceil(dt / 0.005 - 1e-9)))
        for i in range(1, n + 1):
            self.clock.t = start + dt * i / n
            if beat_every is not None and self.clock.t - last >= beat_every:
                self.beat()
                last = self.clock.t
            self.m.step()

    def ready_and_start(self, p: WeldParams | None = None) -> None:
        self.params(p or WeldParams(wire_feed=8.0 / 60, job=0))
        self.beat()
        self.coil("robot_ready", True)
        self.coil("welding_start", True)


def test_full_cycle_timing_and_values() -> None:
    r = Robot()
    r.ready_and_start()
    assert r.m.state == ProcessState.PREFLOW
    st = r.m.status()
    assert st.process_active and not st.current_flow and r.m.gas_valve
    r.advance(0.1)
    assert r.m.state == ProcessState.IGNITION
    assert r.m.status().voltage == pytest.approx(55.0)  # open-circuit voltage while igniting
    r.advance(0.08)
    st = r.m.status()
    assert r.m.state == ProcessState.ARC and st.current_flow and not st.arc_stable and not st.motion_release
    r.advance(0.04)
    st = r.m.status()
    assert st.arc_stable and st.motion_release and st.error_code == 0
    # actual values: synergic current 30 + 20 * 8 = 190 A, load-line voltage 14 + 0.05 * 190 = 23.5 V
    samples = []
    for k in range(400):
        r.advance(0.005, beat_every=None)
        if k % 20 == 0:
            r.beat()
        samples.append(r.m.status())
    cur = np.array([s.current for s in samples])
    volt = np.array([s.voltage for s in samples])
    assert cur.mean() == pytest.approx(190.0, rel=0.01) and cur.std() == pytest.approx(0.02 * 190, rel=0.25)
    assert volt.mean() == pytest.approx(23.5, rel=0.01) and volt.std() == pytest.approx(0.01 * 23.5, rel=0.25)
    assert np.mean([s.wire_feed for s in samples]) == pytest.approx(8.0 / 60, rel=0.01)
    r.coil("welding_start", False)
    st = r.m.status()
    assert r.m.state == ProcessState.CRATER and st.current_flow and not st.motion_release
    assert st.current == pytest.approx(0.6 * 190, rel=0.1)
    r.advance(0.15)
    st = r.m.status()
    assert r.m.state == ProcessState.POSTFLOW and st.process_active and not st.current_flow
    r.advance(0.3)
    assert r.m.state == ProcessState.IDLE and not r.m.status().process_active
    states = [to for _, _, to in r.m.transitions()]
    assert states == [
        ProcessState.PREFLOW,
        ProcessState.IGNITION,
        ProcessState.ARC,
        ProcessState.CRATER,
        ProcessState.POSTFLOW,
        ProcessState.IDLE,
    ]
    times = [t for t, _, _ in r.m.transitions()]
    assert np.diff(times)[:2] == pytest.approx([0.1, 0.08], abs=1e-9)
    assert r.m.start_count == 1


def test_late_step_lands_transitions_at_exact_times() -> None:
    r = Robot(VirtualConfig(timing=TIMING, require_heartbeat=False))
    r.ready_and_start()
    r.clock.t += 0.2  # one late tick covers pre-flow and ignition
    assert r.m.state == ProcessState.ARC
    t = [t for t, _, _ in r.m.transitions()]
    assert t[1] - t[0] == pytest.approx(0.1) and t[2] - t[1] == pytest.approx(0.08)


def test_no_ignition_sets_error_and_ends_process() -> None:
    r = Robot()
    r.m.inject_no_ignition(1)
    r.ready_and_start()
    r.advance(0.1 + 0.39)
    assert r.m.state == ProcessState.IGNITION and r.m.status().error_code == 0
    r.advance(0.02)
    st = r.m.status()
    assert st.error_code == ErrorCode.NO_IGNITION and not st.current_flow and not st.ready
    assert r.m.state == ProcessState.POSTFLOW
    # a new start is ignored until the error is reset and start toggles
    r.coil("welding_start", False)
    r.advance(0.4)
    r.coil("welding_start", True)
    assert r.m.state == ProcessState.IDLE
    r.coil("welding_start", False)
    r.coil("error_reset", True)
    r.coil("error_reset", False)
    assert r.m.status().error_code == 0
    r.coil("welding_start", True)
    r.advance(0.3)
    assert r.m.status().arc_stable  # the injection applied to one start only


def test_arc_loss_during_weld() -> None:
    r = Robot()
    r.ready_and_start()
    r.advance(0.5)
    assert r.m.status().arc_stable
    assert r.m.inject_arc_loss() is True
    st = r.m.status()
    assert st.error_code == ErrorCode.ARC_BREAK and not st.arc_stable and not st.motion_release
    assert st.current == 0.0 and r.m.state == ProcessState.POSTFLOW
    assert r.m.inject_arc_loss() is False  # nothing burning any more


def test_wire_stick_at_arc_end_via_test_register() -> None:
    r = Robot()
    base = r.img.test_base
    r.m.write_holding_registers(base + TestRegister.WIRE_STICK, [1])
    assert r.m.read_holding_registers(base + TestRegister.WIRE_STICK, 1) == [1]
    r.ready_and_start()
    r.advance(0.4)
    assert r.m.status().wire_stick is False
    r.coil("welding_start", False)
    r.advance(0.16)
    st = r.m.status()
    assert st.wire_stick and st.error_code == ErrorCode.WIRE_STICK
    r.coil("error_reset", True)
    st = r.m.status()
    assert not st.wire_stick and st.error_code == 0


def test_heartbeat_timeout_ends_weld() -> None:
    r = Robot()
    r.ready_and_start()
    r.advance(0.5)
    assert r.m.status().arc_stable
    r.advance(0.35, beat_every=None)  # heartbeat stops; 0.5 s timeout from the last edge
    assert r.m.status().arc_stable
    r.advance(0.3, beat_every=None)
    st = r.m.status()
    assert st.error_code == ErrorCode.COMM_TIMEOUT and not st.current_flow and not st.motion_release
    assert r.m.state == ProcessState.POSTFLOW
    # the comm timeout is configurable over the test registers
    base = r.img.test_base
    r.m.write_holding_registers(base + TestRegister.COMM_TIMEOUT_MS, [250])
    assert r.m.read_holding_registers(base + TestRegister.COMM_TIMEOUT_MS, 1) == [250]


def test_heartbeat_gaps_are_measured_without_the_power_sources_own_stalls() -> None:
    r = Robot()
    base = r.img.test_base
    gap = base + TestRegister.HEARTBEAT_GAP_MAX_MS
    r.beat()
    r.advance(0.5, beat_every=0.02)
    assert 20 <= r.m.read_holding_registers(gap, 1)[0] <= 25  # beats every 20 ms, 5 ms steps
    r.advance(0.12, beat_every=None)  # the robot's heartbeat stops for 120 ms …
    r.beat()
    assert 120 <= r.m.read_holding_registers(gap, 1)[0] <= 125
    assert r.m.read_holding_registers(base + TestRegister.OWN_STALLS, 1) == [0]
    r.m.write_holding_registers(gap, [0])  # reset
    assert r.m.read_holding_registers(gap, 1) == [0]
    r.advance(0.6, beat_every=None)  # a gap beyond the 0.5 s timeout: error 4 …
    assert r.m.status().error_code == ErrorCode.COMM_TIMEOUT
    r.beat()  # … and its length is still measured when the heartbeat comes back
    assert 600 <= r.m.read_holding_registers(gap, 1)[0] <= 605
    # a power source that supervises only when it runs: its own 100 ms stall is not the robot's gap
    s = Robot()
    s.m = VirtualPowerSourceModel(
        VirtualConfig(timing=TIMING), np.random.default_rng(1), s.clock, own_stall=0.04
    )
    s.beat()
    s.advance(0.1, beat_every=0.02)
    s.clock.t += 0.1  # not stepped for 100 ms (the robot's beats waited in the socket)
    s.beat()
    s.advance(0.1, beat_every=0.02)
    assert s.m.read_holding_registers(s.img.test_base + TestRegister.OWN_STALLS, 1) == [1]
    assert s.m.heartbeat_gap_max < 0.03


def test_start_refusals() -> None:
    r = Robot()
    r.params(WeldParams(wire_feed=0.1))
    r.coil("robot_ready", True)
    r.coil("welding_start", True)  # no heartbeat seen yet
    assert r.m.status().error_code == ErrorCode.NOT_READY and r.m.state == ProcessState.IDLE
    r2 = Robot()
    r2.ready_and_start(WeldParams(job=42))  # job not stored
    assert r2.m.status().error_code == ErrorCode.INVALID_COMMAND
    r3 = Robot()
    r3.ready_and_start(WeldParams(job=2))
    r3.advance(0.3)
    st = r3.m.status()
    assert st.current == pytest.approx(200.0, rel=0.1) and st.voltage == pytest.approx(23.0, rel=0.05)


def test_test_registers_over_memory_interface() -> None:
    r = Robot()
    base = r.img.test_base
    r.m.write_holding_registers(base + TestRegister.NO_IGNITION, [2])
    r.m.write_holding_registers(base + TestRegister.WARNING, [1])
    r.m.write_holding_registers(base + TestRegister.STATE, [5])  # read only: ignored
    regs = r.m.read_holding_registers(base, 8)
    assert regs[TestRegister.NO_IGNITION] == 2 and regs[TestRegister.WARNING] == 1
    assert regs[TestRegister.STATE] == ProcessState.IDLE
    assert r.m.status().warning
    r.coil("gas_test", True)
    assert r.m.read_holding_registers(base + TestRegister.GAS, 1) == [1]
    r.coil("wire_forward", True)
    assert r.m.status().wire_feed == pytest.approx(5.0 / 60)


def test_resolve_setpoints_synergic() -> None:
    jobs = VirtualConfig().jobs
    sp = resolve_setpoints(WeldParams(current=230.0), jobs)
    assert sp is not None and sp.wire_feed == pytest.approx(10.0 / 60) and sp.voltage == pytest.approx(25.5)
    sp = resolve_setpoints(WeldParams(wire_feed=0.1, voltage=20.0, arc_length_correction=2.0), jobs)
    assert sp is not None and sp.voltage == pytest.approx(21.0)
    assert resolve_setpoints(WeldParams(), jobs) is None


# Documented command ranges (docs/powersource.md, holding registers) as raw-word limits:
# wire feed 0 … 25 m/min at 0.01 m/min, voltage 0 … 60 V at 0.01 V, current 0 … 600 A at 0.1 A,
# arc-length correction -10 … +10 at 0.1 (int16), job 0 … 999.
RAW_LIMITS = {
    "job": (0, 999),
    "wire_feed_command": (0, 2500),
    "voltage_command": (0, 6000),
    "current_command": (0, 6000),
    "arc_length_correction": (-100, 100),
}


@settings(max_examples=200, deadline=None)
@given(field=hst.sampled_from(sorted(RAW_LIMITS)), word=hst.integers(0, 0xFFFF))
def test_out_of_range_command_is_error_6_and_no_arc(field: str, word: int) -> None:
    """Every command register outside its documented range: weld start → error 6, no arc, never a clamp."""
    r = Robot()
    r.params(WeldParams(wire_feed=8.0 / 60, job=0))
    r.m.write_holding_registers(getattr(r.img, field).address, [word])
    signed = word - 0x10000 if field == "arc_length_correction" and word >= 0x8000 else word
    lo, hi = RAW_LIMITS[field]
    in_range = lo <= signed <= hi
    unknown_job = field == "job" and signed not in (0, 1, 2, 3)
    no_command = field == "wire_feed_command" and signed == 0  # and current 0: nothing to weld with
    r.beat()
    r.coil("robot_ready", True)
    r.coil("welding_start", True)
    r.advance(0.4)
    st_ = r.m.status()
    if in_range and not unknown_job and not no_command:
        assert st_.error_code == 0 and st_.current_flow, (field, signed)
    else:
        assert st_.error_code == ErrorCode.INVALID_COMMAND, (field, signed)
        assert not st_.current_flow and not st_.process_active and r.m.state == ProcessState.IDLE
        assert r.m.start_count == 0
    if not in_range:
        with pytest.raises(PowerSourceValueError, match=rf"holding register \d+ \({field}\)"):
            r.m.commands()


def test_wire_feed_650_m_min_is_refused() -> None:
    """The issue's case: 650 m/min used to weld at 25 m/min and 540 A."""
    r = Robot()
    r.params(WeldParams(wire_feed=8.0 / 60, job=0))
    r.m.write_holding_registers(r.img.wire_feed_command.address, [65000])  # 650.00 m/min
    r.beat()
    r.coil("robot_ready", True)
    r.coil("welding_start", True)
    r.advance(0.4)
    st_ = r.m.status()
    assert st_.error_code == ErrorCode.INVALID_COMMAND and st_.current == 0.0 and not st_.current_flow
    with pytest.raises(PowerSourceValueError, match="650 m/min is outside 0 … 25 m/min"):
        r.m.commands()
    # a valid command and an error reset: the next start welds
    r.params(WeldParams(wire_feed=8.0 / 60, job=0))
    r.coil("welding_start", False)
    r.coil("error_reset", True)
    r.coil("error_reset", False)
    r.coil("welding_start", True)
    r.advance(0.4)
    assert r.m.status().current_flow
