"""A turn this process runs, and its lifecycle.

    STARTING ──> RUNNING ──> ENDED
        │           │          ^
        └─────> STOPPING ──────┘

A turn is STARTING while its child is being got, RUNNING while the child
works, STOPPING once something asked it to stop (the parent's interrupt, a deny
that interrupts, shutdown), and ENDED when its end is recorded. Whether a
session has a turn at all is the database's to say (its active stream); this is
what the one process running it knows besides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import anyio

from ..agents import Child
from ..models import Session, Stream, check_move
from ._turn_digest import TurnDigest


class TurnState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    ENDED = "ended"


_MOVES: dict[TurnState, frozenset[TurnState]] = {
    TurnState.STARTING: frozenset({TurnState.RUNNING, TurnState.STOPPING, TurnState.ENDED}),
    TurnState.RUNNING: frozenset({TurnState.STOPPING, TurnState.ENDED}),
    TurnState.STOPPING: frozenset({TurnState.ENDED}),
    TurnState.ENDED: frozenset(),
}


@dataclass(eq=False)
class RunningTurn:
    stream_id: int
    session: str
    state: TurnState = TurnState.STARTING
    child: Child | None = None
    why_stopped: str = "interrupted by the parent"
    done: anyio.Event = field(default_factory=anyio.Event)
    # Set when the turn ends or first needs a decision from the parent: what a
    # blocking chat waits for, without re-reading the stream on every write.
    settled: anyio.Event = field(default_factory=anyio.Event)
    # True from just before the turn's end is written: from the moment its commit
    # lands, a poller (in this process or another) may see the end before this
    # process's runner has taken the turn off its list, and a parent that then
    # chats at once must find the session free (the runner waits for ``released``).
    finishing: bool = False
    released: anyio.Event = field(default_factory=anyio.Event)
    # The session and stream as a good turn's end wrote them (one transaction, read
    # back in it), and its events as recorded: what a blocking chat's result says,
    # without reading any of them again.
    final: tuple[Session, Stream] | None = None
    digest: TurnDigest = field(default_factory=TurnDigest)

    def move(self, target: TurnState) -> None:
        check_move(f"turn {self.stream_id}", _MOVES, self.state, target)
        self.state = target

    def stop(self, why: str) -> None:
        """Ask the turn to end as interrupted; the first reason given is kept."""
        if self.state in (TurnState.STARTING, TurnState.RUNNING):
            self.why_stopped = why
            self.move(TurnState.STOPPING)

    def end(self) -> None:
        self.move(TurnState.ENDED)
        self.done.set()
        self.settled.set()

    def rearm(self) -> None:
        """Wait for the next settling: a request that comes while the last one is
        being answered wakes the next round."""
        self.settled = anyio.Event()
