"""Asking the person about a child's tool call, in either protocol era.

On 2025-11-25 (the mcp Python client, the Inspector) the server asks with an
``elicitation/create`` request while ``chat`` waits. The 2026-07-28 revision
(Claude Code 2.1.332 to stdio servers) has no server-to-client requests: a
``chat`` that reaches an approval answers with an ``input_required`` result
(SEP-2322) carrying one form per pending approval, and the client calls
``chat`` again with the person's answers and the sealed ``request_state``.
That retry carries the same prompt, so it must not start a second turn: it
decides the approvals, then follows the turn the first call started.

Whatever goes unanswered (declined, cancelled, too long to show, a client in
print mode) leaves the approval pending and ``chat`` returns
``awaiting_permission``: the parent agent decides, as in either era before.
"""

from __future__ import annotations

import contextlib
import enum
import json
from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import (
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequests,
    InputRequiredResult,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field, ValidationError

from ..errors import ApprovalAlreadyDecided, InvalidArgument
from ..models import StreamStatus
from ..service import ChatResult, HumanAnswer, SessionService
from ._context import service_of

# A person is shown a tool call's whole input or is not asked: a cut-off
# command could hide its dangerous end.
MAX_ELICITED_INPUT = 4000
_KEY_PREFIX = "approval-"
# How long one wait for the stream's next event lasts while a retry follows the
# turn; the overall bound is the chat's wait_s.
_FOLLOW_WAIT_MS = 1000


class Era(enum.Enum):
    """How this request's client can be asked, if at all."""

    NONE = "none"  # no elicitation declared: the parent agent decides
    REQUEST = "request"  # 2025-11-25: an elicitation/create request mid-call
    RESULT = "result"  # 2026-07-28: an input_required result, then a retry


class HumanDecision(BaseModel):
    """What a person answers about one tool call (an MCP elicitation form)."""

    allow: bool = Field(description="allow this tool call")
    message: str = Field(default="", description="for a deny: what the child is told")


class _AskState(BaseModel):
    """What a retry needs to resume: the turn, and the approvals it asked about.
    The SDK seals it, so a client cannot point a retry at another stream."""

    stream_id: int
    approval_ids: list[int]


def era_of(ctx: Context[Any, Any]) -> Era:
    capabilities = ctx.request_context.session.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        return Era.NONE
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return Era.RESULT
    return Era.REQUEST


def question(session: str, tool_name: str, tool_input: Any) -> str | None:
    """The question put to the person, or None when the input is too long to show whole."""
    shown = json.dumps(tool_input, indent=1)
    if len(shown) > MAX_ELICITED_INPUT:
        return None  # the parent agent decides
    return f"Session {session!r} wants to run {tool_name} with {shown}\nAllow it?"


def decision(answer: ElicitResult) -> HumanAnswer | None:
    """A person's answer as a decision; None when they gave none."""
    if answer.action != "accept" or answer.content is None:
        return None
    try:
        chosen = HumanDecision.model_validate(answer.content)
    except ValidationError:
        return None
    return HumanAnswer(allow=chosen.allow, message=chosen.message)


async def ask_by_result(
    ctx: Context[Any, Any], result: ChatResult
) -> ChatResult | InputRequiredResult:
    """A chat waiting on approvals of an ask_human session, as the question to the person;
    any other result as it is."""
    requests = await input_requests(service_of(ctx), result)
    if requests is None:
        return result
    state = _AskState(
        stream_id=result.stream_id, approval_ids=[a.id for a in result.pending_approvals]
    )
    return InputRequiredResult(input_requests=requests, request_state=state.model_dump_json())


async def input_requests(
    service: SessionService, result: ChatResult, *, skip: frozenset[int] = frozenset()
) -> InputRequests | None:
    """One form per approval the turn waits on, when the person is to be asked about all of
    them (an ask_human session, each input short enough to show whole); else None, and the
    parent agent decides. ``skip``: approvals the person already left to the parent agent."""
    waiting = [a for a in result.pending_approvals if a.id not in skip]
    if result.status is not StreamStatus.AWAITING_PERMISSION or not waiting:
        return None
    info = await service.get(result.session)
    if not info.session.config.ask_human:
        return None
    requests: InputRequests = {}
    for approval in waiting:
        asked = question(approval.session, approval.tool_name, approval.input)
        if asked is None:
            return None  # one the person cannot see whole: all go to the parent agent
        requests[approval_key(approval.id)] = ElicitRequest(
            params=ElicitRequestFormParams(
                message=asked, requested_schema=HumanDecision.model_json_schema()
            )
        )
    return requests


def approval_key(approval_id: int) -> str:
    """The key of an approval's question: approval ids are never reused, nor are keys."""
    return f"{_KEY_PREFIX}{approval_id}"


def approval_of_key(key: str) -> int | None:
    number = key.removeprefix(_KEY_PREFIX)
    return int(number) if key.startswith(_KEY_PREFIX) and number.isdigit() else None


async def resume_asked(
    ctx: Context[Any, Any], name: str, wait_s: float | None
) -> ChatResult | InputRequiredResult | None:
    """For a retry of an asking chat: decide what the person answered and follow the turn.
    None when this call is not a retry (a new turn starts)."""
    if ctx.request_state is None:
        return None
    try:
        state = _AskState.model_validate_json(ctx.request_state)
    except ValidationError as error:
        raise InvalidArgument("this retry's request_state is not one chat gave out") from error
    service = service_of(ctx)
    current = await service.summarize(state.stream_id)
    if current.session != name:
        raise InvalidArgument(f"this retry's turn belongs to {current.session!r}, not {name!r}")
    responses = ctx.input_responses or {}
    answered: set[int] = set()
    for approval_id in state.approval_ids:
        response = responses.get(approval_key(approval_id))
        answer = decision(response) if isinstance(response, ElicitResult) else None
        if answer is None:
            continue
        await decide(service, approval_id, answer, {a.id for a in current.pending_approvals})
        answered.add(approval_id)
    if answered != set(state.approval_ids):
        # Unanswered: the parent agent decides (loopback_respond), as on the first round.
        return await service.summarize(state.stream_id)
    bound = wait_s if wait_s is not None else service.settings.chat_wait_s
    followed = await _follow(ctx, service, state.stream_id, answered, bound)
    return await ask_by_result(ctx, followed)


async def decide(
    service: SessionService, approval_id: int, answer: HumanAnswer, pending: set[int]
) -> None:
    """Apply the person's answer, unless the parent or a timeout decided first."""
    if approval_id not in pending:
        return
    with contextlib.suppress(ApprovalAlreadyDecided):
        await service.respond(approval_id, allow=answer.allow, message=answer.message or None)


async def _follow(
    ctx: Context[Any, Any],
    service: SessionService,
    stream_id: int,
    answered: set[int],
    bound_s: float,
) -> ChatResult:
    """Wait, at most ``bound_s``, for the turn to end or to wait on a new approval."""
    next_seq = (await service.summarize(stream_id)).next_seq
    with anyio.move_on_after(bound_s):
        while True:
            current = await service.summarize(stream_id)
            fresh = [a for a in current.pending_approvals if a.id not in answered]
            if current.status.terminal or (
                current.status is StreamStatus.AWAITING_PERMISSION and fresh
            ):
                break
            page = await service.poll(stream_id, next_seq, 500, _FOLLOW_WAIT_MS)
            if page.next_seq != next_seq:
                next_seq = page.next_seq
                await ctx.report_progress(next_seq, message="answered: the child goes on")
    return await service.summarize(stream_id)


__all__ = [
    "MAX_ELICITED_INPUT",
    "Era",
    "HumanDecision",
    "approval_key",
    "approval_of_key",
    "ask_by_result",
    "decide",
    "decision",
    "era_of",
    "input_requests",
    "question",
    "resume_asked",
]
