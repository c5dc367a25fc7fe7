"""A turn's writes: begin, record, finish and end_early, each one transaction."""

from __future__ import annotations

import pytest

from session_tree.errors import SessionBusy, SessionNotFound
from session_tree.models import NewNode, NodeKind, SessionStatus, StreamStatus, Usage
from session_tree.store import Store

pytestmark = pytest.mark.anyio


def prompt(text: str) -> NewNode:
    return NewNode(kind=NodeKind.USER, data={"text": text})


def reply(text: str) -> NewNode:
    return NewNode(kind=NodeKind.TEXT, data={"text": text}, message_uuid=f"uuid-{text}")


def summary() -> NewNode:
    return NewNode(kind=NodeKind.SUMMARY, data={"claude_session_id": "c-1"})


async def test_begin_writes_prompt_stream_and_first_event_and_marks_the_session_running(
    store: Store,
) -> None:
    session = await store.sessions.create("main")

    start = await store.turns.begin("main", prompt("q1"))

    assert start.prompt_node.parent_id == session.head_id
    assert start.stream.prompt_node_id == start.prompt_node.id
    assert start.stream.status is StreamStatus.RUNNING
    events = await store.streams.read(start.stream.id)
    assert [(e.seq, e.kind, e.data) for e in events] == [
        (0, "turn_start", {"prompt_node_id": start.prompt_node.id})
    ]
    assert (await store.sessions.get("main")).status is SessionStatus.RUNNING


async def test_begin_refuses_a_session_with_a_turn_running_and_writes_nothing(
    store: Store,
) -> None:
    await store.sessions.create("main")
    first = await store.turns.begin("main", prompt("q1"))
    nodes_before = (await store.nodes.tree(first.prompt_node.tree_id)).nodes

    with pytest.raises(SessionBusy) as caught:
        await store.turns.begin("main", prompt("q2"))

    assert caught.value.stream_id == first.stream.id
    assert (await store.nodes.tree(first.prompt_node.tree_id)).nodes == nodes_before
    assert [s.id for s in await store.streams.recent("main")] == [first.stream.id]


async def test_begin_on_an_unknown_session_names_the_known_ones(store: Store) -> None:
    await store.sessions.create("alpha")
    with pytest.raises(SessionNotFound, match="alpha"):
        await store.turns.begin("beta", prompt("q"))


async def test_record_chains_nodes_and_tags_their_events(store: Store) -> None:
    await store.sessions.create("main")
    start = await store.turns.begin("main", prompt("q1"))

    nodes = await store.turns.record(
        start.stream.id,
        start.prompt_node.id,
        [
            ("text_delta", {"text": "a"}, None),
            ("text", {"text": "a1"}, reply("a1")),
            ("thinking", {"thinking": "hm"}, NewNode(kind=NodeKind.THINKING, data={"t": "hm"})),
        ],
    )

    assert [n.parent_id for n in nodes] == [start.prompt_node.id, nodes[0].id]
    events = await store.streams.read(start.stream.id, from_seq=1)
    assert [(e.seq, e.kind, e.data.get("node_id")) for e in events] == [
        (1, "text_delta", None),
        (2, "text", nodes[0].id),
        (3, "thinking", nodes[1].id),
    ]


async def test_finish_moves_head_adds_usage_and_completes_together(store: Store) -> None:
    await store.sessions.create("main")
    start = await store.turns.begin("main", prompt("q1"))
    (answer,) = await store.turns.record(
        start.stream.id, start.prompt_node.id, [("text", {"text": "a1"}, reply("a1"))]
    )

    end = await store.turns.finish(
        start.stream.id,
        parent_id=answer.id,
        summary=summary(),
        usage=Usage(input_tokens=3, output_tokens=4, cost_usd=0.5),
        end={"head_moved": True},
        claude_session_id="c-1",
    )

    assert end.summary_node.parent_id == answer.id
    assert end.stream.status is StreamStatus.COMPLETED
    session = await store.sessions.get("main")
    assert session.head_id == end.summary_node.id
    assert session.claude_session_id == "c-1"
    assert session.status is SessionStatus.IDLE
    assert session.usage.output_tokens == 4
    last = (await store.streams.read(start.stream.id))[-1]
    assert (last.kind, last.data) == (
        "turn_end",
        {"head_moved": True, "summary_node_id": end.summary_node.id},
    )


async def test_finish_with_an_error_fails_the_stream_and_keeps_the_head(store: Store) -> None:
    session = await store.sessions.create("main")
    start = await store.turns.begin("main", prompt("q1"))

    end = await store.turns.finish(
        start.stream.id,
        parent_id=start.prompt_node.id,
        summary=summary(),
        usage=Usage(input_tokens=1),
        end={"head_moved": False},
        error="the model said no",
    )

    assert end.stream.status is StreamStatus.FAILED
    assert end.stream.error == "the model said no"
    after = await store.sessions.get("main")
    assert after.head_id == session.head_id
    assert after.usage.input_tokens == 1
    assert after.status is SessionStatus.IDLE


async def test_end_early_writes_once_and_frees_the_session(store: Store) -> None:
    session = await store.sessions.create("main")
    start = await store.turns.begin("main", prompt("q1"))

    ended = await store.turns.end_early(
        start.stream.id, StreamStatus.INTERRUPTED, "stopped", ("interrupted", {"reason": "stopped"})
    )
    again = await store.turns.end_early(
        start.stream.id, StreamStatus.FAILED, "late", ("error", {"message": "late"})
    )

    assert ended is not None
    assert ended.status is StreamStatus.INTERRUPTED
    assert again is None
    kinds = [e.kind for e in await store.streams.read(start.stream.id)]
    assert kinds == ["turn_start", "interrupted"]
    after = await store.sessions.get("main")
    assert (after.head_id, after.status) == (session.head_id, SessionStatus.IDLE)
    # The session takes its next turn.
    await store.turns.begin("main", prompt("q2"))


async def test_a_restart_interrupts_the_turn_and_frees_its_session(store: Store) -> None:
    await store.sessions.create("main")
    start = await store.turns.begin("main", prompt("q1"))

    ended = await store.streams.end_all_active("server restarted")

    assert [s.id for s in ended] == [start.stream.id]
    assert (await store.sessions.get("main")).status is SessionStatus.IDLE
