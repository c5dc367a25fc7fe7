"""Child transcripts mirrored into this database.

Claude Code writes each child's transcript (JSONL) under its config dir; the
Agent SDK mirrors every entry here too (through the ``SessionStore`` adapter in
``agents``, the only layer that speaks the SDK), so a child can be resumed from
this database alone, after Claude's own files are gone or on another machine.

Entries are opaque blobs. One with a ``uuid`` is stored once per key (the SDK
retries batches, so a uuid is an idempotency key); one without is always
appended. ``mtime`` is our storage write time in epoch milliseconds, the same
clock for the transcript and for its summary sidecar, as the protocol asks.

Forks cost O(1). Every cold resume or fork makes Claude Code write a new
transcript that repeats the history it resumed, each entry with a few
top-level fields rewritten (its ``sessionId``, a ``promptId``, an added
``requestSessionId``). So a transcript is its own entries plus at most one
shared block (``_sharing``): the first ``base_count`` uuid entries of a base
transcript, passed through field rules learned from the copy and checked
against it entry by entry, so what is loaded is exactly what was appended.
The block is planned while the transcript has no uuid entry of its own;
anything the rules cannot reproduce is stored as its own. Large top-level
values (tool listings, system prompt snapshots, long replies) are stored once
by content in ``transcript_values``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from . import _rows
from ._sql import Connection, Database
from ._transcript_storage import TranscriptEntry, append_entries, collect_garbage, effective


class TranscriptKey(TypedDict):
    project_key: str
    session_id: str
    subpath: NotRequired[str]


class TranscriptFile(TypedDict):
    session_id: str
    mtime: int


class TranscriptSummary(TypedDict):
    session_id: str
    mtime: int
    data: dict[str, Any]


SummaryFold = Callable[[TranscriptSummary | None], TranscriptSummary]
"""The next summary of a transcript from its previous one (None at first)."""


def _epoch_ms() -> int:
    return int(time.time() * 1000)


def _parts(key: TranscriptKey) -> tuple[str, str, str]:
    return key["project_key"], key["session_id"], key.get("subpath") or ""


@dataclass(frozen=True)
class TranscriptAppend:
    """Entries to add to one transcript (``fold``: as for :meth:`TranscriptMirror.append`).

    A turn's writes take these too (``Turns.record`` and ``finish``), so that what
    the child's transcript gained reaches the database in the transaction that
    records the turn, not in one of its own before it."""

    key: TranscriptKey
    entries: list[TranscriptEntry]
    fold: SummaryFold | None = None


async def write_appends(conn: Connection, appends: Sequence[TranscriptAppend]) -> None:
    """Write ``appends`` inside the caller's write transaction, in order."""
    for append in appends:
        if append.entries:
            await _write_append(conn, append)


async def _write_append(conn: Connection, append: TranscriptAppend) -> None:
    parts = _parts(append.key)
    project_key, session_id, subpath = parts
    fold = append.fold
    await append_entries(conn, parts, append.entries)
    mtime = _epoch_ms()
    await conn.execute(
        "INSERT INTO transcript_files (project_key, session_id, subpath, mtime) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (project_key, session_id, subpath) DO UPDATE SET mtime = excluded.mtime",
        (project_key, session_id, subpath, mtime),
    )
    if subpath or fold is None:
        return  # subagent transcripts never feed the main session's summary
    async with conn.execute(
        "SELECT mtime, data FROM transcript_summaries WHERE project_key = ? AND session_id = ?",
        (project_key, session_id),
    ) as cursor:
        row = await cursor.fetchone()
    previous: TranscriptSummary | None = None
    if row is not None:
        previous = {
            "session_id": session_id,
            "mtime": row["mtime"],
            "data": _rows.loads_object(row["data"]),
        }
    folded = fold(previous)
    await conn.execute(
        "INSERT INTO transcript_summaries (project_key, session_id, mtime, data) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (project_key, session_id) DO UPDATE SET mtime = excluded.mtime, data = excluded.data",
        (project_key, session_id, mtime, _rows.dumps(folded["data"])),
    )


