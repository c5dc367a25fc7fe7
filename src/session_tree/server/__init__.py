"""The MCP server: session-tree's tools over stdio.

__init__           build_server: the parent's server, or a child's permit-only one
_catalog           every tool by name, with its annotations, in listing order
_session_tools     create, configure, get, list, delete
_chat_tools        chat, chat_async, poll, interrupt, streams
_elicit            asking the person: elicitation/create (2025-11-25) or input_required (2026-07-28)
_request_state     the key that seals a retry's state, kept in the database
_tasks             chat as a task (the Tasks extension of 2026-07-28): tasks/get, update, cancel
_branch_tools      fork, tree, render_context
_loopback_tools    loopback_pending, loopback_respond, loopback_config, loopback_permit
_params            the argument types the tools share
_annotations       the tool annotations
_context           what a server's lifespan hands its tools
_permits           who answers loopback_permit
_loopback_config   the MCP config an outside Claude Code asks a session with
_advice            a domain error as a tool error: the fact, then what to call
_server            the server class: tool argument errors a model can act on
_stdio             the stdio transport that a signal can stop
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.request_state import RequestStateSecurity

from .. import __version__
from ..service import SessionService, Settings, open_permits
from ._catalog import PARENT_TOOLS, PERMIT_TOOLS, register
from ._context import ServerState
from ._loopback_config import PERMIT_PROMPT_TOOL, SERVER_NAME, LoopbackConfig
from ._permits import TokenlessPermits
from ._request_state import SECRET_NAME as REQUEST_STATE_SECRET
from ._request_state import DatabaseKeyCodec
from ._server import SessionTreeServer
from ._stdio import run_stdio
from ._tasks import ChatTasks

INSTRUCTIONS = """\
session-tree runs child Claude Code sessions. create a session, chat with it (or chat_async and
poll), fork it at its head or at any turn's summary node to try alternatives, render_context to
see a branch as Claude API messages, and tree to see every branch and head. Sessions created with
loopback=true send their children's tool calls to you: watch loopback_pending, answer with
loopback_respond."""

PERMIT_INSTRUCTIONS = f"""session-tree's permission prompt tool for one child session: Claude Code calls loopback_permit
(--permission-prompt-tool {PERMIT_PROMPT_TOOL}) and the parent agent decides."""


def build_server(settings: Settings) -> MCPServer[ServerState]:
    """The parent's server; with a loopback token, the permit-only server of an outside child."""
    if settings.loopback_token:
        return build_permit_server(settings, settings.loopback_token)
    return build_parent_server(settings)


def build_parent_server(settings: Settings) -> MCPServer[ServerState]:
    # A retried input_required chat may reach a restarted server: seal its state under the
    # database's key, not one of this process alone.
    codec = DatabaseKeyCodec()

    @asynccontextmanager
    async def lifespan(_: MCPServer[ServerState]) -> AsyncIterator[ServerState]:
        async with SessionService.open(settings) as service:
            codec.use(await service.secret(REQUEST_STATE_SECRET))
            yield ServerState(permits=TokenlessPermits(), service=service)

    server: MCPServer[ServerState] = SessionTreeServer(
        SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        extensions=[ChatTasks()],
        request_state_security=RequestStateSecurity(codec=codec),
    )
    register(server, PARENT_TOOLS + PERMIT_TOOLS)
    return server


def build_permit_server(settings: Settings, token: str) -> MCPServer[ServerState]:
    """Only loopback_permit, asking for the one session ``token`` belongs to: what a child
    can call here can ask, never decide. It starts no children and ends no turns."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[ServerState]) -> AsyncIterator[ServerState]:
        async with open_permits(settings, token) as permits:
            yield ServerState(permits=permits)

    server: MCPServer[ServerState] = SessionTreeServer(
        SERVER_NAME, version=__version__, instructions=PERMIT_INSTRUCTIONS, lifespan=lifespan
    )
    register(server, PERMIT_TOOLS)
    return server


__all__ = [
    "SERVER_NAME",
    "LoopbackConfig",
    "ServerState",
    "build_parent_server",
    "build_permit_server",
    "build_server",
    "run_stdio",
]
