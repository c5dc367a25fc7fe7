"""A turn's writes, each one transaction.

A turn touches nodes, its stream and its session together; doing each step in
a transaction of its own would cost a commit apiece (about twenty a turn) and
let a reader see a head moved before the turn's status says so. Here a turn is
three kinds of write: ``begin`` (prompt node, stream, first event), ``record``
(the nodes and events of what the child sent since the last write) and
``finish`` (summary node, usage, head, last event and final status).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import SessionBusy
from ..models import (
    JSONObject,
    NewNode,
    Node,
    Session,
    SessionStatus,
    Stream,
    StreamStatus,
    Usage,
    check_transition,
)
from . import _rows
from ._approvals import expire_pending
from ._database import now, reads
from ._event_runs import compact
from ._nodes import SWEEP, insert_chain
from ._session_rows import SESSION_SELECT, session_of
from ._sessions import get_session
from ._sql import Connection, Database
from ._streams import insert_events, insert_stream, update_status
from ._transcript_text import share as share_transcript_text
from ._transcripts import TranscriptAppend, write_appends


@dataclass(frozen=True)
class TurnStart:
    session: Session
    prompt_node: Node
    stream: Stream


@dataclass(frozen=True)
class TurnEnd:
    session: Session
    summary_node: Node
    stream: Stream
    # The nodes of ``finish``'s records, first to last.
    recorded: list[Node] = field(default_factory=list)


Record = tuple[str, JSONObject, NewNode | None]
"""An event, and the node it describes when it is a complete block."""


class Turns:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def begin(
        self,
        session_name: str,
        prompt: NewNode,
        *,
        runner: str | None = None,
        server_id: int | None = None,
        sweep: bool = False,
    ) -> TurnStart:
        """Start a turn at the session's head: its prompt node, its stream, a
        ``turn_start`` event. Refused while the session has a turn running, in
        this process or any other, and on a session deleted meanwhile
        (:class:`SessionNotFound`): ``Sessions.delete`` is a write transaction
        too, so one of the two sees the other's result. ``runner`` names the
        process running it, ``server_id`` the lease it runs under. With ``sweep``,
        the tree's ephemeral nodes no one needs go first (:meth:`Nodes.sweep_ephemeral`),
        in the same transaction: a kept turn's start saves a commit."""
        async with self._db.write() as conn:
            session = await _session(conn, session_name)
            if sweep:
                await conn.execute(SWEEP, {"tree_id": session.tree_id, "keep": "[]"})
            running = await reads(conn).one(
                f"SELECT id FROM streams WHERE session_id = ? "
                f"AND status IN ({_rows.ACTIVE_STREAM}) ORDER BY id DESC LIMIT 1",
                (session.id,),
            )
            if running is not None:
                raise SessionBusy(session_name, int(running[0]))
            (prompt_node,) = await insert_chain(conn, session.head_id, [prompt])
            stream = await insert_stream(
                conn,
                session.id,
                ephemeral=prompt.ephemeral,
                prompt_node_id=prompt_node.id,
                runner=runner,
                server_id=server_id,
            )
            await insert_events(
                conn, stream.id, [("turn_start", {"prompt_node_id": prompt_node.id})]
            )
            check_transition(f"Session {session_name!r}", session.status, SessionStatus.RUNNING)
            updated = now()
            await conn.execute(
                "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?",
                (SessionStatus.RUNNING.value, updated, session.id),
            )
            # A first turn's prompt is the session's title: read again only while it has
            # none; otherwise the row is as just written (one trip fewer a turn).
            if session.title is None:
                session = await _session(conn, session_name)
            else:
                changed = {"status": SessionStatus.RUNNING, "updated_at": updated}
                session = session.model_copy(update=changed)
            return TurnStart(session=session, prompt_node=prompt_node, stream=stream)

    async def record(
        self,
        stream_id: int,
        parent_id: int,
        records: Sequence[Record],
        *,
        transcripts: Sequence[TranscriptAppend] = (),
    ) -> list[Node]:
        """Append the records' nodes as a chain under ``parent_id`` and all their
        events to the stream; each event of a node gets its ``node_id``. The
        ``transcripts`` the child's mirror gained are written first."""
        async with self._db.write() as conn:
            await write_appends(conn, transcripts)
            return await _insert_records(conn, stream_id, parent_id, records)

    async def finish(
        self,
        stream_id: int,
        *,
        parent_id: int,
        summary: NewNode,
        usage: Usage,
        end: JSONObject,
        claude_session_id: str | None = None,
        error: str | None = None,
        records: Sequence[Record] = (),
        transcripts: Sequence[TranscriptAppend] = (),
    ) -> TurnEnd:
        """End a turn that reached a result: its summary node under ``parent_id``,
        usage added to the session, a ``turn_end`` event (``end`` plus the summary's
        id), and the stream completed. With ``claude_session_id`` (a good, kept
        turn) the head moves to the summary; with ``error`` the stream fails and
        the head stays.

        ``records``, the last of the turn (the batch that holds its result), are
        written first, as :meth:`record` would, and the summary goes under their
        last node: the turn's end is then one transaction, not two. The
        ``transcripts`` the child's mirror gained (the SDK hands them over just
        before the result) are written before them, in the same transaction."""
        async with self._db.write() as conn:
            await write_appends(conn, transcripts)
            recorded = await _insert_records(conn, stream_id, parent_id, records)
            if recorded:
                parent_id = recorded[-1].id
            (summary_node,) = await insert_chain(conn, parent_id, [summary])
            await insert_events(
                conn, stream_id, [("turn_end", {**end, "summary_node_id": summary_node.id})]
            )
            stream = await update_status(
                conn,
                stream_id,
                StreamStatus.FAILED if error is not None else StreamStatus.COMPLETED,
                error=error,
            )
            # The stream's end has set the session idle (update_status).
            session = await _session(conn, stream.session_name)
            total = session.usage + usage
            changed: dict[str, object] = {"usage": total, "updated_at": now()}
            if claude_session_id is not None:
                changed |= {"head_id": summary_node.id, "claude_session_id": claude_session_id}
            columns = {**changed, "usage": total.model_dump_json()}
            assignments = ", ".join(f"{column} = :{column}" for column in columns)
            await conn.execute(
                f"UPDATE sessions SET {assignments} WHERE id = :id", {**columns, "id": session.id}
            )
            # As written, without reading it back (none of these changes its title).
            session = session.model_copy(update=changed)
            # The child asks nothing more once its turn has a result.
            await expire_pending(conn, stream_id=stream_id, reason="The turn ended.")
            await compact(conn, stream_id)
            # The mirror's entry for a reply may have come before its node.
            await share_transcript_text(conn)
            return TurnEnd(
                session=session, summary_node=summary_node, stream=stream, recorded=recorded
            )

    async def end_early(
        self, stream_id: int, status: StreamStatus, reason: str, event: tuple[str, JSONObject]
    ) -> Stream | None:
        """End a turn that did not reach a result (failed or interrupted): its last
        event, its status and why; the session goes idle, its head unmoved. Returns
        None when the stream had already ended (nothing is written twice)."""
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT status FROM streams WHERE id = ?", (stream_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None or StreamStatus(row[0]).terminal:
                return None
            await insert_events(conn, stream_id, [event])
            await compact(conn, stream_id)
            await share_transcript_text(conn)
            # Its end sets the session idle (update_status).
            return await update_status(conn, stream_id, status, error=reason)


async def _session(conn: Connection, name: str) -> Session:
    """The session called ``name``, inside a write transaction, in one statement."""
    row = await reads(conn).one(f"{SESSION_SELECT} WHERE name = ?", (name,))
    if row is None:
        return await get_session(conn, name)  # raises SessionNotFound, naming those that exist
    return session_of(row)


async def _insert_records(
    conn: Connection, stream_id: int, parent_id: int, records: Sequence[Record]
) -> list[Node]:
    """The records' nodes as a chain under ``parent_id``, and all their events; each
    event of a node gets its ``node_id``."""
    nodes = [node for _, _, node in records if node is not None]
    appended = await insert_chain(conn, parent_id, nodes) if nodes else []
    ids = iter(appended)
    events: list[tuple[str, JSONObject]] = []
    for kind, data, node in records:
        if node is not None:
            data = {**data, "node_id": next(ids).id}
        events.append((kind, data))
    await insert_events(conn, stream_id, events)
    return appended
