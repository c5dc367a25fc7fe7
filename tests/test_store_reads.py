"""Reads see every write committed before them, however many tasks share the store.

The soak found a read that did not: one task's query, executed but not yet
fetched, held a read transaction open on the shared reader connection, and
another task's query on that connection then saw the database as it was before
a commit that had already returned (a stream "not found" right after it was
created; an approval that expired unseen).
"""

from __future__ import annotations

import anyio
import pytest

from session_tree.store import Reads, Store

pytestmark = pytest.mark.anyio

ROUNDS = 60
WRITERS = 4


async def test_a_row_is_readable_as_soon_as_its_write_returns(store: Store) -> None:
    await store.sessions.create("main")
    for index in range(30):
        await store.streams.create("main")
        await store.approvals.create("main", tool_name="Bash", input={"command": f"echo {index}"})
    missed: list[str] = []
    writers_left = WRITERS

    async def write_then_read() -> None:
        for _ in range(ROUNDS):
            stream = await store.streams.create("main")
            approval = await store.approvals.create("main", tool_name="Write", input={})
            # The list reads running beside us must not hide what we just committed.
            try:
                await store.streams.get(stream.id)
            except Exception as exc:
                missed.append(f"stream {stream.id}: {exc}")
            try:
                await store.approvals.get(approval.id)
            except Exception as exc:
                missed.append(f"approval {approval.id}: {exc}")
            if approval.id not in {a.id for a in await store.approvals.pending("main")}:
                missed.append(f"approval {approval.id} not pending")
        nonlocal writers_left
        writers_left -= 1

    async def keep_listing() -> None:
        while writers_left:
            await store.streams.recent("main")
            await store.approvals.history("main")
            await store.sessions.all()

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(keep_listing)
            for _ in range(WRITERS):
                tg.start_soon(write_then_read)
    assert missed == []


async def test_a_snapshot_sees_one_state_and_the_next_read_sees_the_new_one(store: Store) -> None:
    await store.sessions.create("main")

    async def streams(db: Reads) -> int:
        row = await db.one("SELECT count(*) FROM streams")
        assert row is not None
        return int(row[0])

    async with store.db.snapshot() as snapshot:
        before = await streams(snapshot)
        await store.streams.create("main")  # committed on the writer meanwhile
        during = await streams(snapshot)
    after = await streams(store.db)
    assert (before, during, after) == (0, 0, 1)
