"""What was acknowledged stays stored (issue 13, items 4, 6, 7 and 9).

Each race is run through the real parts: MCP clients, ``session-tree serve``
(one, or two on one database), the ``claude`` binary; only the model is scripted.
A race is run for several rounds, since one round can pass by luck of timing.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types import CallToolResult

from session_tree.testing import ScriptedModel, text, transcript

from .harness import Harness, first_delta_stored, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

# Enough for the losses the issue measured (20 of 20 on one server, 17 of 20
# across two) to show every time, few enough to keep the file quick.
CONFIGURE_ROUNDS = 20
DELETE_ROUNDS = 20


@asynccontextmanager
async def on_servers(
    tmp_path: Path, model: ScriptedModel, count: int = 2
) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two clients on one database: of one server (``count=1``) or of two, each
    server in its own directory."""
    async with serve(tmp_path, model) as first:
        if count == 1:
            yield first, first
            return
        second_dir = tmp_path / "second"
        second_dir.mkdir()
        async with serve(second_dir, model, db_path=first.db_path) as second:
            yield first, second


async def at_once(
    *calls: tuple[Harness, str, dict[str, Any]],
) -> list[CallToolResult]:
    """Send the tool calls together (each in flight before any answer); their results."""
    results: list[CallToolResult | None] = [None] * len(calls)

    async def send(index: int, harness: Harness, tool: str, arguments: dict[str, Any]) -> None:
        results[index] = await harness.client.call_tool(tool, arguments)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for index, (harness, tool, arguments) in enumerate(calls):
                tg.start_soon(send, index, harness, tool, arguments)
    done = [result for result in results if result is not None]
    assert len(done) == len(calls)
    return done


def message(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


# item 4 ------------------------------------------------------------------------


@pytest.mark.parametrize("servers", [1, 2], ids=["one-server", "two-servers"])
async def test_concurrent_configures_of_different_fields_keep_both_changes(
    tmp_path: Path, model: ScriptedModel, servers: int
) -> None:
    lost: dict[int, object] = {}
    async with on_servers(tmp_path, model, servers) as (first, other):
        await first.call("create", name="main")
        for round_ in range(CONFIGURE_ROUNDS):
            # Values new in every round, so a round's changes cannot pass for an earlier one's.
            rule, timeout = f"Bash(rm{round_}:*)", 100 + round_
            deny, wait = await at_once(
                (first, "configure", {"name": "main", "disallowed_tools": [rule]}),
                (other, "configure", {"name": "main", "approval_timeout_s": timeout}),
            )
            assert not deny.is_error, message(deny)
            assert not wait.is_error, message(wait)
            # Each server reads what the database holds.
            for reader in [first] if servers == 1 else [first, other]:
                config = (await reader.call("get", name="main"))["session"]["config"]
                kept = (config["disallowed_tools"], config["approval_timeout_s"])
                if kept != ([rule], timeout):
                    lost[round_] = kept

    assert lost == {}, (
        f"{len(lost)} of {CONFIGURE_ROUNDS} rounds (numbers {sorted(lost)}) lost a change"
    )


# item 6 ------------------------------------------------------------------------


async def test_deleting_a_session_keeps_a_forks_running_turn(
    harness: Harness, model: ScriptedModel
) -> None:
    gate = threading.Event()
    parts = [f"part{i} " for i in range(40)]
    long_reply = "".join(parts)
    model.push(text("a1"), text(*parts, gate=gate, gate_after_deltas=1), text("a3"))
    await harness.call("create", name="A")
    await harness.call("chat", name="A", prompt="q1")
    await harness.call("fork", name="A", new_name="B")
    stream_id = (await harness.call("chat_async", name="B", prompt="q2"))["stream_id"]
    try:
        await first_delta_stored(harness, "B")
        deleted = await harness.call("delete", name="A")
    finally:
        gate.set()
    events = await harness.poll_to_end(stream_id)
    ended = await harness.call("poll", stream_id=stream_id, from_seq=0)
    rendered = await harness.call("render_context", name="B")
    reply = await harness.call("chat", name="B", prompt="q3")

    assert deleted["session"] == "A"
    assert ended["status"] == "completed", ended["error"]
    assert events[-1]["kind"] == "turn_end"
    messages = [{"role": m["role"], "content": m["content"]} for m in rendered["messages"]]
    assert transcript(messages) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["q2"]),
        ("assistant", [long_reply]),
    ]
    assert reply["text"] == "a3"
    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["q2"]),
        ("assistant", [long_reply]),
        ("user", ["q3"]),
    ]


