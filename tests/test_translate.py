"""SDK messages to events and nodes: nothing unknown is dropped or fatal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from claude_agent_sdk import AssistantMessage, TextBlock, ToolUseBlock
from claude_agent_sdk.types import Message, StreamEvent

from session_tree.agents._translate import translate
from session_tree.models import NodeKind


@dataclass
class FutureMessage:
    """A message type a later Claude Code might send."""

    payload: dict[str, Any]


def test_an_unknown_message_type_is_kept_as_an_event() -> None:
    items = translate(cast(Message, FutureMessage({"x": 1})), ephemeral=False)

    assert [(i.kind, i.data, i.node) for i in items] == [
        ("unknown", {"type": "FutureMessage", "data": {"payload": {"x": 1}}}, None)
    ]


def test_an_unknown_stream_event_is_kept_and_deltas_are_events_only() -> None:
    def event(raw: dict[str, Any]) -> StreamEvent:
        return StreamEvent(uuid="u", session_id="s", event=raw)

    delta = translate(
        event({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "hi"}}),
        ephemeral=False,
    )
    quiet = translate(event({"type": "ping"}), ephemeral=False)
    novel = translate(event({"type": "brand_new_event", "n": 1}), ephemeral=False)

    assert [(i.kind, i.data, i.node) for i in delta] == [("text_delta", {"text": "hi"}, None)]
    assert quiet == []
    assert [(i.kind, i.data) for i in novel] == [
        ("stream_event", {"event": {"type": "brand_new_event", "n": 1}})
    ]


def test_complete_blocks_become_nodes_carrying_the_message_uuid() -> None:
    message = AssistantMessage(
        content=[
            TextBlock("hello"),
            ToolUseBlock(id="toolu_1", name="Bash", input={"command": "ls"}),
        ],
        model="m",
        uuid="msg-uuid",
    )

    items = translate(message, ephemeral=True)

    nodes = [i.node for i in items if i.node is not None]
    assert [(n.kind, n.message_uuid, n.ephemeral) for n in nodes] == [
        (NodeKind.TEXT, "msg-uuid", True),
        (NodeKind.TOOL_USE, "msg-uuid", True),
    ]
    assert nodes[1].data == {"id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
