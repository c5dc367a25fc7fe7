"""The branching node store: trees, sessions, streams, approvals."""

from __future__ import annotations

import anyio
import pytest

from session_tree.errors import (
    ApprovalAlreadyDecided,
    ApprovalNotFound,
    InvalidArgument,
    InvalidTransition,
    NodeNotFound,
    SessionExists,
    SessionNotFound,
    StreamNotFound,
)
from session_tree.models import (
    ApprovalStatus,
    NewNode,
    NodeKind,
    SessionConfig,
    SessionStatus,
    StreamStatus,
    Usage,
)
from session_tree.store import Store

pytestmark = pytest.mark.anyio


def user(text: str, *, ephemeral: bool = False) -> NewNode:
    return NewNode(kind=NodeKind.USER, data={"text": text}, ephemeral=ephemeral)


def reply(text: str, *, ephemeral: bool = False) -> NewNode:
    return NewNode(
        kind=NodeKind.TEXT, data={"text": text}, ephemeral=ephemeral, message_uuid=f"uuid-{text}"
    )


async def test_path_runs_from_root_to_node_in_order(store: Store) -> None:
    session = await store.sessions.create("main")
    chain = await store.nodes.append_chain(session.head_id, [user("q1"), reply("a1"), user("q2")])

    path = await store.nodes.path(chain[-1].id)

    assert [n.id for n in path] == [session.head_id, *[n.id for n in chain]]
    assert [n.depth for n in path] == [0, 1, 2, 3]
    assert path[2].message_uuid == "uuid-a1"


async def test_path_from_a_start_node_stops_there(store: Store) -> None:
    session = await store.sessions.create("main")
    chain = await store.nodes.append_chain(session.head_id, [user("q1"), reply("a1"), user("q2")])

    path = await store.nodes.path(chain[2].id, start=chain[1].id)

    assert [n.id for n in path] == [chain[1].id, chain[2].id]


async def test_path_with_a_start_that_is_not_an_ancestor_is_refused(store: Store) -> None:
    session = await store.sessions.create("main")
    a = await store.nodes.append(session.head_id, user("a"))
    b = await store.nodes.append(session.head_id, user("b"))

    with pytest.raises(InvalidArgument, match=f"Node {a.id} is not an ancestor of node {b.id}"):
        await store.nodes.path(b.id, start=a.id)
    with pytest.raises(NodeNotFound):
        await store.nodes.path(b.id, start=b.id + 100)


async def test_fork_shares_nodes_and_branches_independently(store: Store) -> None:
    main = await store.sessions.create("main", SessionConfig(model="m1"))
    q1 = await store.nodes.append(main.head_id, user("q1"))
    await store.sessions.set_head("main", q1.id)

    fork = await store.sessions.fork("main", "exp")
    assert fork.head_id == q1.id
    assert fork.tree_id == main.tree_id
    assert fork.forked_from == "main"
    assert fork.config.model == "m1"

    left = await store.nodes.append(q1.id, reply("left"))
    right = await store.nodes.append(q1.id, reply("right"))
    await store.sessions.set_head("main", left.id)
    await store.sessions.set_head("exp", right.id)

    children = await store.nodes.children(q1.id)
    assert [c.id for c in children] == [left.id, right.id]
    view = await store.nodes.tree(main.tree_id)
    assert view.heads == {"exp": right.id, "main": left.id}
    assert {n.preview for n in view.nodes} >= {"q1", "left", "right"}


async def test_fork_at_an_earlier_node(store: Store) -> None:
    main = await store.sessions.create("main")
    chain = await store.nodes.append_chain(main.head_id, [user("q1"), reply("a1"), user("q2")])
    await store.sessions.set_head("main", chain[-1].id)

    fork = await store.sessions.fork("main", "early", at=chain[0].id)

    assert fork.head_id == chain[0].id
    assert fork.fork_node_id == chain[0].id


async def test_fork_at_a_node_of_another_tree_is_refused(store: Store) -> None:
    await store.sessions.create("a")
    b = await store.sessions.create("b")

    with pytest.raises(InvalidArgument, match="not in the tree"):
        await store.sessions.fork("a", "c", at=b.head_id)
    assert await store.sessions.names() == ["a", "b"]


async def test_duplicate_session_name_is_a_clear_error(store: Store) -> None:
    await store.sessions.create("main")

    with pytest.raises(SessionExists, match="already exists"):
        await store.sessions.create("main")
    with pytest.raises(SessionExists):
        await store.sessions.fork("main", "main")
    assert await store.sessions.names() == ["main"]