# item 7 ------------------------------------------------------------------------


async def test_delete_and_a_starting_turn_exclude_each_other(
    harness: Harness, model: ScriptedModel
) -> None:
    winners: list[str] = []
    broken: dict[int, str] = {}
    for round_ in range(DELETE_ROUNDS):
        name = f"d{round_}"
        await harness.call("create", name=name)
        delete = (harness, "delete", {"name": name})
        start = (harness, "chat_async", {"name": name, "prompt": f"q{round_}"})
        # Either may reach the server first: alternate which is sent first.
        if round_ % 2:
            started, deleted = await at_once(start, delete)
        else:
            deleted, started = await at_once(delete, start)
        if deleted.is_error == started.is_error:
            broken[round_] = f"delete: {message(deleted)}; chat_async: {message(started)}"
        if started.is_error:
            winners.append("delete")
            assert "No session named" in message(started), message(started)
            continue
        winners.append("chat_async")
        assert started.structured_content is not None
        stream_id = started.structured_content["stream_id"]
        # The acknowledged stream is readable, to its end.
        polled = await harness.client.call_tool("poll", {"stream_id": stream_id})
        if polled.is_error:
            broken[round_] = f"{broken.get(round_, '')}; poll: {message(polled)}"
            continue
        assert f"stream {stream_id}" in message(deleted), message(deleted)
        events = await harness.poll_to_end(stream_id)
        assert events[-1]["kind"] == "turn_end"

    assert broken == {}, (
        f"{len(broken)} of {DELETE_ROUNDS} rounds (numbers {sorted(broken)}) not won by exactly "
        f"one; the first: {next(iter(broken.values()))}"
    )
    # Which one wins a race is timing; the other outcome is checked in order here, so
    # both are proven whatever the races gave: a started turn refuses the delete.
    if "chat_async" not in winners:
        await harness.call("create", name="started")
        stream_id = (await harness.call("chat_async", name="started", prompt="q"))["stream_id"]
        refused = await harness.call_error("delete", name="started")
        assert f"stream {stream_id}" in refused, refused
        assert (await harness.poll_to_end(stream_id))[-1]["kind"] == "turn_end"
    if "delete" not in winners:
        await harness.call("create", name="deleted")
        await harness.call("delete", name="deleted")
        gone = await harness.call_error("chat_async", name="deleted", prompt="q")
        assert "No session named" in gone, gone


async def test_delete_on_another_server_is_refused_while_the_turn_runs(
    tmp_path: Path, model: ScriptedModel
) -> None:
    gate = threading.Event()
    model.push(text("slow ", "reply", gate=gate, gate_after_deltas=1))
    async with on_servers(tmp_path, model) as (runner, other):
        await runner.call("create", name="D")
        stream_id = (await runner.call("chat_async", name="D", prompt="slow"))["stream_id"]
        try:
            await first_delta_stored(runner, "D")
            refused = await other.call_error("delete", name="D")
        finally:
            gate.set()
        events = await runner.poll_to_end(stream_id)
        ended = await runner.call("poll", stream_id=stream_id, from_seq=0)
        rendered = await other.call("render_context", name="D")

    assert "already running a turn" in refused
    assert f"stream {stream_id}" in refused
    assert ended["status"] == "completed", ended["error"]
    assert events[-1]["kind"] == "turn_end"
    messages = [{"role": m["role"], "content": m["content"]} for m in rendered["messages"]]
    assert transcript(messages) == [("user", ["slow"]), ("assistant", ["slow reply"])]


# item 9 ------------------------------------------------------------------------


async def test_chat_reports_a_turn_of_more_than_ten_thousand_events_whole(
    harness: Harness, model: ScriptedModel
) -> None:
    # One delta a part, one stored event a delta: well past one read of 10,000.
    parts = [f"{i % 10}" for i in range(10_500)]
    model.push(text(*parts))
    await harness.call("create", name="main")

    reply = await harness.call("chat", name="main", prompt="talk a lot")

    assert reply["next_seq"] > 10_500
    assert reply["status"] == "completed", reply["error"]
    assert reply["text"] == "".join(parts)
    assert reply["usage"] is not None
    assert reply["usage"]["output_tokens"] > 0
