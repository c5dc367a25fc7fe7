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


@dataclass(frozen=True)
class ToolEntry:
    name: str
    fn: Callable[..., Awaitable[Any]]
    annotations: ToolAnnotations
    # None: structured when the return type allows; loopback_permit must answer in
    # exactly one text block, so it is never structured.
    structured_output: bool | None = None


PARENT_TOOLS: tuple[ToolEntry, ...] = (
    ToolEntry("create", create, WRITES),
    ToolEntry("configure", configure, WRITES),
    ToolEntry("chat", chat, RUNS_CHILD),
    ToolEntry("chat_async", chat_async, RUNS_CHILD),
    ToolEntry("poll", poll, READ_ONLY),
    ToolEntry("fork", fork, WRITES),
    ToolEntry("render_context", render_context, READ_ONLY),
    ToolEntry("get", get, READ_ONLY),
    ToolEntry("list", list_sessions, READ_ONLY),
    ToolEntry("search", search, READ_ONLY),
    ToolEntry("delete", delete, DESTROYS),
    ToolEntry("tree", tree, READ_ONLY),
    ToolEntry("interrupt", interrupt, WRITES),
    ToolEntry("streams", streams, READ_ONLY),
    ToolEntry("loopback_pending", loopback_pending, READ_ONLY),
    ToolEntry("loopback_respond", loopback_respond, WRITES),
    ToolEntry("loopback_config", loopback_config, WRITES),
    ToolEntry("claude_sessions", claude_sessions, READ_ONLY),
    ToolEntry("import_claude_session", import_claude_session, WRITES),
    ToolEntry("export_claude_session", export_claude_session, WRITES),
    ToolEntry("workspace_diff", workspace_diff, READ_ONLY),
    ToolEntry("workspace_apply", workspace_apply, WRITES),
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
            structured_output=tool.structured_output,
        )


__all__ = ["PARENT_TOOLS", "PERMIT_TOOLS", "ToolEntry", "register"]
