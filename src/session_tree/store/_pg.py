"""The PostgreSQL backend: one database shared by servers on many machines.

Selected by a ``postgresql://`` (or ``postgres://``) URL in place of a path.
It keeps the SQLite backend's contract, by the same means where it can:

- One writer at a time. Every write transaction first takes a transaction-level
  advisory lock (``pg_advisory_xact_lock``), the counterpart of SQLite's
  ``BEGIN IMMEDIATE``: writers on every server queue up front and each sees
  the last one's commit. So a stream's seqs stay gap-free and unique under
  writers on several servers, an approval is decided exactly once, and a
  session never takes two turns, with the very code the SQLite backend runs.
  Reads never wait for it (MVCC), and a ``snapshot`` is a REPEATABLE READ,
  READ ONLY transaction.
- Waiters are woken by LISTEN/NOTIFY: every write transaction sends a NOTIFY
  on ``session_tree``, delivered by PostgreSQL at its commit, and a listening
  connection per server wakes every ``wait_for`` at once; a slow re-read
  (``FALLBACK_POLL_S``) covers a listener that is reconnecting.
- Named migrations from ``migrations_pg/``, recorded in a ``migrations``
  table, applied under a session advisory lock so two servers starting at
  once do not both apply them.

Rows come back as ``PgRow`` and SQL is the modules' own, through ``_pg_sql``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

import anyio
import psycopg
from psycopg_pool import AsyncConnectionPool

from ..errors import DatabaseUnwritable, NotASessionTreeDatabase, SchemaTooNew
from ._database import now
from ._pg_sql import PgConnection, PgRow, pg_rows, prepare
from ._sql import Connection, Params, Reads, Row, wait_on_commits

log = logging.getLogger(__name__)

T = TypeVar("T")

CHANNEL: Final = "session_tree"
# The advisory lock keys: "ST" and "STmi" in ASCII.
WRITE_LOCK: Final = 0x5354
MIGRATE_LOCK: Final = 0x53546D69
FALLBACK_POLL_S = 1.0

_DIRECTORY = Path(__file__).with_name("migrations_pg")
# The schema as SQLite had it at 0012, in one step: every PostgreSQL database starts from it,
# then takes the others in order of number (0011, which came to SQLite later, included).
BASELINE: Final = "0012_postgresql_schema"
MIGRATIONS: Final[list[tuple[str, str]]] = [
    (path.stem, path.read_text(encoding="utf-8"))
    for path in sorted(_DIRECTORY.glob("*.sql"), key=lambda p: (p.stem != BASELINE, p.stem))
]


def is_postgres_url(location: str | Path) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


def shown(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class _Reads:
    def __init__(self, conn: psycopg.AsyncConnection[PgRow]) -> None:
        self._conn = conn

    async def all(self, sql: str, params: Params = ()) -> list[Row]:
        cursor = await self._conn.execute(*prepare(sql, params))
        return list(await cursor.fetchall())

    async def one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None


class PgDatabase:
    """A pool of connections to one PostgreSQL database, and a listener."""

    dialect: Final = "postgresql"

    def __init__(self, url: str, pool: AsyncConnectionPool[psycopg.AsyncConnection[PgRow]]) -> None:
        self.path = shown(url)
        self._url = url
        self._pool = pool
        self._write_lock = anyio.Lock()
        self._committed = anyio.Event()
        self._listener: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, *, max_connections: int = 10) -> PgDatabase:
        pool: AsyncConnectionPool[psycopg.AsyncConnection[PgRow]] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            open=False,
            connection_class=psycopg.AsyncConnection[PgRow],
            kwargs={
                "autocommit": True,
                "cursor_factory": psycopg.AsyncClientCursor,
                "row_factory": pg_rows,
            },
        )
        try:
            await pool.open(wait=True, timeout=30)
        except psycopg.Error as exc:
            await pool.close()
            raise DatabaseUnwritable(shown(url), str(exc).strip(), opening=True) from exc
        db = cls(url, pool)
        try:
            await db._migrate()
            await db._listen()
        except BaseException:
            await db.aclose()
            raise
        return db

    @property
    def corrupt(self) -> bool:
        return False  # PostgreSQL reports damage itself; nothing here tracks it

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            if self._listener is not None:
                self._listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                    await self._listener
            await self._pool.close()

    @asynccontextmanager
    async def write(self, *, freeing: bool = False) -> AsyncIterator[Connection]:
        """One write transaction, behind every other server's: committed when the block ends.
        (``freeing`` is SQLite's: this backend has no size cap of its own.)"""
        async with self._write_lock, self._pool.connection() as conn:
            # BEGIN with the lock, and the NOTIFY with COMMIT: one round trip each.
            await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            try:
                yield PgConnection(conn)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await conn.execute("ROLLBACK")
                raise
            with anyio.CancelScope(shield=True):
                await conn.execute(f"SELECT pg_notify('{CHANNEL}', ''); COMMIT")
        self._wake()

    async def all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._pool.connection() as conn:
            return await _Reads(conn).all(sql, params)

    async def one(self, sql: str, params: Params = ()) -> Row | None:
        async with self._pool.connection() as conn:
            return await _Reads(conn).one(sql, params)

    async def row(self, sql: str, params: Params = ()) -> Row | None:
        """One row by a unique key: here no different from ``one``."""
        return await self.one(sql, params)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Reads]:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield _Reads(conn)

    async def wait_for(self, probe: Callable[[], Awaitable[T | None]], timeout: float) -> T | None:
        """Re-run ``probe`` on every commit any server makes, until it returns something."""
        return await wait_on_commits(probe, timeout, lambda: self._committed, FALLBACK_POLL_S)

    def _wake(self) -> None:
        self._committed.set()
        self._committed = anyio.Event()

    async def _listen(self) -> None:
        ready = asyncio.Event()

        async def run() -> None:
            while True:
                try:
                    conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
                    async with conn:
                        await conn.execute(f"LISTEN {CHANNEL}")
                        ready.set()
                        self._wake()  # anything committed while not listening
                        async for _ in conn.notifies():
                            self._wake()
                except psycopg.Error as exc:
                    log.warning("listening on %s stopped (%s); reconnecting", self.path, exc)
                    ready.set()
                    await asyncio.sleep(FALLBACK_POLL_S)

        self._listener = asyncio.create_task(run())
        await ready.wait()

    async def _migrate(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
            try:
                await _migrate(conn, self.path)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))


async def _migrate(conn: psycopg.AsyncConnection[Any], path: str) -> None:
    tables = await (
        await conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    ).fetchall()
    names = {str(row[0]) for row in tables}
    if names and "migrations" not in names:
        raise NotASessionTreeDatabase(path, f"it holds other tables: {', '.join(sorted(names))}")
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations "
        "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
    )
    applied = {
        str(row[0]) for row in await (await conn.execute("SELECT name FROM migrations")).fetchall()
    }
    known = {name for name, _ in MIGRATIONS}
    for name in sorted(applied - known):
        raise SchemaTooNew(path, name)
    for name, sql in MIGRATIONS:
        if name in applied:
            continue
        async with conn.transaction():
            await conn.execute(sql.encode())  # the whole file, as one simple query
            await conn.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (%s, %s)", (name, now())
            )
        log.info("%s: applied migration %s", path, name)
