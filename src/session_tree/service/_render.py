"""A branch of the tree as Claude Messages API messages.

Consecutive nodes of the same role merge into one message, as the API wants:
an assistant turn's text, thinking and tool_use blocks form one assistant
message, and the tool_result blocks that answer them form the next user
message. Root and turn-summary nodes carry no conversation and are skipped.

``render`` runs over every node of a branch (100,000 of them for a deep one),
so its loop does one dictionary lookup per node for the node's role and block,
built once per node object and kept (:class:`_Blocks`), and builds one message
object per change of role, not per node.
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


class _Blocks:
    """Each node's (role, block), kept for the node object: a session rendered again and again
    (its nodes come from the store's node cache, the same objects each time) builds a block
    per node once. Keyed by the node's id and checked by identity, so a node of another
    database (or read again, as a new object) never gets another's block. Two generations of :data:`GENERATION`
    entries bound it. The blocks are shared, as the node's ``data`` already is: read-only."""

    GENERATION = 131_072

    def __init__(self) -> None:
        self.young: dict[int, tuple[Node, Role | None, dict[str, Any] | None]] = {}
        self.old: dict[int, tuple[Node, Role | None, dict[str, Any] | None]] = {}

    def build(self, node: Node) -> tuple[Node, Role | None, dict[str, Any] | None]:
        entry = self.old.pop(node.id, None)
        if entry is None or entry[0] is not node:
            kind = _RENDERED.get(node.kind)
            entry = (node, None, None) if kind is None else (node, kind[0], kind[1](node.data))
        if len(self.young) >= self.GENERATION:
            self.old, self.young = self.young, {}
        self.young[node.id] = entry
        return entry


_BLOCKS = _Blocks()


def render(path: list[Node]) -> list[RenderedMessage]:
    messages: list[RenderedMessage] = []
    role: Role | None = None
    content: list[dict[str, Any]] = []
    node_ids: list[int] = []
    cached = _BLOCKS.young.get
    build = _BLOCKS.build
    # A long branch allocates a block per node; pausing the cyclic collector
    # (nothing here makes cycles) keeps it from walking the growing heap again
    # and again, which took two thirds of the time over 100,000 nodes. No
    # await happens while it is paused.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for node in path:
            entry = cached(node.id)
            if entry is None or entry[0] is not node:
                entry = build(node)
                cached = _BLOCKS.young.get  # a new generation may have begun
            _, this_role, block = entry
            if this_role is None:
                continue
            if this_role != role:
                role = this_role
                # Built empty, then filled through its own lists: validating
                # two empty lists is cheaper than model_construct.
                message = RenderedMessage(role=role, content=[], node_ids=[])
                content, node_ids = message.content, message.node_ids
                messages.append(message)
            content.append(block)  # type: ignore[arg-type]  # set with its role
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
