"""Who answers ``loopback_permit`` in a server: the session a child asks for, or nobody.

An outside Claude Code's server holds a session's loopback token and asks on
that session's behalf (``SessionPermits``). A parent's server has no token: a
child that reaches it cannot say which session it belongs to, so every call is
denied with how to connect properly.
"""

from __future__ import annotations

from typing import Protocol

from ..models import JSONObject
from ..service import LOOPBACK_TOKEN_VAR, PermitResult


class Permits(Protocol):
    """What answers ``loopback_permit`` in a server."""

    async def permit(
        self, tool_name: str, tool_input: JSONObject, tool_use_id: str | None
    ) -> PermitResult: ...


class TokenlessPermits:
    """``loopback_permit`` reaching a parent's server: it cannot know which session asks."""

    async def permit(
        self, tool_name: str, tool_input: JSONObject, tool_use_id: str | None
    ) -> PermitResult:
        return PermitResult.deny(
            "This session-tree server was started without a loopback token, so it cannot tell "
            "which session asks. Start it from the MCP config that the parent's loopback_config "
            f"returns (it sets {LOOPBACK_TOKEN_VAR})."
        )


__all__ = ["Permits", "TokenlessPermits"]
