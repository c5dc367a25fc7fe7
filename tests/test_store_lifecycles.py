"""Lifecycles in the store: every status write is checked against its table in
models.py, SQL spells no status itself, a running turn's nodes outlive a
sibling's delete, and loopback tokens are compared in constant time."""

from __future__ import annotations

import hmac
import re
from pathlib import Path

import pytest

import session_tree.store
from session_tree.errors import InvalidArgument, InvalidTransition
from session_tree.models import (
    ApprovalStatus,
    NewNode,
    NodeKind,
    SessionStatus,
    StreamStatus,
    Usage,
)
from session_tree.store import Store, _approvals, _sessions

pytestmark = pytest.mark.anyio

STORE_DIR = Path(session_tree.store.__file__).parent
STATUS_VALUES = sorted(
    {s.value for enum in (SessionStatus, StreamStatus, ApprovalStatus) for s in enum}
)
# A status value in quotes: in SQL text ('pending') or as a bare Python string.
STATUS_LITERAL = re.compile("['\"](?:" + "|".join(STATUS_VALUES) + ")['\"]")


def user(text: str, *, ephemeral: bool = False) -> NewNode:
    return NewNode(kind=NodeKind.USER, data={"text": text}, ephemeral=ephemeral)


def reply(text: str, *, ephemeral: bool = False) -> NewNode:
    return NewNode(kind=NodeKind.TEXT, data={"text": text}, ephemeral=ephemeral)


# --- status writes ---------------------------------------------------------------------


async def test_a_running_session_cannot_take_a_second_running_status(store: Store) -> None:
    await store.sessions.create("main")
    await store.sessions.set_status("main", SessionStatus.RUNNING)

    with pytest.raises(InvalidTransition, match="Session 'main' cannot go from running to running"):
        await store.sessions.set_status("main", SessionStatus.RUNNING)

    assert (await store.sessions.get("main")).status is SessionStatus.RUNNING


async def test_an_ended_stream_cannot_run_again(store: Store) -> None:
    await store.sessions.create("main")
    start = await store.turns.begin("main", user("q"))
    await store.streams.set_status(start.stream.id, StreamStatus.INTERRUPTED)

    with pytest.raises(InvalidTransition, match="interrupted to awaiting_permission"):
        await store.streams.set_status(start.stream.id, StreamStatus.AWAITING_PERMISSION)

    assert (await store.streams.get(start.stream.id)).status is StreamStatus.INTERRUPTED


async def test_a_decided_approval_cannot_be_settled_again(store: Store) -> None:
    await store.sessions.create("main")
    approval = await store.approvals.create("main", tool_name="Write", input={})
    allowed = await store.approvals.decide(approval.id, ApprovalStatus.ALLOWED)

    # decide() says "already decided" to callers; the one door it goes through
    # refuses the move itself.
    with pytest.raises(InvalidTransition, match=f"Approval {approval.id} cannot go from allowed"):
        async with store.db.write() as conn:
            await _approvals.settle(
                conn, allowed, ApprovalStatus.DENIED, decision=None, decided_by="x"
            )

    assert (await store.approvals.get(approval.id)).status is ApprovalStatus.ALLOWED


async def test_a_session_status_write_inside_a_transaction_is_checked(store: Store) -> None:
    await store.sessions.create("main")
    await store.turns.begin("main", user("q"))

    with pytest.raises(InvalidTransition, match="running to running"):
        async with store.db.write() as conn:
            await _sessions.update_session(conn, "main", status=SessionStatus.RUNNING)


async def test_ending_a_stream_frees_its_session(store: Store) -> None:
    await store.sessions.create("main")
    start = await store.turns.begin("main", user("q"))
    assert (await store.sessions.get("main")).status is SessionStatus.RUNNING

    await store.streams.set_status(start.stream.id, StreamStatus.FAILED, error="boom")

    assert (await store.sessions.get("main")).status is SessionStatus.IDLE
    await store.turns.begin("main", user("q2"))  # and it takes its next turn


async def test_expiring_approvals_settles_each_pending_one_once(store: Store) -> None:
    await store.sessions.create("main")
    start = await store.turns.begin("main", user("q"))
    first = await store.approvals.create(
        "main", tool_name="Write", input={}, stream_id=start.stream.id
    )
    decided = await store.approvals.create(
        "main", tool_name="Bash", input={}, stream_id=start.stream.id
    )
    await store.approvals.decide(decided.id, ApprovalStatus.DENIED)

    expired = await store.approvals.expire_pending(stream_id=start.stream.id, reason="done")

    assert [a.id for a in expired] == [first.id]
    assert expired[0].status is ApprovalStatus.EXPIRED
    assert expired[0].decision == {"behavior": "deny", "message": "done"}
    assert (await store.approvals.get(decided.id)).status is ApprovalStatus.DENIED
    assert (await store.streams.get(start.stream.id)).status is StreamStatus.RUNNING


