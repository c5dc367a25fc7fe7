"""A branch of the tree as Claude Messages API messages.

Consecutive nodes of the same role merge into one message, as the API wants:
an assistant turn's text, thinking and tool_use blocks form one assistant
message, and the tool_result blocks that answer them form the next user
message. Root and turn-summary nodes carry no conversation and are skipped.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from ..models import NewNode, Node, NodeKind


class RenderedMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: list[dict[str, Any]]
    node_ids: list[int]


_ROLE: dict[NodeKind, Literal["user", "assistant"]] = {
    NodeKind.USER: "user",
    NodeKind.TOOL_RESULT: "user",
    NodeKind.TEXT: "assistant",
    NodeKind.THINKING: "assistant",
    NodeKind.TOOL_USE: "assistant",
}


def render(path: list[Node]) -> list[RenderedMessage]:
    messages: list[RenderedMessage] = []
    for node in path:
        role = _ROLE.get(node.kind)
        if role is None:
            continue
        block = node_block(node)
        if messages and messages[-1].role == role:
            messages[-1].content.append(block)
            messages[-1].node_ids.append(node.id)
        else:
            messages.append(RenderedMessage(role=role, content=[block], node_ids=[node.id]))
    return messages


def node_block(node: Node | NewNode) -> dict[str, Any]:
    """A node as the API content block it came from."""
    data = node.data
    if node.kind in (NodeKind.USER, NodeKind.TEXT):
        return {"type": "text", "text": data.get("text", "")}
    if node.kind is NodeKind.THINKING:
        return {
            "type": "thinking",
            "thinking": data.get("thinking", ""),
            "signature": data.get("signature", ""),
        }
    if node.kind is NodeKind.TOOL_USE:
        return {
            "type": "tool_use",
            "id": data["id"],
            "name": data["name"],
            "input": data.get("input", {}),
        }
    content = data.get("content")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": data["tool_use_id"]}
    if content is not None:
        block["content"] = content
    if data.get("is_error"):
        block["is_error"] = True
    return block
