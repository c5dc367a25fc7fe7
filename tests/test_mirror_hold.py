"""While a turn runs, the mirror holds what the SDK appends for the turn's own writes.

The SDK awaits its mirror flush before it yields a turn's result; a write of
its own there would sit between the result and the turn's end (issue 20: the
server's own cost per turn). Held, the entries reach the database in the
transaction that records the turn, and nothing held is ever dropped: a write
that fails leaves them held, and the turn's release writes what is left.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from claude_agent_sdk.types import SessionKey, SessionStoreEntry

from session_tree.agents import MirrorSessionStore
from session_tree.errors import SessionTreeError
from session_tree.models import NewNode, NodeKind, Usage
from session_tree.store import Store

pytestmark = pytest.mark.anyio

KEY = cast(SessionKey, {"project_key": "p", "session_id": "s"})
ENTRIES = [
    cast(SessionStoreEntry, {"type": "user", "uuid": "u1", "sessionId": "s"}),
    cast(SessionStoreEntry, {"type": "assistant", "uuid": "u2", "sessionId": "s"}),
]
USAGE = Usage(input_tokens=1, output_tokens=1, cost_usd=0.01, turns=1)
SUMMARY = NewNode(kind=NodeKind.SUMMARY, data={"claude_session_id": "c-1"})


async def loaded(mirror: MirrorSessionStore) -> list[dict[str, Any]] | None:
    entries = await mirror.load(KEY)
    return None if entries is None else [dict(entry) for entry in entries]


async def test_appends_wait_for_the_turns_end_and_land_with_it(store: Store) -> None:
    mirror = MirrorSessionStore(store.transcripts)
    await store.sessions.create("main")
    start = await store.turns.begin("main", NewNode(kind=NodeKind.USER, data={"text": "hi"}))
    mirror.hold()

    await mirror.append(KEY, ENTRIES)
    assert await loaded(mirror) is None  # held: nothing written yet

    with mirror.taken() as transcripts:
        await store.turns.finish(
            start.stream.id,
            parent_id=start.prompt_node.id,
            summary=SUMMARY,
            usage=USAGE,
            end={},
            claude_session_id="c-1",
            transcripts=transcripts,
        )
    assert await loaded(mirror) == ENTRIES
    # The summary sidecar was folded in the same write, as a direct append folds it.
    (summary,) = await mirror.list_session_summaries("p")
    assert summary["session_id"] == "s"
    await mirror.release()  # nothing left: writes nothing, raises nothing
    assert await loaded(mirror) == ENTRIES


async def test_a_record_takes_what_is_held_too(store: Store) -> None:
    mirror = MirrorSessionStore(store.transcripts)
    await store.sessions.create("main")
    start = await store.turns.begin("main", NewNode(kind=NodeKind.USER, data={"text": "hi"}))
    mirror.hold()
    await mirror.append(KEY, ENTRIES[:1])

    with mirror.taken() as transcripts:
        await store.turns.record(
            start.stream.id,
            start.prompt_node.id,
            [("text", {}, NewNode(kind=NodeKind.TEXT, data={"text": "a"}))],
            transcripts=transcripts,
        )

    assert await loaded(mirror) == ENTRIES[:1]


async def test_a_failed_write_keeps_them_held_and_release_writes_them(store: Store) -> None:
    mirror = MirrorSessionStore(store.transcripts)
    mirror.hold()
    await mirror.append(KEY, ENTRIES)

    with pytest.raises(SessionTreeError), mirror.taken() as transcripts:
        # No such stream: the transaction fails, and with it the entries' write.
        await store.turns.finish(
            999,
            parent_id=1,
            summary=SUMMARY,
            usage=USAGE,
            end={},
            transcripts=transcripts,
        )
    assert await loaded(mirror) is None

    await mirror.release()
    assert await loaded(mirror) == ENTRIES


async def test_a_turn_that_starts_before_the_last_let_go_keeps_holding(store: Store) -> None:
    mirror = MirrorSessionStore(store.transcripts)
    mirror.hold()  # the turn that ends
    mirror.hold()  # the next, started as soon as the last one's end was recorded
    await mirror.release()

    await mirror.append(KEY, ENTRIES)
    assert await loaded(mirror) is None  # still held, for the running turn

    await mirror.release()
    assert await loaded(mirror) == ENTRIES
    await mirror.append(KEY, [*ENTRIES, cast(SessionStoreEntry, {"type": "x", "uuid": "u3"})])
    assert len(await loaded(mirror) or []) == 3  # no turn holds: written at once


async def test_a_release_the_database_refuses_is_logged_not_raised(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    mirror = MirrorSessionStore(store.transcripts)
    mirror.hold()
    await mirror.append(KEY, ENTRIES)
    await store.aclose()

    with caplog.at_level(logging.ERROR, logger="session_tree.child"):
        await mirror.release()

    assert "could not mirror 1 transcript appends" in caplog.text
