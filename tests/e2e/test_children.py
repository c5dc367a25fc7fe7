"""The life of a child process: cancelled calls, idle close, the cap on warm children."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import anyio
import psutil
import pytest

from session_tree.testing import ScriptedModel, server_error, text, transcript

from .harness import Harness, claude, claude_processes, eventually, first_delta_stored, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_cancelling_a_chat_call_interrupts_the_child(
    harness: Harness, model: ScriptedModel
) -> None:
    gate = threading.Event()
    model.push(text("never ", "finished", gate=gate, gate_after_deltas=1), text("after"))
    await harness.call("create", name="main")
    try:
        async with anyio.create_task_group() as tg:
            # Cancelling the client's call sends notifications/cancelled to the server.
            tg.start_soon(harness.client.call_tool, "chat", {"name": "main", "prompt": "long"})
            stream_id = await first_delta_stored(harness, "main")
            tg.cancel_scope.cancel()

        async def ended() -> bool:
            page = await harness.call("poll", stream_id=stream_id, from_seq=0, limit=1)
            return bool(page["status"] != "running")

        # The model's reply stays held back until the server has stopped the turn.
        await eventually(ended, what="the cancelled turn ending")
    finally:
        gate.set()

    events = await harness.poll_to_end(stream_id)
    assert events[-1]["kind"] == "interrupted"
    assert "".join(e["data"]["text"] for e in events if e["kind"] == "text_delta") == "never "
    info = await harness.call("get", name="main")
    assert info["running_stream_id"] is None
    assert info["session"]["status"] == "idle"
    reply = await harness.call("chat", name="main", prompt="next")
    assert reply["text"] == "after"
    # The interrupted exchange is a side branch: the next request does not carry it.
    assert transcript(model.conversation_requests()[-1]) == [("user", ["next"])]


async def test_an_idle_child_is_closed_and_the_next_turn_resumes_it(
    tmp_path: Path, model: ScriptedModel
) -> None:
    model.push(text("a1"), text("a2"))
    async with serve(tmp_path, model, env={"SESSION_TREE_IDLE_TIMEOUT_S": "1"}) as harness:
        await harness.call("create", name="main")
        await harness.call("chat", name="main", prompt="q1")

        async def closed() -> bool:
            info = await harness.call("get", name="main")
            return not info["warm"] and not claude_processes()

        await eventually(closed, what="the idle child closing")
        reply = await harness.call("chat", name="main", prompt="q2")

    assert reply["text"] == "a2"
    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["q2"]),
    ]


async def test_the_cap_on_warm_children_evicts_the_idle_and_refuses_when_all_are_busy(
    tmp_path: Path, model: ScriptedModel
) -> None:
    async with serve(tmp_path, model, env={"SESSION_TREE_MAX_CHILDREN": "1"}) as harness:
        for name in ("a", "b"):
            await harness.call("create", name=name)
        await harness.call("chat", name="a", prompt="hi a")
        assert (await harness.call("get", name="a"))["warm"]

        # A second session takes the only place; the idle child of the first makes room.
        await harness.call("chat", name="b", prompt="hi b")
        warm = {s["session"]["name"]: s["warm"] for s in (await harness.call("list"))["result"]}
        assert warm == {"a": False, "b": True}
        assert len(harness.claude_children()) == 1

        gate = threading.Event()
        model.push(text("slow ", "turn", gate=gate, gate_after_deltas=1))
        busy = await harness.call("chat_async", name="b", prompt="slow")
        try:
            await first_delta_stored(harness, "b")
            error = await harness.call_error("chat", name="a", prompt="no room")
        finally:
            gate.set()
        assert "All 1 warm children are busy" in error
        assert "SESSION_TREE_MAX_CHILDREN" in error
        # Nothing was stored for the refused turn.
        assert (await harness.call("streams", name="a"))["streams"][0]["status"] == "completed"
        await harness.poll_to_end(busy["stream_id"])

        reply = await harness.call("chat", name="a", prompt="room now")
        assert reply["status"] == "completed"


async def test_a_failed_turns_child_counts_against_the_cap_until_it_has_exited(
    tmp_path: Path, model: ScriptedModel
) -> None:
    """The cap counts processes: a child taken out of the pool because its turn
    failed still holds its place until it has exited."""
    # A claude that takes half a second to exit once it is done, so the failed
    # turn's child is certainly still there when the parent chats again.
    wrapper = tmp_path / "slow-exit-claude"
    wrapper.write_text(f'#!/bin/sh\n"{claude()}" "$@"\nstatus=$?\nsleep 0.5\nexit $status\n')
    wrapper.chmod(0o755)

    def children(server: int) -> int:
        # The server's own children only: the wrapper's shell forks before it runs claude.
        count = 0
        for process in psutil.Process(server).children():
            with contextlib.suppress(psutil.Error):
                count += str(wrapper) in process.cmdline()
        return count

    env = {"SESSION_TREE_MAX_CHILDREN": "1", "SESSION_TREE_CLAUDE": str(wrapper)}
    async with serve(tmp_path, model, env=env) as harness:
        await harness.call("create", name="main")
        model.push(text("fine"))
        await harness.call("chat", name="main", prompt="q1")
        most = 0
        done = threading.Event()
        server = harness.server_process().pid

        def count_children() -> None:
            nonlocal most
            while not done.is_set():
                most = max(most, children(server))
                done.wait(0.005)  # a sampling interval, not a wait for anything

        sampler = threading.Thread(target=count_children)
        sampler.start()
        try:
            model.push(server_error())
            started = await harness.call("chat_async", name="main", prompt="q2")
            # The parent chats again as soon as the poll shows the turn ended,
            # which is while the failed turn's child is still exiting.
            ended = await harness.poll_to_end(started["stream_id"])
            model.push(text("again"))
            reply = await harness.call("chat", name="main", prompt="q3")
        finally:
            done.set()
            sampler.join(timeout=10)
        assert ended[-1]["kind"] == "turn_end"
        assert ended[-1]["data"].get("error")
        assert reply["text"] == "again"
        assert most == 1
