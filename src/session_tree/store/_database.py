"""The database file: connections, pragmas, migrations and write transactions.

Two connections to one file: a writer, behind an in-process lock, whose every
transaction starts with ``BEGIN IMMEDIATE`` (so a second process waits for the
write lock up front, under ``busy_timeout``, instead of failing halfway with
'database is locked'); and a reader, which in WAL mode sees only committed data
and never waits for the writer.

Every read runs its statement and fetches all its rows in one call on the
reader's thread (``Database.all`` / ``one``), under a lock shared with
``snapshot``. A statement left open across an await would hold its read
transaction open, and every other task's query on the reader would then see the
database as it was before commits that had already returned; the soak found
exactly that (a stream "not found" just after it was created).

Durability: WAL with ``synchronous=NORMAL`` by default. Every write is committed
before it returns, so a killed process (kill -9) loses nothing acknowledged:
the commit is in the WAL file. What NORMAL gives up, against FULL, is the last
few transactions on a power cut or OS crash, in exchange for not calling fsync
on every commit; ``bench/store_bench.py`` measures the difference. Choose FULL
with ``SESSION_TREE_SYNCHRONOUS=FULL`` or ``Store.open(..., synchronous="FULL")``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import aiosqlite
import anyio

from ..errors import DatabaseUnwritable, NotASessionTreeDatabase, SchemaTooNew
from ._migrations import APPLICATION_ID, MIGRATIONS

T = TypeVar("T")

Synchronous = Literal["NORMAL", "FULL"]
Params = Sequence[object] | Mapping[str, object]

BUSY_TIMEOUT_MS = 30_000
# How often a waiter re-reads the database when nothing in this process has
# told it about a commit: the fallback for writers in another process.
CROSS_PROCESS_POLL_S = 0.05


def now() -> float:
    return time.time()


class Reads(Protocol):
    """Queries whose rows come back whole: ``Database`` itself, a ``snapshot``,
    or ``reads(conn)`` inside a write transaction."""

    async def all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]: ...

    async def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None: ...


class _ConnectionReads:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # One call: the statement is run and exhausted (so reset) on the
        # connection's thread before anything else can use the connection.
        return list(await self._conn.execute_fetchall(sql, params))

    async def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None


def reads(conn: aiosqlite.Connection) -> Reads:
    """Reads on the writer connection of a ``Database.write`` block."""
    return _ConnectionReads(conn)


class Database:
    """Owns the connections to one session-tree database file."""

    def __init__(
        self, path: str, writer: aiosqlite.Connection, reader: aiosqlite.Connection
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._reads = _ConnectionReads(reader)
        self._read_lock = anyio.Lock()
        self._write_lock = anyio.Lock()
        self._committed = anyio.Event()

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        synchronous: Synchronous = "NORMAL",
        max_mb: float = 0,
        check_writable: bool = True,
    ) -> Database:
        path = str(path)
        writer = await _connect(path)
        try:
            await _configure(writer, path, synchronous)
            await _migrate(writer, path, check_writable=check_writable)
            if max_mb > 0:
                await _cap_size(writer, max_mb)
            reader = await _connect(path)
        except BaseException:
            await writer.close()
            raise
        await reader.execute("PRAGMA query_only = ON")
        return cls(path, writer, reader)

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._reader.close()
            await self._writer.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: committed when the block ends, rolled back on error."""
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise self._unwritable(exc) from exc
            try:
                yield self._writer
            except BaseException as exc:
                # Shielded: a cancelled caller must still leave the connection usable.
                # SQLite has already rolled back after some errors (SQLITE_FULL).
                with anyio.CancelScope(shield=True):
                    if self._writer.in_transaction:
                        await self._writer.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise self._unwritable(exc) from exc
                raise
            try:
                with anyio.CancelScope(shield=True):
                    await self._writer.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                with anyio.CancelScope(shield=True):
                    if self._writer.in_transaction:
                        await self._writer.execute("ROLLBACK")
                raise self._unwritable(exc) from exc
        self._committed.set()
        self._committed = anyio.Event()

    async def all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Every row of one query, as of the last commit before it ran."""
        async with self._read_lock:
            return await self._reads.all(sql, params)

    async def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row of one query, or None."""
        async with self._read_lock:
            return await self._reads.one(sql, params)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Reads]:
        """Several queries that all see the same committed state.

        Query through the yielded ``Reads`` only: it holds the read lock, so a
        ``Database.all`` / ``one`` inside the block would wait for itself.
        """
        async with self._read_lock:
            await self._reader.execute("BEGIN")
            try:
                yield self._reads
            finally:
                with anyio.CancelScope(shield=True):
                    await self._reader.execute("COMMIT")

    async def wait_for(self, probe: Callable[[], Awaitable[T | None]], timeout: float) -> T | None:
        """Re-run ``probe`` until it returns something, or ``timeout`` seconds pass.

        Wakes at once on a commit from this process, and every
        ``CROSS_PROCESS_POLL_S`` to see commits from other processes.
        """
        deadline = anyio.current_time() + timeout
        while True:
            committed = self._committed
            result = await probe()
            if result is not None:
                return result
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return None
            with anyio.move_on_after(min(remaining, CROSS_PROCESS_POLL_S)):
                await committed.wait()

    def _unwritable(self, exc: sqlite3.Error) -> DatabaseUnwritable | sqlite3.Error:
        return DatabaseUnwritable(self.path, str(exc)) if _is_unwritable(exc) else exc


