"""Ids are never reused, and a database from before that rule upgrades with every row kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from session_tree.errors import ApprovalNotFound, StreamNotFound
from session_tree.models import NewNode, NodeKind
from session_tree.store import Store
from session_tree.store._migrations import APPLICATION_ID, MIGRATIONS

pytestmark = pytest.mark.anyio

# The tables whose ids callers hold (a stale id must stay unknown forever).
ID_TABLES = ("trees", "nodes", "sessions", "streams", "approvals")
# transcript_entries is left out: 0008 stores shared transcripts another way, and
# tests/test_store_mirror_sharing.py checks each loads as it was after the upgrade.
ALL_TABLES = (
    *ID_TABLES,
    "events",
    "transcript_files",
    "transcript_summaries",
    "migrations",
)
# Migrations 0001 to 0006: the schema session-tree wrote before ids were kept unique.
TODAYS = MIGRATIONS[:6]
assert TODAYS[-1][0] == "0006_stream_runners"


def user(text: str) -> NewNode:
    return NewNode(kind=NodeKind.USER, data={"text": text})


async def test_ids_of_deleted_newest_rows_are_not_given_out_again(store: Store) -> None:
    await store.sessions.create("keep")
    gone = await store.sessions.create("gone")
    gone_node = await store.nodes.append(gone.head_id, user("hello"))
    gone_stream = await store.streams.create("gone")
    gone_approval = await store.approvals.create(
        "gone", tool_name="Write", input={"file_path": "/tmp/x"}, stream_id=gone_stream.id
    )
    await store.sessions.delete("gone")

    new = await store.sessions.create("new")
    new_node = await store.nodes.append(new.head_id, user("hello"))
    new_stream = await store.streams.create("new")
    new_approval = await store.approvals.create(
        "new", tool_name="Bash", input={"command": "rm -f important"}, stream_id=new_stream.id
    )

    assert new.id > gone.id
    assert new.tree_id > gone.tree_id
    assert new.head_id > gone_node.id
    assert new_node.id > gone_node.id
    assert new_stream.id > gone_stream.id
    assert new_approval.id > gone_approval.id
    with pytest.raises(ApprovalNotFound):
        await store.approvals.get(gone_approval.id)
    with pytest.raises(StreamNotFound):
        await store.streams.get(gone_stream.id)


def build_todays_database(path: Path) -> None:
    """A file as session-tree wrote it before migration 0007, with data in every
    table, and the newest session (its tree, nodes, streams, events, approvals)
    deleted the way that version deleted it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    for name, sql in TODAYS:
        conn.executescript(sql)
        conn.execute("INSERT INTO migrations VALUES (?, 1.5)", (name,))
    conn.execute(f"PRAGMA user_version = {len(TODAYS)}")
    conn.execute("BEGIN")
    for tree in (1, 2, 3):
        conn.execute("INSERT INTO trees (id, created_at) VALUES (?, 1.0)", (tree,))
        root = tree * 100
        conn.execute(
            "INSERT INTO nodes (id, tree_id, parent_id, kind, data, depth, created_at) "
            "VALUES (?, ?, NULL, 'root', '{}', 0, 1.0)",
            (root, tree),
        )
        for depth in range(1, 6):
            conn.execute(
                "INSERT INTO nodes (id, tree_id, parent_id, kind, data, ephemeral, depth, "
                "message_uuid, created_at) VALUES (?, ?, ?, 'user', ?, ?, ?, ?, 2.0)",
                (root + depth, tree, root + depth - 1, f'{{"text":"{tree}-{depth}"}}',
                 depth % 2, depth, f"uuid-{tree}-{depth}"),
            )  # fmt: skip
        conn.execute(
            "INSERT INTO sessions (id, name, tree_id, head_id, config, claude_session_id, "
            "forked_from, fork_node_id, status, usage, created_at, updated_at, loopback_token) "
            "VALUES (?, ?, ?, ?, '{\"model\":null}', ?, NULL, NULL, 'idle', '{}', 1.0, 2.0, ?)",
            (tree, f"s{tree}", tree, root + 5, f"claude-{tree}", f"token-{tree}"),
        )
        conn.execute(
            "INSERT INTO streams (id, session_id, status, ephemeral, prompt_node_id, error, "
            "last_seq, created_at, updated_at, runner) "
            "VALUES (?, ?, 'completed', 0, ?, NULL, 1, 1.0, 2.0, 'host:1')",
            (tree * 10, tree, root + 1),
        )
        for seq in (0, 1):
            conn.execute(
                "INSERT INTO events VALUES (?, ?, 'text', '{\"text\":\"hi\"}', 1.0)",
                (tree * 10, seq),
            )
        conn.execute(
            "INSERT INTO approvals (id, session_id, stream_id, tool_name, input, tool_use_id, "
            "status, decision, decided_by, created_at, decided_at) "
            "VALUES (?, ?, ?, 'Write', '{}', ?, 'pending', NULL, NULL, 1.0, NULL)",
            (tree * 10, tree, tree * 10, f"toolu_{tree}"),
        )
    # A fork of s1 (same tree), which points at one of s1's nodes.
    conn.execute(
        "INSERT INTO sessions (id, name, tree_id, head_id, config, forked_from, fork_node_id, "
        "status, usage, created_at, updated_at) "
        "VALUES (4, 'fork', 1, 103, '{}', 's1', 103, 'idle', '{}', 1.0, 2.0)"
    )
    conn.execute(
        "INSERT INTO transcript_entries (project_key, session_id, subpath, uuid, entry) "
        "VALUES ('p', 'claude-1', '', 'u1', '{}')"
    )
    conn.execute("INSERT INTO transcript_files VALUES ('p', 'claude-1', '', 7)")
    conn.execute("INSERT INTO transcript_summaries VALUES ('p', 'claude-1', 7, '{}')")
    # The newest rows of every id table go: session s3 and everything of it.
    conn.execute("DELETE FROM sessions WHERE id = 3")
    conn.execute("DELETE FROM nodes WHERE tree_id = 3")
    conn.execute("DELETE FROM trees WHERE id = 3")
    conn.execute("COMMIT")
    conn.close()


