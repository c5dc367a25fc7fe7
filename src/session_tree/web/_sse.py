"""Server-sent events: a turn's stream as it grows, and pages' data as it changes.

Each generator waits on the database (woken by a commit of any process on it,
see ``Supervisor.changed``), so nothing is sent until something happened, and
a quiet connection gets a ping now and then to keep proxies from closing it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel
from sse_starlette import ServerSentEvent

from ..service import Supervisor

T = TypeVar("T")

# How often the session list is read again while a page shows it: it sums up every
# session, too much to repeat on each commit.
LIST_EVERY_S = 0.5
# How long one database wait lasts before the loop looks again (and the client is
# checked for having gone, which sse_starlette does between events).
WAIT_S = 10.0


async def stream_events(
    supervisor: Supervisor, stream_id: int, from_seq: int
) -> AsyncIterator[ServerSentEvent]:
    """A turn's events from ``from_seq`` on, each as it is stored; then ``end`` with
    the turn's status and the child's final text."""
    seq = from_seq
    while True:
        events, stream = await supervisor.events(stream_id, seq, timeout=WAIT_S)
        for event in events:
            yield ServerSentEvent(
                event="turn",
                id=str(event.seq),
                data=json.dumps({"seq": event.seq, "kind": event.kind, "data": event.data}),
            )
            seq = event.seq + 1
        if stream.status.terminal and stream.last_seq < seq:
            yield ServerSentEvent(
                event="end",
                data=json.dumps(
                    {
                        "status": stream.status.value,
                        "error": stream.error,
                        "text": await supervisor.final_text(stream_id),
                    }
                ),
            )
            return


async def changes(
    supervisor: Supervisor,
    read: Callable[[], Awaitable[T]],
    render: Callable[[T], str],
    version: Callable[[T], str],
    *,
    every: float | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """``render(read())`` now, and again each time what ``read`` returns changes; each
    event's id is ``version`` of it, so a page rendered from the same data (it says
    which version it shows) can leave itself be. ``every``: see ``Supervisor.changed``."""
    seen: T | None = None
    while True:
        value = await supervisor.changed(read, seen, timeout=WAIT_S, every=every)
        if value is None:
            continue
        seen = value
        yield ServerSentEvent(event="update", id=version(value), data=render(value))


def version_of(rows: Sequence[BaseModel]) -> str:
    """A short digest of what rows hold."""
    text = json.dumps([row.model_dump(mode="json") for row in rows], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
