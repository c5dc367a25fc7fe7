"""Every tool the servers offer, by name, in the order clients list them.

A tool is a plain ``async def`` in the module of its group; this table alone
says what each is called, what a client may assume about calling it (its
annotations) and which server offers it. Registration wraps each in
``tool_errors``, so a domain error reaches the client as an ``isError`` result
worded with its advice.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

from ._advice import tool_errors
from ._annotations import DESTROYS, PERMIT, READ_ONLY, RUNS_CHILD, WRITES
from ._branch_tools import fork, render_context, tree
from ._chat_tools import chat, chat_async, interrupt, poll, streams
from ._loopback_tools import loopback_config, loopback_pending, loopback_permit, loopback_respond
from ._search_tools import search
from ._server import PERMIT_TOOL
from ._session_tools import configure, create, delete, get, list_sessions
from ._transcript_tools import claude_sessions, export_claude_session, import_claude_session
from ._workspace_tools import workspace_apply, workspace_diff

# Claude Code defers MCP tools behind its ToolSearch, which ranks a tool by the words of a
# search found in its name, in this hint (the tool's _meta) and in its description. A hint
# says what the tool is for in the words a parent agent searches with.
SEARCH_HINT = "anthropic/searchHint"


@dataclass(frozen=True)
class ToolEntry:
    name: str
    fn: Callable[..., Awaitable[Any]]
    annotations: ToolAnnotations
    hint: str | None = None
    # None: structured when the return type allows; loopback_permit must answer in
    # exactly one text block, so it is never structured.
    structured_output: bool | None = None


PARENT_TOOLS: tuple[ToolEntry, ...] = (
    ToolEntry("create", create, WRITES, hint="start a new sub-agent: a child Claude Code session"),
    ToolEntry(
        "configure",
        configure,
        WRITES,
        hint="change a child session's settings: model, prompt, permissions",
    ),
    ToolEntry(
        "chat", chat, RUNS_CHILD, hint="send a message to a child sub-agent and wait for its reply"
    ),
    ToolEntry(
        "chat_async",
        chat_async,
        RUNS_CHILD,
        hint="start a child's turn in the background, without waiting",
    ),
    ToolEntry(
        "poll", poll, READ_ONLY, hint="follow what a child is doing now: its running turn's events"
    ),
    ToolEntry("fork", fork, WRITES, hint="fork or branch a session to try an alternative"),
    ToolEntry(
        "render_context",
        render_context,
        READ_ONLY,
        hint="show a branch's conversation as Claude API messages",
    ),
    ToolEntry("get", get, READ_ONLY, hint="a child session's status, head, usage and settings"),
    ToolEntry("list", list_sessions, READ_ONLY, hint="list every child session, sub-agent"),
    ToolEntry("search", search, READ_ONLY, hint="find sessions or messages by their text"),
    ToolEntry("delete", delete, DESTROYS, hint="delete or remove a child session"),
    ToolEntry("tree", tree, READ_ONLY, hint="see every branch and head of a conversation tree"),
    ToolEntry("interrupt", interrupt, WRITES, hint="stop or cancel a running child's turn"),
    ToolEntry("streams", streams, READ_ONLY, hint="recent turns of a child and their status"),
    ToolEntry(
        "loopback_pending",
        loopback_pending,
        READ_ONLY,
        hint="children waiting for permission: tool calls to approve",
    ),
    ToolEntry(
        "loopback_respond",
        loopback_respond,
        WRITES,
        hint="approve or deny a child's tool call, permission request",
    ),
    ToolEntry(
        "loopback_config",
        loopback_config,
        WRITES,
        hint="let an outside Claude Code ask this session for permission",
    ),
    ToolEntry(
        "claude_sessions",
        claude_sessions,
        READ_ONLY,
        hint="list Claude Code transcripts on disk to import",
    ),
    ToolEntry(
        "import_claude_session",
        import_claude_session,
        WRITES,
        hint="import a Claude Code transcript as a session",
    ),
    ToolEntry(
        "export_claude_session",
        export_claude_session,
        WRITES,
        hint="export a session as a Claude Code transcript to resume",
    ),
    ToolEntry(
        "workspace_diff",
        workspace_diff,
        READ_ONLY,
        hint="what a child's branch changed in its files: diff, patch",
    ),
    ToolEntry(
        "workspace_apply",
        workspace_apply,
        WRITES,
        hint="take a child's file changes into my checkout as a branch or patch",
    ),
)

PERMIT_TOOLS: tuple[ToolEntry, ...] = (
    ToolEntry(PERMIT_TOOL, loopback_permit, PERMIT, structured_output=False),
)


def register(server: MCPServer[Any], tools: Iterable[ToolEntry]) -> None:
    for tool in tools:
        server.add_tool(
            tool_errors(tool.fn),
            name=tool.name,
            # The docstring without its source indentation, which Python before 3.13 keeps:
            # the same text on every Python, and no indentation for a model to read.
            description=inspect.cleandoc(tool.fn.__doc__ or ""),
            annotations=tool.annotations,
            meta={SEARCH_HINT: tool.hint} if tool.hint else None,
            structured_output=tool.structured_output,
        )


__all__ = ["PARENT_TOOLS", "PERMIT_TOOLS", "ToolEntry", "register"]
