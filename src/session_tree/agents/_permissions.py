"""A child's question about a tool call, and the answer, in our own terms.

Claude Code asks about each call its own rules leave open; the SDK hands that
to a ``can_use_tool`` callback. The service answers with :class:`Allow` or
:class:`Deny` through an :data:`AskPermission` and never sees the SDK's types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from claude_agent_sdk import (
    CanUseTool,
    PermissionResult,
    PermissionResultAllow,
    PermissionResultDeny,
    ToolPermissionContext,
)

from ..models import JSONObject


@dataclass(frozen=True)
class ToolCall:
    tool_name: str
    input: JSONObject
    tool_use_id: str | None


@dataclass(frozen=True)
class Allow:
    updated_input: JSONObject


@dataclass(frozen=True)
class Deny:
    message: str
    interrupt: bool = False
    """Also end the child's whole turn."""


AskPermission = Callable[[ToolCall], Awaitable[Allow | Deny]]


def can_use_tool(ask: AskPermission) -> CanUseTool:
    """The SDK's callback, answering through ``ask``."""

    async def callback(
        tool_name: str, tool_input: dict[str, Any], context: ToolPermissionContext
    ) -> PermissionResult:
        decision = await ask(ToolCall(tool_name, tool_input, context.tool_use_id))
        if isinstance(decision, Allow):
            return PermissionResultAllow(updated_input=decision.updated_input)
        return PermissionResultDeny(message=decision.message, interrupt=decision.interrupt)

    return callback


__all__ = ["Allow", "AskPermission", "Deny", "ToolCall", "can_use_tool"]
