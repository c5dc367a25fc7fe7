"""Streams and events: one stream per turn, events numbered without gaps.

A stream's ``last_seq`` is bumped in the same transaction that inserts its
events, and every write transaction holds SQLite's write lock from its start
(BEGIN IMMEDIATE), so seqs stay gap-free and unique even with writers in
several processes. Pollers read by seq.

Every status write goes through :func:`update_status`, checked against the
stream lifecycle; a stream's end also sets its session idle, in the same
transaction, once no other stream of it is active.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import InvalidArgument, StreamNotFound
from ..models import Event, JSONObject, SessionStatus, Stream, StreamStatus, check_transition
from . import _rows
from ._database import Reads, now, reads
from ._event_runs import READ_SQL, expand
from ._sessions import session_id
from ._sql import Connection, Database

MAX_READ_LIMIT = 10_000


class Streams:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, session_name: str, *, ephemeral: bool = False, prompt_node_id: int | None = None
    ) -> Stream:
        async with self._db.write() as conn:
            owner = await session_id(conn, session_name)
            return await insert_stream(
                conn, owner, ephemeral=ephemeral, prompt_node_id=prompt_node_id
            )

    async def get(self, stream_id: int) -> Stream:
        return await get_stream(self._db, stream_id)

    async def recent(self, session_name: str | None = None, *, limit: int = 100) -> list[Stream]:
        """Newest first."""
        where, params = ("WHERE sessions.name = ?", (session_name,)) if session_name else ("", ())
        rows = await self._db.all(
            f"SELECT {_rows.STREAM_COLUMNS} FROM streams JOIN sessions ON sessions.id = streams.session_id "
            f"{where} ORDER BY streams.id DESC LIMIT ?",
            (*params, limit),
        )
        return [_rows.stream(row) for row in rows]

    async def active(self, *, session_id: int | None = None) -> list[Stream]:
        """Streams not yet ended, optionally for one session."""
        where = f"WHERE streams.status IN ({_rows.ACTIVE_STREAM})"
        params: tuple[int, ...] = ()
        if session_id is not None:
            where += " AND streams.session_id = ?"
            params = (session_id,)
        rows = await self._db.all(
            f"SELECT {_rows.STREAM_COLUMNS} FROM streams JOIN sessions ON sessions.id = streams.session_id "
            f"{where} ORDER BY streams.id",
            params,
        )
        return [_rows.stream(row) for row in rows]

    async def append(self, stream_id: int, kind: str, data: JSONObject | None = None) -> Event:
        events = await self.append_many(stream_id, [(kind, data or {})])
        return events[0]

    async def append_many(
        self, stream_id: int, events: Sequence[tuple[str, JSONObject]]
    ) -> list[Event]:
        """Append events in order, numbered on from the stream's last seq."""
        if not events:
            return []
        async with self._db.write() as conn:
            return await insert_events(conn, stream_id, events)

    async def read(self, stream_id: int, *, from_seq: int = 0, limit: int = 1000) -> list[Event]:
        """Events with seq >= ``from_seq``, in order, at most ``limit``."""
        if limit < 1 or limit > MAX_READ_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {MAX_READ_LIMIT}, got {limit}.")
        from_seq = max(from_seq, 0)
        # A finished turn's events may live in runs (_event_runs.py): both in one statement.
        rows = await self._db.all(READ_SQL, {"stream": stream_id, "from": from_seq, "limit": limit})
        if not rows:
            await self.get(stream_id)  # raises StreamNotFound for an unknown id
        return expand(stream_id, rows, from_seq, limit)

    async def wait(
        self, stream_id: int, *, from_seq: int = 0, limit: int = 1000, timeout: float
    ) -> tuple[list[Event], Stream]:
        """Long poll: return as soon as there are events at or after ``from_seq``,
        the stream has ended, or ``timeout`` seconds pass."""

        async def probe() -> tuple[list[Event], Stream] | None:
            stream = await self.get(stream_id)
            events: list[Event] = []
            if stream.last_seq >= from_seq:
                events = await self.read(stream_id, from_seq=from_seq, limit=limit)
            if events or stream.status.terminal:
                return events, stream
            return None

        found = await self._db.wait_for(probe, timeout)
        if found is not None:
            return found
        return [], await self.get(stream_id)

    async def wait_status(
        self, stream_id: int, statuses: frozenset[StreamStatus], *, timeout: float
    ) -> Stream:
        """Wait until the stream's status is one of ``statuses`` (or ``timeout`` passes)."""

        async def probe() -> Stream | None:
            stream = await self.get(stream_id)
            return stream if stream.status in statuses else None

        found = await self._db.wait_for(probe, timeout)
        return found if found is not None else await self.get(stream_id)

    async def set_status(
        self, stream_id: int, status: StreamStatus, *, error: str | None = None
    ) -> Stream:
        async with self._db.write() as conn:
            return await update_status(conn, stream_id, status, error=error)

    async def end_all_active(
        self, reason: str, *, still_running: Callable[[str | None], bool] | None = None
    ) -> list[Stream]:
        """Mark streams still running as interrupted, and their sessions idle: for a
        server that starts on a database whose previous server died mid-turn, and
        for a live one that finds a peer gone. ``still_running(runner)`` keeps the
        streams of servers that are alive. Each stream ended gets a closing
        ``interrupted`` event, so a reader waiting for its end sees one."""
        async with self._db.write() as conn:
            async with conn.execute(
                f"SELECT id, runner FROM streams WHERE status IN ({_rows.ACTIVE_STREAM}) ORDER BY id"
            ) as cursor:
                rows = [tuple(row) for row in await cursor.fetchall()]
            ended = []
            for stream_id, runner in rows:
                if still_running is not None and still_running(runner):
                    continue
                # The closing event is named after the status it closes with.
                closing = (StreamStatus.INTERRUPTED.value, {"reason": reason})
                await insert_events(conn, stream_id, [closing])
                ended.append(
                    await update_status(conn, stream_id, StreamStatus.INTERRUPTED, error=reason)
                )
            return ended