def contents(
    conn: sqlite3.Connection, like: dict[str, list[tuple[object, ...]]] | None = None
) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table; with ``like`` (a structure's columns), only the columns
    it has, so a column a later migration adds does not count as a changed row."""

    def columns(table: str) -> str:
        return ", ".join(str(column[1]) for column in like[table]) if like else "*"

    return {
        table: sorted(tuple(row) for row in conn.execute(f"SELECT {columns(table)} FROM {table}"))
        for table in ALL_TABLES
    }


def structure(conn: sqlite3.Connection) -> dict[str, object]:
    """Columns, indexes (with their columns and conditions) and foreign keys of every table."""
    indexes = {
        name: (table, " ".join((sql or "").split()))
        for name, table, sql in conn.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'"
        )
    }
    return {
        "columns": {t: list(conn.execute(f"PRAGMA table_info({t})")) for t in ALL_TABLES},
        "indexes": indexes,
        "index_columns": {i: list(conn.execute(f"PRAGMA index_info({i})")) for i in indexes},
        "foreign_keys": {
            t: sorted(row[2:] for row in conn.execute(f"PRAGMA foreign_key_list({t})"))
            for t in ALL_TABLES
        },
    }


async def test_a_database_from_todays_schema_upgrades_with_every_row_kept(db_path: Path) -> None:
    build_todays_database(db_path)
    with sqlite3.connect(db_path) as conn:
        before_rows = contents(conn)
        before_structure = structure(conn)
    largest = {table: max(int(str(row[0])) for row in before_rows[table]) for table in ID_TABLES}

    async with Store.open(db_path) as store:
        assert await store.sessions.names() == ["fork", "s1", "s2"]
        with sqlite3.connect(db_path) as conn:
            after_rows = contents(conn, before_structure["columns"])  # type: ignore[arg-type]
            after_structure = structure(conn)
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            schema = " ".join(
                row[0] for row in conn.execute("SELECT sql FROM sqlite_master WHERE sql NOTNULL")
            )
        new = await store.sessions.create("new")
        node = await store.nodes.append(new.head_id, user("after"))
        stream = await store.streams.create("new")
        approval = await store.approvals.create("new", tool_name="Bash", input={})

    assert after_rows["migrations"][: len(TODAYS)] == before_rows["migrations"]
    assert [row[0] for row in after_rows["migrations"]] == [name for name, _ in MIGRATIONS]
    after_rows.pop("migrations"), before_rows.pop("migrations")
    assert after_rows == before_rows
    # Nothing the rebuild touched is lost; migrations after it may add columns and indexes.
    for part in ("columns", "foreign_keys"):
        for table, items in before_structure[part].items():  # type: ignore[attr-defined]
            assert set(items) <= set(after_structure[part][table]), (part, table)  # type: ignore[index]
    for part in ("indexes", "index_columns"):
        before_part: dict[str, object] = before_structure[part]  # type: ignore[assignment]
        after_part: dict[str, object] = after_structure[part]  # type: ignore[assignment]
        # The transcript tables are 0008's to change (see ALL_TABLES).
        kept = {k: v for k, v in before_part.items() if not k.startswith("transcript_entries")}
        assert {k: after_part.get(k) for k in kept} == kept, part
    for table in ID_TABLES:
        assert f'CREATE TABLE "{table}" ( id INTEGER PRIMARY KEY AUTOINCREMENT' in " ".join(
            schema.split()
        )
    assert new.id > largest["sessions"]
    assert new.tree_id > largest["trees"]
    assert node.id > new.head_id > largest["nodes"]
    assert stream.id > largest["streams"]
    assert approval.id > largest["approvals"]


async def test_foreign_key_actions_still_work_after_the_upgrade(db_path: Path) -> None:
    build_todays_database(db_path)

    async with Store.open(db_path) as store:
        await store.sessions.delete("s2")  # cascades to its stream, events and approval
        await store.sessions.delete("fork")
        await store.sessions.delete("s1")

    with sqlite3.connect(db_path) as conn:
        left = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ID_TABLES}
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert left == dict.fromkeys(ID_TABLES, 0)
    assert events == 0


async def test_ids_deleted_after_the_upgrade_are_not_reused(db_path: Path) -> None:
    build_todays_database(db_path)
    async with Store.open(db_path) as store:
        newest = await store.sessions.create("newest")
        stream = await store.streams.create("newest")
        await store.sessions.delete("newest")
    async with Store.open(db_path) as store:
        again = await store.sessions.create("again")
        again_stream = await store.streams.create("again")
    assert again.id > newest.id
    assert again.tree_id > newest.tree_id
    assert again.head_id > newest.head_id
    assert again_stream.id > stream.id


async def test_a_reference_that_outlived_its_row_still_counts_as_used(db_path: Path) -> None:
    # A file edited by hand with foreign keys off (the sqlite3 shell's default)
    # can hold a stream id whose stream is gone: it is not given out again.
    build_todays_database(db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("DELETE FROM streams WHERE id = 20")

    async with Store.open(db_path) as store:
        await store.sessions.create("new")
        stream = await store.streams.create("new")

    assert stream.id > 20
