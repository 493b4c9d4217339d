"""URScript interpreter and the virtual controller core, in-process (no sockets): language subset,
the driver's servo program protocol driven through the registers, and programs from weldcell's exporter."""

from __future__ import annotations

import numpy as np
import pytest

from weldcell.drivers.base import joint_move
from weldcell.drivers.ur.streaming import servo_program as sp
from weldcell.drivers.ur.virtual.core import ControllerCore, CoreConfig, RuntimeState, SafetyMode
from weldcell.drivers.ur.virtual.urscript import Interpreter, Program, URScriptError

Q_HOME = np.array(CoreConfig().q_home)


def _run_to_end(core: ControllerCore, max_cycles: int = 100000) -> int:
    for k in range(max_cycles):
        if not core.program_running:
            return k
        core.step()
    raise AssertionError("program did not finish")


def test_language_subset() -> None:
    out: list[object] = []
    src = """
def main():
  global total = 0
  def add(a, b=10):
    return a + b
  end
  i = 0
  while i < 5:
    i = i + 1
    if i == 2:
      continue
    elif i == 4:
      break
    else:
      total = total + add(i)
    end
  end
  xs = [0, 0, 0]
  xs[1] = 7
  pp = p[0.1, 0.2, 0.3, 0, 0, 0]
  emit(total, xs, pp[2], not False, floor(2.7))
end
"""
    prog = Program(src, "t")
    interp = Interpreter(
        prog, {"emit": lambda *a: out.extend(a), "floor": lambda x: int(np.floor(x))}, frozenset()
    )
    for _ in interp.run():
        pass
    assert out == [11 + 13, [0, 7, 0], 0.3, True, 2]


@pytest.mark.parametrize(
    ("src", "match"),
    [
        ("def p():\n  thread t():\n    sync()\n  end\nend\n", "line 2: 'thread' is not supported"),
        ("def p():\n  x = (1 +\nend\n", "line 2: cannot parse"),
        ("def p():\n  while True:\n    sync()\nend\n", "not closed"),
    ],
)
def test_unsupported_and_malformed_programs_name_the_line(src: str, match: str) -> None:
    with pytest.raises(URScriptError, match=match):
        Program(src, "p")


def test_runtime_errors_stop_the_program_with_a_message() -> None:
    core = ControllerCore(CoreConfig())
    assert core.start_program('def p():\n  socket_open("1.2.3.4", 5)\nend\n', "p") is None
    _run_to_end(core)
    assert any("socket_open" in m and "line 2" in m for m in core.log)
    core.start_program("def busy():\n  while True:\n    x = 1\n  end\nend\n", "busy")
    _run_to_end(core)
    assert any("too much behind" in m for m in core.log)


def test_movej_movel_sleep_and_io() -> None:
    core = ControllerCore(CoreConfig())
    target = Q_HOME + np.array([0.3, 0.1, -0.1, 0.2, 0.1, 0.4])
    pose = core.tcp_pose(target)
    q_txt = ", ".join(repr(float(v)) for v in target)
    p_txt = ", ".join(repr(float(v)) for v in pose)
    src = (
        f"def p():\n  set_standard_digital_out(2, True)\n  movej([{q_txt}], a=2, v=1)\n  sleep(0.1)\n"
        f"  movej([{', '.join(repr(float(v)) for v in Q_HOME)}])\n  movel(p[{p_txt}], a=1, v=0.2)\n"
        "  set_standard_analog_out(1, 0.25)\nend\n"
    )
    assert core.start_program(src, "p") is None
    cycles = _run_to_end(core)
    np.testing.assert_allclose(core.target_q, target, atol=1e-6)
    assert core.digital_out & 4 and core.analog_out[1] == 0.25
    assert cycles > 0.1 / core.cycle
    assert core.safety_mode == SafetyMode.NORMAL
    assert not core.digital_out & 1


