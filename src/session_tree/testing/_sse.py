"""The Messages API's wire shapes: a reply as a JSON body or as SSE events.

Pure functions, no I/O: `_http.py` writes the events and decides where to
pause or cut. The shapes follow the API reference for streaming: one
`message_start`, a `ping`, per block `content_block_start` / deltas /
`content_block_stop`, then `message_delta` (stop reason, output usage) and
`message_stop`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from ._replies import Block, MessageReply, TextBlock, ThinkingBlock

DELTA = "content_block_delta"


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: dict[str, Any]

    def encode(self) -> bytes:
        return f"event: {self.event}\ndata: {json.dumps(self.data)}\n\n".encode()


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def estimate_tokens(value: object) -> int:
    """About four characters a token: enough for claude's context arithmetic."""
    return max(1, len(json.dumps(value)) // 4)


def _block_json(block: Block) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ThinkingBlock):
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    return {"type": "tool_use", "id": block.id, "name": block.name, "input": dict(block.input)}


def _usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _output_tokens(reply: MessageReply) -> int:
    return estimate_tokens([_block_json(block) for block in reply.content])


def message_json(reply: MessageReply, *, model: str, input_tokens: int) -> dict[str, Any]:
    """The non-streaming response body."""
    return {
        "id": new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [_block_json(block) for block in reply.content],
        "stop_reason": reply.effective_stop_reason,
        "stop_sequence": None,
        "usage": _usage(input_tokens, _output_tokens(reply)),
    }


def _start_block(block: Block) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": ""}
    if isinstance(block, ThinkingBlock):
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}


def _deltas(block: Block) -> list[dict[str, Any]]:
    if isinstance(block, TextBlock):
        return [{"type": "text_delta", "text": part} for part in block.parts]
    if isinstance(block, ThinkingBlock):
        return [
            {"type": "thinking_delta", "thinking": block.thinking},
            {"type": "signature_delta", "signature": block.signature},
        ]
    # The API streams tool input as JSON fragments; two halves exercise the
    # client's reassembly without making delta counts hard to predict.
    raw = json.dumps(dict(block.input))
    half = len(raw) // 2
    pieces = [raw[:half], raw[half:]] if half else [raw]
    return [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]


def delta_count(reply: MessageReply) -> int:
    return sum(len(_deltas(block)) for block in reply.content)


def message_events(reply: MessageReply, *, model: str, input_tokens: int) -> list[SseEvent]:
    """The complete, well-formed event sequence for one streamed message."""
    events = [
        SseEvent(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": new_message_id(),
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": _usage(input_tokens, 1),
                },
            },
        ),
        SseEvent("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(reply.content):
        events.append(
            SseEvent(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": _start_block(block),
                },
            )
        )
        events.extend(
            SseEvent(DELTA, {"type": DELTA, "index": index, "delta": delta})
            for delta in _deltas(block)
        )
        events.append(
            SseEvent("content_block_stop", {"type": "content_block_stop", "index": index})
        )
    events.append(
        SseEvent(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.effective_stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": _output_tokens(reply)},
            },
        )
    )
    events.append(SseEvent("message_stop", {"type": "message_stop"}))
    return events


def error_json(error_type: str, message: str) -> dict[str, Any]:
    """The API's error body, also the data of an in-stream `error` event."""
    return {"type": "error", "error": {"type": error_type, "message": message}}
