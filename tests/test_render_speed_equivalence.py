"""The fast ``render`` (issue 20) returns exactly what the render before it did.

``old_render`` and ``old_node_block`` are the code as it stood before the
change, kept here verbatim as the reference; random branches of every node
kind, with optional fields present, absent or falsy, go through both.
"""

from __future__ import annotations

import gc
from typing import Any, Literal
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from session_tree.models import NewNode, Node, NodeKind
from session_tree.service import RenderedMessage, _render, node_block, render

_OLD_ROLE: dict[NodeKind, Literal["user", "assistant"]] = {
    NodeKind.USER: "user",
    NodeKind.TOOL_RESULT: "user",
    NodeKind.TEXT: "assistant",
    NodeKind.THINKING: "assistant",
    NodeKind.TOOL_USE: "assistant",
}


def old_render(path: list[Node]) -> list[RenderedMessage]:
    messages: list[RenderedMessage] = []
    for node in path:
        role = _OLD_ROLE.get(node.kind)
        if role is None:
            continue
        block = old_node_block(node)
        if messages and messages[-1].role == role:
            messages[-1].content.append(block)
            messages[-1].node_ids.append(node.id)
        else:
            messages.append(RenderedMessage(role=role, content=[block], node_ids=[node.id]))
    return messages


def old_node_block(node: Node | NewNode) -> dict[str, Any]:
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


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def optional(key: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda value: {key: value}))


def merged(*parts: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*parts).map(lambda dicts: {k: v for d in dicts for k, v in d.items()})


text = st.text(max_size=10)
extra = optional("extra", json_values)
DATA: dict[NodeKind, st.SearchStrategy[dict[str, Any]]] = {
    NodeKind.ROOT: st.just({}),
    NodeKind.SUMMARY: merged(optional("text", text), extra),
    NodeKind.USER: merged(optional("text", text), extra),
    NodeKind.TEXT: merged(optional("text", text), extra),
    NodeKind.THINKING: merged(optional("thinking", text), optional("signature", text), extra),
    NodeKind.TOOL_USE: merged(
        st.fixed_dictionaries({"id": text, "name": text}), optional("input", json_values), extra
    ),
    NodeKind.TOOL_RESULT: merged(
        st.fixed_dictionaries({"tool_use_id": text}),
        optional("content", json_values),
        optional("is_error", st.sampled_from([True, False, None, 0, 1, ""])),
        extra,
    ),
}


@st.composite
def branches(draw: st.DrawFn) -> list[Node]:
    kinds = draw(st.lists(st.sampled_from(list(NodeKind)), max_size=30))
    path: list[Node] = []
    for depth, kind in enumerate(kinds):
        path.append(
            Node(
                id=depth + 1,
                tree_id=1,
                parent_id=depth or None,
                kind=kind,
                data=draw(DATA[kind]),
                depth=depth,
                created_at=0.0,
            )
        )
    return path


@settings(max_examples=400, deadline=None)
@given(branches())
def test_render_returns_what_the_old_render_returned(path: list[Node]) -> None:
    new, old = render(path), old_render(path)
    assert new == old
    assert [message.model_dump_json() for message in new] == [
        message.model_dump_json() for message in old
    ]
    assert all(type(message) is RenderedMessage for message in new)


@settings(max_examples=200, deadline=None)
@given(st.lists(branches(), min_size=1, max_size=5), st.lists(st.integers(0, 4), max_size=12))
def test_render_again_returns_what_the_old_render_returned(
    branches_: list[list[Node]], order: list[int]
) -> None:
    """Blocks kept between renders (the same node objects again, other objects with the same
    ids and other data, generations that roll over mid-path) change nothing."""
    with patch.object(_render._BLOCKS, "GENERATION", 7):
        for index in [*range(len(branches_)), *order]:
            path = branches_[index % len(branches_)]
            new, old = render(path), old_render(path)
            assert [message.model_dump_json() for message in new] == [
                message.model_dump_json() for message in old
            ]


@settings(max_examples=200, deadline=None)
@given(branches())
def test_node_block_returns_what_the_old_node_block_returned(path: list[Node]) -> None:
    for node in path:
        if node.kind in (NodeKind.ROOT, NodeKind.SUMMARY):
            continue  # no block of their own; no caller asks for one
        assert node_block(node) == old_node_block(node)
        new_node = NewNode(kind=node.kind, data=node.data)
        assert node_block(new_node) == old_node_block(new_node)


def test_messages_of_one_render_do_not_share_lists() -> None:
    path = [
        Node(
            id=i, tree_id=1, parent_id=None, kind=kind, data={"text": str(i)}, depth=i, created_at=0
        )
        for i, kind in enumerate([NodeKind.USER, NodeKind.TEXT, NodeKind.USER, NodeKind.TEXT])
    ]
    messages = render(path)
    assert [m.node_ids for m in messages] == [[0], [1], [2], [3]]
    messages[0].content.append({"type": "text", "text": "more"})
    assert [len(m.content) for m in messages] == [2, 1, 1, 1]


def test_render_leaves_the_cyclic_collector_as_it_found_it() -> None:
    path = [
        Node(id=1, tree_id=1, parent_id=None, kind=NodeKind.TEXT, data={}, depth=0, created_at=0)
    ]
    assert gc.isenabled()
    render(path)
    assert gc.isenabled()
    gc.disable()
    try:
        render(path)
        assert not gc.isenabled()
    finally:
        gc.enable()
