"""The tools over a session's tree: branch it, see it, render a branch."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from ..models import Session
from ..service import RenderResult, TreeResult
from ._context import service_of
from ._params import MAX_ID, SessionName


async def fork(
    name: SessionName,
    new_name: Annotated[
        str, Field(min_length=1, max_length=100, description="the new session's name")
    ],
    ctx: Context[Any, Any],
    at: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_ID,
            description="a summary node (turn end) or the root; default the head",
        ),
    ] = None,
) -> Session:
    """Branch a session: a new session whose history is name's up to a node. Copies nothing."""
    return await service_of(ctx).fork(name, new_name, at)


async def render_context(
    name: SessionName,
    ctx: Context[Any, Any],
    start: Annotated[
        int | None, Field(ge=1, le=MAX_ID, description="first node (an ancestor of end)")
    ] = None,
    end: Annotated[
        int | None, Field(ge=1, le=MAX_ID, description="last node; default the session's head")
    ] = None,
) -> RenderResult:
    """A branch as Claude Messages API messages (user/assistant, text, thinking, tool_use, tool_result)."""
    return await service_of(ctx).render_context(name, start, end)


async def tree(name: SessionName, ctx: Context[Any, Any]) -> TreeResult:
    """The whole tree a session lives on: nodes with previews, and every session's head."""
    return await service_of(ctx).tree(name)
