"""SDK messages -> our items: stream events and tree nodes.

A complete content block becomes a node (and an event naming it); token deltas
are only events. Anything this version does not recognise is kept as an event
of its own kind, never dropped and never an error: Claude Code adds message
types faster than we do.

A child's message is stored, never refused: a number JSON cannot hold
(Infinity, NaN, which Python's JSON reader accepts) becomes null, as Claude
Code's own JSON.stringify writes it. The store refuses such numbers from
callers; from a child they would fail the turn over one field.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from claude_agent_sdk import (
    AssistantMessage,
    ResultMessage,
    SystemMessage,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)
from claude_agent_sdk.types import Message, StreamEvent

from ..models import JSONObject, NewNode, NodeKind, Usage
from ._items import Block, Delta, Item, Note, Result

# Raw API stream events that carry nothing the complete blocks do not.
_QUIET_STREAM_EVENTS = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_stop",
        "ping",
    }
)


def translate(message: Message, *, ephemeral: bool) -> list[Item]:
    if isinstance(message, StreamEvent):
        return _stream_event(message)
    if isinstance(message, AssistantMessage):
        return _assistant(message, ephemeral)
    if isinstance(message, UserMessage):
        return _user(message, ephemeral)
    if isinstance(message, SystemMessage):
        return [Note("system", {"subtype": message.subtype, "data": _jsonable(message.data)})]
    if isinstance(message, ResultMessage):
        return [result_of(message)]
    return [Note("unknown", {"type": type(message).__name__, "data": _jsonable(message)})]


def _stream_event(message: StreamEvent) -> list[Item]:
    event = message.event
    kind = event.get("type")
    if message.parent_tool_use_id is not None or kind in _QUIET_STREAM_EVENTS:
        return []
    if kind == "content_block_delta":
        delta = event.get("delta", {})
        if delta.get("type") == "text_delta":
            return [Delta("text_delta", {"text": delta.get("text", "")})]
        if delta.get("type") == "thinking_delta":
            return [Delta("thinking_delta", {"thinking": delta.get("thinking", "")})]
        if delta.get("type") in {"input_json_delta", "signature_delta"}:
            return []
    return [Note("stream_event", {"event": _jsonable(event)})]


def _assistant(message: AssistantMessage, ephemeral: bool) -> list[Item]:
    items: list[Item] = []
    subagent = message.parent_tool_use_id is not None
    for block in message.content:
        data: JSONObject
        if isinstance(block, TextBlock):
            kind, data = NodeKind.TEXT, {"text": block.text}
        elif isinstance(block, ThinkingBlock):
            kind, data = (
                NodeKind.THINKING,
                {"thinking": block.thinking, "signature": block.signature},
            )
        elif isinstance(block, ToolUseBlock):
            kind, data = (
                NodeKind.TOOL_USE,
                {"id": block.id, "name": block.name, "input": _jsonable(block.input)},
            )
        else:
            items.append(Note("unknown_block", {"role": "assistant", "block": _jsonable(block)}))
            continue
        if subagent:
            # A subagent's inner conversation is not part of this branch's history.
            items.append(
                Note(
                    f"subagent_{kind.value}",
                    {**data, "parent_tool_use_id": message.parent_tool_use_id},
                )
            )
            continue
        node = NewNode(kind=kind, data=data, ephemeral=ephemeral, message_uuid=message.uuid)
        items.append(Block(kind.value, dict(data), node))
    if message.error is not None:
        items.append(Note("error", {"error": str(message.error)}))
    return items


def _user(message: UserMessage, ephemeral: bool) -> list[Item]:
    if isinstance(message.content, str) or message.parent_tool_use_id is not None:
        return [Note("user", {"content": _jsonable(message.content)})]
    items: list[Item] = []
    for block in message.content:
        if isinstance(block, ToolResultBlock):
            data: JSONObject = {
                "tool_use_id": block.tool_use_id,
                "content": _jsonable(block.content),
                "is_error": bool(block.is_error),
            }
            node = NewNode(
                kind=NodeKind.TOOL_RESULT, data=data, ephemeral=ephemeral, message_uuid=message.uuid
            )
            items.append(Block("tool_result", dict(data), node))
        else:
            items.append(Note("user", {"block": _jsonable(block)}))
    return items


def result_of(message: ResultMessage) -> Result:
    return Result(
        "result",
        result_data(message),
        claude_session_id=message.session_id,
        is_error=message.is_error,
        stop_reason=message.stop_reason,
        usage=usage_of(message),
        error=_result_error(message),
    )


def _result_error(result: ResultMessage) -> str:
    detail = "; ".join(result.errors or []) or (result.result or "") or result.subtype
    status = f" (model API status {result.api_error_status})" if result.api_error_status else ""
    return f"The child's turn failed{status}: {detail}"


def result_data(message: ResultMessage) -> JSONObject:
    return {
        "subtype": message.subtype,
        "is_error": message.is_error,
        "stop_reason": message.stop_reason,
        "num_turns": message.num_turns,
        "duration_ms": message.duration_ms,
        "total_cost_usd": _jsonable(message.total_cost_usd),
        "usage": _jsonable(message.usage or {}),
        "result": message.result,
        "errors": message.errors,
        "api_error_status": message.api_error_status,
        "session_id": message.session_id,
        # The answer to a chat with output_schema (the StructuredOutput tool's input).
        "structured_output": _jsonable(message.structured_output),
    }


def usage_of(message: ResultMessage) -> Usage:
    raw = message.usage or {}
    return Usage(
        input_tokens=_count(raw.get("input_tokens")),
        output_tokens=_count(raw.get("output_tokens")),
        cache_creation_input_tokens=_count(raw.get("cache_creation_input_tokens")),
        cache_read_input_tokens=_count(raw.get("cache_read_input_tokens")),
        cost_usd=_finite(float(message.total_cost_usd or 0.0)),
        turns=1,
    )


def _jsonable(value: Any) -> Any:
    """Plain JSON values from SDK dataclasses and whatever else a message holds."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return repr(value)


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def _count(value: Any) -> int:
    """A token count as the child reported it; 0 for a missing or non-finite one."""
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    return int(value or 0)
