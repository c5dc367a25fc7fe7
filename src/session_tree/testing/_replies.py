"""What the scripted model answers: content blocks, messages and HTTP errors.

A reply is data, not behaviour: `_sse.py` turns a `MessageReply` into the
Messages API's JSON or server-sent events, and `_http.py` decides when to
pause, stop or cut the stream. The lower-case functions at the bottom are the
intended way to build replies; the classes are public so that a responder's
return type and an `isinstance` check can name them.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias

StopReason: TypeAlias = Literal[
    "end_turn", "tool_use", "max_tokens", "stop_sequence", "pause_turn", "refusal"
]


def new_tool_use_id() -> str:
    """A fresh id in the API's shape (`toolu_` and 24 url-safe characters)."""
    return "toolu_" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class TextBlock:
    """A text block; each part is streamed as its own `text_delta`."""

    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass(frozen=True, slots=True)
class ThinkingBlock:
    """An extended-thinking block (one `thinking_delta`, one `signature_delta`)."""

    thinking: str
    signature: str = "c2NyaXB0ZWQ="


@dataclass(frozen=True, slots=True)
class ToolUseBlock:
    """A tool call; its input is streamed as `input_json_delta` fragments."""

    name: str
    input: Mapping[str, Any]
    id: str = field(default_factory=new_tool_use_id)


Block: TypeAlias = TextBlock | ThinkingBlock | ToolUseBlock


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReply:
    """One assistant message, and how to deliver it.

    Deltas are the stream's `content_block_delta` events, counted from 1 in
    the order they are sent; 0 means right after `message_start` and `ping`,
    and a count past the last delta means after the last delta. `gate`, `cut_after_deltas` and
    `error_after_deltas` apply to streaming requests; a non-streaming request
    waits on the gate, is closed unanswered when cut, and gets a 529/500-style
    JSON error when an in-stream error is scripted.
    """

    content: tuple[Block, ...]
    # None means "tool_use" when the message calls a tool, else "end_turn".
    stop_reason: StopReason | None = None
    # Pause before each delta, so a test can act while text is streaming.
    delay_s: float = 0.0
    # Held streams stay open until the test sets this event (bounded by
    # gate_timeout_s, after which the connection is cut rather than hang).
    gate: threading.Event | None = None
    # None: wait after the last delta, just before the closing events.
    gate_after_deltas: int | None = None
    gate_timeout_s: float = 60.0
    # Close the connection after this many deltas: a stream cut mid-message.
    cut_after_deltas: int | None = None
    # Send an `event: error` after this many deltas, then end the stream.
    error_after_deltas: int | None = None
    error_type: str = "overloaded_error"
    error_message: str = "Overloaded"

    @property
    def effective_stop_reason(self) -> StopReason:
        if self.stop_reason is not None:
            return self.stop_reason
        if any(isinstance(block, ToolUseBlock) for block in self.content):
            return "tool_use"
        return "end_turn"

    @property
    def text(self) -> str:
        """The message's text blocks, joined (what claude reports as `result`)."""
        return "".join(block.text for block in self.content if isinstance(block, TextBlock))


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpErrorReply:
    """A non-2xx answer with the API's error body `{"type": "error", "error": {...}}`."""

    status: int
    error_type: str
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)


Reply: TypeAlias = MessageReply | HttpErrorReply

# The error type the API pairs with each status; others fall back to api_error.
_ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def text(
    *parts: str,
    delay_s: float = 0.0,
    gate: threading.Event | None = None,
    gate_after_deltas: int | None = None,
) -> MessageReply:
    """A text reply; several parts are streamed as several deltas."""
    return MessageReply(
        content=(TextBlock(parts or ("",)),),
        delay_s=delay_s,
        gate=gate,
        gate_after_deltas=gate_after_deltas,
    )


def thinking(thought: str, *parts: str) -> MessageReply:
    """A thinking block followed by a text block."""
    return MessageReply(content=(ThinkingBlock(thought), TextBlock(parts or ("",))))


def tool_use(
    name: str,
    input: Mapping[str, Any],
    *,
    id: str | None = None,
    preamble: str | None = None,
) -> MessageReply:
    """A tool call, optionally after some text (as models often do)."""
    block = ToolUseBlock(name, dict(input), id or new_tool_use_id())
    content: tuple[Block, ...] = (block,)
    if preamble is not None:
        content = (TextBlock((preamble,)), block)
    return MessageReply(content=content)


def message(
    *blocks: Block,
    stop_reason: StopReason | None = None,
    delay_s: float = 0.0,
    gate: threading.Event | None = None,
    gate_after_deltas: int | None = None,
) -> MessageReply:
    """Several blocks in one message, e.g. text, two tool calls."""
    return MessageReply(
        content=blocks,
        stop_reason=stop_reason,
        delay_s=delay_s,
        gate=gate,
        gate_after_deltas=gate_after_deltas,
    )


def http_error(
    status: int,
    error_type: str | None = None,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpErrorReply:
    """An HTTP error with the API's JSON error body."""
    kind = error_type or _ERROR_TYPES.get(status, "api_error")
    return HttpErrorReply(
        status=status,
        error_type=kind,
        message=message or f"scripted {kind}",
        headers=dict(headers or {}),
    )


def server_error(message: str = "Internal server error") -> HttpErrorReply:
    """HTTP 500 `api_error`."""
    return http_error(500, "api_error", message)


def overloaded(message: str = "Overloaded") -> HttpErrorReply:
    """HTTP 529 `overloaded_error`."""
    return http_error(529, "overloaded_error", message)


def auth_error(message: str = "invalid x-api-key") -> HttpErrorReply:
    """HTTP 401 `authentication_error`."""
    return http_error(401, "authentication_error", message)


def cut_stream(reply: MessageReply, *, after_deltas: int = 1) -> MessageReply:
    """`reply`, but the connection is closed after `after_deltas` deltas."""
    return replace(reply, cut_after_deltas=after_deltas)


def stream_error(
    reply: MessageReply,
    *,
    after_deltas: int = 1,
    error_type: str = "overloaded_error",
    message: str = "Overloaded",
) -> MessageReply:
    """`reply`, but an `error` event (overloaded by default) ends the stream."""
    return replace(
        reply, error_after_deltas=after_deltas, error_type=error_type, error_message=message
    )
