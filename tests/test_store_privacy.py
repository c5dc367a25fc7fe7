"""The database holds transcripts and loopback tokens: only its owner may read it.

These assert the mode bits themselves, so they prove the same as root (which
ignores modes when it opens a file) as for an ordinary user.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from session_tree.errors import DatabaseUnwritable, NotASessionTreeDatabase
from session_tree.store import Store

pytestmark = pytest.mark.anyio


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def side_files(db: Path) -> list[Path]:
    return [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm")]


@pytest.fixture(params=[0o000, 0o022, 0o277], ids=["umask-000", "umask-022", "umask-277"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    value: int = request.param
    old = os.umask(value)
    try:
        yield value
    finally:
        os.umask(old)


async def test_a_new_database_and_its_wal_and_shm_are_private(tmp_path: Path, umask: int) -> None:
    db = tmp_path / "session-tree.db"

    async with Store.open(db) as store:
        await store.sessions.create("main")  # the WAL and shm exist while it is open
        modes = {path.name: mode(path) for path in (db, *side_files(db))}

    assert modes == dict.fromkeys(
        ["session-tree.db", "session-tree.db-wal", "session-tree.db-shm"], 0o600
    )


async def test_the_directories_it_creates_are_private(tmp_path: Path, umask: int) -> None:
    db = tmp_path / "state" / "session-tree" / "session-tree.db"
    tmp_mode = mode(tmp_path)

    async with Store.open(db):
        pass

    assert mode(tmp_path / "state") == 0o700
    assert mode(tmp_path / "state" / "session-tree") == 0o700
    assert mode(db) == 0o600
    assert mode(tmp_path) == tmp_mode  # a directory it did not create is not its to change


async def test_a_file_left_readable_by_an_earlier_version_is_tightened(db_path: Path) -> None:
    async with Store.open(db_path) as store:
        await store.sessions.create("main")
    # What an earlier version left: 0644 (SQLite's default) for the file and,
    # while another process holds it open, for its WAL and shm.
    other = sqlite3.connect(db_path)
    try:
        other.execute("INSERT INTO trees (created_at) VALUES (0)")
        other.commit()
        for path in (db_path, *side_files(db_path)):
            path.chmod(0o644)

        async with Store.open(db_path) as store:
            assert await store.sessions.names() == ["main"]
            modes = [mode(path) for path in (db_path, *side_files(db_path))]
    finally:
        other.close()

    assert modes == [0o600, 0o600, 0o600]


async def test_tightening_keeps_a_read_only_file_read_only(db_path: Path) -> None:
    async with Store.open(db_path) as store:
        await store.sessions.create("main")
    os.chmod(db_path, 0o444)

    async with Store.open(db_path, check_writable=False) as store:
        assert await store.sessions.names() == ["main"]

    assert mode(db_path) == 0o400


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
async def test_a_file_owned_by_another_user_is_left_as_it_is(db_path: Path) -> None:
    async with Store.open(db_path) as store:
        await store.sessions.create("main")
    os.chmod(db_path, 0o644)
    os.chown(db_path, 65534, 65534)

    async with Store.open(db_path, check_writable=False) as store:
        assert await store.sessions.names() == ["main"]

    assert mode(db_path) == 0o644
    assert os.stat(db_path).st_uid == 65534


async def test_a_directory_given_as_the_database_is_refused_untouched(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)

    with pytest.raises(NotASessionTreeDatabase, match="it is a directory"):
        await Store.connect(directory)

    assert mode(directory) == 0o755
    assert list(directory.iterdir()) == []


async def test_a_directory_it_cannot_create_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the directory would go")

    with pytest.raises(DatabaseUnwritable, match="Cannot write to"):
        await Store.connect(blocker / "session-tree.db")
