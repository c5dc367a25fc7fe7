"""Opening database files: ours, old ones, strangers' and newer ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from session_tree.errors import NotASessionTreeDatabase, SchemaTooNew
from session_tree.store import Store
from session_tree.store._migrations import APPLICATION_ID, MIGRATIONS

pytestmark = pytest.mark.anyio


async def test_a_new_file_gets_every_migration_recorded(db_path: Path) -> None:
    async with Store.open(db_path):
        pass

    with sqlite3.connect(db_path) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM migrations ORDER BY name")]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert names == [name for name, _ in MIGRATIONS]
    assert journal == "wal"


async def test_reopening_keeps_data_and_applies_nothing_twice(db_path: Path) -> None:
    async with Store.open(db_path) as store:
        await store.sessions.create("main")
    async with Store.open(db_path) as store:
        assert await store.sessions.names() == ["main"]


async def test_a_database_from_an_earlier_version_is_upgraded(db_path: Path) -> None:
    # Build what the first release wrote: only its first migration applied.
    first_name, first_sql = MIGRATIONS[0]
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.executescript(first_sql)
        conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        conn.execute("INSERT INTO migrations VALUES (?, 0)", (first_name,))
        conn.execute("INSERT INTO trees (id, created_at) VALUES (1, 0)")
        conn.execute(
            "INSERT INTO nodes (id, tree_id, parent_id, kind, data, depth, created_at) "
            "VALUES (1, 1, NULL, 'root', '{}', 0, 0)"
        )
        conn.execute(
            "INSERT INTO sessions (name, tree_id, head_id, config, status, usage, created_at, updated_at) "
            "VALUES ('old', 1, 1, '{}', 'idle', '{}', 0, 0)"
        )

    async with Store.open(db_path) as store:
        assert await store.sessions.names() == ["old"]
        stream = await store.streams.create("old")  # a table from a later migration
        assert stream.session_name == "old"


async def test_a_file_that_is_not_sqlite_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)

    with pytest.raises(NotASessionTreeDatabase, match=r"notes\.txt is not a session-tree database"):
        await Store.connect(path)
    assert path.read_text().startswith("these are my notes")


async def test_another_programs_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")

    with pytest.raises(NotASessionTreeDatabase, match="invoices"):
        await Store.connect(path)
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["invoices"]


async def test_a_database_from_a_newer_version_is_refused(db_path: Path) -> None:
    async with Store.open(db_path):
        pass
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO migrations VALUES ('9999_from_the_future', 0)")

    with pytest.raises(SchemaTooNew, match=r"9999_from_the_future.*Upgrade session-tree"):
        await Store.connect(db_path)
