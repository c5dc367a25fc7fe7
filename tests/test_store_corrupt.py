"""A damaged database file: refused at open in words that say so, and never written again."""

from __future__ import annotations

import logging
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from session_tree.errors import DatabaseCorrupt, NotASessionTreeDatabase
from session_tree.models import NewNode, NodeKind
from session_tree.store import Store
from session_tree.store._database import Database

pytestmark = pytest.mark.anyio

PAGE = 4096


async def build(path: Path, *, sessions: int = 20, nodes: int = 40) -> None:
    """A closed database of several hundred pages (closing folds the WAL into it)."""
    async with Store.open(path) as store:
        for number in range(sessions):
            session = await store.sessions.create(f"s{number}")
            head = session.head_id
            for _ in range(nodes):
                node = await store.nodes.append(
                    head, NewNode(kind=NodeKind.USER, data={"text": "x" * 300})
                )
                head = node.id
            await store.sessions.set_head(f"s{number}", head)
    assert list(files(path)) == [str(path)]  # no WAL left beside it


def root_page(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    return int(row[0])


def scribble(path: Path, page: int) -> None:
    """Random bytes over one whole page (pages count from 1)."""
    with path.open("r+b") as file:
        file.seek((page - 1) * PAGE)
        file.write(random.Random(page).randbytes(PAGE))


def size(path: Path) -> int:
    return os.path.getsize(path)


def contents(path: Path) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def files(path: Path) -> dict[str, bytes]:
    """The bytes of the database and of its WAL, as they are now."""
    found = {}
    for name in (str(path), f"{path}-wal"):
        if os.path.exists(name):
            found[name] = contents(Path(name))
    return found


async def test_random_bytes_in_its_pages_are_refused_at_open(db_path: Path) -> None:
    await build(db_path)
    pages = size(db_path) // PAGE
    for page in range(pages // 3, pages, 17):
        scribble(db_path, page)
    before = contents(db_path)

    with pytest.raises(DatabaseCorrupt) as refused:
        await Store.connect(db_path)

    message = str(refused.value)
    assert f"{db_path} is corrupt (" in message
    assert ".recover" in message
    assert "restore a backup" in message
    assert "a new file" in message
    assert contents(db_path) == before


async def test_a_half_truncated_file_is_called_truncated_not_a_stranger(db_path: Path) -> None:
    await build(db_path)
    os.truncate(db_path, size(db_path) // 2)
    before = contents(db_path)

    with pytest.raises(DatabaseCorrupt, match="is corrupt \\(truncated: ") as refused:
        await Store.connect(db_path)

    assert not isinstance(refused.value, NotASessionTreeDatabase)
    assert contents(db_path) == before


async def test_a_damaged_header_of_our_file_is_corrupt_and_a_strangers_file_is_not_ours(
    tmp_path: Path, db_path: Path
) -> None:
    await build(db_path, sessions=2, nodes=2)
    with db_path.open("r+b") as file:
        file.seek(16)  # the page size: 3 is no power of two
        file.write(b"\x00\x03")
    stranger = tmp_path / "stranger.db"
    stranger.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)

    with pytest.raises(DatabaseCorrupt, match="is corrupt"):
        await Store.connect(db_path)
    with pytest.raises(NotASessionTreeDatabase):
        await Store.connect(stranger)


async def test_damage_found_by_a_read_stops_every_later_write(db_path: Path) -> None:
    await build(db_path)
    async with Store.open(db_path) as store:
        # The check at open passed; now a page goes bad under the running server.
        scribble(db_path, root_page(db_path, "sessions"))

        with pytest.raises(DatabaseCorrupt, match="is corrupt") as failed:
            await store.sessions.all()
        assert "Nothing was stored by this call" in str(failed.value)
        assert store.db.corrupt
        before = files(db_path)

        with pytest.raises(DatabaseCorrupt):
            await store.sessions.create("new")
        with pytest.raises(DatabaseCorrupt):
            await store.sessions.delete("s1")
        with pytest.raises(DatabaseCorrupt):
            await store.streams.create("s2")

        assert files(db_path) == before
        # Reads that do not touch the damaged page go on.
        assert len(await store.streams.recent()) == 0


async def test_damage_found_by_a_write_stops_every_later_write(db_path: Path) -> None:
    await build(db_path)
    # No check at open (budget 0), so the writer has not read the sessions pages yet.
    store = Store(await Database.open(db_path, check_budget_s=0))
    try:
        scribble(db_path, root_page(db_path, "sessions"))

        with pytest.raises(DatabaseCorrupt, match="is corrupt"):
            await store.sessions.create("new")
        before = files(db_path)
        with pytest.raises(DatabaseCorrupt):
            await store.nodes.create_tree()

        assert store.db.corrupt
        assert files(db_path) == before
    finally:
        await store.aclose()


async def test_the_check_at_open_is_bounded_and_an_unfinished_one_lets_the_open_go_on(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await build(db_path, sessions=1, nodes=1)
    with sqlite3.connect(db_path) as conn:  # 50 MB of nodes: a check of some 40 ms
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80000) "
            "INSERT INTO nodes (tree_id, kind, data, depth, created_at) "
            "SELECT 1, 'user', printf('%.600c', 'x'), 1, 0 FROM n"
        )

    with caplog.at_level(logging.WARNING, logger="session_tree"):
        store = Store(await Database.open(db_path, check_budget_s=0.001))
        try:
            assert await store.sessions.names() == ["s0"]
        finally:
            await store.aclose()

    assert "the check at open stopped unfinished" in caplog.text


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="needs the sqlite3 shell")
async def test_the_recovery_the_error_names_gives_a_database_that_opens(
    tmp_path: Path, db_path: Path
) -> None:
    await build(db_path)
    scribble(db_path, root_page(db_path, "nodes_tree"))  # an index page: the rows survive
    with pytest.raises(DatabaseCorrupt):
        await Store.connect(db_path)

    # .recover where the shell has it (Debian's sqlite3 3.40 lacks the sqlite_dbpage
    # table it needs), else .dump, as the error says.
    recovered = tmp_path / "recovered.db"
    recover = subprocess.run(["sqlite3", str(db_path), ".recover"], capture_output=True, timeout=60)
    if recover.returncode != 0:
        recover = subprocess.run(
            ["sqlite3", str(db_path), ".dump"], capture_output=True, check=True, timeout=60
        )
    subprocess.run(["sqlite3", str(recovered)], input=recover.stdout, check=True, timeout=60)

    async with Store.open(recovered) as store:
        assert len(await store.sessions.names()) == 20
        await store.sessions.create("after-recovery")


def test_serve_on_a_corrupt_file_exits_with_one_line_and_no_traceback(
    tmp_path: Path, db_path: Path
) -> None:
    import anyio

    anyio.run(build, db_path)
    os.truncate(db_path, size(db_path) // 2)

    done = subprocess.run(
        [sys.executable, "-m", "session_tree.cli", "serve", "--db", str(db_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "is corrupt (truncated" in lines[0]
    assert "Traceback" not in done.stderr
