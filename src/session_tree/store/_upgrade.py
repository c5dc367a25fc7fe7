"""Opening checks and the migrations runner: is the file ours, sound, and up to date."""

from __future__ import annotations

import logging
import sqlite3
import time

import aiosqlite
import anyio

from ..errors import DatabaseCorrupt, DatabaseUnwritable, NotASessionTreeDatabase, SchemaTooNew
from ._failures import SQLITE_INTERRUPT, is_corrupt, is_unwritable
from ._migrations import APPLICATION_ID, MIGRATIONS, statements

log = logging.getLogger(__name__)


async def check_pages(conn: aiosqlite.Connection, path: str, budget_s: float) -> None:
    """``PRAGMA quick_check``, stopped after ``budget_s`` seconds (0: no check).

    quick_check reads every page and checks each b-tree's structure, not that
    indexes match their tables (integrity_check's extra). Its b-tree walk is one
    VM instruction, which a progress handler cannot stop; ``interrupt`` (safe
    from another thread) can.
    """
    if budget_s <= 0:
        return
    stopped = False

    async def stop_at_the_bound() -> None:
        nonlocal stopped
        await anyio.sleep(budget_s)
        stopped = True
        await conn.interrupt()  # a no-op if the check has just ended

    rows: list[sqlite3.Row] | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(stop_at_the_bound)
        try:
            rows = list(await conn.execute_fetchall("PRAGMA quick_check(3)"))
        except sqlite3.OperationalError as exc:
            if not stopped or getattr(exc, "sqlite_errorcode", None) != SQLITE_INTERRUPT:
                raise
            log.warning("%s: the check at open stopped unfinished after %.1f s", path, budget_s)
        finally:
            group.cancel_scope.cancel()
    problems = [str(row[0]) for row in rows or ()]
    if rows is not None and problems != ["ok"]:
        found = "; ".join(" ".join(problem.split()) for problem in problems)
        raise DatabaseCorrupt(path, f"quick_check: {found[:300]}", opening=True)


async def migrate(conn: aiosqlite.Connection, path: str, *, check_writable: bool) -> None:
    """Apply the migrations the file lacks, all in one transaction.

    A file that is up to date is only read, so the reading commands work on a
    database they cannot write; with ``check_writable`` the version stamp is
    written anyway, so a file the server could never write fails here, at once,
    rather than on the first turn.

    Foreign keys are off meanwhile (the pragma is a no-op inside a transaction,
    so it is set around it): a migration that rebuilds a table drops the old
    one, and that drop would otherwise cascade into every child row. A
    migration must leave no violation the file did not already have, checked
    before the commit.
    """
    await conn.execute("PRAGMA foreign_keys = OFF")
    try:
        await _migrate_in_transaction(conn, path, check_writable=check_writable)
    finally:
        with anyio.CancelScope(shield=True):
            await conn.execute("PRAGMA foreign_keys = ON")


async def _migrate_in_transaction(
    conn: aiosqlite.Connection, path: str, *, check_writable: bool
) -> None:
    try:
        await conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if is_corrupt(exc):
            raise
        raise DatabaseUnwritable(path, str(exc), opening=True) from exc
    try:
        await _check_identity(conn, path)
        applied = await _applied_migrations(conn)
        unknown = sorted(applied - {name for name, _ in MIGRATIONS})
        if unknown:
            raise SchemaTooNew(path, unknown[-1])
        pending = [(name, sql) for name, sql in MIGRATIONS if name not in applied]
        if pending or check_writable:
            before = await _foreign_key_violations(conn) if pending else set()
            try:
                await _apply(conn, pending)
            except sqlite3.OperationalError as exc:
                if not is_unwritable(exc):
                    raise
                raise DatabaseUnwritable(path, str(exc), opening=True) from exc
            if pending:
                broken = await _foreign_key_violations(conn) - before
                if broken:
                    raise RuntimeError(f"a migration broke foreign keys: {sorted(broken)[:5]}")
        await conn.execute("COMMIT")
    except BaseException:
        with anyio.CancelScope(shield=True):
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
        raise


async def _foreign_key_violations(conn: aiosqlite.Connection) -> set[tuple[object, ...]]:
    return {tuple(row) for row in await conn.execute_fetchall("PRAGMA foreign_key_check")}


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
        for statement in statements(sql):
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, time.time())
        )
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
    if stranger is not None and not await _records_our_first_migration(conn):
        raise NotASessionTreeDatabase(
            path, f"it already holds other tables, such as {stranger[0]!r}"
        )


async def _records_our_first_migration(conn: aiosqlite.Connection) -> bool:
    """A file rebuilt from ``sqlite3 FILE .dump`` (the way to recover a damaged one
    where the shell has no ``.recover``) keeps our tables but not the
    application_id: its migrations table still says it is ours."""
    if "migrations" not in {
        row[0] for row in await conn.execute_fetchall("SELECT name FROM sqlite_master")
    }:
        return False
    first = MIGRATIONS[0][0]
    rows = await conn.execute_fetchall("SELECT 1 FROM migrations WHERE name = ?", (first,))
    return bool(list(rows))
