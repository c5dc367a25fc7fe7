"""A small stdio MCP server for tests: a child given it calls ``mcp__echo__echo``.

Run as ``python tests/mcp_echo_server.py``. ``ECHO_PREFIX`` in its environment goes
before every echo, so a test can see that the env it was given reached it.
"""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Say ``text`` back."""
    return os.environ.get("ECHO_PREFIX", "echo: ") + text


if __name__ == "__main__":
    server.run("stdio")
