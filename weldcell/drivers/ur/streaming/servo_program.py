"""The URScript streaming servo program and its RTDE register protocol.

The driver uploads :func:`servo_program` once per connection; it stays running between trajectory
slices. Set-points travel through RTDE input registers of the upper range (24-47, meant for
external clients) in a window of :data:`SLOTS` samples; the program copies them into an on-robot
ring buffer of ``ring`` samples and executes one sample per controller cycle with ``servoj``. The
PC keeps the ring filled ``lookahead`` samples ahead, so a late PC cycle or a network stall shorter
than the look-ahead does not become a late robot cycle.

PC watchdog: the PC increments input int 32 in every input package (500 Hz). When it has not
changed for ``1 / watchdog_hz`` seconds, the program drops the arc output *and* starts the stop in
the same controller cycle (a commanded stop: decelerate along the path within ``stop_time``), then
halts. If the set-points run out first (the look-ahead is shorter than the watchdog time) while the
arc is on and the PC has been silent for 50 ms, the arc output drops in that cycle and the robot
stays where the set-points ended.
``rtde_set_watchdog(..., "stop")`` stays armed as a backstop, at a rate low enough that it only
fires when the program itself no longer runs its loop (after the in-program stop has finished).

Register map (``input`` = PC -> robot, ``output`` = robot -> PC):

====================  =====================================================================
input int 24          index of the newest sample written (-1: none)
input int 25          command: 0 fill (hold), 1 run, 2 stop (decelerate along the path)
input int 26          index of the last sample of the slice (-1: not yet known)
input int 27          stream session id; a new id (sent with newest = -1) resets the program for the
                      next slice
input int 28-31       arc flag of window slot 0-3 (1 = arc on)
input int 32          PC alive counter, incremented in every input package
input double 24-47    window slot s joint j at register 24 + 6 s + j [rad]
output int 24         newest sample copied into the ring
output int 25         sample index executed (integer part of the path position)
output int 26         status (:class:`StreamStatus`)
output int 27         underruns: cycles where the next set-point had not arrived
output int 28         session id acknowledged
output int 29         1 once the in-program PC watchdog has stopped the program
output int 30         instance id of this upload (``instance`` argument), written first: tells the
                      freshly uploaded program from a previous one still answering
output int 31         lowest ring fill of the session: fewest set-points [samples] received ahead of
                      the one executed, over the cycles of the slice before its last sample
                      arrived (``ring`` until the slice runs; 0 means an underrun was close or
                      happened): the margin the look-ahead actually kept, seen by the robot
output double 24      path position [samples] (fractional during a stop)
output int 33         program mode (not the servo program): weld block of the exported job program
                      (``UrExportOptions.progress_register``: k + 1 in weld block k, 0 elsewhere,
                      -1 when done)
output bit 64         program mode: arc request of the exported job program when the PC switches a
                      fieldbus power source (``UrExportOptions.arc_request_register``)
input bit 64          program mode: "arc established" written by the PC when a fieldbus power
                      source (not a robot input) reports the arc
====================  =====================================================================
"""

from __future__ import annotations

from enum import IntEnum

from weldcell.errors import InputShapeError

SLOTS = 4
FIRST_INT = 24
FIRST_DOUBLE = 24
IN_NEWEST, IN_COMMAND, IN_LAST, IN_SESSION = 24, 25, 26, 27
IN_FLAGS = 28
IN_ALIVE = 32
OUT_RECEIVED, OUT_EXECUTED, OUT_STATUS, OUT_UNDERRUNS, OUT_SESSION = 24, 25, 26, 27, 28
OUT_WATCHDOG = 29
OUT_INSTANCE = 30
OUT_MIN_FILL = 31
OUT_BLOCK = 33  # program mode: the exported program's weld block (progress register)
OUT_ARC_REQUEST_BIT = 64  # program mode: arc request of the job program (fieldbus power source)
IN_ARC_ESTABLISHED_BIT = 64  # program mode: "arc established" from the PC (fieldbus power source)
OUT_POSITION = 24


class StreamCommand(IntEnum):
    """Values of input int register 25."""

    FILL = 0
    RUN = 1
    STOP = 2


class StreamStatus(IntEnum):
    """Values of output int register 26."""

    OVERRUN = -1  # the PC wrote past the register window: set-points lost
    NOT_STARTED = 0
    FILLING = 1
    RUNNING = 2
    STOPPING = 3
    STOPPED = 4
    DONE = 5


