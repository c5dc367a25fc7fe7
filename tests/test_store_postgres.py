"""What only the PostgreSQL backend has: NOTIFY wake-ups, its migrations, its SQL rewriting."""

from __future__ import annotations

from pathlib import Path

import anyio
import psycopg
import pytest

from session_tree.errors import NotASessionTreeDatabase, SchemaTooNew
from session_tree.store import Store, _pg
from session_tree.store._pg_sql import prepare, with_new_id
from session_tree.testing.postgres import Cluster

pytestmark = pytest.mark.anyio

_SRC = Path(_pg.__file__).parent


@pytest.fixture
def url(pg_cluster: Cluster) -> str:
    return pg_cluster.new_database()


async def test_a_waiter_wakes_on_another_servers_commit_by_notify(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No re-read by the clock: only the NOTIFY of the other store's commit can wake it.
    monkeypatch.setattr(_pg, "FALLBACK_POLL_S", 600.0)
    async with Store.open(url) as here, Store.open(url) as there:
        await here.sessions.create("main")
        stream = await here.streams.create("main")
        got: list[int] = []

        async def wait() -> None:
            events, _ = await here.streams.wait(stream.id, from_seq=1, timeout=300)
            got.extend(event.seq for event in events)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await there.streams.append(stream.id, "first")  # seq 0: not what it waits for
                await there.streams.append(stream.id, "second")

    assert got == [1]


async def test_migrations_are_recorded_and_applied_once(url: str) -> None:
    async with Store.open(url) as store:
        rows = await store.db.all("SELECT name FROM migrations ORDER BY name")
    async with Store.open(url) as again:
        await again.sessions.create("main")
        after = await again.db.all("SELECT name FROM migrations ORDER BY name")

    assert [row[0] for row in rows] == sorted(name for name, _ in _pg.MIGRATIONS)
    assert [row[0] for row in after] == [row[0] for row in rows]


def test_every_sqlite_migration_since_the_baseline_has_its_postgresql_file() -> None:
    # The baseline holds SQLite's schema up to 0012 but for 0011 (merged later); every other
    # SQLite migration from 0011 on needs a file of the same name in migrations_pg/.
    sqlite = sorted(path.stem for path in (_SRC / "migrations").glob("*.sql"))
    expected = [name for name in sqlite if name >= "0011" and not name.startswith("0012")]
    names = [name for name, _ in _pg.MIGRATIONS]
    assert names[0] == _pg.BASELINE
    assert names[1:] == expected


async def test_a_database_at_the_baseline_takes_the_later_migrations(url: str) -> None:
    async with Store.open(url):
        pass
    later = [name for name, _ in _pg.MIGRATIONS if name != _pg.BASELINE]
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        # Back to what a database made before 0011, 0013, 0014 and 0016 came to PostgreSQL holds.
        await conn.execute(
            "DROP TABLE workspaces, event_runs, secrets; "
            "DROP FUNCTION nodes_hand_data_to_event_runs CASCADE; "
            "DROP FUNCTION nodes_hand_text_to_transcript_values CASCADE; DROP FUNCTION instr; "
            "ALTER TABLE transcript_values DROP COLUMN node_id, DROP COLUMN value_at, "
            "DROP COLUMN node_at, DROP COLUMN node_len"
        )
        await conn.execute("DELETE FROM migrations WHERE name = ANY(%s)", (later,))

    async with Store.open(url) as store:
        rows = await store.db.all("SELECT name FROM migrations ORDER BY name")
        session = await store.sessions.create("main")
        key = await store.secrets.get_or_create("tasks")
        assert await store.secrets.get_or_create("tasks") == key
        assert await store.workspaces.of_session(session.id) is None
    assert sorted(row[0] for row in rows) == sorted(name for name, _ in _pg.MIGRATIONS)


async def test_a_newer_schema_and_a_strangers_database_are_refused(pg_cluster: Cluster) -> None:
    newer, stranger = pg_cluster.new_database(), pg_cluster.new_database()
    async with Store.open(newer):
        pass
    async with await psycopg.AsyncConnection.connect(newer, autocommit=True) as conn:
        await conn.execute("INSERT INTO migrations VALUES ('9999_from_the_future', 0)")
    async with await psycopg.AsyncConnection.connect(stranger, autocommit=True) as conn:
        await conn.execute("CREATE TABLE invoices (id int)")

    with pytest.raises(SchemaTooNew, match="9999_from_the_future"):
        await Store.connect(newer)
    with pytest.raises(NotASessionTreeDatabase, match="invoices"):
        await Store.connect(stranger)


def test_placeholders_are_rewritten_outside_literals_names_and_casts() -> None:
    sql = "SELECT '?', \"a:b\", x::text, :name, ? -- what?\nFROM t WHERE y LIKE '5%' AND z = ?"
    text, params = prepare(sql, ("a", 2))
    assert text == (
        "SELECT '?', \"a:b\", x::text, %(name)s, %s -- what?\nFROM t WHERE y LIKE '5%%' AND z = %s"
    )
    assert params == ["a", 2]
    assert prepare("SELECT ?1 WHERE ?1 IS NULL", (None,)) == (
        "SELECT %(_1)s WHERE %(_1)s IS NULL",
        {"_1": None},
    )


def test_an_insert_into_an_id_table_returns_its_id() -> None:
    assert with_new_id("INSERT INTO trees (created_at) VALUES (?)") == (
        "INSERT INTO trees (created_at) VALUES (?) RETURNING id",
        True,
    )
    assert with_new_id("INSERT INTO events (stream_id) VALUES (?)")[1] is False
    assert with_new_id("INSERT INTO servers (host) VALUES (?) RETURNING id")[1] is False
