"""The SQLite writer runs on the event loop (store/_sqlite_writer.py): waiting for another
connection's write lock leaves the loop free, the WAL is checkpointed off the loop, and a
FULL-synchronous commit runs in a worker thread; what each write stored is all there."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import pytest

from session_tree.models import NewNode, NodeKind
from session_tree.store import Store, _database
from session_tree.store._sqlite_writer import CHECKPOINT_EVERY_COMMITS

pytestmark = pytest.mark.anyio


async def test_a_write_waits_for_another_connections_lock_without_holding_the_loop_or_reads(
    db_path: Path,
) -> None:
    async with Store.open(db_path) as store:
        await store.sessions.create("first")
        with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")  # another process's turn, say
            ticks = 0
            created = anyio.Event()

            async def create() -> None:
                await store.sessions.create("second")
                created.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(create)
                # The loop goes on while the write waits: it ticks, and the write has not landed.
                while ticks < 20:
                    await anyio.sleep(0.005)
                    ticks += 1
                assert not created.is_set()
                # A lookup by key does not queue behind the waiting write: the reader answers.
                with anyio.fail_after(1):
                    assert (await store.sessions.get("first")).name == "first"
                other.execute("COMMIT")
                with anyio.fail_after(5):
                    await created.wait()
        assert [s.name for s in await store.sessions.all()] == ["first", "second"]


async def test_a_write_gives_up_on_a_lock_held_past_the_busy_timeout(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_database, "BUSY_TIMEOUT_MS", 200)
    async with Store.open(db_path) as store:
        with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            with anyio.fail_after(5), pytest.raises(sqlite3.OperationalError, match="locked"):
                await store.sessions.create("waits")
            other.execute("ROLLBACK")
        # Nothing half-done: the connection is usable and the next write lands.
        await store.sessions.create("after")
        assert [s.name for s in await store.sessions.all()] == ["after"]


async def test_the_wal_is_checkpointed_as_commits_go_by(db_path: Path) -> None:
    async with Store.open(db_path) as store:
        session = await store.sessions.create("main")
        head = session.head_id
        wal = Path(f"{db_path}-wal")
        sizes = []
        for round_ in range(5):
            for i in range(CHECKPOINT_EVERY_COMMITS):
                head = (await store.nodes.append(head, _text(f"{round_}-{i} " + "x" * 2000))).id
            sizes.append((await anyio.Path(wal).stat()).st_size)
        assert len(await store.nodes.path(head)) == 5 * CHECKPOINT_EVERY_COMMITS + 1
    # Without checkpoints the WAL holds every commit's pages: it would grow by the first
    # round's size each round. Checkpointed, it is reused from its start.
    assert sizes[-1] < 1.5 * sizes[0], sizes


async def test_a_full_synchronous_commit_runs_off_the_loop(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under FULL every commit waits for fsync: that wait is a worker thread's."""
    threads: set[str] = set()
    execute = sqlite3.Connection.execute

    class Watched(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "COMMIT":
                threads.add(threading.current_thread().name)
            return execute(self, sql, *args)

    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real_connect(*args, factory=Watched, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    async with Store.open(db_path, synchronous="FULL") as store:
        await store.sessions.create("main")
        assert [s.name for s in await store.sessions.all()] == ["main"]
    assert threads
    assert threading.main_thread().name not in threads


def _text(text: str) -> NewNode:
    return NewNode(kind=NodeKind.TEXT, data={"text": text})
