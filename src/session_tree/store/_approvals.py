"""Approval requests: a child's tool call waiting for the parent's decision.

A decision reads the approval and settles it in one write transaction (each
holds SQLite's write lock from its start), so it happens exactly once however
many processes race for it; the loser gets :class:`ApprovalAlreadyDecided`.
Every status write goes through :func:`settle`, checked against the approval
lifecycle.

An approval that belongs to a turn also shows in the turn's stream, in the same
transaction: a request adds a ``permission_request`` event and moves the stream
to ``awaiting_permission``; a decision (or expiry) adds a
``permission_decision`` event and moves it back to ``running`` once nothing
else of that turn is pending.
"""

from __future__ import annotations

from ..errors import ApprovalAlreadyDecided, ApprovalNotFound, InvalidArgument
from ..models import (
    Approval,
    ApprovalStatus,
    JSONObject,
    Stream,
    StreamStatus,
    check_transition,
)
from . import _rows
from ._database import Reads, now, reads
from ._sessions import session_id
from ._sql import Connection, Database
from ._streams import get_stream, insert_events, update_status

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
        """A pending approval. Asking again about a tool call (same session and
        ``tool_use_id``) that is still pending returns the same approval."""
        async with self._db.write() as conn:
            owner = await session_id(conn, session_name)
            if tool_use_id is not None:
                async with conn.execute(
                    "SELECT id FROM approvals WHERE session_id = ? AND tool_use_id = ? "
                    f"AND status IN ({_rows.PENDING_APPROVAL})",
                    (owner, tool_use_id),
                ) as cursor:
                    existing = await cursor.fetchone()
                if existing is not None:
                    return await _get(reads(conn), existing[0])
            cursor = await conn.execute(
                "INSERT INTO approvals (session_id, stream_id, tool_name, input, tool_use_id, status, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    owner,
                    stream_id,
                    tool_name,
                    _rows.dumps(input),
                    tool_use_id,
                    ApprovalStatus.PENDING.value,
                    now(),
                ),
            )
            assert cursor.lastrowid is not None
            approval = await _get(reads(conn), cursor.lastrowid)
            await _show_request(conn, approval)
            return approval

    async def get(self, approval_id: int) -> Approval:
        return await _get(self._db, approval_id)

    async def pending(
        self, session_name: str | None = None, *, stream_id: int | None = None
    ) -> list[Approval]:
        """Pending approvals, oldest first, optionally of one session or one stream."""
        where, params = _pending_where(stream_id=stream_id, session_name=session_name)
        rows = await self._db.all(f"{_SELECT} WHERE {where} ORDER BY approvals.id", params)
        return [_rows.approval(row) for row in rows]

    async def history(self, session_name: str | None = None, *, limit: int = 100) -> list[Approval]:
        """Approvals in any state, the latest ``limit`` of them, oldest first."""
        where, params = ("WHERE sessions.name = ?", (session_name,)) if session_name else ("", ())
        rows = await self._db.all(
            f"SELECT * FROM ({_SELECT} {where} ORDER BY approvals.id DESC LIMIT ?) AS newest ORDER BY id",
            (*params, limit),
        )
        return [_rows.approval(row) for row in rows]

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
            current = await _get(reads(conn), approval_id)
            if current.status is not ApprovalStatus.PENDING:
                raise ApprovalAlreadyDecided(approval_id, current.status.value)
            settled = await settle(conn, current, status, decision=decision, decided_by=decided_by)
            await _show_decision(conn, settled)
            return settled

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
        async with self._db.write() as conn:
            return await expire_pending(
                conn, stream_id=stream_id, session_name=session_name, reason=reason
            )


async def _get(db: Reads, approval_id: int) -> Approval:
    row = await db.one(f"{_SELECT} WHERE approvals.id = ?", (approval_id,))
    if row is None:
        raise ApprovalNotFound(approval_id)
    return _rows.approval(row)


async def settle(
    conn: Connection,
    approval: Approval,
    status: ApprovalStatus,
    *,
    decision: JSONObject | None,
    decided_by: str | None,
) -> Approval:
    """Move an approval to ``status`` inside a write transaction, checked against
    its lifecycle (:class:`InvalidTransition` for a decided one)."""
    check_transition(f"Approval {approval.id}", approval.status, status)
    await conn.execute(
        "UPDATE approvals SET status = ?, decision = ?, decided_by = ?, decided_at = ? "
        "WHERE id = ?",
        (
            status.value,
            _rows.dumps(decision) if decision is not None else None,
            decided_by,
            now(),
            approval.id,
        ),
    )
    return await _get(reads(conn), approval.id)


def _pending_where(
    *, stream_id: int | None, session_name: str | None
) -> tuple[str, list[int | str]]:
    clauses: list[str] = [f"approvals.status IN ({_rows.PENDING_APPROVAL})"]
    params: list[int | str] = []
    if stream_id is not None:
        clauses.append("approvals.stream_id = ?")
        params.append(stream_id)
    if session_name is not None:
        clauses.append("sessions.name = ?")
        params.append(session_name)
    return " AND ".join(clauses), params


async def expire_pending(
    conn: Connection,
    *,
    stream_id: int | None = None,
    session_name: str | None = None,
    reason: str,
) -> list[Approval]:
    """Expire pending approvals inside a write transaction; each is a deny saying ``reason``."""
    where, params = _pending_where(stream_id=stream_id, session_name=session_name)
    pending = await reads(conn).all(f"{_SELECT} WHERE {where} ORDER BY approvals.id", params)
    expired = []
    for row in pending:
        approval = await settle(
            conn,
            _rows.approval(row),
            ApprovalStatus.EXPIRED,
            decision={"behavior": "deny", "message": reason},
            decided_by="session-tree",
        )
        await _show_decision(conn, approval)
        expired.append(approval)
    return expired


async def _show_request(conn: Connection, approval: Approval) -> None:
    """The request in its turn's stream, which now awaits the parent."""
    stream = await _live_stream(conn, approval)
    if stream is None:
        return
    await insert_events(
        conn,
        stream.id,
        [
            (
                "permission_request",
                {
                    "approval_id": approval.id,
                    "tool_name": approval.tool_name,
                    "input": approval.input,
                    "tool_use_id": approval.tool_use_id,
                },
            )
        ],
    )
    await update_status(conn, stream.id, StreamStatus.AWAITING_PERMISSION)


async def _show_decision(conn: Connection, approval: Approval) -> None:
    """The decision in its turn's stream, which runs again once nothing else of it waits."""
    stream = await _live_stream(conn, approval)
    if stream is None:
        return
    decision = approval.decision or {}
    await insert_events(
        conn,
        stream.id,
        [
            (
                "permission_decision",
                {
                    "approval_id": approval.id,
                    "tool_use_id": approval.tool_use_id,
                    "status": approval.status.value,
                    "behavior": decision.get("behavior"),
                    "message": decision.get("message"),
                    "decided_by": approval.decided_by,
                },
            )
        ],
    )
    async with conn.execute(
        f"SELECT 1 FROM approvals WHERE stream_id = ? AND status IN ({_rows.PENDING_APPROVAL}) "
        "LIMIT 1",
        (stream.id,),
    ) as cursor:
        still_waiting = await cursor.fetchone() is not None
    if stream.status is StreamStatus.AWAITING_PERMISSION and not still_waiting:
        await update_status(conn, stream.id, StreamStatus.RUNNING)


async def _live_stream(conn: Connection, approval: Approval) -> Stream | None:
    if approval.stream_id is None:
        return None
    stream = await get_stream(reads(conn), approval.stream_id)
    return None if stream.status.terminal else stream