def _is_unwritable(exc: sqlite3.Error) -> bool:
    """SQLITE_READONLY, SQLITE_FULL and disk I/O errors: the file, not the statement."""
    message = str(exc)
    return "readonly" in message or "disk" in message or "full" in message


async def _connect(path: str) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so the sqlite3
    # module never opens a transaction behind our back.
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise NotASessionTreeDatabase(path, str(exc)) from exc
    return conn


async def _configure(conn: aiosqlite.Connection, path: str, synchronous: Synchronous) -> None:
    try:
        async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
            row = await cursor.fetchone()
    except sqlite3.DatabaseError as exc:
        raise NotASessionTreeDatabase(path, str(exc)) from exc
    if row is None or str(row[0]).lower() != "wal":
        raise NotASessionTreeDatabase(path, "could not switch it to WAL mode")
    await conn.execute(f"PRAGMA synchronous = {synchronous}")


async def _cap_size(conn: aiosqlite.Connection, max_mb: float) -> None:
    # SQLite's own cap: a write that needs a page past it fails with SQLITE_FULL,
    # exactly as on a full disk, and rolls back.
    async with conn.execute("PRAGMA page_size") as cursor:
        row = await cursor.fetchone()
    page_size = int(row[0]) if row else 4096
    await conn.execute(f"PRAGMA max_page_count = {max(1, int(max_mb * 1024 * 1024 // page_size))}")


async def _migrate(conn: aiosqlite.Connection, path: str, *, check_writable: bool) -> None:
    """Apply the migrations the file lacks, all in one transaction.

    A file that is up to date is only read, so the reading commands work on a
    database they cannot write; with ``check_writable`` the version stamp is
    written anyway, so a file the server could never write fails here, at once,
    rather than on the first turn.
    """
    try:
        await conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise DatabaseUnwritable(path, str(exc), opening=True) from exc
    try:
        await _check_identity(conn, path)
        applied = await _applied_migrations(conn)
        unknown = sorted(applied - {name for name, _ in MIGRATIONS})
        if unknown:
            raise SchemaTooNew(path, unknown[-1])
        pending = [(name, sql) for name, sql in MIGRATIONS if name not in applied]
        if pending or check_writable:
            try:
                await _apply(conn, pending)
            except sqlite3.OperationalError as exc:
                if not _is_unwritable(exc):
                    raise
                raise DatabaseUnwritable(path, str(exc), opening=True) from exc
        await conn.execute("COMMIT")
    except BaseException:
        with anyio.CancelScope(shield=True):
            await conn.execute("ROLLBACK")
        raise


async def _applied_migrations(conn: aiosqlite.Connection) -> set[str]:
    async with conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
    ) as cursor:
        if await cursor.fetchone() is None:
            return set()
    async with conn.execute("SELECT name FROM migrations") as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def _apply(conn: aiosqlite.Connection, pending: list[tuple[str, str]]) -> None:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    for name, sql in pending:
        for statement in _statements(sql):
            await conn.execute(statement)
        await conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, now()))
    await conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    await conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")


async def _check_identity(conn: aiosqlite.Connection, path: str) -> None:
    """Refuse a SQLite file that belongs to some other program."""
    async with conn.execute("PRAGMA application_id") as cursor:
        row = await cursor.fetchone()
    application_id = int(row[0]) if row else 0
    if application_id == APPLICATION_ID:
        return
    if application_id != 0:
        raise NotASessionTreeDatabase(path, f"its application_id is {application_id:#x}")
    async with conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1"
    ) as cursor:
        stranger = await cursor.fetchone()
    if stranger is not None:
        raise NotASessionTreeDatabase(
            path, f"it already holds other tables, such as {stranger[0]!r}"
        )


def _statements(sql: str) -> list[str]:
    return [part.strip() for part in sql.split(";") if part.strip()]
