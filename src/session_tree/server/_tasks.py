"""chat as a task: the Tasks extension of MCP 2026-07-28 (``io.modelcontextprotocol/tasks``).

A client that declares the extension on a ``chat`` call gets a task at once
instead of a reply bounded by ``wait_s``: the turn starts as chat_async would
start it, and the task is that turn. ``tasks/get`` reads the turn's stream, so
a task holds no state of its own and a restarted server answers for it (the
id is bound to the stream by a key kept in the database, see
service/_tasks.py). Its status:

- ``working`` while the child runs, and while it waits on an approval the
  parent agent decides (statusMessage says which: loopback_respond);
- ``input_required`` while it waits on approvals of an ``ask_human`` session,
  one elicitation form per approval, answered with ``tasks/update``;
- ``completed`` once the turn ended completed or failed, with what chat would
  have returned (a failed turn is a tool result, not a JSON-RPC error, which is
  all the extension's ``failed`` may carry);
- ``cancelled`` once the turn was interrupted (``tasks/cancel``, interrupt, a
  shutdown); what arrived is in the tree.

Every other call, and every client without the extension, is served as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver.server import require_client_extension
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ElicitResult,
    RequestParams,
    TextContent,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field, ValidationError

from ..errors import NotFound, SessionTreeError
from ..models import StreamStatus
from ..service import ChatResult, SessionService
from ._context import ServerState
from ._elicit import approval_of_key, decide, decision, input_requests

log = logging.getLogger("session_tree.server")

TASKS = "io.modelcontextprotocol/tasks"
# The tools a task may answer; chat_async already answers at once with its stream.
TASK_TOOLS = frozenset({"chat"})
POLL_INTERVAL_MS = 1000
_MODERN = frozenset(MODERN_PROTOCOL_VERSIONS)


@dataclass
class TaskSlot:
    """Where a tool running for a task records the turn it started."""

    stream_id: int | None = None


_slot: contextvars.ContextVar[TaskSlot | None] = contextvars.ContextVar(
    "session_tree_task_slot", default=None
)


def task_slot() -> TaskSlot | None:
    """Set while a tool call may be answered with a task: the tool starts its turn and
    records it here, instead of waiting on it."""
    return _slot.get()


class TaskParams(RequestParams):
    task_id: str = Field(max_length=200)


class TaskUpdateParams(TaskParams):
    # Checked one by one (an elicitation's answer), so a bad entry costs only itself.
    input_responses: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ChatTasks(Extension):
    """Serves ``chat`` as a task, and tasks/get, tasks/update and tasks/cancel."""

    identifier = TASKS

    def __init__(self) -> None:
        # Approvals a person would not decide (declined, dismissed): the parent agent's now.
        # Kept in memory; after a restart such a question is asked again.
        self._left_to_parent: set[int] = set()

    def methods(self) -> Sequence[MethodBinding]:
        return (
            MethodBinding("tasks/get", TaskParams, self._get, _MODERN),
            MethodBinding("tasks/update", TaskUpdateParams, self._update, _MODERN),
            MethodBinding("tasks/cancel", TaskParams, self._cancel, _MODERN),
        )

    async def intercept_tool_call(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        if params.name not in TASK_TOOLS or not declares_tasks(ctx):
            return await call_next(ctx)
        slot = TaskSlot()
        token = _slot.set(slot)
        try:
            result = await call_next(ctx)
        finally:
            _slot.reset(token)
        if slot.stream_id is None:
            return result  # refused (a tool error) or a retry: answered as it is
        task = await self._task(_service(ctx), slot.stream_id)
        log.debug("%s answered with task %s", params.name, task["taskId"])
        return {**task, "resultType": "task"}

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> HandlerResult:
        require_client_extension(ctx, TASKS)
        service = _service(ctx)
        async with _known(params.task_id):
            stream_id = (await service.task_ids()).stream_of(params.task_id)
            task = await self._task(service, stream_id)
        log.debug("tasks/get %s: %s", params.task_id, task["status"])
        return {**task, "resultType": "complete"}

    async def _update(
        self, ctx: ServerRequestContext[Any, Any], params: TaskUpdateParams
    ) -> HandlerResult:
        require_client_extension(ctx, TASKS)
        service = _service(ctx)
        async with _known(params.task_id):
            stream_id = (await service.task_ids()).stream_of(params.task_id)
            current = await service.summarize(stream_id)
        log.debug("tasks/update %s: %s", params.task_id, sorted(params.input_responses))
        pending = {a.id for a in current.pending_approvals}
        for key, raw in params.input_responses.items():
            approval_id = approval_of_key(key)
            if approval_id is None or approval_id not in pending:
                continue  # never asked, or already decided: ignored, as the extension says
            try:
                answer = decision(ElicitResult.model_validate(raw))
            except ValidationError:
                answer = None
            if answer is None:
                self._left_to_parent.add(approval_id)
                continue
            await decide(service, approval_id, answer, pending)
        return {"resultType": "complete"}

    async def _cancel(
        self, ctx: ServerRequestContext[Any, Any], params: TaskParams
    ) -> HandlerResult:
        require_client_extension(ctx, TASKS)
        service = _service(ctx)
        async with _known(params.task_id):
            stream_id = (await service.task_ids()).stream_of(params.task_id)
            current = await service.summarize(stream_id)
        outcome = current.status.value
        if not current.status.terminal:
            # A session runs one turn at a time, so its running turn is this one. Cancelling
            # is cooperative: a turn that ends first just ends.
            with contextlib.suppress(SessionTreeError):
                outcome = (await service.interrupt(current.session)).status
        log.debug("tasks/cancel %s: %s", params.task_id, outcome)
        return {"resultType": "complete"}

    async def _task(self, service: SessionService, stream_id: int) -> dict[str, Any]:
        """The task of a stream's turn, as tasks/get shows it."""
        stream = await service.stream(stream_id)
        current = await service.summarize(stream_id)
        task: dict[str, Any] = {
            "taskId": (await service.task_ids()).mint(stream_id),
            "createdAt": _iso(stream.created_at),
            "lastUpdatedAt": _iso(stream.updated_at),
            "ttlMs": None,  # kept as long as its session
            "pollIntervalMs": POLL_INTERVAL_MS,
        }
        status = current.status
        if status in (StreamStatus.COMPLETED, StreamStatus.FAILED):
            ended = "completed" if status is StreamStatus.COMPLETED else f"failed: {current.error}"
            return task | {
                "status": "completed",
                "statusMessage": f"turn {ended}",
                "result": chat_result(current),
            }
        if status is StreamStatus.INTERRUPTED:
            return task | {
                "status": "cancelled",
                "statusMessage": f"turn interrupted ({current.error or 'cancelled'}); what "
                f"arrived is in the tree: poll stream_id {stream_id}",
            }
        skip = frozenset(self._left_to_parent)
        asked = await input_requests(service, current, skip=skip)
        if asked is not None:
            return task | {
                "status": "input_required",
                "statusMessage": "the child waits for a person to decide its tool call",
                "inputRequests": {
                    key: request.model_dump(mode="json", by_alias=True, exclude_none=True)
                    for key, request in asked.items()
                },
            }
        message = await service.doing(stream_id)
        if current.pending_approvals:
            ids = ", ".join(str(a.id) for a in current.pending_approvals)
            message = f"{message} (the parent decides approval {ids}: loopback_respond)"
        return task | {"status": "working", "statusMessage": message}


