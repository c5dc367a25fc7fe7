"""Side questions cleaned up, through the real MCP client: an ephemeral turn's
nodes leave the tree at the next kept turn, unless a head or a running turn
still needs them."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from session_tree.testing import ScriptedModel, text

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def tree_nodes(harness: Harness, name: str) -> dict[int, dict[str, Any]]:
    view = (await harness.call("tree", name=name))["tree"]
    return {node["id"]: node for node in view["nodes"]}


def ephemeral_ids(nodes: dict[int, dict[str, Any]]) -> set[int]:
    return {node_id for node_id, node in nodes.items() if node["ephemeral"]}


async def test_an_ephemeral_turns_nodes_are_gone_after_the_next_turn(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("a1"), text("aside answer"), text("a2"))
    await harness.call("create", name="main")
    first = await harness.call("chat", name="main", prompt="q1")
    aside = await harness.call("chat", name="main", prompt="side question", ephemeral=True)
    assert aside["text"] == "aside answer"
    before = await tree_nodes(harness, "main")
    side = ephemeral_ids(before)
    assert len(side) == 3  # prompt, answer, summary: readable until the branch moves on

    second = await harness.call("chat", name="main", prompt="q2")

    after = await tree_nodes(harness, "main")
    assert ephemeral_ids(after) == set()
    assert side.isdisjoint(after)
    assert set(before) - side <= set(after)  # nothing of the branch went with them
    assert second["head_id"] in after
    assert first["head_id"] in after
    rendered = await harness.call("render_context", name="main")
    texts = [block["text"] for m in rendered["messages"] for block in m["content"]]
    assert texts == ["q1", "a1", "q2", "a2"]


async def test_a_fork_at_a_side_question_keeps_its_nodes(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("a1"), text("aside answer"), text("a2"))
    await harness.call("create", name="main")
    await harness.call("chat", name="main", prompt="q1")
    aside = await harness.call("chat", name="main", prompt="side question", ephemeral=True)
    side = ephemeral_ids(await tree_nodes(harness, "main"))
    summary = next(
        node_id
        for node_id, node in (await tree_nodes(harness, "main")).items()
        if node_id in side and node["kind"] == "summary"
    )
    await harness.call("fork", name="main", new_name="aside", at=summary)

    await harness.call("chat", name="main", prompt="q2")

    assert ephemeral_ids(await tree_nodes(harness, "main")) == side
    assert aside["head_id"] != summary
    rendered = await harness.call("render_context", name="aside")
    assert "aside answer" in str(rendered["messages"])


async def test_a_running_side_question_is_not_swept(harness: Harness, model: ScriptedModel) -> None:
    gate = threading.Event()
    model.push(
        text("aside ", "answer", gate=gate, gate_after_deltas=1), text("fork answer"), text("a2")
    )
    await harness.call("create", name="main")
    await harness.call("fork", name="main", new_name="other")
    stream = await harness.call("chat_async", name="main", prompt="side question", ephemeral=True)
    try:
        with anyio.fail_after(60):
            from_seq = 0
            while True:
                page = await harness.call(
                    "poll", stream_id=stream["stream_id"], from_seq=from_seq, wait_ms=2000
                )
                from_seq = page["next_seq"]
                if any(e["kind"] == "text_delta" for e in page["events"]):
                    break
        running = ephemeral_ids(await tree_nodes(harness, "main"))
        assert len(running) == 1  # its prompt; the answer is still streaming

        # A kept turn on the same tree sweeps side questions: not this one, which runs.
        other = await harness.call("chat", name="other", prompt="q")
        assert other["text"] == "fork answer"
        assert ephemeral_ids(await tree_nodes(harness, "main")) == running
    finally:
        gate.set()
    events = await harness.poll_to_end(stream["stream_id"])
    assert events[-1]["kind"] == "turn_end"
    written = {e["data"]["node_id"] for e in events if "node_id" in e["data"]}
    nodes = await tree_nodes(harness, "main")
    assert written <= set(nodes)
    assert written <= ephemeral_ids(nodes)

    await harness.call("chat", name="main", prompt="q2")

    assert ephemeral_ids(await tree_nodes(harness, "main")) == set()
