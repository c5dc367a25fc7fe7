"""The tools that carry conversations between session-tree and Claude Code itself: list
the Claude Code sessions of a directory, import one, export a branch for ``claude
--resume``. The command line's import and export take the same service path."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from ..service import ClaudeSessionList, ExportResult, ImportResult
from ._context import service_of
from ._params import MAX_ID, SessionName

Directory = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=4096,
        description="the directory Claude Code ran in (default: this server's working directory)",
    ),
]


async def claude_sessions(
    ctx: Context[Any, Any],
    cwd: Directory = None,
    limit: Annotated[int, Field(ge=1, le=500, description="most sessions to return")] = 50,
) -> ClaudeSessionList:
    """List the Claude Code sessions on this machine for a directory: the conversations
    `claude --resume` offers there (what a person ran in their terminal, or exported with
    export_claude_session), newest first, each with its session id, first prompt, size and
    time. Take one over with import_claude_session."""
    return await service_of(ctx).claude_sessions(cwd, limit)


async def import_claude_session(
    source: Annotated[
        str,
        Field(
            min_length=1,
            max_length=4096,
            description="a session id from claude_sessions, or the path of a Claude Code "
            "transcript (.jsonl)",
        ),
    ],
    ctx: Context[Any, Any],
    name: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=100,
            description="the new session's name (default: import- and the start of its id)",
        ),
    ] = None,
    cwd: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=4096,
            description="where the session id is looked for and the new session works "
            "(default: where the conversation was recorded, when it exists here)",
        ),
    ] = None,
) -> ImportResult:
    """Import a Claude Code session (a conversation a person had in their terminal, or any
    Claude Code transcript) as a new session: chat on it and the child sees its history;
    fork, render or search it like any other. The transcript file is left as it is; a last
    line cut short by a crash is left out, as Claude Code reads it."""
    return await service_of(ctx).import_claude_session(source, cwd=cwd, name=name)


async def export_claude_session(
    name: SessionName,
    ctx: Context[Any, Any],
    at: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_ID,
            description="end at this node of the session's tree (default: its head)",
        ),
    ] = None,
    cwd: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=4096,
            description="the directory to resume it in (default: the session's working directory)",
        ),
    ] = None,
) -> ExportResult:
    """Export a session's branch as a Claude Code session, written where `claude --resume`
    finds it, so a person can carry the conversation on in their terminal (resume holds the
    command). The session itself is left as it is."""
    return await service_of(ctx).export_claude_session(name, at=at, cwd=cwd)
