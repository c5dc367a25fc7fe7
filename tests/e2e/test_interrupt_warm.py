"""An interrupt keeps the child warm: the next turn runs in the same claude
process, whose conversation no longer holds the interrupted exchange."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from session_tree.testing import ScriptedModel, text, tool_use, transcript

from .harness import Harness, first_delta_stored

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def interrupt_mid_reply(harness: Harness, model: ScriptedModel, prompt: str) -> int:
    """A turn whose reply the model holds after its first part, interrupted there;
    its stream id."""
    gate = threading.Event()
    model.push(text("never ", "finished", gate=gate, gate_after_deltas=1))
    try:
        await harness.call("chat_async", name="main", prompt=prompt)
        stream_id = await first_delta_stored(harness, "main")
        stopped = await harness.call("interrupt", name="main")
    finally:
        gate.set()
    assert stopped["status"] == "interrupted"
    return stream_id


async def test_the_turn_after_an_interrupt_reuses_the_child_without_the_interrupted_exchange(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("a1"))
    await harness.call("create", name="main")
    await harness.call("chat", name="main", prompt="q1")
    (child,) = harness.claude_children()
    head = (await harness.call("get", name="main"))["session"]["head_id"]

    stream_id = await interrupt_mid_reply(harness, model, "q2")

    events = await harness.poll_to_end(stream_id)
    assert events[-1]["kind"] == "interrupted"
    info = await harness.call("get", name="main")
    assert info["session"]["head_id"] == head
    assert info["warm"]
    model.push(text("a3"))
    reply = await harness.call("chat", name="main", prompt="q3")
    assert reply["text"] == "a3"
    # Same process: no claude was started for the turn after the interrupt.
    assert [p.pid for p in harness.claude_children()] == [child.pid]
    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["q3"]),
    ]
    # The interrupted exchange stays in the tree, as a side branch off the old head.
    nodes = (await harness.call("tree", name="main"))["tree"]["nodes"]
    by_id = {node["id"]: node for node in nodes}
    (prompt,) = [node for node in nodes if node["kind"] == "user" and node["preview"] == "q2"]
    assert prompt["parent_id"] == head
    assert any(
        node["preview"].startswith("never") and by_id[node["parent_id"]] is prompt
        for node in nodes
        if node["parent_id"] in by_id
    )


async def test_a_child_started_after_a_rewind_resumes_the_branch_without_the_interrupted_turn(
    harness: Harness, model: ScriptedModel
) -> None:
    """The rewound child's transcript (mirrored in the database) chains the next
    turn to the head, so a child resumed from it later sees the branch alone."""
    model.push(text("a1"))
    await harness.call("create", name="main")
    await harness.call("chat", name="main", prompt="q1")
    await interrupt_mid_reply(harness, model, "q2")
    model.push(text("a3"))
    await harness.call("chat", name="main", prompt="q3")
    (child,) = harness.claude_children()
    # A new system prompt needs a new child, resumed from the head.
    await harness.call("configure", name="main", system_prompt="You are terse.")
    model.push(text("a4"))

    await harness.call("chat", name="main", prompt="q4")

    assert [p.pid for p in harness.claude_children()] != [child.pid]
    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["q3"]),
        ("assistant", ["a3"]),
        ("user", ["q4"]),
    ]


async def test_interrupting_a_turn_waiting_on_an_approval_keeps_the_child_warm(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    target = tmp_path / "never.txt"
    model.push(tool_use("Write", {"file_path": str(target), "content": "x"}))
    await harness.call("create", name="main", cwd=str(tmp_path), loopback=True)
    first = await harness.call("chat", name="main", prompt="write it")
    assert first["pending_approvals"]
    (child,) = harness.claude_children()

    stopped = await harness.call("interrupt", name="main")

    assert stopped["status"] == "interrupted"
    model.push(text("after"))
    reply = await harness.call("chat", name="main", prompt="next")
    assert reply["text"] == "after"
    assert not target.exists()
    assert [p.pid for p in harness.claude_children()] == [child.pid]
    # The unanswered tool call went with the interrupted turn.
    assert transcript(model.conversation_requests()[-1]) == [("user", ["next"])]
