"""The loopback's tools: the parent's (pending, respond, config) and the child's (permit).

``loopback_permit`` follows Claude Code's ``--permission-prompt-tool``
contract to the letter: arguments ``tool_name``, ``input``, ``tool_use_id``;
the result exactly one text block holding one JSON object, an allow with
``updatedInput`` or a deny with ``message``. Anything that goes wrong on the
way is a deny that says what, never a tool error: Claude Code reads only that
object.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..errors import SessionTreeError
from ..models import Approval
from ..service import PendingList, PermitResult
from ._advice import advised
from ._context import permits_of, service_of
from ._loopback_config import LoopbackConfig, loopback_config_for
from ._params import MAX_ID, SessionName

log = logging.getLogger("session_tree.server")


async def loopback_permit(
    tool_name: Annotated[str, Field(description="the tool Claude Code wants to run")],
    input: Annotated[dict[str, Any], Field(description="the tool's input")],
    ctx: Context[Any, Any],
    tool_use_id: Annotated[
        str | None, Field(description="the id of this tool call in the conversation")
    ] = None,
) -> str:
    """Claude Code's permission prompt tool (--permission-prompt-tool
    mcp__session-tree__loopback_permit): asks the parent agent about one tool call and
    returns its decision as JSON. For children; a parent answers with loopback_respond."""
    try:
        result = await permits_of(ctx).permit(tool_name, input, tool_use_id)
    except SessionTreeError as exc:
        result = PermitResult.deny(f"session-tree could not ask the parent: {advised(exc)}")
    except Exception as exc:
        # Claude Code reads only the contract object: an error must still be one.
        log.exception("loopback_permit failed")
        result = PermitResult.deny(f"session-tree could not ask the parent: {exc!r}")
    return result.text()


async def loopback_pending(
    ctx: Context[Any, Any],
    name: Annotated[
        str | None, Field(max_length=100, description="only this session's approvals")
    ] = None,
    wait_ms: Annotated[
        int,
        Field(ge=0, le=50_000, description="long poll: wait this long for a first request"),
    ] = 0,
) -> PendingList:
    """Children waiting for permission: the tool calls they wait on, oldest first. With
    wait_ms, waits until one arrives, so one call watches every child at once. Answer each
    with loopback_respond."""
    return await service_of(ctx).pending(name, wait_ms)


async def loopback_respond(
    approval_id: Annotated[
        int, Field(ge=1, le=MAX_ID, description="id from loopback_pending or chat")
    ],
    decision: Annotated[Literal["allow", "deny"], Field(description="allow or deny the call")],
    ctx: Context[Any, Any],
    message: Annotated[
        str | None, Field(max_length=10_000, description="for a deny: what the child is told")
    ] = None,
    updated_input: Annotated[
        dict[str, Any] | None,
        Field(description="for an allow: the input the tool runs with instead of the child's"),
    ] = None,
    interrupt: Annotated[
        bool, Field(description="for a deny: also stop the child's whole turn")
    ] = False,
    remember: Annotated[
        bool, Field(description="decide the same way from now on, without asking")
    ] = False,
    rule: Annotated[
        str | None,
        Field(
            description="with remember: the rule to keep, in Claude Code's syntax "
            "(e.g. 'Bash(git *)'); default the whole tool"
        ),
    ] = None,
) -> Approval:
    """Decide a child's pending tool call, exactly once. The child goes on with the input given
    (or its own), or hears the deny message. Then poll the turn's stream."""
    return await service_of(ctx).respond(
        approval_id,
        allow=decision == "allow",
        message=message,
        updated_input=updated_input,
        interrupt=interrupt,
        remember=remember,
        rule=rule,
    )


async def loopback_config(name: SessionName, ctx: Context[Any, Any]) -> LoopbackConfig:
    """The MCP config and command line for a Claude Code started outside session-tree whose
    tool approvals should come to this session (loopback is switched on for it)."""
    return await loopback_config_for(service_of(ctx), name)
