"""The MCP config that points an outside Claude Code's approvals at a session.

It starts this server as the child's MCP server, with the session's loopback
token in the environment (so it serves only ``loopback_permit``, for that
session), and names the permit tool as Claude Code sees it:
``mcp__<server name>__<tool name>``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pydantic import BaseModel, Field

from ..models import JSONObject
from ..service import LOOPBACK_TOKEN_VAR, SessionService
from ._server import PERMIT_TOOL

# The name session-tree goes by in MCP configs; Claude Code names each tool after it.
SERVER_NAME = "session-tree"
PERMIT_PROMPT_TOOL = f"mcp__{SERVER_NAME}__{PERMIT_TOOL}"


class LoopbackConfig(BaseModel):
    """How to start a Claude Code outside session-tree whose approvals come to this session."""

    session: str
    mcp_config: JSONObject = Field(description="the JSON for claude --mcp-config (or .mcp.json)")
    permission_prompt_tool: str = Field(description="the value for --permission-prompt-tool")
    command: list[str] = Field(description="a claude command line that uses both")


def server_command() -> list[str]:
    """This session-tree, as a command line: the Python running it, so the config works
    whether or not the console script is on the child's PATH."""
    return [sys.executable, "-m", "session_tree.cli"]


async def loopback_config_for(
    service: SessionService, name: str, command: Sequence[str] | None = None
) -> LoopbackConfig:
    """What an outside Claude Code needs to send session ``name`` its approvals;
    switches the session's loopback on if it was off."""
    token = await service.loopback_token(name)
    command = list(command or server_command())
    mcp_config: JSONObject = {
        "mcpServers": {
            SERVER_NAME: {
                "command": command[0],
                "args": [*command[1:], "serve", "--db", service.db_path],
                "env": {LOOPBACK_TOKEN_VAR: token},
            }
        }
    }
    return LoopbackConfig(
        session=name,
        mcp_config=mcp_config,
        permission_prompt_tool=PERMIT_PROMPT_TOOL,
        command=[
            "claude",
            "--mcp-config",
            "MCP_CONFIG.json",
            "--permission-prompt-tool",
            PERMIT_PROMPT_TOOL,
        ],
    )


__all__ = [
    "PERMIT_PROMPT_TOOL",
    "SERVER_NAME",
    "LoopbackConfig",
    "loopback_config_for",
    "server_command",
]