def declares_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request's client takes a task for an answer (2026-07-28 only)."""
    if ctx.protocol_version not in _MODERN:
        return False
    capabilities = ctx.session.client_capabilities
    extensions = capabilities.extensions if capabilities is not None else None
    return extensions is not None and TASKS in extensions


def chat_result(result: ChatResult) -> dict[str, Any]:
    """What a chat call returns for ``result``, as the task's result (a CallToolResult)."""
    call = CallToolResult(
        content=[TextContent(type="text", text=result.model_dump_json())],
        structured_content=result.model_dump(mode="json", by_alias=True),
    )
    return call.model_dump(mode="json", by_alias=True, exclude_none=True)


@contextlib.asynccontextmanager
async def _known(task_id: str) -> AsyncIterator[None]:
    """An unknown task, or one whose turn went with its session: invalid params."""
    try:
        yield
    except NotFound as error:
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"Failed to retrieve task: no task {task_id!r} here ({error}). A task id "
            "comes from a chat answered with a task; a deleted session's tasks are gone.",
        ) from error


def _service(ctx: ServerRequestContext[Any, Any]) -> SessionService:
    state = ctx.lifespan_context
    assert isinstance(state, ServerState)
    assert state.service is not None, "tasks are served by a parent's server only"
    return state.service


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


__all__ = ["POLL_INTERVAL_MS", "TASKS", "ChatTasks", "chat_result", "declares_tasks", "task_slot"]
