"""The database file: connections, pragmas, migrations and write transactions.

Two connections to one file: a writer, behind an in-process lock, whose every
transaction starts with ``BEGIN IMMEDIATE`` (so a second process waits for the
write lock up front instead of failing halfway with 'database is locked'),
run on the event loop's own thread (``_sqlite_writer``: a statement there costs
its microseconds, not a round trip to a worker thread); and a reader, on
aiosqlite's thread, which in WAL mode sees only committed data and never waits
for the writer. A lookup by key (``Database.row``) runs on the writer's
connection between transactions, for the same reason.

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

Corruption: opening runs ``PRAGMA quick_check``, bounded by ``CHECK_BUDGET_S``
(it reads every page: about 0.04 s for a 50 MB file in the page cache, 0.9 s
from a cold disk), before anything is written, and refuses a damaged file with
:class:`DatabaseCorrupt`. Damage found later (SQLITE_CORRUPT or SQLITE_NOTADB
on any statement) marks the Database corrupt: every later write is refused
before it begins, so nothing more lands in the file; reads go on while they work.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final, Literal, TypeVar

import aiosqlite
import anyio

from ..errors import DatabaseCorrupt, DatabaseUnwritable, NotASessionTreeDatabase
from . import _file
from ._failures import detail, is_busy, is_corrupt, is_unwritable, refusal
from ._sql import Connection, Params, Reads, Row, wait_on_commits
from ._sqlite_writer import Checkpointer, InlineWriter
from ._upgrade import check_pages, migrate

__all__ = ["Database", "Reads", "Synchronous", "now", "reads"]

log = logging.getLogger(__name__)

T = TypeVar("T")

Synchronous = Literal["NORMAL", "FULL"]

BUSY_TIMEOUT_MS = 30_000
# How often a waiter re-reads the database when nothing in this process has
# told it about a commit: the fallback for writers in another process.
CROSS_PROCESS_POLL_S = 0.05
# How far past its size cap a transaction that frees room may take the file: 1 MiB.
FREEING_ROOM_PAGES = 256
# The longest the check at open may take; past it the open goes on unchecked
# (damage is then caught by the statement that meets it).
CHECK_BUDGET_S = 2.0


def now() -> float:
    return time.time()


class _ConnectionReads:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def all(self, sql: str, params: Params = ()) -> list[Row]:
        # One call: the statement is run and exhausted (so reset) on the
        # connection's thread before anything else can use the connection.
        return list(await self._conn.execute_fetchall(sql, params))

    async def one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None


def reads(conn: Connection) -> Reads:
    """Reads on the writer connection of a ``Database.write`` block."""
    return _ConnectionReads(conn)


class Database:
    """Owns the connections to one session-tree database file."""

    dialect: Final = "sqlite"

    def __init__(self, path: str, writer: InlineWriter, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._checkpoints = Checkpointer(path)
        self._reads = _ConnectionReads(reader)
        self._read_lock = anyio.Lock()
        self._write_lock = anyio.Lock()
        self._committed = anyio.Event()
        self._corrupt: str | None = None  # what SQLite said when it first found damage

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        synchronous: Synchronous = "NORMAL",
        max_mb: float = 0,
        check_writable: bool = True,
        check_budget_s: float = CHECK_BUDGET_S,
    ) -> Database:
        path = str(path)
        ours = False
        if _file.is_on_disk(path):
            try:
                _file.prepare(path)
            except OSError as exc:
                raise DatabaseUnwritable(path, exc.strerror or str(exc), opening=True) from exc
            header = _file.read_header(path)
            ours = header is not None and header.ours
            short = _file.truncation(path, header) if header is not None and ours else None
            if short is not None:
                raise DatabaseCorrupt(path, short, opening=True)
        # The checks and migrations run off the loop (they may read every page), on a
        # connection of their own; then the writer is opened to run on the loop.
        opener = await _connect(path, ours=ours)
        try:
            try:
                await _configure(opener, path, synchronous, ours=ours)
                await check_pages(opener, path, check_budget_s)
                await migrate(opener, path, check_writable=check_writable)
                max_pages = await _page_cap(opener, max_mb) if max_mb > 0 else None
            except sqlite3.DatabaseError as exc:
                if not is_corrupt(exc):
                    raise
                raise DatabaseCorrupt(path, detail(exc), opening=True) from exc
        finally:
            await opener.close()
        try:
            writer = InlineWriter.connect(path, synchronous=synchronous, max_page_count=max_pages)
        except sqlite3.DatabaseError as exc:
            raise refusal(path, exc, ours=True) from exc
        try:
            reader = await _connect(path, ours=True)
            await reader.execute("PRAGMA query_only = ON")
        except BaseException:
            writer.close()
            raise
        return cls(path, writer, reader)

    @property
    def corrupt(self) -> bool:
        """True once SQLite has reported damage: writes are refused from then on."""
        return self._corrupt is not None

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._reader.close()
            self._checkpoints.close()
            self._writer.close()

    @asynccontextmanager
    async def write(self, *, freeing: bool = False) -> AsyncIterator[InlineWriter]:
        """One write transaction: committed when the block ends, rolled back on error.

        ``freeing``, for a transaction that frees room (a delete), lets it go past
        the size cap by ``FREEING_ROOM_PAGES``: deleting writes before it frees
        (full-text deletes, B-tree pages), and a file at its cap must not be stuck there.
        """
        async with self._write_lock:
            if self._corrupt is not None:
                # Refused before BEGIN: not a byte more goes into a damaged file.
                raise DatabaseCorrupt(self.path, self._corrupt)
            if freeing:
                self._writer.allow_pages(FREEING_ROOM_PAGES)
            try:
                try:
                    await self._writer.begin(BUSY_TIMEOUT_MS / 1000)
                except sqlite3.DatabaseError as exc:
                    raise self._failure(exc) from exc
                try:
                    yield self._writer
                except BaseException as exc:
                    # SQLite has already rolled back after some errors (SQLITE_FULL).
                    self._rollback()
                    if isinstance(exc, sqlite3.DatabaseError):
                        failure = self._failure(exc)
                        if failure is not exc:
                            raise failure from exc
                    raise
                try:
                    # Shielded: a cancelled caller must still leave the connection usable.
                    with anyio.CancelScope(shield=True):
                        await self._writer.commit(BUSY_TIMEOUT_MS / 1000)
                except sqlite3.DatabaseError as exc:
                    self._rollback()
                    raise self._failure(exc) from exc
            finally:
                if freeing:
                    self._writer.allow_pages(0)
            self._committed.set()
            self._committed = anyio.Event()
            if self._checkpoints.committed():
                with anyio.CancelScope(shield=True):
                    await self._checkpoints.run()

    def _rollback(self) -> None:
        # A damaged file can fail the rollback too; the caller's error is the news.
        with contextlib.suppress(sqlite3.DatabaseError):
            self._writer.rollback()

    async def all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of one query, as of the last commit before it ran."""
        async with self._read_lock, self._reading():
            return await self._reads.all(sql, params)

    async def one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of one query, or None."""
        async with self._read_lock, self._reading():
            return await self._reads.one(sql, params)

    async def row(self, sql: str, params: Params = ()) -> Row | None:
        """One row looked up by a unique key, read on the writer's connection on the
        loop, between write transactions: a lookup by key costs microseconds, less
        than the round trip to the reader's thread. Only for such lookups: a query
        that scans would hold the loop. While a write holds the writer (or waits for
        another process's lock), the reader answers: a read never waits for a write."""
        if self._write_lock.locked():
            return await self.one(sql, params)
        async with self._write_lock, self._reading():
            try:
                return self._writer.row(sql, params)
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
        # Locked for a moment (another process's recovery): the reader waits it out.
        return await self.one(sql, params)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Reads]:
        """Several queries that all see the same committed state.

        Query through the yielded ``Reads`` only: it holds the read lock, so a
        ``Database.all`` / ``one`` inside the block would wait for itself.
        """
        async with self._read_lock, self._reading():
            await self._reader.execute("BEGIN")
            try:
                yield self._reads
            finally:
                with anyio.CancelScope(shield=True):
                    await self._reader.execute("COMMIT")

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[None]:
        """Turn SQLite's word of damage, met by a read, into DatabaseCorrupt (and remember it)."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise
            raise self._failure(exc) from exc

    async def wait_for(self, probe: Callable[[], Awaitable[T | None]], timeout: float) -> T | None:
        """Re-run ``probe`` until it returns something, or ``timeout`` seconds pass.

        Wakes at once on a commit from this process, and every
        ``CROSS_PROCESS_POLL_S`` to see commits from other processes.
        """
        return await wait_on_commits(probe, timeout, lambda: self._committed, CROSS_PROCESS_POLL_S)

    def _failure(self, exc: sqlite3.DatabaseError) -> Exception:
        """The domain error for what SQLite said about the file, or ``exc`` itself."""
        if is_corrupt(exc):
            if self._corrupt is None:
                log.error("%s is corrupt (%s): refusing every further write", self.path, exc)
                self._corrupt = detail(exc)
            return DatabaseCorrupt(self.path, detail(exc))
        if isinstance(exc, sqlite3.OperationalError) and is_unwritable(exc):
            return DatabaseUnwritable(self.path, str(exc))
        return exc


async def _connect(path: str, *, ours: bool) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so the sqlite3
    # module never opens a transaction behind our back.
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise refusal(path, exc, ours=ours) from exc
    return conn


async def _configure(
    conn: aiosqlite.Connection, path: str, synchronous: Synchronous, *, ours: bool
) -> None:
    try:
        async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
            row = await cursor.fetchone()
    except sqlite3.DatabaseError as exc:
        raise refusal(path, exc, ours=ours) from exc
    if row is None or str(row[0]).lower() != "wal":
        raise NotASessionTreeDatabase(path, "could not switch it to WAL mode")
    await conn.execute(f"PRAGMA synchronous = {synchronous}")


async def _page_cap(conn: aiosqlite.Connection, max_mb: float) -> int:
    """SQLite's own cap, for the writer: a write that needs a page past it fails with
    SQLITE_FULL, exactly as on a full disk, and rolls back."""
    async with conn.execute("PRAGMA page_size") as cursor:
        row = await cursor.fetchone()
    page_size = int(row[0]) if row else 4096
    return max(1, int(max_mb * 1024 * 1024 // page_size))
