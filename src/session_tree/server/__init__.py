"""The MCP server: session-tree's tools over stdio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer

from .. import __version__
from ..service import SERVER_NAME, Loopback, SessionPermits, SessionService, Settings
from ..store import Store
from ._arguments import SessionTreeServer
from ._loopback_tools import register_parent_tools, register_permit
from ._stdio import run_stdio
from ._tools import register

INSTRUCTIONS = """\
session-tree runs child Claude Code sessions. create a session, chat with it (or chat_async and
poll), fork it at its head or at any turn's summary node to try alternatives, render_context to
see a branch as Claude API messages, and tree to see every branch and head. Sessions created with
loopback=true send their children's tool calls to you: watch loopback_pending, answer with
loopback_respond."""

PERMIT_INSTRUCTIONS = """session-tree's permission prompt tool for one child session: Claude Code calls loopback_permit
(--permission-prompt-tool mcp__session-tree__loopback_permit) and the parent agent decides."""


def build_server(settings: Settings) -> MCPServer[Any]:
    """The parent's server; with a loopback token, the permit-only server of an outside child."""
    if settings.loopback_token:
        return build_permit_server(settings, settings.loopback_token)
    return build_parent_server(settings)


def build_parent_server(settings: Settings) -> MCPServer[SessionService]:
    @asynccontextmanager
    async def lifespan(_: MCPServer[SessionService]) -> AsyncIterator[SessionService]:
        settings.db_path.parent.mkdir(parents=True, exist_ok=True)
        async with SessionService.open(settings) as service:
            yield service

    server: MCPServer[SessionService] = SessionTreeServer(
        SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan
    )
    register(server)
    register_parent_tools(server)
    register_permit(server)
    return server


def build_permit_server(settings: Settings, token: str) -> MCPServer[SessionPermits]:
    """Only loopback_permit, asking for the one session ``token`` belongs to: what a child
    can call here can ask, never decide. It starts no children and ends no turns."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[SessionPermits]) -> AsyncIterator[SessionPermits]:
        async with Store.open(settings.db_path, synchronous=settings.synchronous) as store:
            permits = SessionPermits(Loopback(store), token)
            await store.sessions.by_loopback_token(token)  # fail at start on a bad token
            yield permits

    server: MCPServer[SessionPermits] = SessionTreeServer(
        SERVER_NAME, version=__version__, instructions=PERMIT_INSTRUCTIONS, lifespan=lifespan
    )
    register_permit(server)
    return server


__all__ = ["build_parent_server", "build_permit_server", "build_server", "run_stdio"]
