"""Server leases: a turn is ended when its server's lease runs out, by any server, once."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from session_tree.models import ApprovalStatus, NewNode, NodeKind, SessionStatus, StreamStatus
from session_tree.store import Holder, Store

HERE = Holder(host="a", pid=1, pid_started="1")
THERE = Holder(host="b", pid=2, pid_started="2")
# A lease that ran out a second before it was taken: expiry without waiting for the clock.
EXPIRED = -1.0

pytestmark = pytest.mark.anyio


def prompt(text: str) -> NewNode:
    return NewNode(kind=NodeKind.USER, data={"text": text})


def nobody_gone(holder: Holder) -> bool:
    return False


def no_legacy(runner: str | None) -> bool:
    return True


async def end_gone(store: Store, own: int | None) -> list[int]:
    ended = await store.leases.end_turns_of_gone(
        "gone", own=own, gone=nobody_gone, legacy_alive=no_legacy
    )
    return [stream.id for stream in ended]


async def test_a_turn_under_a_live_lease_is_left_alone(store: Store) -> None:
    mine = await store.leases.take(HERE, 60)
    theirs = await store.leases.take(THERE, 60)
    await store.sessions.create("main")
    start = await store.turns.begin("main", prompt("q"), server_id=theirs.id)

    assert await end_gone(store, mine.id) == []
    assert (await store.streams.get(start.stream.id)).status is StreamStatus.RUNNING
    assert [lease.id for lease in await store.leases.live()] == [mine.id, theirs.id]


async def test_an_expired_lease_ends_its_turn_its_approvals_and_the_lease(
    store: Store,
) -> None:
    mine = await store.leases.take(HERE, 60)
    theirs = await store.leases.take(THERE, EXPIRED)
    await store.sessions.create("main")
    start = await store.turns.begin("main", prompt("q"), server_id=theirs.id)
    asked = await store.approvals.create(
        "main", tool_name="Write", input={}, stream_id=start.stream.id
    )

    assert await end_gone(store, mine.id) == [start.stream.id]
    stream = await store.streams.get(start.stream.id)
    events = await store.streams.read(start.stream.id)
    assert (stream.status, stream.error) == (StreamStatus.INTERRUPTED, "gone")
    assert events[-1].kind == "interrupted"
    assert [e.seq for e in events] == list(range(len(events)))
    assert (await store.approvals.get(asked.id)).status is ApprovalStatus.EXPIRED
    assert (await store.sessions.get("main")).status is SessionStatus.IDLE
    # A holder that was only stalled learns on its next renewal that its turns are gone.
    assert not await store.leases.renew(theirs.id, 60)
    assert await store.leases.renew(mine.id, 60)
    assert [lease.id for lease in await store.leases.live()] == [mine.id]


async def test_two_servers_ending_the_same_turn_end_it_once(db_path: Path) -> None:
    async with Store.open(db_path) as first, Store.open(db_path) as second:
        theirs = await first.leases.take(THERE, EXPIRED)
        await first.sessions.create("main")
        start = await first.turns.begin("main", prompt("q"), server_id=theirs.id)
        found: list[list[int]] = []

        async def look(store: Store) -> None:
            found.append(await end_gone(store, None))

        async with anyio.create_task_group() as tg:
            tg.start_soon(look, first)
            tg.start_soon(look, second)
        events = await first.streams.read(start.stream.id)

    assert sorted(found) == [[], [start.stream.id]]
    assert [e.kind for e in events].count("interrupted") == 1


async def test_a_holder_known_gone_on_its_host_needs_no_expiry(store: Store) -> None:
    theirs = await store.leases.take(THERE, 60)
    await store.sessions.create("main")
    start = await store.turns.begin("main", prompt("q"), server_id=theirs.id)

    ended = await store.leases.end_turns_of_gone(
        "gone", own=None, gone=lambda holder: holder == THERE, legacy_alive=no_legacy
    )

    assert [s.id for s in ended] == [start.stream.id]
    assert not await store.leases.renew(theirs.id, 60)


async def test_own_turns_and_released_leases(store: Store) -> None:
    mine = await store.leases.take(HERE, EXPIRED)
    await store.sessions.create("main")
    await store.sessions.create("other")
    own = await store.turns.begin("main", prompt("q"), server_id=mine.id)
    theirs = await store.leases.take(THERE, 60)
    left = await store.turns.begin("other", prompt("q"), server_id=theirs.id)
    await store.leases.release(theirs.id)

    # Its own turns are never a server's to end, even past its own expiry; a released
    # lease's turns (a clean stop leaves none, but a write may have failed) are.
    assert await end_gone(store, mine.id) == [left.stream.id]
    assert (await store.streams.get(own.stream.id)).status is StreamStatus.RUNNING
    assert (await store.leases.take(HERE, 60)).id > theirs.id  # ids are never reused