def test_the_status_literal_pattern_catches_sql_that_spells_a_status() -> None:
    assert STATUS_LITERAL.search("WHERE status IN ('running', 'awaiting_permission')")
    assert STATUS_LITERAL.search("SET status = 'expired'")
    assert not STATUS_LITERAL.search("decided_by = 'session-tree'")


def test_store_sql_spells_no_status_literal() -> None:
    # Shipped migrations are history and never edited (their partial indexes
    # name 'pending'); every query the store runs renders statuses from the enums.
    sources = [p for p in sorted(STORE_DIR.glob("*.py")) if p.name != "_migrations.py"]
    assert len(sources) >= 8
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if STATUS_LITERAL.search(line)
    ]
    assert found == []


# --- a running turn's nodes -------------------------------------------------------------


async def test_deleting_a_session_keeps_a_sibling_turn_that_is_running(store: Store) -> None:
    a = await store.sessions.create("a")
    first = await store.nodes.append_chain(a.head_id, [user("q0"), reply("a0")])
    await store.sessions.set_head("a", first[-1].id)
    await store.sessions.fork("a", "b")
    start = await store.turns.begin("b", user("q1"))
    before = await store.turns.record(
        start.stream.id, start.prompt_node.id, [("text", {"text": "t1"}, reply("t1"))]
    )

    await store.sessions.delete("a")

    after = await store.turns.record(
        start.stream.id, before[-1].id, [("text", {"text": "t2"}, reply("t2"))]
    )
    end = await store.turns.finish(
        start.stream.id,
        parent_id=after[-1].id,
        summary=NewNode(kind=NodeKind.SUMMARY, data={}),
        usage=Usage(),
        end={},
        claude_session_id="c-b",
    )
    path = [n.id for n in await store.nodes.path(end.session.head_id)]
    assert path == [
        a.head_id,
        *(n.id for n in first),
        start.prompt_node.id,
        *(n.id for n in before),
        *(n.id for n in after),
        end.summary_node.id,
    ]


async def test_a_sweep_keeps_an_ephemeral_turn_that_is_running(store: Store) -> None:
    main = await store.sessions.create("main")
    start = await store.turns.begin("main", user("aside", ephemeral=True))
    (written,) = await store.turns.record(
        start.stream.id,
        start.prompt_node.id,
        [("text", {"text": "x"}, reply("x", ephemeral=True))],
    )

    assert await store.nodes.sweep_ephemeral(main.tree_id) == 0

    assert (await store.nodes.get(written.id)).parent_id == start.prompt_node.id
    await store.turns.end_early(start.stream.id, StreamStatus.FAILED, "gone", ("error", {}))
    assert await store.nodes.sweep_ephemeral(main.tree_id) == 2  # once it ended


async def test_delete_still_collects_what_no_head_or_running_turn_reaches(store: Store) -> None:
    a = await store.sessions.create("a")
    await store.sessions.fork("a", "b")
    done = await store.turns.begin("a", user("q-a"))
    await store.turns.end_early(done.stream.id, StreamStatus.FAILED, "gone", ("error", {}))
    running = await store.turns.begin("b", user("q-b"))

    assert await store.sessions.delete("a") == 1  # a's failed prompt, nothing of b's turn

    assert (await store.nodes.get(running.prompt_node.id)).parent_id == a.head_id


# --- loopback tokens --------------------------------------------------------------------


async def test_a_loopback_token_is_compared_in_constant_time(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.sessions.create("mine")
    token = await store.sessions.loopback_token("mine")
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", compare_digest)

    assert (await store.sessions.by_loopback_token(token)).name == "mine"
    assert compared == [(token.encode(), token.encode())]


async def test_a_token_sharing_only_a_prefix_is_refused(store: Store) -> None:
    await store.sessions.create("mine")
    await store.sessions.create("other")
    token = await store.sessions.loopback_token("mine")
    near = token[:8] + ("A" if token[8] != "A" else "B") + token[9:]
    async with store.db.write() as conn:
        await conn.execute("UPDATE sessions SET loopback_token = ? WHERE name = 'other'", (near,))

    assert (await store.sessions.by_loopback_token(token)).name == "mine"
    assert (await store.sessions.by_loopback_token(near)).name == "other"
    for forged in (token[:8], token + "x", token[:-1], "", "~" * 32):
        with pytest.raises(InvalidArgument, match="loopback_config"):
            await store.sessions.by_loopback_token(forged)


def test_no_query_looks_a_session_up_by_its_whole_token() -> None:
    source = (STORE_DIR / "_sessions.py").read_text()
    assert "WHERE loopback_token = ?" not in source
    assert "hmac.compare_digest(" in source
