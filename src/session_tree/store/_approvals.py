"""Approval requests: a child's tool call waiting for the parent's decision.

A decision is one conditional UPDATE (``WHERE status = 'pending'``) inside a
write transaction, so it happens exactly once however many processes race for
it; the loser gets :class:`ApprovalAlreadyDecided`.
"""

from __future__ import annotations

import aiosqlite

from ..errors import ApprovalAlreadyDecided, ApprovalNotFound, InvalidArgument
from ..models import Approval, ApprovalStatus, JSONObject
from . import _rows
from ._database import Database, now
from ._sessions import session_id

_SELECT = f"SELECT {_rows.APPROVAL_COLUMNS} FROM approvals JOIN sessions ON sessions.id = approvals.session_id"


class Approvals:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        session_name: str,
        *,
        tool_name: str,
        input: JSONObject,
        tool_use_id: str | None = None,
        stream_id: int | None = None,
    ) -> Approval:
        async with self._db.write() as conn:
            owner = await session_id(conn, session_name)
            cursor = await conn.execute(
                "INSERT INTO approvals (session_id, stream_id, tool_name, input, tool_use_id, status, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                (owner, stream_id, tool_name, _rows.dumps(input), tool_use_id, now()),
            )
            assert cursor.lastrowid is not None
            return await _get(conn, cursor.lastrowid)

    async def get(self, approval_id: int) -> Approval:
        return await _get(self._db.reader, approval_id)

    async def pending(self, session_name: str | None = None) -> list[Approval]:
        """Pending approvals, oldest first, optionally for one session."""
        where, params = ("AND sessions.name = ?", (session_name,)) if session_name else ("", ())
        async with self._db.reader.execute(
            f"{_SELECT} WHERE approvals.status = 'pending' {where} ORDER BY approvals.id", params
        ) as cursor:
            return [_rows.approval(row) for row in await cursor.fetchall()]

    async def wait_pending(
        self, session_name: str | None = None, *, timeout: float
    ) -> list[Approval]:
        """Long poll: pending approvals as soon as there is one, or [] after ``timeout``."""

        async def probe() -> list[Approval] | None:
            return await self.pending(session_name) or None

        return await self._db.wait_for(probe, timeout) or []

    async def decide(
        self,
        approval_id: int,
        status: ApprovalStatus,
        *,
        decision: JSONObject | None = None,
        decided_by: str | None = None,
    ) -> Approval:
        """Settle a pending approval, exactly once."""
        if status is ApprovalStatus.PENDING:
            raise InvalidArgument("A decision must be allowed, denied or expired, not pending.")
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE approvals SET status = ?, decision = ?, decided_by = ?, decided_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (
                    status.value,
                    _rows.dumps(decision) if decision is not None else None,
                    decided_by,
                    now(),
                    approval_id,
                ),
            )
            current = await _get(conn, approval_id)
            if cursor.rowcount == 0:
                raise ApprovalAlreadyDecided(approval_id, current.status.value)
            return current

    async def wait_decided(self, approval_id: int, *, timeout: float) -> Approval:
        """Wait until the approval is no longer pending (or ``timeout`` passes)."""

        async def probe() -> Approval | None:
            approval = await self.get(approval_id)
            return approval if approval.status is not ApprovalStatus.PENDING else None

        found = await self._db.wait_for(probe, timeout)
        return found if found is not None else await self.get(approval_id)

    async def expire_pending(
        self, *, stream_id: int | None = None, session_name: str | None = None, reason: str
    ) -> list[Approval]:
        """Expire pending approvals (of one stream, one session, or all), so nobody waits forever."""
        clauses: list[str] = ["approvals.status = 'pending'"]
        params: list[int | str] = []
        if stream_id is not None:
            clauses.append("approvals.stream_id = ?")
            params.append(stream_id)
        if session_name is not None:
            clauses.append("sessions.name = ?")
            params.append(session_name)
        async with self._db.write() as conn:
            async with conn.execute(
                f"SELECT approvals.id FROM approvals JOIN sessions ON sessions.id = approvals.session_id "
                f"WHERE {' AND '.join(clauses)}",
                params,
            ) as cursor:
                ids = [row[0] for row in await cursor.fetchall()]
            decision = _rows.dumps({"behavior": "deny", "message": reason})
            expired = []
            for approval_id in ids:
                await conn.execute(
                    "UPDATE approvals SET status = 'expired', decision = ?, decided_by = 'session-tree', "
                    "decided_at = ? WHERE id = ? AND status = 'pending'",
                    (decision, now(), approval_id),
                )
                expired.append(await _get(conn, approval_id))
            return expired


async def _get(conn: aiosqlite.Connection, approval_id: int) -> Approval:
    async with conn.execute(f"{_SELECT} WHERE approvals.id = ?", (approval_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise ApprovalNotFound(approval_id)
    return _rows.approval(row)