async def insert_events(
    conn: Connection, stream_id: int, events: Sequence[tuple[str, JSONObject]]
) -> list[Event]:
    """Append events to a stream inside a write transaction, numbered on from its last seq."""
    if not events:
        return []
    created = now()
    # Seqs reserved and read back in one statement: each statement is a trip to
    # the connection's thread, and a turn writes events several times.
    rows = await conn.execute_fetchall(
        "UPDATE streams SET last_seq = last_seq + ?, updated_at = ? WHERE id = ? RETURNING last_seq",
        (len(events), created, stream_id),
    )
    last = next(iter(rows), None)
    if last is None:
        raise StreamNotFound(stream_id)
    first = int(last[0]) - len(events) + 1
    await conn.executemany(
        "INSERT INTO events (stream_id, seq, kind, data, created_at) VALUES (?, ?, ?, ?, ?)",
        [
            (stream_id, first + offset, kind, _rows.dumps(data), created)
            for offset, (kind, data) in enumerate(events)
        ],
    )
    return [
        Event(stream_id=stream_id, seq=first + offset, kind=kind, data=data, created_at=created)
        for offset, (kind, data) in enumerate(events)
    ]


async def update_status(
    conn: Connection, stream_id: int, status: StreamStatus, *, error: str | None = None
) -> Stream:
    """Move a stream to ``status`` inside a write transaction; refuses a transition
    out of an end. A stream that ends frees its session unless another of its
    streams is still active."""
    stream = await get_stream(reads(conn), stream_id)
    check_transition(f"Stream {stream_id}", stream.status, status)
    updated = now()
    await conn.execute(
        "UPDATE streams SET status = ?, error = coalesce(?, error), updated_at = ? WHERE id = ?",
        (status.value, error, updated, stream_id),
    )
    if status.terminal:
        # The session's status and whether another of its streams runs, in one read.
        row = await reads(conn).one(
            "SELECT status, EXISTS (SELECT 1 FROM streams WHERE session_id = sessions.id "
            f"AND status IN ({_rows.ACTIVE_STREAM})) FROM sessions WHERE id = ?",
            (stream.session_id,),
        )
        if row is not None and not row[1]:
            check_transition(
                f"Session {stream.session_name!r}", SessionStatus(row[0]), SessionStatus.IDLE
            )
            await conn.execute(
                "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?",
                (SessionStatus.IDLE.value, updated, stream.session_id),
            )
    # The row as just written, without reading it back.
    return stream.model_copy(
        update={
            "status": status,
            "error": error if error is not None else stream.error,
            "updated_at": updated,
        }
    )


async def insert_stream(
    conn: Connection,
    owner: int,
    *,
    ephemeral: bool,
    prompt_node_id: int | None,
    runner: str | None = None,
    server_id: int | None = None,
) -> Stream:
    """A new running stream; ``runner`` names the server process that runs its turn,
    ``server_id`` the lease it runs under (see ``_leases``)."""
    created = now()
    cursor = await conn.execute(
        "INSERT INTO streams (session_id, status, ephemeral, prompt_node_id, runner, server_id, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            owner,
            StreamStatus.RUNNING.value,
            int(ephemeral),
            prompt_node_id,
            runner,
            server_id,
            created,
            created,
        ),
    )
    assert cursor.lastrowid is not None
    return await get_stream(reads(conn), cursor.lastrowid)


async def get_stream(db: Reads, stream_id: int) -> Stream:
    row = await db.one(
        f"SELECT {_rows.STREAM_COLUMNS} FROM streams JOIN sessions ON sessions.id = streams.session_id "
        "WHERE streams.id = ?",
        (stream_id,),
    )
    if row is None:
        raise StreamNotFound(stream_id)
    return _rows.stream(row)
