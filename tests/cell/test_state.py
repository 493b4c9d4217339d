"""Cell state machine transitions and interlock evaluation."""

from __future__ import annotations

import pytest

from weldcell.cell.state import (
    TRANSITIONS,
    CellState,
    CellStateMachine,
    Command,
    InterlockConfig,
    evaluate_interlocks,
)
from weldcell.errors import CellStateError


def test_normal_job_cycle_and_callbacks() -> None:
    seen: list[tuple[CellState, CellState, Command]] = []
    sm = CellStateMachine(on_change=lambda a, b, c: seen.append((a, b, c)))
    assert sm.state is CellState.IDLE
    for cmd, expected in [
        (Command.LOAD, CellState.READY),
        (Command.START, CellState.RUNNING),
        (Command.PAUSE, CellState.PAUSED),
        (Command.RESUME, CellState.RUNNING),
        (Command.FAULT, CellState.FAULT),
        (Command.RESET, CellState.PAUSED),
        (Command.RESUME, CellState.RUNNING),
        (Command.COMPLETE, CellState.READY),
        (Command.UNLOAD, CellState.IDLE),
    ]:
        assert sm.apply(cmd) is expected
    assert len(seen) == 9 and seen[4] == (CellState.RUNNING, CellState.FAULT, Command.FAULT)


def test_commands_not_allowed_raise_with_state_and_alternatives() -> None:
    sm = CellStateMachine()
    with pytest.raises(
        CellStateError, match=r"cannot start while the cell is IDLE; 'start' is allowed in: READY"
    ):
        sm.apply(Command.START)
    with pytest.raises(CellStateError, match="cannot resume while the cell is IDLE"):
        sm.apply(Command.RESUME)
    assert sm.state is CellState.IDLE


@pytest.mark.parametrize("state", list(CellState))
def test_estop_is_allowed_from_every_state(state: CellState) -> None:
    assert TRANSITIONS[(state, Command.ESTOP)] is CellState.ESTOP


def test_estop_reset_goes_to_paused_or_ready() -> None:
    sm = CellStateMachine()
    sm.apply(Command.LOAD)
    sm.apply(Command.START)
    sm.apply(Command.ESTOP)
    with pytest.raises(CellStateError):
        sm.apply(Command.RESUME)
    assert sm.apply(Command.RESET, job_interrupted=False) is CellState.READY
    sm.apply(Command.START)
    sm.apply(Command.ESTOP)
    assert sm.apply(Command.RESET) is CellState.PAUSED


def test_interlocks_from_inputs() -> None:
    cfg = InterlockConfig(door_closed_input=4, estop_ok_input=5, light_curtain_ok_input=None)
    ok = evaluate_interlocks(cfg, [False] * 4 + [True, True])
    assert ok.ok and ok.problems() == []
    bad = evaluate_interlocks(cfg, {4: False, 5: True})
    assert not bad.ok and bad.problems() == ["cell door open"]
    missing = evaluate_interlocks(cfg, [True, True])  # inputs 4, 5 not reported -> unhealthy
    assert missing.problems() == ["e-stop pressed", "cell door open"]
    with pytest.raises(ValueError, match="door_closed_input"):
        InterlockConfig(door_closed_input=99)
