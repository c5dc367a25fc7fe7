"""The MCP server: session-tree's tools over stdio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer

from .. import __version__
from ..service import SessionService, Settings
from ._tools import register

INSTRUCTIONS = """\
session-tree runs child Claude Code sessions. create a session, chat with it (or chat_async and
poll), fork it at its head or at any turn's summary node to try alternatives, render_context to
see a branch as Claude API messages, and tree to see every branch and head."""


def build_server(settings: Settings) -> MCPServer[SessionService]:
    @asynccontextmanager
    async def lifespan(_: MCPServer[SessionService]) -> AsyncIterator[SessionService]:
        settings.db_path.parent.mkdir(parents=True, exist_ok=True)
        async with SessionService.open(settings) as service:
            yield service

    server: MCPServer[SessionService] = MCPServer(
        "session-tree", version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan
    )
    register(server)
    return server


__all__ = ["build_server"]
