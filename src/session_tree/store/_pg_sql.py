"""The store's SQL on a psycopg connection: placeholders, rows, cursors, errors.

The modules write SQLite's placeholders (``?``, ``:name``); psycopg takes
``%s`` and ``%(name)s``. ``translate`` rewrites one into the other outside
string literals, quoted names and comments (``::`` casts stay casts; a bare
``%`` is doubled, in literals too, and parameters are always passed, so that
psycopg undoes it). Statements go through psycopg's client-side binding
(``AsyncClientCursor``): values are merged into the text as literals, so an
untyped ``?`` that SQLite would take (``? IS NULL``) needs no cast here.

SQLite gives an insert's new id as the cursor's ``lastrowid``; PostgreSQL
has none, so an INSERT into a table with an id column and no RETURNING of its
own gets ``RETURNING id`` added, and the cursor's ``lastrowid`` is that id.

A broken constraint raises ``sqlite3.IntegrityError`` (the one the modules
catch for a taken name), chained to PostgreSQL's own error.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Coroutine, Generator, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final, Generic, TypeVar

import psycopg
from psycopg.rows import RowMaker

from ._pg_queries import STATEMENTS
from ._sql import Params

T = TypeVar("T")

_TOKEN = re.compile(
    r"""('(?:[^']|'')*')"""  # a string literal
    r"""|("[^"]*")"""  # a quoted name
    r"|(--[^\n]*)"  # a comment
    r"|(::)"  # a cast
    r"|\?(\d+)"  # a numbered placeholder
    r"|(\?)"  # a positional placeholder
    r"|(?<![:\w]):([A-Za-z_]\w*)"  # a named placeholder
    r"|(%)"
)


# Tables whose rows have an identity id (the others are keyed by their columns).
ID_TABLES: Final = frozenset(
    {
        "trees",
        "nodes",
        "sessions",
        "streams",
        "approvals",
        "servers",
        "transcripts",
        "transcript_values",
    }
)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


@lru_cache(maxsize=1024)
def with_new_id(sql: str) -> tuple[str, bool]:
    """``sql`` with ``RETURNING id`` added where SQLite would have set lastrowid."""
    insert = _INSERT.match(sql)
    if insert is None or insert.group(1) not in ID_TABLES or "RETURNING" in sql.upper():
        return sql, False
    return f"{sql.rstrip().rstrip(';')} RETURNING id", True


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """SQLite placeholders as psycopg's; a statement PostgreSQL words differently, its wording."""
    if sql in STATEMENTS:
        return STATEMENTS[sql]

    def one(match: re.Match[str]) -> str:
        if match.group(5):
            return f"%(_{match.group(5)})s"
        if match.group(6):
            return "%s"
        if match.group(7):
            return f"%({match.group(7)})s"
        if match.group(8):
            return "%%"
        # psycopg reads % everywhere once there are parameters, in literals too.
        return match.group(0).replace("%", "%%")

    return _TOKEN.sub(one, sql)


def prepare(sql: str, params: Params | None) -> tuple[str, Params | None]:
    """The statement and its parameters as psycopg takes them."""
    text = translate(sql)
    if not params:
        return text, []  # never None: with None psycopg would not undo the doubled %
    if isinstance(params, Mapping):
        return text, params
    if "%(_" in text:  # numbered (?1): by name, as psycopg numbers none
        return text, {f"_{number}": value for number, value in enumerate(params, 1)}
    return text, list(params)


class PgRow(tuple[Any, ...]):
    """A row by position and by column name, like ``sqlite3.Row``."""

    _names: dict[str, int]
    _keys: list[str]

    def __getitem__(self, key: int | str | slice, /) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._keys)


def pg_rows(cursor: psycopg.AsyncCursor[Any]) -> RowMaker[PgRow]:
    """The row factory: one ``PgRow`` subclass per result shape, so a row costs a tuple."""
    names = [column.name for column in cursor.description or ()]
    shape = type("Row", (PgRow,), {"_names": {n: i for i, n in enumerate(names)}, "_keys": names})

    def make(values: Sequence[Any]) -> PgRow:
        return shape(values)  # type: ignore[no-any-return]

    return make


_CHANGES = type("Row", (PgRow,), {"_names": {"changes()": 0}, "_keys": ["changes()"]})


class PgCursor:
    """What ``execute`` hands back: the rows, already fetched, and the row count."""

    def __init__(self, rows: list[PgRow], rowcount: int, lastrowid: int | None = None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> PgRow | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[PgRow]:
        return self._rows

    def __iter__(self) -> Iterator[PgRow]:
        return iter(self._rows)


class PgResult(Generic[T]):
    """Awaited, or entered with ``async with``, as aiosqlite's results are."""

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self._coro = coro

    def __await__(self) -> Generator[Any, None, T]:
        return self._coro.__await__()

    async def __aenter__(self) -> T:
        return await self._coro

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any, /) -> None:
        return None


class PgConnection:
    """A psycopg connection inside a transaction, speaking the store's SQL."""

    dialect: Final = "postgresql"

    def __init__(self, conn: psycopg.AsyncConnection[PgRow]) -> None:
        self._conn = conn
        self._rowcount = 0  # the last statement's, for SELECT changes()

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Params | None = None) -> PgResult[PgCursor]:
        return PgResult(self._execute(sql, parameters))

    def execute_fetchall(
        self, sql: str, parameters: Params | None = None
    ) -> PgResult[Iterable[PgRow]]:
        return PgResult(self._fetchall(sql, parameters))

    def executemany(self, sql: str, parameters: Iterable[Params]) -> PgResult[PgCursor]:
        return PgResult(self._executemany(sql, parameters))

    async def _execute(self, sql: str, parameters: Params | None) -> PgCursor:
        if sql == "SELECT changes()":
            return PgCursor([_CHANGES((self._rowcount,))], 1)
        sql, new_id = with_new_id(sql)
        try:
            cursor = await self._conn.execute(*prepare(sql, parameters))
            rows = await cursor.fetchall() if cursor.description is not None else []
        except psycopg.IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc
        self._rowcount = cursor.rowcount
        if new_id:
            # The id is the insert's own; the caller asked for no rows.
            return PgCursor([], cursor.rowcount, int(rows[0][0]) if rows else None)
        return PgCursor(rows, cursor.rowcount)

    async def _fetchall(self, sql: str, parameters: Params | None) -> list[PgRow]:
        return await (await self._execute(sql, parameters)).fetchall()

    async def _executemany(self, sql: str, parameters: Iterable[Params]) -> PgCursor:
        try:
            async with self._conn.cursor() as cursor:
                batch = [prepare(sql, p) for p in parameters]
                if batch:
                    await cursor.executemany(batch[0][0], [p for _, p in batch])  # type: ignore[misc]
                return PgCursor([], cursor.rowcount)
        except psycopg.IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc
