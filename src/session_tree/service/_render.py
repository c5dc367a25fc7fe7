"""A branch of the tree as Claude Messages API messages.

Consecutive nodes of the same role merge into one message, as the API wants:
an assistant turn's text, thinking and tool_use blocks form one assistant
message, and the tool_result blocks that answer them form the next user
message. Root and turn-summary nodes carry no conversation and are skipped.

``render`` runs over every node of a branch (100,000 of them for a deep one),
so its loop does one dictionary lookup per node for the kind's role and block
builder, and builds one message object per change of role, not per node.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from ..models import JSONObject, NewNode, Node, NodeKind

Role = Literal["user", "assistant"]


class RenderedMessage(BaseModel):
    role: Role
    content: list[dict[str, Any]]
    node_ids: list[int]


def _text(data: JSONObject) -> dict[str, Any]:
    return {"type": "text", "text": data.get("text", "")}


def _thinking(data: JSONObject) -> dict[str, Any]:
    return {
        "type": "thinking",
        "thinking": data.get("thinking", ""),
        "signature": data.get("signature", ""),
    }


def _tool_use(data: JSONObject) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": data["id"],
        "name": data["name"],
        "input": data.get("input", {}),
    }


def _tool_result(data: JSONObject) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": data["tool_use_id"]}
    content = data.get("content")
    if content is not None:
        block["content"] = content
    if data.get("is_error"):
        block["is_error"] = True
    return block


_Block = Callable[[JSONObject], dict[str, Any]]

_RENDERED: dict[NodeKind, tuple[Role, _Block]] = {
    NodeKind.USER: ("user", _text),
    NodeKind.TOOL_RESULT: ("user", _tool_result),
    NodeKind.TEXT: ("assistant", _text),
    NodeKind.THINKING: ("assistant", _thinking),
    NodeKind.TOOL_USE: ("assistant", _tool_use),
}
"""Each kind that carries conversation: its message's role and its content block."""


def render(path: list[Node]) -> list[RenderedMessage]:
    messages: list[RenderedMessage] = []
    role: Role | None = None
    content: list[dict[str, Any]] = []
    node_ids: list[int] = []
    rendered = _RENDERED
    # A long branch allocates a block per node; pausing the cyclic collector
    # (nothing here makes cycles) keeps it from walking the growing heap again
    # and again, which took two thirds of the time over 100,000 nodes. No
    # await happens while it is paused.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for node in path:
            entry = rendered.get(node.kind)
            if entry is None:
                continue
            if entry[0] != role:
                role = entry[0]
                # Built empty, then filled through its own lists: validating
                # two empty lists is cheaper than model_construct.
                message = RenderedMessage(role=role, content=[], node_ids=[])
                content, node_ids = message.content, message.node_ids
                messages.append(message)
            content.append(entry[1](node.data))
            node_ids.append(node.id)
    finally:
        if collecting:
            gc.enable()
    return messages


def node_block(node: Node | NewNode) -> dict[str, Any]:
    """A node as the API content block it came from.

    A root or summary node has no block of its own; as before, it reads as a
    tool_result (callers pass only conversation nodes).
    """
    entry = _RENDERED.get(node.kind)
    return (entry[1] if entry is not None else _tool_result)(node.data)