class TranscriptMirror:
    """Transcripts by key: every operation the SDK's ``SessionStore`` protocol has."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(
        self, key: TranscriptKey, entries: list[TranscriptEntry], *, fold: SummaryFold | None = None
    ) -> None:
        """Add entries to a transcript; ``fold``, for a main transcript, keeps its summary
        sidecar up to date in the same transaction."""
        await self.append_all([TranscriptAppend(key, entries, fold)])

    async def append_all(self, appends: Sequence[TranscriptAppend]) -> None:
        """Several appends, in one transaction."""
        if any(append.entries for append in appends):
            async with self._db.write() as conn:
                await write_appends(conn, appends)

    async def load(self, key: TranscriptKey) -> list[TranscriptEntry] | None:
        # One snapshot: the file and its entries as one append left them.
        async with self._db.snapshot() as db:
            row = await db.one(
                "SELECT transcripts.id FROM transcripts JOIN transcript_files USING "
                "(project_key, session_id, subpath) WHERE project_key = ? AND session_id = ? "
                "AND subpath = ? AND live = 1",
                _parts(key),
            )
            if row is None:
                return None
            return await effective(db, row[0])

    async def list_sessions(self, project_key: str) -> list[TranscriptFile]:
        rows = await self._db.all(
            "SELECT session_id, mtime FROM transcript_files WHERE project_key = ? AND subpath = ''",
            (project_key,),
        )
        return [{"session_id": row[0], "mtime": row[1]} for row in rows]

    async def list_session_summaries(self, project_key: str) -> list[TranscriptSummary]:
        rows = await self._db.all(
            "SELECT session_id, mtime, data FROM transcript_summaries WHERE project_key = ?",
            (project_key,),
        )
        return [
            {"session_id": row[0], "mtime": row[1], "data": _rows.loads_object(row[2])}
            for row in rows
        ]

    async def delete(self, key: TranscriptKey) -> None:
        project_key, session_id, subpath = _parts(key)
        # The main transcript's key takes its subagents' transcripts with it.
        scope = "subpath = ?" if subpath else "1 = 1"
        params: tuple[str, ...] = (
            (project_key, session_id, subpath) if subpath else (project_key, session_id)
        )
        async with self._db.write() as conn:
            await conn.execute(
                f"DELETE FROM transcript_files WHERE project_key = ? AND session_id = ? AND {scope}",
                params,
            )
            # Forks may still share its entries: it goes once nothing refers to it.
            await conn.execute(
                f"UPDATE transcripts SET live = 0 WHERE project_key = ? AND session_id = ? "
                f"AND live = 1 AND {scope}",
                params,
            )
            await collect_garbage(conn)
            if not subpath:
                await conn.execute(
                    "DELETE FROM transcript_summaries WHERE project_key = ? AND session_id = ?",
                    (project_key, session_id),
                )

    async def list_subkeys(self, key: TranscriptKey) -> list[str]:
        rows = await self._db.all(
            "SELECT subpath FROM transcript_files WHERE project_key = ? AND session_id = ? AND subpath != '' "
            "ORDER BY subpath",
            (key["project_key"], key["session_id"]),
        )
        return [row[0] for row in rows]

    async def known(self, key: TranscriptKey) -> bool:
        """Whether the key has held a transcript, now or before it was deleted."""
        row = await self._db.one(
            "SELECT 1 FROM transcripts WHERE project_key = ? AND session_id = ? AND subpath = ? "
            "LIMIT 1",
            _parts(key),
        )
        return row is not None

    async def sessions_with_id(self, session_id: str) -> list[str]:
        """The project keys under which a Claude session id has a transcript."""
        rows = await self._db.all(
            "SELECT project_key FROM transcript_files WHERE session_id = ? AND subpath = ''",
            (session_id,),
        )
        return [row[0] for row in rows]