PROGRAM_NAME = "weldcell_servo"


def servo_program(
    *,
    cycle: float,
    ring: int = 128,
    arc_output: int | None = None,
    stop_time: float = 0.15,
    watchdog_hz: float = 10.0,
    lookahead_time: float = 0.03,
    gain: float = 300.0,
    instance: int = 0,
    tcp_pose: tuple[float, ...] | None = None,
) -> str:
    """URScript text of the streaming servo program.

    Args:
        cycle: Controller cycle [s] (0.002 on e-Series, 0.008 on CB3); one sample per cycle.
        ring: On-robot ring buffer length [samples].
        arc_output: Standard digital output switched from the samples' arc flags (None: not used).
        stop_time: Deceleration time of a commanded stop [s] (path speed 1 -> 0, along the path).
        watchdog_hz: Minimum rate of the PC's input packages [Hz]: after ``1 / watchdog_hz`` s
            without a new alive count the arc output drops and the robot stops (same cycle).
        lookahead_time: servoj look-ahead time [s] (0.03-0.2).
        gain: servoj proportional gain (100-2000).
        instance: Id written to output int 30 when the program starts, so that the uploader can
            tell this program from an earlier servo program that was still running (and answering
            the session handshake) until this one replaced it.
        tcp_pose: TCP of the streamed trajectories in the flange frame, UR pose
            [x, y, z, rx, ry, rz] (m, rad): the program calls ``set_tcp`` with it first, so that the
            controller's TCP speed safety limit measures the torch tip, not the flange. None: the
            installation's TCP stays active.
    """
    if tcp_pose is not None and len(tcp_pose) != 6:
        raise InputShapeError(f"tcp_pose: expected a UR pose of 6 numbers, got {len(tcp_pose)}")
    set_tcp = (
        "  set_tcp(p[" + ", ".join(f"{float(x)!r}" for x in tcp_pose) + "])\n" if tcp_pose is not None else ""
    )
    dec = cycle / stop_time
    wd_cycles = max(1, round(1.0 / (watchdog_hz * cycle)))
    # set-points ran out with the arc on: stop once the PC has also been silent this long (a short
    # underrun of a lagging but alive PC only holds the torch for a few cycles)
    uq_cycles = max(2, round(0.05 / cycle))
    # backstop: the controller's own watchdog fires only after the in-program stop has had time
    backstop_hz = 1.0 / (1.0 / watchdog_hz + stop_time + 0.1)
    zeros_f = "[" + ", ".join(["0.0"] * ring) + "]"
    zeros_i = "[" + ", ".join(["0"] * ring) + "]"

    def arc_set(v: str) -> str:
        """URScript statement setting the arc output to ``v`` (a no-op statement without an output)."""
        return f"set_standard_digital_out({arc_output}, {v})" if arc_output is not None else "arc = arc"

    copy = "\n".join(f"        b{j}[k] = read_input_float_register(r + {j})" for j in range(6))
    interp = ", ".join(f"b{j}[k0] + a * (b{j}[k1] - b{j}[k0])" for j in range(6))
    bufs = "\n".join(f"  b{j} = {zeros_f}" for j in range(6))
    return f"""def {PROGRAM_NAME}():
  # weldcell streaming servo program (generated by weldcell.drivers.ur.streaming.servo_program)
  write_output_integer_register({OUT_INSTANCE}, {int(instance)})
{set_tcp}  textmsg("weldcell servo: started")
  rtde_set_watchdog("input_int_register_{IN_ALIVE}", {backstop_hz!r}, "stop")
  N = {ring}
{bufs}
  bf = {zeros_i}
  session = -1
  received = -1
  f = 0.0
  rate = 1.0
  state = 1
  underruns = 0
  minfill = N
  arc = False
  alive = read_input_integer_register({IN_ALIVE})
  quiet = 0
  tripped = False
  {arc_set("False")}
  write_output_integer_register({OUT_WATCHDOG}, 0)
  write_output_integer_register({OUT_SESSION}, session)
  write_output_integer_register({OUT_RECEIVED}, -1)
  write_output_integer_register({OUT_EXECUTED}, 0)
  write_output_integer_register({OUT_UNDERRUNS}, 0)
  write_output_integer_register({OUT_MIN_FILL}, minfill)
  write_output_integer_register({OUT_STATUS}, 1)
  while True:
    a_in = read_input_integer_register({IN_ALIVE})
    if a_in != alive:
      alive = a_in
      quiet = 0
    else:
      quiet = quiet + 1
    end
    if quiet >= {wd_cycles} and not tripped:
      # the PC is gone: arc off and stop in this same cycle
      tripped = True
      {arc_set("False")}
      arc = False
      write_output_integer_register({OUT_WATCHDOG}, 1)
      textmsg("weldcell servo: PC watchdog, no data for {1.0 / watchdog_hz:g} s; arc off, stopping")
      if state == 2:
        state = 3
      elif state < 4:
        state = 4
      end
      write_output_integer_register({OUT_STATUS}, state)
    end
    if tripped and state >= 4:
      halt
    end
    s_in = read_input_integer_register({IN_SESSION})
    if s_in != session and (state == 1 or state >= 4) and read_input_integer_register({IN_NEWEST}) == -1:
      session = s_in
      received = -1
      f = 0.0
      rate = 1.0
      state = 1
      underruns = 0
      minfill = N
      write_output_integer_register({OUT_MIN_FILL}, minfill)
      write_output_integer_register({OUT_RECEIVED}, -1)
      write_output_integer_register({OUT_EXECUTED}, 0)
      write_output_integer_register({OUT_UNDERRUNS}, 0)
      write_output_float_register({OUT_POSITION}, 0.0)
      write_output_integer_register({OUT_STATUS}, 1)
      write_output_integer_register({OUT_SESSION}, session)
    end
    if s_in == session and state < 4:
      newest = read_input_integer_register({IN_NEWEST})
      if newest - received > {SLOTS}:
        write_output_integer_register({OUT_STATUS}, -1)
        {arc_set("False")}
        textmsg("weldcell servo: set-points lost (the stream overran the register window)")
        halt
      end
      while received < newest:
        received = received + 1
        k = received % N
        r = {FIRST_DOUBLE} + 6 * (received % {SLOTS})
{copy}
        bf[k] = read_input_integer_register({IN_FLAGS} + received % {SLOTS})
      end
      write_output_integer_register({OUT_RECEIVED}, received)
    end
    cmd = read_input_integer_register({IN_COMMAND})
    last = read_input_integer_register({IN_LAST})
    if state == 1 and cmd == 1 and received >= 0:
      state = 2
    end
    if cmd == 2 and (state == 1 or state == 2):
      {arc_set("False")}
      arc = False
      if state == 1:
        state = 4
        write_output_integer_register({OUT_STATUS}, 4)
      else:
        state = 3
      end
    end
    if state == 2 or state == 3:
      if state == 3:
        rate = rate - {dec!r}
        if rate < 0:
          rate = 0.0
        end
      end
      nf = f + rate
      if last >= 0 and nf > last:
        nf = last * 1.0
      end
      if nf > received:
        underruns = underruns + 1
        write_output_integer_register({OUT_UNDERRUNS}, underruns)
        nf = f
        if arc and quiet >= {uq_cycles}:
          # set-points ran out and the PC is silent: the torch stands still, so the arc goes off
          # in this cycle (the PC watchdog would come later)
          tripped = True
          {arc_set("False")}
          arc = False
          write_output_integer_register({OUT_WATCHDOG}, 1)
          textmsg("weldcell servo: PC watchdog, set-points ran out with the arc on; arc off, stopped")
          state = 4
        end
      end
      i0 = floor(nf)
      if received - i0 < minfill and (last < 0 or received < last):
        minfill = received - i0
        write_output_integer_register({OUT_MIN_FILL}, minfill)
      end
      a = nf - i0
      k0 = i0 % N
      k1 = k0
      if a > 0:
        k1 = (i0 + 1) % N
      end
      if state == 2 and (bf[k0] == 1) != arc:
        arc = not arc
        {arc_set("arc")}
      end
      f = nf
      write_output_float_register({OUT_POSITION}, f)
      write_output_integer_register({OUT_EXECUTED}, i0)
      servoj([{interp}], 0, 0, {cycle!r}, {lookahead_time!r}, {gain!r})
      if last >= 0 and f >= last:
        state = 5
      elif state == 3 and rate <= 0:
        state = 4
      end
      write_output_integer_register({OUT_STATUS}, state)
    else:
      sync()
    end
  end
end
"""