async def test_unknown_ids_raise_typed_not_found_errors(store: Store) -> None:
    await store.sessions.create("main")

    with pytest.raises(SessionNotFound, match="Sessions that exist: main"):
        await store.sessions.get("nope")
    with pytest.raises(NodeNotFound):
        await store.nodes.get(999)
    with pytest.raises(NodeNotFound):
        await store.nodes.path(999)
    with pytest.raises(NodeNotFound):
        await store.nodes.append(999, user("x"))
    with pytest.raises(NodeNotFound):
        await store.sessions.fork("main", "f", at=999)
    with pytest.raises(StreamNotFound):
        await store.streams.read(999)
    with pytest.raises(StreamNotFound):
        await store.streams.append(999, "text")
    with pytest.raises(ApprovalNotFound):
        await store.approvals.get(999)
    with pytest.raises(SessionNotFound):
        await store.streams.create("nope")


async def test_session_status_moves_only_along_legal_transitions(store: Store) -> None:
    await store.sessions.create("main")

    running = await store.sessions.set_status("main", SessionStatus.RUNNING)
    assert running.status is SessionStatus.RUNNING
    idle = await store.sessions.set_status("main", SessionStatus.IDLE)
    assert idle.status is SessionStatus.IDLE


async def test_usage_accumulates(store: Store) -> None:
    await store.sessions.create("main")
    await store.sessions.add_usage(
        "main", Usage(input_tokens=10, output_tokens=5, cost_usd=0.25, turns=1)
    )
    session = await store.sessions.add_usage("main", Usage(input_tokens=1, cost_usd=0.5, turns=1))

    assert session.usage == Usage(input_tokens=11, output_tokens=5, cost_usd=0.75, turns=2)


async def test_events_are_numbered_without_gaps(store: Store) -> None:
    await store.sessions.create("main")
    stream = await store.streams.create("main")

    first = await store.streams.append(stream.id, "status", {"s": "start"})
    batch = await store.streams.append_many(
        stream.id, [("text_delta", {"t": str(i)}) for i in range(5)]
    )

    assert first.seq == 0
    assert [e.seq for e in batch] == [1, 2, 3, 4, 5]
    events = await store.streams.read(stream.id, from_seq=2, limit=2)
    assert [(e.seq, e.data) for e in events] == [(2, {"t": "1"}), (3, {"t": "2"})]
    assert (await store.streams.get(stream.id)).last_seq == 5


async def test_read_limit_out_of_range_is_refused(store: Store) -> None:
    await store.sessions.create("main")
    stream = await store.streams.create("main")

    with pytest.raises(InvalidArgument, match="limit"):
        await store.streams.read(stream.id, limit=0)


async def test_stream_status_cannot_leave_a_terminal_state(store: Store) -> None:
    await store.sessions.create("main")
    stream = await store.streams.create("main")
    await store.streams.set_status(stream.id, StreamStatus.AWAITING_PERMISSION)
    await store.streams.set_status(stream.id, StreamStatus.RUNNING)
    done = await store.streams.set_status(stream.id, StreamStatus.COMPLETED)
    assert done.status is StreamStatus.COMPLETED

    with pytest.raises(InvalidTransition, match="completed to running"):
        await store.streams.set_status(stream.id, StreamStatus.RUNNING)


async def test_wait_returns_when_an_event_arrives(store: Store) -> None:
    await store.sessions.create("main")
    stream = await store.streams.create("main")
    received: list[int] = []

    async def poller() -> None:
        events, _ = await store.streams.wait(stream.id, from_seq=0, timeout=10)
        received.extend(e.seq for e in events)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(poller)
            await store.streams.append(stream.id, "text", {"t": "hi"})

    assert received == [0]


async def test_wait_returns_empty_after_its_timeout(store: Store) -> None:
    await store.sessions.create("main")
    stream = await store.streams.create("main")

    events, current = await store.streams.wait(stream.id, from_seq=0, timeout=0.05)

    assert events == []
    assert current.status is StreamStatus.RUNNING


async def test_wait_on_an_ended_stream_returns_at_once(store: Store) -> None:
    await store.sessions.create("main")
    stream = await store.streams.create("main")
    await store.streams.set_status(stream.id, StreamStatus.FAILED, error="boom")

    with anyio.fail_after(1):
        events, current = await store.streams.wait(stream.id, from_seq=0, timeout=30)

    assert events == []
    assert current.status is StreamStatus.FAILED
    assert current.error == "boom"


async def test_end_all_active_interrupts_running_streams(store: Store) -> None:
    await store.sessions.create("main")
    running = await store.streams.create("main")
    done = await store.streams.create("main")
    await store.streams.set_status(done.id, StreamStatus.COMPLETED)

    ended = await store.streams.end_all_active("server restarted")

    assert [s.id for s in ended] == [running.id]
    assert ended[0].status is StreamStatus.INTERRUPTED
    assert ended[0].error == "server restarted"
    assert (await store.streams.get(done.id)).status is StreamStatus.COMPLETED


