"""The tools over a session's tree: branch it, see it, render a branch."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from ..models import Session
from ..service import RenderResult, TreeResult
from ._context import service_of
from ._overrides import MaxTurnsOverride, ModelOverride, SystemPromptOverride, overrides
from ._params import MAX_ID, McpServersArg, SessionName


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
    model: ModelOverride = None,
    system_prompt: SystemPromptOverride = None,
    max_turns: MaxTurnsOverride = None,
    mcp_servers: Annotated[
        McpServersArg,
        Field(
            description="the fork's own MCP servers, replacing the origin's ({} for none); "
            "a *** value (as get shows a secret) keeps the origin's real one"
        ),
    ] = None,
) -> Session:
    """Branch a session: a new session whose history is name's up to a node. Copies nothing.
    model, system_prompt, max_turns and mcp_servers set the fork's own (its origin keeps its
    own), so one branch can go on with two models, prompts or tool sets side by side."""
    changes = overrides(model, system_prompt, max_turns)
    if mcp_servers is not None:
        changes["mcp_servers"] = mcp_servers
    return await service_of(ctx).fork(name, new_name, at, changes or None)


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
