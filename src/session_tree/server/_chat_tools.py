"""The tools that run turns and follow them: chat, chat_async, poll, interrupt, streams."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import InputRequiredResult
from pydantic import Field

from ..models import Approval
from ..service import (
    ChatResult,
    HumanAnswer,
    InterruptResult,
    PollResult,
    StreamList,
    StreamView,
)
from ._context import service_of
from ._elicit import Era, HumanDecision, ask_by_result, era_of, question, resume_asked
from ._params import MAX_ID, Prompt, SessionName
from ._tasks import task_slot

OutputSchema = Annotated[
    dict[str, Any] | None,
    Field(
        description="a JSON Schema (type object) the final answer must meet; it comes back "
        "as structured_output, and a reply that cannot meet it fails the turn"
    ),
]


async def chat(
    name: SessionName,
    prompt: Prompt,
    ctx: Context[Any, Any],
    ephemeral: Annotated[
        bool, Field(description="a side question: recorded off-branch, the head does not move")
    ] = False,
    wait_s: Annotated[
        float | None,
        Field(gt=0, le=3600, description="longest to block; default 45 s, then poll"),
    ] = None,
    output_schema: OutputSchema = None,
) -> ChatResult | InputRequiredResult:
    """Send a prompt and wait for the reply. Returns the final text, tool calls, new head and usage
    (with output_schema, the answer as structured_output). If the turn is still running at the wait
    bound (or needs an approval), returns its status and stream_id: continue with poll."""

    async def progress(events: int, doing: str) -> None:
        await ctx.report_progress(events, message=doing)

    async def ask_human(approval: Approval) -> HumanAnswer | None:
        # 2025-11-25: an elicitation/create request while the chat waits.
        asked = question(approval.session_name, approval.tool_name, approval.input)
        if asked is None:
            return None  # too long to show whole: the parent agent decides
        answer = await ctx.elicit(asked, schema=HumanDecision)
        if answer.action != "accept" or answer.data is None:
            return None
        return HumanAnswer(allow=answer.data.allow, message=answer.data.message)

    # Following the stream costs a read per write: only for a client that asked.
    meta = ctx.request_context.meta
    wants_progress = meta is not None and meta.get("progress_token") is not None
    era = era_of(ctx)
    if era is Era.RESULT and (resumed := await resume_asked(ctx, name, wait_s)) is not None:
        return resumed  # a retry with the person's answers: the turn already runs
    if (slot := task_slot()) is not None:
        # The client takes a task: start the turn, and the task (server/_tasks.py) follows it.
        stream = await service_of(ctx).chat_async(
            name, prompt, ephemeral=ephemeral, output_schema=output_schema
        )
        slot.stream_id = stream.id
        return await service_of(ctx).summarize(stream.id)
    result = await service_of(ctx).chat(
        name,
        prompt,
        ephemeral=ephemeral,
        wait_s=wait_s,
        on_progress=progress if wants_progress else None,
        ask_human=ask_human if era is Era.REQUEST else None,
        output_schema=output_schema,
    )
    # 2026-07-28 has no server-to-client requests: the question rides on the result.
    return await ask_by_result(ctx, result) if era is Era.RESULT else result


async def chat_async(
    name: SessionName,
    prompt: Prompt,
    ctx: Context[Any, Any],
    ephemeral: Annotated[
        bool, Field(description="recorded off-branch; the head does not move")
    ] = False,
    output_schema: OutputSchema = None,
) -> StreamView:
    """Start a turn and return its stream_id at once; read the turn with poll."""
    stream = await service_of(ctx).chat_async(
        name, prompt, ephemeral=ephemeral, output_schema=output_schema
    )
    return StreamView.of(stream)


async def poll(
    stream_id: Annotated[
        int, Field(ge=1, le=MAX_ID, description="from chat, chat_async or streams")
    ],
    ctx: Context[Any, Any],
    from_seq: Annotated[
        int,
        Field(ge=0, le=MAX_ID, description="first event seq to return (next_seq of the last poll)"),
    ] = 0,
    limit: Annotated[int, Field(ge=1, le=10_000, description="most events to return")] = 500,
    wait_ms: Annotated[
        int, Field(ge=0, le=50_000, description="long poll: wait this long for a new event")
    ] = 0,
) -> PollResult:
    """What a child is doing: its turn's events after a seq (text, tool calls, approvals), the
    turn's status, and whether more remain."""
    return await service_of(ctx).poll(stream_id, from_seq, limit, wait_ms)


async def interrupt(name: SessionName, ctx: Context[Any, Any]) -> InterruptResult:
    """Stop a running child: interrupt the session's turn. What already arrived stays in the
    tree."""
    return await service_of(ctx).interrupt(name)


async def streams(
    ctx: Context[Any, Any],
    name: Annotated[
        str | None, Field(max_length=100, description="only this session's streams")
    ] = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="most streams to return")] = 50,
) -> StreamList:
    """Recent turns' streams, newest first, with their status."""
    return await service_of(ctx).streams(name, limit)
