"""The seam between the store's modules and its two backends, SQLite and PostgreSQL.

The modules write SQL once, with SQLite's placeholders (``?`` and ``:name``),
against these protocols: a ``Connection`` inside a write transaction, ``Reads``
for queries whose rows come back whole, ``Row`` for what a query returns. The
SQLite writer (``_sqlite_writer.InlineWriter``) is a ``Connection`` as it is,
with aiosqlite's shape (so the reads inside a write work alike); the PostgreSQL backend
(``_pg``) gives an adapter that rewrites placeholders, returns rows that index
by position and by name like ``sqlite3.Row``, and raises ``sqlite3``'s
``IntegrityError`` for a broken constraint, so the modules catch one error.

Where the two dialects differ (JSON functions, full text, ``changes()``) a
module asks ``dialect(conn)`` and picks its statement; everything else is the
common SQL both speak (``RETURNING``, ``ON CONFLICT``, recursive CTEs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol, TypeVar

import anyio

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[object] | Mapping[str, object]


class Row(Protocol):
    """A result row: by position and by column name (``sqlite3.Row`` is one)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    @property
    def lastrowid(self) -> int | None: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class Result(Protocol[T_co]):
    """What ``execute`` returns: awaited, or entered with ``async with``."""

    def __await__(self) -> Generator[Any, None, T_co]: ...

    async def __aenter__(self) -> T_co: ...

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any, /) -> Any: ...


class Connection(Protocol):
    """The writer inside ``Database.write``: the SQLite writer, or the PostgreSQL
    adapter. Only what the modules use."""

    @property
    def execute(self) -> Callable[..., Result[Cursor]]: ...

    @property
    def execute_fetchall(self) -> Callable[..., Result[Iterable[Any]]]: ...

    @property
    def executemany(self) -> Callable[..., Result[Cursor]]: ...

    @property
    def in_transaction(self) -> bool: ...


class Reads(Protocol):
    """Queries whose rows come back whole: ``Database`` itself, a ``snapshot``,
    or ``reads(conn)`` inside a write transaction."""

    async def all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def one(self, sql: str, params: Params = ()) -> Row | None: ...


class Database(Protocol):
    """One open session-tree database, whichever backend holds it."""

    @property
    def path(self) -> str: ...

    @property
    def dialect(self) -> Dialect: ...

    @property
    def corrupt(self) -> bool: ...

    async def aclose(self) -> None: ...

    def write(
        self, *, freeing: bool = False
    ) -> AbstractAsyncContextManager[Connection, bool | None]: ...

    async def all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def row(self, sql: str, params: Params = ()) -> Row | None:
        """One row looked up by a unique key (the cheapest read a backend has)."""
        ...

    def snapshot(self) -> AbstractAsyncContextManager[Reads, bool | None]: ...

    async def wait_for(
        self, probe: Callable[[], Awaitable[T | None]], timeout: float
    ) -> T | None: ...


def dialect(conn: Connection) -> Dialect:
    """Which SQL ``conn`` speaks."""
    found: Dialect = getattr(conn, "dialect", "sqlite")
    return found


__all__ = [
    "Connection",
    "Cursor",
    "Database",
    "Dialect",
    "Params",
    "Reads",
    "Result",
    "Row",
    "dialect",
]


async def wait_on_commits(
    probe: Callable[[], Awaitable[T | None]],
    timeout: float,
    committed: Callable[[], anyio.Event],
    every: float,
) -> T | None:
    """Re-run ``probe`` until it returns something, or ``timeout`` seconds pass: at once
    after each commit the backend hears of (``committed()`` is the event the next one
    sets), and every ``every`` seconds for commits it cannot hear of."""
    deadline = anyio.current_time() + timeout
    while True:
        event = committed()  # taken before the probe, so a commit during it is not missed
        result = await probe()
        if result is not None:
            return result
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            return None
        with anyio.move_on_after(min(remaining, every)):
            await event.wait()
