"""The database as the front ends that start no children see it: the CLI's reading
commands, transcript export and import, and doctor's check (the browser view reads
through it too). One door, so no front end reaches the store.

A library opens the store itself and nothing else: no child pool, no task group,
so a command that only reads starts nothing. A running server may share the file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ..models import Session, SessionConfig, Stream, TreeView
from ..store import Store, Synchronous
from ._branches import branch
from ._jsonl import Export
from ._render import RenderedMessage, render
from ._results import ClaudeSessionList, ImportResult
from ._transcripts import (
    Imported,
    claude_sessions,
    export_branch,
    import_claude_session,
    import_transcript,
)
from ._workspace_changes import ApplyResult, DiffAgainst, WorkspaceChanges, WorkspaceDiff
from ._workspaces import Workspaces

__all__ = ["Library", "SessionOverview", "open_library"]


@dataclass(frozen=True)
class SessionOverview:
    """A session and its latest turns, newest first."""

    session: Session
    recent_streams: list[Stream]


@asynccontextmanager
async def open_library(
    db_path: str | Path, *, writable: bool, synchronous: Synchronous = "NORMAL"
) -> AsyncIterator[Library]:
    """The database at ``db_path`` for the length of an ``async with`` block.

    ``writable=True`` creates the file (and its directory) when missing and proves
    it writable on opening: :class:`~session_tree.errors.DatabaseUnwritable` when
    it is not (doctor's check). ``writable=False`` opens an up-to-date file without
    writing to it, so a database this user cannot write can still be read; it
    creates a missing file, so a reader checks :meth:`Path.exists` first.
    """
    async with Store.open(db_path, synchronous=synchronous, check_writable=writable) as store:
        yield Library(store)


class Library:
    """Sessions, branches and transcripts of one open database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def db_path(self) -> str:
        return self._store.path

    async def names(self) -> list[str]:
        """Every session's name, sorted."""
        return await self._store.sessions.names()

    async def sessions(self) -> list[Session]:
        return await self._store.sessions.all()

    async def show(self, name: str, *, recent: int = 5) -> SessionOverview:
        """Session ``name`` and its last ``recent`` streams."""
        session = await self._store.sessions.get(name)
        streams = await self._store.streams.recent(name, limit=recent)
        return SessionOverview(session=session, recent_streams=streams)

    async def tree(self, name: str) -> TreeView:
        """The whole tree session ``name`` lives in: every branch and head."""
        session = await self._store.sessions.get(name)
        return await self._store.nodes.tree(session.tree_id)

    async def render(
        self, name: str, *, at: int | None = None, start: int | None = None
    ) -> list[RenderedMessage]:
        """Session ``name``'s branch up to its head (or node ``at`` of its tree), from the
        root (or from ``start``), as Claude API messages."""
        session = await self._store.sessions.get(name)
        return render(await branch(self._store, session, end=at, start=start))

    async def export(self, name: str, *, at: int | None = None, cwd: str | None = None) -> Export:
        """Session ``name``'s branch as a transcript ``claude --resume`` accepts."""
        return await export_branch(self._store, name, at=at, cwd=cwd)

    async def import_transcript(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        config: SessionConfig | None = None,
    ) -> Imported:
        """A new session holding the conversation of Claude Code transcript ``path``."""
        return await import_transcript(self._store, path, name=name, config=config)

    async def claude_sessions(
        self, cwd: str | None = None, *, limit: int = 50
    ) -> ClaudeSessionList:
        """The Claude Code sessions ``claude --resume`` offers in ``cwd``, newest first."""
        return await claude_sessions(cwd, limit=limit)

    async def import_claude_session(
        self, source: str, *, name: str | None = None, cwd: str | None = None
    ) -> ImportResult:
        """A new session holding Claude Code session ``source`` (its id, or its file)."""
        return await import_claude_session(self._store, source, cwd=cwd, name=name)

    async def diff(
        self, name: str, *, at: int | None = None, against: DiffAgainst = "fork"
    ) -> WorkspaceDiff:
        """What a workspace session's turn ``at`` (or its branch) changed."""
        return await WorkspaceChanges(Workspaces(self._store)).diff(name, at=at, against=against)

    async def apply(
        self,
        name: str,
        *,
        branch: str | None = None,
        switch: bool = False,
        patch_file: str | None = None,
    ) -> ApplyResult:
        """A workspace session's last snapshot as a new branch, or a patch file."""
        return await WorkspaceChanges(Workspaces(self._store)).apply(
            name, branch=branch, switch=switch, patch_file=patch_file
        )

    async def workspace_problems(self) -> list[str]:
        """Stray or missing worktrees, one line each (doctor)."""
        return await Workspaces(self._store).problems()
