"""The branching node store: everything session-tree remembers, in one SQLite file.

    async with Store.open("session-tree.db") as store:
        session = await store.sessions.create("main")
        node = await store.nodes.append(session.head_id, NewNode(kind=NodeKind.USER, data={"text": "hi"}))
        await store.sessions.set_head("main", node.id)
        fork = await store.sessions.fork("main", "experiment")   # O(1): a second head

Each concept has its own small API on the store: ``nodes``, ``sessions``,
``streams``, ``approvals``, ``transcripts`` (the Claude Agent SDK
``SessionStore`` mirror), ``search`` (full text over every node), ``leases``
(which servers are alive), ``workspaces``, ``secrets`` (keys kept across
restarts) and ``turns`` (a turn's writes across the others,
each one transaction). The store knows nothing of MCP or of Claude Code
processes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from ._approvals import Approvals
from ._database import Database as SqliteDatabase
from ._database import Reads, Synchronous
from ._leases import Holder, Lease, Leases
from ._nodes import NODE_CACHE_MB, NodeCache, Nodes
from ._pg import PgDatabase, is_postgres_url
from ._search import NodeHit, Search
from ._secrets import Secrets
from ._session_rows import SessionActivity, fork_title, title_from_prompt
from ._sessions import Sessions
from ._sql import Database
from ._streams import Streams
from ._transcript_storage import TranscriptEntry
from ._transcripts import (
    SummaryFold,
    TranscriptAppend,
    TranscriptFile,
    TranscriptKey,
    TranscriptMirror,
    TranscriptSummary,
)
from ._turns import Record, TurnEnd, Turns, TurnStart
from ._workspaces import Workspaces

__all__ = [
    "NODE_CACHE_MB",
    "Holder",
    "Lease",
    "NodeHit",
    "Reads",
    "Record",
    "SessionActivity",
    "Store",
    "SummaryFold",
    "Synchronous",
    "TranscriptAppend",
    "TranscriptEntry",
    "TranscriptFile",
    "TranscriptKey",
    "TranscriptMirror",
    "TranscriptSummary",
    "TurnEnd",
    "TurnStart",
    "fork_title",
    "is_postgres_url",
    "title_from_prompt",
]


class Store:
    """One open session-tree database."""

    def __init__(self, db: Database, *, node_cache_mb: float = NODE_CACHE_MB) -> None:
        self.db = db
        # Two generations share the budget (store/_nodes.py); 0 keeps no node.
        self.nodes = Nodes(db, NodeCache(max_bytes=int(node_cache_mb * 1024 * 1024) // 2))
        self.sessions = Sessions(db)
        self.streams = Streams(db)
        self.approvals = Approvals(db)
        self.transcripts = TranscriptMirror(db)
        self.turns = Turns(db)
        self.search = Search(db)
        self.leases = Leases(db)
        self.workspaces = Workspaces(db)
        self.secrets = Secrets(db)

    @property
    def path(self) -> str:
        return self.db.path

    @classmethod
    async def connect(
        cls,
        path: str | Path,
        *,
        synchronous: Synchronous = "NORMAL",
        max_mb: float = 0,
        check_writable: bool = True,
        node_cache_mb: float = NODE_CACHE_MB,
    ) -> Store:
        """Open (creating or upgrading) the database; the caller must ``aclose()`` it.

        ``path`` is a SQLite file, or a ``postgresql://`` URL for a PostgreSQL
        database (``max_mb`` and ``synchronous`` are SQLite's, unused there).

        ``max_mb`` caps the file's size (0: no cap); a write past it fails as on a
        full disk. ``check_writable=False`` opens an up-to-date file without writing
        to it (for reading a database one cannot write); otherwise a file that
        cannot be written is refused here with :class:`DatabaseUnwritable`.
        ``node_cache_mb`` is the most memory the nodes already read may hold (0: none).
        """
        if is_postgres_url(path):
            return cls(await PgDatabase.open(str(path)), node_cache_mb=node_cache_mb)
        return cls(
            await SqliteDatabase.open(
                path, synchronous=synchronous, max_mb=max_mb, check_writable=check_writable
            ),
            node_cache_mb=node_cache_mb,
        )

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        path: str | Path,
        *,
        synchronous: Synchronous = "NORMAL",
        max_mb: float = 0,
        check_writable: bool = True,
        node_cache_mb: float = NODE_CACHE_MB,
    ) -> AsyncIterator[Store]:
        """Open the database for the length of an ``async with`` block."""
        store = await cls.connect(
            path,
            synchronous=synchronous,
            max_mb=max_mb,
            check_writable=check_writable,
            node_cache_mb=node_cache_mb,
        )
        try:
            yield store
        finally:
            await store.aclose()

    async def aclose(self) -> None:
        await self.db.aclose()