async def test_an_approval_is_decided_exactly_once(store: Store) -> None:
    await store.sessions.create("main")
    approval = await store.approvals.create(
        "main", tool_name="Write", input={"file_path": "/tmp/x"}, tool_use_id="toolu_1"
    )
    assert [a.id for a in await store.approvals.pending()] == [approval.id]

    allowed = await store.approvals.decide(
        approval.id, ApprovalStatus.ALLOWED, decision={"behavior": "allow"}, decided_by="parent"
    )
    assert allowed.status is ApprovalStatus.ALLOWED
    assert allowed.decision == {"behavior": "allow"}

    with pytest.raises(ApprovalAlreadyDecided, match="already allowed"):
        await store.approvals.decide(approval.id, ApprovalStatus.DENIED)
    assert (await store.approvals.get(approval.id)).status is ApprovalStatus.ALLOWED
    assert await store.approvals.pending() == []


async def test_concurrent_decisions_have_one_winner(store: Store) -> None:
    await store.sessions.create("main")
    approval = await store.approvals.create("main", tool_name="Bash", input={"command": "ls"})
    outcomes: list[str] = []

    async def decide(status: ApprovalStatus) -> None:
        try:
            await store.approvals.decide(approval.id, status)
            outcomes.append("won")
        except ApprovalAlreadyDecided:
            outcomes.append("lost")

    async with anyio.create_task_group() as tg:
        for status in [ApprovalStatus.ALLOWED, ApprovalStatus.DENIED] * 5:
            tg.start_soon(decide, status)

    assert sorted(outcomes) == ["lost"] * 9 + ["won"]


async def test_pending_approvals_filter_by_session_and_expire(store: Store) -> None:
    await store.sessions.create("a")
    await store.sessions.create("b")
    stream = await store.streams.create("a")
    in_a = await store.approvals.create("a", tool_name="Write", input={}, stream_id=stream.id)
    in_b = await store.approvals.create("b", tool_name="Edit", input={})

    assert [x.id for x in await store.approvals.pending("a")] == [in_a.id]

    expired = await store.approvals.expire_pending(stream_id=stream.id, reason="turn interrupted")

    assert [x.id for x in expired] == [in_a.id]
    assert expired[0].status is ApprovalStatus.EXPIRED
    assert expired[0].decision == {"behavior": "deny", "message": "turn interrupted"}
    assert [x.id for x in await store.approvals.pending()] == [in_b.id]


async def test_wait_pending_wakes_on_a_new_request(store: Store) -> None:
    await store.sessions.create("main")
    seen: list[str] = []

    async def waiter() -> None:
        pending = await store.approvals.wait_pending(timeout=10)
        seen.extend(a.tool_name for a in pending)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await store.approvals.create("main", tool_name="Write", input={})

    assert seen == ["Write"]


async def test_delete_removes_only_what_no_other_session_reaches(store: Store) -> None:
    main = await store.sessions.create("main")
    shared = await store.nodes.append(main.head_id, user("shared"))
    await store.sessions.set_head("main", shared.id)
    await store.sessions.fork("main", "exp")
    only_main = await store.nodes.append(shared.id, reply("main-only"))
    only_exp = await store.nodes.append(shared.id, reply("exp-only"))
    await store.sessions.set_head("main", only_main.id)
    await store.sessions.set_head("exp", only_exp.id)
    stream = await store.streams.create("main")
    await store.streams.append(stream.id, "text")

    removed = await store.sessions.delete("main")

    assert removed == 1
    assert [n.id for n in await store.nodes.path(only_exp.id)] == [
        main.head_id,
        shared.id,
        only_exp.id,
    ]
    with pytest.raises(NodeNotFound):
        await store.nodes.get(only_main.id)
    with pytest.raises(StreamNotFound):
        await store.streams.get(stream.id)

    assert await store.sessions.delete("exp") == 3
    assert await store.sessions.all() == []


async def test_sweep_removes_unreachable_ephemeral_nodes_only(store: Store) -> None:
    main = await store.sessions.create("main")
    q = await store.nodes.append(main.head_id, user("q"))
    await store.sessions.set_head("main", q.id)
    aside = await store.nodes.append_chain(
        q.id, [user("aside", ephemeral=True), reply("x", ephemeral=True)]
    )
    running = await store.nodes.append(q.id, user("running", ephemeral=True))

    removed = await store.nodes.sweep_ephemeral(main.tree_id, keep=[running.id])

    assert removed == 2
    for node in aside:
        with pytest.raises(NodeNotFound):
            await store.nodes.get(node.id)
    assert (await store.nodes.get(running.id)).ephemeral
    assert (await store.nodes.get(q.id)).kind is NodeKind.USER


async def test_deep_tree_garbage_collects_in_one_statement(store: Store) -> None:
    main = await store.sessions.create("main")
    deep = await store.nodes.append_chain(main.head_id, [user(str(i)) for i in range(3000)])
    await store.sessions.set_head("main", deep[-1].id)

    assert await store.sessions.delete("main") == 3001


async def test_a_trees_sessions_are_read_without_the_others(store: Store) -> None:
    main = await store.sessions.create("main")
    await store.sessions.fork("main", "fork")
    await store.sessions.create("elsewhere")

    overview = await store.sessions.overview(tree_id=main.tree_id)

    assert [a.session.name for a in overview] == ["main", "fork"]
    assert len(await store.sessions.overview()) == 3
