"""A turn's writes return what they wrote, and its end can carry its last records.

The write paths build their results from what they wrote instead of reading
each row back (issue 20: the server's own cost per turn); what they return must
still be exactly what a read finds afterwards.
"""

from __future__ import annotations

import pytest

from session_tree.models import NewNode, NodeKind, SessionStatus, StreamStatus, Usage
from session_tree.store import Store

pytestmark = pytest.mark.anyio


def reply(text: str) -> NewNode:
    return NewNode(kind=NodeKind.TEXT, data={"text": text}, message_uuid=f"uuid-{text}")


SUMMARY = NewNode(kind=NodeKind.SUMMARY, data={"claude_session_id": "c-1"})
USAGE = Usage(input_tokens=5, output_tokens=7, cost_usd=0.25, turns=1)


async def test_begin_and_finish_return_the_rows_a_read_finds(store: Store) -> None:
    await store.sessions.create("main")
    start = await store.turns.begin("main", NewNode(kind=NodeKind.USER, data={"text": "title me"}))

    assert start.session == await store.sessions.get("main")
    assert start.session.title == "title me"
    # (begin's stream is as inserted, before its turn_start event: last_seq -1.)
    assert start.stream.status is (await store.streams.get(start.stream.id)).status
    (node,) = await store.turns.record(
        start.stream.id, start.prompt_node.id, [("text", {}, reply("a"))]
    )
    end = await store.turns.finish(
        start.stream.id,
        parent_id=node.id,
        summary=SUMMARY,
        usage=USAGE,
        end={"usage": USAGE.model_dump()},
        claude_session_id="c-1",
    )

    assert end.session == await store.sessions.get("main")
    assert end.session.status is SessionStatus.IDLE
    assert end.session.head_id == end.summary_node.id
    assert end.session.usage == USAGE
    assert end.stream == await store.streams.get(start.stream.id)
    assert end.stream.status is StreamStatus.COMPLETED
    assert end.recorded == []
    # A later turn's start, whose session already has its title, too.
    again = await store.turns.begin("main", NewNode(kind=NodeKind.USER, data={"text": "next"}))
    assert again.session == await store.sessions.get("main")
    assert again.session.title == "title me"


async def test_a_failed_end_returns_the_stream_as_read_with_its_error(store: Store) -> None:
    session = await store.sessions.create("main")
    start = await store.turns.begin("main", NewNode(kind=NodeKind.USER, data={"text": "q"}))

    end = await store.turns.finish(
        start.stream.id,
        parent_id=start.prompt_node.id,
        summary=SUMMARY,
        usage=USAGE,
        end={},
        error="it broke",
    )

    assert end.stream == await store.streams.get(start.stream.id)
    assert (end.stream.status, end.stream.error) == (StreamStatus.FAILED, "it broke")
    assert end.session == await store.sessions.get("main")
    assert end.session.head_id == session.head_id


async def test_finish_writes_its_records_first_and_puts_the_summary_under_them(
    store: Store,
) -> None:
    await store.sessions.create("main")
    start = await store.turns.begin("main", NewNode(kind=NodeKind.USER, data={"text": "q"}))
    (first,) = await store.turns.record(
        start.stream.id, start.prompt_node.id, [("text", {"text": "a"}, reply("a"))]
    )

    end = await store.turns.finish(
        start.stream.id,
        parent_id=first.id,
        summary=SUMMARY,
        usage=USAGE,
        end={"head_moved": True},
        claude_session_id="c-1",
        records=[("text", {"text": "b"}, reply("b")), ("result", {"subtype": "success"}, None)],
    )

    (last,) = end.recorded
    assert (last.parent_id, last.data, last.message_uuid) == (first.id, {"text": "b"}, "uuid-b")
    assert end.summary_node.parent_id == last.id
    path = await store.nodes.path(end.session.head_id)
    assert [n.id for n in path[-3:]] == [first.id, last.id, end.summary_node.id]
    events = await store.streams.read(start.stream.id)
    assert [(e.seq, e.kind) for e in events] == [
        (0, "turn_start"),
        (1, "text"),
        (2, "text"),
        (3, "result"),
        (4, "turn_end"),
    ]
    assert events[2].data == {"text": "b", "node_id": last.id}
    assert events[4].data == {"head_moved": True, "summary_node_id": end.summary_node.id}
    assert (await store.streams.get(start.stream.id)).last_seq == 4


async def test_events_appended_to_an_unknown_stream_are_refused(store: Store) -> None:
    from session_tree.errors import StreamNotFound

    with pytest.raises(StreamNotFound):
        await store.streams.append(999, "text", {"text": "x"})
