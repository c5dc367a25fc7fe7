"""Workspace rows: which git worktree (and snapshot ref) belongs to which session.

A row is added before its worktree is made and bound to its session after the
session row exists, so a crash in between leaves an unbound row (never a
worktree nobody knows of); deleting a session unbinds its row (ON DELETE SET
NULL). The service removes unbound rows' worktrees and refs, then the rows.
"""

from __future__ import annotations

from ..models import Workspace
from ._database import now
from ._sessions import session_id
from ._sql import Database, Row

_COLUMNS = "key, session_id, repo, path, ref, start_commit, base_commit, created_at"


class Workspaces:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, *, key: str, repo: str, path: str, ref: str, start_commit: str, base_commit: str
    ) -> Workspace:
        """A new unbound row."""
        created = now()
        async with self._db.write() as conn:
            await conn.execute(
                f"INSERT INTO workspaces ({_COLUMNS}) VALUES (?, NULL, ?, ?, ?, ?, ?, ?)",
                (key, repo, path, ref, start_commit, base_commit, created),
            )
        return Workspace(
            key=key,
            session_id=None,
            repo=repo,
            path=path,
            ref=ref,
            start_commit=start_commit,
            base_commit=base_commit,
            created_at=created,
        )

    async def bind(self, key: str, session_name: str) -> Workspace:
        """Give the row to the session called ``session_name``."""
        async with self._db.write() as conn:
            owner = await session_id(conn, session_name)
            await conn.execute("UPDATE workspaces SET session_id = ? WHERE key = ?", (owner, key))
        found = await self._db.one(f"SELECT {_COLUMNS} FROM workspaces WHERE key = ?", (key,))
        assert found is not None
        return _workspace(found)

    async def of_session(self, owner: int) -> Workspace | None:
        row = await self._db.one(
            f"SELECT {_COLUMNS} FROM workspaces WHERE session_id = ?", (owner,)
        )
        return None if row is None else _workspace(row)

    async def all(self) -> list[Workspace]:
        rows = await self._db.all(f"SELECT {_COLUMNS} FROM workspaces ORDER BY created_at")
        return [_workspace(row) for row in rows]

    async def remove(self, key: str) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM workspaces WHERE key = ?", (key,))


def _workspace(row: Row) -> Workspace:
    return Workspace(**{name: row[name] for name in row.keys()})  # noqa: SIM118
