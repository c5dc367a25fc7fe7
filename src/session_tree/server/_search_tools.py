"""Finding things: the filters list and search share, and the search tool."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from ..service import SearchResult, SessionFilter, SessionState
from ._context import service_of
from ._params import MAX_ID

StatusFilter = Annotated[
    SessionState | None,
    Field(
        description="only sessions that are running, awaiting_permission, failed (last turn "
        "failed) or idle"
    ),
]
CwdFilter = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=4096,
        description="only sessions working in or below this directory",
    ),
]
ForkedFromFilter = Annotated[
    str | None,
    Field(min_length=1, max_length=100, description="only the direct forks of this session"),
]
QueryFilter = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=1000,
        description="only sessions whose name or title holds every one of these words",
    ),
]


def session_filter(
    status: SessionState | None, cwd: str | None, forked_from: str | None, query: str | None
) -> SessionFilter:
    return SessionFilter(status=status, cwd=cwd, forked_from=forked_from, query=query)


async def search(
    text: Annotated[
        str,
        Field(min_length=1, max_length=1000, description="the words to look for"),
    ],
    ctx: Context[Any, Any],
    phrase: Annotated[
        bool, Field(description="match the words as one phrase, in order (default: all, any order)")
    ] = False,
    status: StatusFilter = None,
    cwd: CwdFilter = None,
    forked_from: ForkedFromFilter = None,
    query: QueryFilter = None,
    before: Annotated[
        int | None,
        Field(ge=1, le=MAX_ID, description="only hits older than this node (next_before pages on)"),
    ] = None,
    limit: Annotated[int, Field(ge=1, le=200, description="most hits to return")] = 20,
) -> SearchResult:
    """Search every session's history (prompts, replies, thinking, tool inputs and results),
    newest first. Each hit names the session that said it and fork_at: fork(name=session,
    at=fork_at) gives a session whose history ends right after the hit's turn. status, cwd,
    forked_from and query filter the sessions as in list."""
    return await service_of(ctx).search(
        text,
        phrase=phrase,
        filters=session_filter(status, cwd, forked_from, query),
        before=before,
        limit=limit,
    )
