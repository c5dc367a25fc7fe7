"""The tools that make, change, show and delete sessions."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..models import PermissionMode, Session, SessionConfig
from ..service import DeleteResult, ListOrder, SessionInfo
from ._context import service_of
from ._overrides import MaxTurnsOverride, ModelOverride, SystemPromptOverride, overrides
from ._params import (
    MAX_SYSTEM_PROMPT_CHARS,
    AddDirsArg,
    ApprovalTimeout,
    AskHumanArg,
    EffortArg,
    EnvArg,
    FallbackModelArg,
    McpServersArg,
    Rules,
    SandboxArg,
    SessionName,
    SettingSourcesArg,
    ThinkingTokensArg,
)
from ._search_tools import CwdFilter, ForkedFromFilter, QueryFilter, StatusFilter, session_filter

Title = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        description="a title for people and list; default the first prompt's first line",
    ),
]


async def create(
    name: SessionName,
    ctx: Context[Any, Any],
    title: Title = None,
    start: Annotated[
        bool,
        Field(description="start the child now, so the first chat does not wait for it to start"),
    ] = False,
    cwd: Annotated[str | None, Field(description="the child's working directory")] = None,
    model: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=200,
            description="model for the child, e.g. claude-sonnet-4-5",
        ),
    ] = None,
    system_prompt: Annotated[
        str | None,
        Field(
            max_length=MAX_SYSTEM_PROMPT_CHARS,
            description="replaces Claude Code's system prompt",
        ),
    ] = None,
    permission_mode: Annotated[
        PermissionMode, Field(description="Claude Code permission mode")
    ] = "default",
    allowed_tools: Annotated[Rules, Field(description="tools the child uses unasked")] = None,
    disallowed_tools: Annotated[Rules, Field(description="tools the child may never use")] = None,
    loopback: Annotated[
        bool,
        Field(
            description="send every tool call Claude Code would ask about to you (loopback_pending)"
        ),
    ] = False,
    ask_human: AskHumanArg = False,
    approval_timeout_s: ApprovalTimeout = None,
    max_turns: Annotated[
        int | None, Field(ge=1, le=10_000, description="cap on model round trips per chat")
    ] = None,
    max_cost_usd: Annotated[
        float | None,
        Field(
            gt=0,
            le=1_000_000,
            description="budget in USD for this session and every fork below it together",
        ),
    ] = None,
    mcp_servers: McpServersArg = None,
    setting_sources: SettingSourcesArg = None,
    env: EnvArg = None,
    add_dirs: AddDirsArg = None,
    effort: EffortArg = None,
    thinking_tokens: ThinkingTokensArg = None,
    fallback_model: FallbackModelArg = None,
    sandbox: SandboxArg = None,
    workspace: Annotated[
        Literal["git"] | None,
        Field(
            description="git: the child works in its own git worktree of cwd's repository (from "
            "your HEAD plus uncommitted changes); forks get their own"
        ),
    ] = None,
) -> Session:
    """Create a child Claude Code session with an empty history. The child starts on its first
    chat, or at once with start=true. workspace='git' gives it (and each fork) its own worktree,
    snapshotted every turn: see workspace_diff and workspace_apply."""
    config = SessionConfig(
        cwd=cwd,
        model=model,
        system_prompt=system_prompt,
        permission_mode=permission_mode,
        allowed_tools=allowed_tools or [],
        disallowed_tools=disallowed_tools or [],
        loopback=loopback,
        ask_human=ask_human,
        max_turns=max_turns,
        max_cost_usd=max_cost_usd,
        **({"approval_timeout_s": approval_timeout_s} if approval_timeout_s else {}),
        mcp_servers=mcp_servers or {},
        setting_sources=setting_sources or [],
        env=env or {},
        add_dirs=add_dirs or [],
        effort=effort,
        thinking_tokens=thinking_tokens,
        fallback_model=fallback_model,
        sandbox=sandbox,
        workspace=workspace,
    )
    return await service_of(ctx).create(name, config, title, start=start)


async def configure(
    name: SessionName,
    ctx: Context[Any, Any],
    title: Title = None,
    model: ModelOverride = None,
    system_prompt: SystemPromptOverride = None,
    max_turns: MaxTurnsOverride = None,
    permission_mode: Annotated[
        PermissionMode | None, Field(description="Claude Code permission mode")
    ] = None,
    allowed_tools: Annotated[Rules, Field(description="replaces the allowed rules")] = None,
    disallowed_tools: Annotated[Rules, Field(description="replaces the disallowed rules")] = None,
    loopback: Annotated[bool | None, Field(description="send tool calls to you")] = None,
    ask_human: Annotated[
        bool | None, Field(description="ask the person at your MCP client first")
    ] = None,
    approval_timeout_s: ApprovalTimeout = None,
    cwd: Annotated[
        str | None, Field(description="move the session: the next child works here")
    ] = None,
    bypass_for_s: Annotated[
        float | None,
        Field(
            ge=0,
            le=86_400,
            description="allow every loopback call unasked for this many seconds (0 ends it)",
        ),
    ] = None,
    max_cost_usd: Annotated[
        float | None,
        Field(
            ge=0,
            le=1_000_000,
            description="budget in USD for this session and its forks together (0 removes it)",
        ),
    ] = None,
    mcp_servers: Annotated[
        McpServersArg,
        Field(
            description="replaces the MCP servers ({} removes them all); a *** value (as get "
            "shows a secret) keeps the one stored there"
        ),
    ] = None,
    setting_sources: SettingSourcesArg = None,
    env: Annotated[
        EnvArg,
        Field(description="replaces the child's environment variables (*** keeps a value)"),
    ] = None,
    add_dirs: AddDirsArg = None,
    effort: EffortArg = None,
    thinking_tokens: ThinkingTokensArg = None,
    fallback_model: Annotated[
        str | None,
        Field(
            max_length=200,
            description="model the child turns to when its model is overloaded; empty removes it",
        ),
    ] = None,
    sandbox: Annotated[
        SandboxArg, Field(description="replaces the sandbox settings; enabled=false turns it off")
    ] = None,
) -> Session:
    """Change a session's title, permission policy, budget, cwd, MCP servers or child options; arguments
    left out stay as they are, and the next turn's child starts with the change. Claude
    Code's own rules (mode, allowed, disallowed) settle a call first; only the rest reaches the
    loopback."""
    changes: dict[str, object] = {
        key: value
        for key, value in {
            "permission_mode": permission_mode,
            "allowed_tools": allowed_tools,
            "disallowed_tools": disallowed_tools,
            "loopback": loopback,
            "ask_human": ask_human,
            "approval_timeout_s": approval_timeout_s,
            "cwd": cwd,
            "mcp_servers": mcp_servers,
            "setting_sources": setting_sources,
            "env": env,
            "add_dirs": add_dirs,
            "effort": effort,
            "thinking_tokens": thinking_tokens,
            "sandbox": sandbox,
        }.items()
        if value is not None
    }
    if fallback_model is not None:
        changes["fallback_model"] = fallback_model or None
    changes |= overrides(model, system_prompt, max_turns)
    if max_cost_usd is not None:
        changes["max_cost_usd"] = max_cost_usd if max_cost_usd > 0 else None
    if bypass_for_s is not None:
        changes["bypass_until"] = time.time() + bypass_for_s if bypass_for_s > 0 else None
    return await service_of(ctx).configure(name, changes, title)


async def get(name: SessionName, ctx: Context[Any, Any]) -> SessionInfo:
    """One session: head, config, usage, the running stream if any."""
    return await service_of(ctx).get(name)


async def list_sessions(
    ctx: Context[Any, Any],
    status: StatusFilter = None,
    cwd: CwdFilter = None,
    forked_from: ForkedFromFilter = None,
    query: QueryFilter = None,
    order: Annotated[
        ListOrder, Field(description="activity: last activity, newest first; name: by name")
    ] = "activity",
    limit: Annotated[int | None, Field(ge=1, le=1000, description="most rows to return")] = None,
    cursor: Annotated[
        str | None,
        Field(min_length=1, max_length=200, description="a row's cursor: list on after that row"),
    ] = None,
) -> list[SessionInfo]:
    """Sessions with title, status, turns, last activity, head, cost (own and subtree) and fork
    origin; every one by default, newest activity first. Filters combine."""
    return await service_of(ctx).list(
        session_filter(status, cwd, forked_from, query), order=order, limit=limit, cursor=cursor
    )


async def delete(name: SessionName, ctx: Context[Any, Any]) -> DeleteResult:
    """Delete a session and the nodes no other session reaches. Forks keep their history."""
    return await service_of(ctx).delete(name)
