"""The lifecycles kept in memory: a running turn and a child process move only by their tables."""

from __future__ import annotations

import pytest

from session_tree.agents import ChildState
from session_tree.agents._child import _MOVES as CHILD_MOVES
from session_tree.errors import InvalidTransition
from session_tree.service import RunningTurn, TurnState


def test_a_turn_asked_to_stop_keeps_the_first_reason_and_ends_once() -> None:
    turn = RunningTurn(stream_id=7, session="main")
    turn.move(TurnState.RUNNING)

    turn.stop("the parent denied Write and stopped the turn")
    turn.stop("interrupted by the parent")
    turn.end()

    assert turn.state is TurnState.ENDED
    assert turn.why_stopped == "the parent denied Write and stopped the turn"
    assert turn.done.is_set()
    assert turn.settled.is_set()
    turn.stop("too late")  # an ended turn is not stopped again
    assert turn.state is TurnState.ENDED


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (TurnState.ENDED, TurnState.RUNNING),
        (TurnState.STOPPING, TurnState.RUNNING),
        (TurnState.RUNNING, TurnState.STARTING),
    ],
)
def test_a_turn_cannot_move_back(start: TurnState, target: TurnState) -> None:
    turn = RunningTurn(stream_id=1, session="main", state=start)
    with pytest.raises(InvalidTransition, match=f"turn 1 cannot go from {start} to {target}"):
        turn.move(target)


def test_a_closed_child_never_comes_back() -> None:
    assert CHILD_MOVES[ChildState.CLOSED] == frozenset()
    assert all(ChildState.CLOSED in moves for state, moves in CHILD_MOVES.items() if moves)