def _feed(
    core: ControllerCore,
    samples: np.ndarray,
    flags: np.ndarray,
    session: int,
    stop_at: int | None = None,
    lookahead: int = 40,
    pc_dies_at: int | None = None,
    stall: tuple[int, int] | None = None,
) -> list[np.ndarray]:
    """Emulate the PC side of the streaming protocol by writing the registers directly (the alive
    counter with every package; none after ``pc_dies_at`` executed samples; ``stall`` = (executed
    sample, cycles): once the robot has executed that sample the PC sends nothing for that many
    cycles, a late PC cycle)."""
    n = samples.shape[0]
    newest = -1
    stalled = 0  # cycles of the stall still to wait (-1: the stall is over)
    core.apply_inputs(
        {
            f"input_int_register_{sp.IN_SESSION}": session,
            f"input_int_register_{sp.IN_NEWEST}": -1,
            f"input_int_register_{sp.IN_LAST}": n - 1,
            f"input_int_register_{sp.IN_COMMAND}": 0,
        }
    )
    qs = []
    for _ in range(20 * n):
        core.step()
        qs.append(core.target_q.copy())
        out = core.out_int
        if out[sp.OUT_SESSION] != session:
            continue
        if out[sp.OUT_STATUS] in (sp.StreamStatus.DONE, sp.StreamStatus.STOPPED, sp.StreamStatus.OVERRUN):
            break
        if stall is not None and stalled == 0 and out[sp.OUT_EXECUTED] >= stall[0]:
            stalled = stall[1]
        if stalled > 0:
            stalled -= 1
            stalled = stalled or -1
            continue
        target = min(out[sp.OUT_RECEIVED] + sp.SLOTS, out[sp.OUT_EXECUTED] + lookahead, n - 1)
        values: dict[str, object] = {}
        for k in range(max(newest + 1, target - sp.SLOTS + 1), target + 1):
            slot = k % sp.SLOTS
            values[f"input_int_register_{sp.IN_FLAGS + slot}"] = int(flags[k])
            for j in range(6):
                values[f"input_double_register_{sp.FIRST_DOUBLE + 6 * slot + j}"] = float(samples[k, j])
        newest = max(newest, target)
        values[f"input_int_register_{sp.IN_NEWEST}"] = newest
        run = out[sp.OUT_RECEIVED] >= min(lookahead, n - 1)
        cmd = (
            sp.StreamCommand.STOP
            if stop_at is not None and out[sp.OUT_EXECUTED] >= stop_at
            else (sp.StreamCommand.RUN if run else sp.StreamCommand.FILL)
        )
        values[f"input_int_register_{sp.IN_COMMAND}"] = int(cmd)
        if pc_dies_at is not None and out[sp.OUT_EXECUTED] >= pc_dies_at:
            continue  # the PC is gone: no more packages
        values[f"input_int_register_{sp.IN_ALIVE}"] = len(qs)
        core.apply_inputs(values)
    return qs


