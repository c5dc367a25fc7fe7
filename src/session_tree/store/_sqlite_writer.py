"""The SQLite writer connection, run on the event loop's own thread.

A write transaction here is a dozen short statements: a turn's start, a batch
of a child's events, a turn's end. Run through a worker thread, as aiosqlite
runs every statement, each one costs a round trip between threads: two
wake-ups, and each waits for a free core while a child is busy on the other
(``bench/turn_bench.py`` measured 60 µs per statement on an idle machine and
1-3 ms with a child streaming; a turn's end is 30 statements). Run on the
loop's thread, a statement costs its own microseconds (a transaction of five
inserts: 44 µs).

What could hold the loop for long is kept off it:

- Another process's write lock: the connection's busy timeout is 0, and
  ``begin`` retries ``BEGIN IMMEDIATE`` with async sleeps until the same
  bound SQLite's busy handler had (a ``COMMIT`` told SQLITE_BUSY likewise).
- ``fsync`` on every commit under ``synchronous=FULL``: that ``COMMIT`` runs
  in a worker thread.
- Checkpoints (7-10 ms each for SQLite's default 1,000 pages): SQLite's
  automatic checkpoint would run inside a ``COMMIT``; it is off on this
  connection, and ``Checkpointer`` runs a passive one in a worker thread, on
  a connection of its own, every ``CHECKPOINT_EVERY_COMMITS`` commits.

Reads stay on aiosqlite's thread: one may walk a 100,000-node tree.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Generator, Iterable
from typing import Any, Final, Generic, TypeVar

import anyio

from ._failures import is_busy
from ._sql import Params

T = TypeVar("T")

log = logging.getLogger(__name__)

# SQLite's own automatic checkpoint comes every 1,000 WAL pages; a commit here
# writes 3-15 of them.
CHECKPOINT_EVERY_COMMITS = 64

_FIRST_PAUSE_S = 0.001
_LONGEST_PAUSE_S = 0.05


class InlineCursor:
    """A finished statement: its rows, ``rowcount`` and ``lastrowid``."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def close(self) -> None:
        self._cursor.close()


class InlineResult(Generic[T]):
    """A statement that runs when it is awaited or entered, as aiosqlite's do;
    it does not yield to the event loop."""

    def __init__(self, run: Callable[[], T], close: Callable[[T], None] | None = None) -> None:
        self._run = run
        self._close = close
        self._value: T | None = None

    def __await__(self) -> Generator[Any, None, T]:
        return self._now().__await__()

    async def _now(self) -> T:
        return self._run()

    async def __aenter__(self) -> T:
        self._value = self._run()
        return self._value

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any, /) -> None:
        if self._close is not None and self._value is not None:
            self._close(self._value)


class InlineWriter:
    """A ``sqlite3`` connection driven from the event loop; the store's ``Connection``."""

    dialect: Final = "sqlite"

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        commit_in_thread: bool,
        max_page_count: int | None = None,
    ) -> None:
        self._conn = conn
        self._commit_in_thread = commit_in_thread
        self._max_page_count = max_page_count

    @classmethod
    def connect(cls, path: str, *, synchronous: str, max_page_count: int | None) -> InlineWriter:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False:
        # a FULL commit runs in a worker thread (never while the loop uses the connection).
        conn = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.execute("PRAGMA wal_autocheckpoint = 0")
            if max_page_count is not None:
                conn.execute(f"PRAGMA max_page_count = {max_page_count}")
        except BaseException:
            conn.close()
            raise
        return cls(conn, commit_in_thread=synchronous == "FULL", max_page_count=max_page_count)

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def allow_pages(self, extra: int) -> None:
        """Let the file grow ``extra`` pages past its cap (0: back to the cap)."""
        if self._max_page_count is not None:
            self._conn.execute(f"PRAGMA max_page_count = {self._max_page_count + extra}")

    def execute(self, sql: str, parameters: Params = ()) -> InlineResult[InlineCursor]:
        return InlineResult(
            lambda: InlineCursor(self._conn.execute(sql, parameters)), InlineCursor.close
        )

    def execute_fetchall(self, sql: str, parameters: Params = ()) -> InlineResult[list[Any]]:
        return InlineResult(lambda: self._conn.execute(sql, parameters).fetchall())

    def executemany(self, sql: str, parameters: Iterable[Params]) -> InlineResult[InlineCursor]:
        return InlineResult(
            lambda: InlineCursor(self._conn.executemany(sql, parameters)), InlineCursor.close
        )

    async def begin(self, timeout_s: float) -> None:
        """``BEGIN IMMEDIATE``, waiting (off the loop) at most ``timeout_s`` for the lock."""
        await _retry_busy(self._run, "BEGIN IMMEDIATE", timeout_s)

    async def commit(self, timeout_s: float) -> None:
        run = self._run_in_thread if self._commit_in_thread else self._run
        await _retry_busy(run, "COMMIT", timeout_s)

    async def _run(self, sql: str) -> object:
        return self._conn.execute(sql)

    async def _run_in_thread(self, sql: str) -> object:
        return await anyio.to_thread.run_sync(self._conn.execute, sql)

    def row(self, sql: str, parameters: Params = ()) -> sqlite3.Row | None:
        """The first row of a query, run at once (outside any transaction: as committed)."""
        cursor = self._conn.execute(sql, parameters)
        try:
            found: sqlite3.Row | None = cursor.fetchone()
        finally:
            cursor.close()
        return found

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()


async def _retry_busy(run: Callable[[str], Awaitable[object]], sql: str, timeout_s: float) -> None:
    """``run(sql)``; while SQLite says the database is locked, sleep (doubling, at
    most ``_LONGEST_PAUSE_S``) and try again, until ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    pause = _FIRST_PAUSE_S
    while True:
        try:
            await run(sql)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
        else:
            return
        await anyio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE_S)


class Checkpointer:
    """Passive WAL checkpoints in a worker thread, on a connection of their own.

    Every ``every`` commits ``committed`` says one is due, and the writer runs it
    right after that commit, still holding its lock, as SQLite's automatic
    checkpoint would run inside the commit: writes wait for it (or it would never
    catch up with them and the WAL would only grow), the loop does not."""

    def __init__(self, path: str, every: int = CHECKPOINT_EVERY_COMMITS) -> None:
        self._path = path
        self._every = every
        self._commits = 0
        self._conn: sqlite3.Connection | None = None

    def committed(self) -> bool:
        """Count a commit; True when a checkpoint is due."""
        self._commits += 1
        if self._commits < self._every:
            return False
        self._commits = 0
        return True

    async def run(self) -> None:
        await anyio.to_thread.run_sync(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(
                    self._path, isolation_level=None, timeout=0, check_same_thread=False
                )
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            # The WAL only grows until the next one; damage is the writer's to find.
            log.warning("WAL checkpoint of %s failed: %s", self._path, exc)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