def test_servo_program_protocol_in_process() -> None:
    core = ControllerCore(CoreConfig())
    core.apply_inputs({f"input_int_register_{sp.IN_NEWEST}": -1})
    assert core.start_program(sp.servo_program(cycle=core.cycle, arc_output=0), sp.PROGRAM_NAME) is None
    traj = joint_move("ur5e", Q_HOME, Q_HOME + 0.3, core.cycle, speed_fraction=0.5)
    flags = np.zeros(traj.n_samples, bool)
    flags[50:120] = True
    arc_trace = []
    _feed(core, traj.q, flags, session=7)
    assert core.out_int[sp.OUT_STATUS] == sp.StreamStatus.DONE
    assert core.out_int[sp.OUT_UNDERRUNS] == 0
    np.testing.assert_allclose(core.target_q, traj.q[-1], atol=1e-12)
    # second session on the same program: stop half way, decelerating along the path
    back = joint_move("ur5e", traj.q[-1], Q_HOME, core.cycle, speed_fraction=0.5)
    qs = _feed(core, back.q, np.ones(back.n_samples, bool), session=8, stop_at=back.n_samples // 2)
    assert core.out_int[sp.OUT_STATUS] == sp.StreamStatus.STOPPED
    pos = core.out_double[sp.OUT_POSITION]
    assert back.n_samples // 2 < pos < back.n_samples - 1
    speeds = np.abs(np.diff(np.array(qs), axis=0)).max(axis=1) / core.cycle
    assert speeds[-1] < 1e-9 and np.all(np.diff(speeds[-20:]) <= 1e-9)  # monotone deceleration
    assert not core.digital_out & 1  # the stop dropped the arc
    assert core.runtime_state == RuntimeState.PLAYING  # the program waits for the next session
    del arc_trace


@pytest.mark.parametrize(("stall", "underruns"), [(0, False), (25, False), (70, True)])
def test_servo_program_counts_underruns_and_the_lowest_ring_fill(stall: int, underruns: bool) -> None:
    """The robot side reports what the PC's lateness cost: the lowest ring fill (output int 31)
    drops by the stall, and a stall longer than the look-ahead (40 samples) is counted as underruns
    (output int 27), one per cycle without a set-point."""
    core = ControllerCore(CoreConfig())
    traj = joint_move("ur5e", Q_HOME, Q_HOME + 0.3, core.cycle, speed_fraction=0.5)
    core.apply_inputs({f"input_int_register_{sp.IN_NEWEST}": -1})
    # the program's backstop RTDE watchdog runs on wall time: feed at once after the start
    text = sp.servo_program(cycle=core.cycle, ring=64, watchdog_hz=5.0)  # PC watchdog after 100 cycles
    assert core.start_program(text, sp.PROGRAM_NAME) is None
    core.step()
    assert core.out_int[sp.OUT_MIN_FILL] == 64  # nothing measured yet: the ring size
    lookahead = 40
    _feed(
        core,
        traj.q,
        np.zeros(traj.n_samples, bool),
        session=11,
        lookahead=lookahead,
        stall=(traj.n_samples // 3, stall) if stall else None,
    )
    assert core.out_int[sp.OUT_STATUS] == sp.StreamStatus.DONE
    fill, missed = core.out_int[sp.OUT_MIN_FILL], core.out_int[sp.OUT_UNDERRUNS]
    if not stall:
        assert missed == 0 and lookahead - 3 <= fill <= lookahead
    elif not underruns:
        assert missed == 0 and lookahead - stall - 3 <= fill <= lookahead - stall + 3
    else:
        assert fill == 0
        assert stall - lookahead - 3 <= missed <= stall - lookahead + 3
    np.testing.assert_allclose(core.target_q, traj.q[-1], atol=1e-12)
    # a new session starts the count again
    core.apply_inputs({f"input_int_register_{sp.IN_NEWEST}": -1, f"input_int_register_{sp.IN_SESSION}": 12})
    core.step()
    assert core.out_int[sp.OUT_SESSION] == 12
    assert core.out_int[sp.OUT_MIN_FILL] == 64 and core.out_int[sp.OUT_UNDERRUNS] == 0


@pytest.mark.parametrize("lookahead", [115, 40])
def test_servo_program_pc_watchdog_drops_the_arc_in_the_cycle_the_robot_stops(lookahead: int) -> None:
    """PC gone mid-weld. Look-ahead longer than the watchdog time (115 samples = 0.23 s > 0.2 s): the
    watchdog drops the arc in the cycle the deceleration starts. Shorter (40 = 0.08 s): the set-points
    run out first and the robot holds; the arc drops once the PC has been silent for 50 ms."""
    core = ControllerCore(CoreConfig())
    core.apply_inputs({f"input_int_register_{sp.IN_NEWEST}": -1})
    hz, stop_time = 5.0, 0.15
    text = sp.servo_program(cycle=core.cycle, arc_output=0, watchdog_hz=hz, stop_time=stop_time)
    assert core.start_program(text, sp.PROGRAM_NAME) is None
    traj = joint_move("ur5e", Q_HOME, Q_HOME + 0.6, core.cycle, speed_fraction=0.3)
    flags = np.ones(traj.n_samples, bool)
    trace: list[tuple[bool, int]] = []
    orig_step = core.step

    def step() -> None:
        orig_step()
        trace.append((bool(core.digital_out & 1), int(core.out_int[sp.OUT_STATUS])))

    core.step = step  # type: ignore[method-assign]
    dies = traj.n_samples // 3
    qs = np.array(_feed(core, traj.q, flags, session=3, lookahead=lookahead, pc_dies_at=dies))
    for _ in range(400):  # the PC is gone; the controller keeps cycling
        step()
        qs = np.vstack([qs, core.target_q])
    arc = np.array([a for a, _ in trace])
    status = np.array([s for _, s in trace])
    speeds = np.abs(np.diff(qs, axis=0)).max(axis=1) / core.cycle  # speeds[k]: during cycle k + 1
    assert arc[:dies].any()  # welding before the PC died
    k_off = int(np.flatnonzero(arc)[-1]) + 1  # first cycle with the arc off
    k_still = int(np.flatnonzero(speeds[dies:] < 1e-9)[0]) + dies + 1  # first cycle without motion
    assert core.out_int[sp.OUT_WATCHDOG] == 1, core.log[-10:]  # why not: a runtime error stops without it
    assert core.runtime_state != RuntimeState.PLAYING  # halted after the stop
    assert not arc[k_off:].any()
    if lookahead * core.cycle > 1.0 / hz:
        k_stop = int(np.flatnonzero(status == sp.StreamStatus.STOPPING)[0])
        assert k_off == k_stop  # same cycle as the watchdog's stop
        assert k_off <= k_still  # the arc is off no later than the robot stands still
        assert (k_still - k_stop) * core.cycle <= stop_time + 2 * core.cycle  # within stop_time
    else:  # the set-points ran out: the robot holds; the arc drops 50 ms into the PC's silence
        assert k_off <= k_still + round(0.05 / core.cycle)
