"""Children that die or hang: a killed warm child, a stopped one, a moved session."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import anyio
import psutil
import pytest

from session_tree.testing import ScriptedModel, text, transcript

from .harness import Harness, claude_processes, eventually, first_delta_stored

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_a_warm_child_killed_while_idle_is_replaced_from_the_head(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("a1"), text("a2"))
    await harness.call("create", name="main")
    await harness.call("chat", name="main", prompt="q1")
    (child,) = harness.claude_children()
    child.send_signal(signal.SIGKILL)

    async def gone() -> bool:
        return not child.is_running() or child.status() == psutil.STATUS_ZOMBIE

    await eventually(gone, what="the killed child exiting")
    reply = await harness.call("chat", name="main", prompt="q2")

    assert reply["status"] == "completed", reply
    assert reply["text"] == "a2"
    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["q2"]),
    ]


async def test_an_interrupt_of_a_stopped_child_ends_the_turn_within_seconds(
    harness: Harness, model: ScriptedModel
) -> None:
    gate = threading.Event()
    model.push(text("never ", "finished", gate=gate, gate_after_deltas=1), text("after"))
    await harness.call("create", name="main")
    stream_id = (await harness.call("chat_async", name="main", prompt="long"))["stream_id"]
    await first_delta_stored(harness, "main")
    (child,) = harness.claude_children()
    child.send_signal(signal.SIGSTOP)
    try:
        started = anyio.current_time()
        result = await harness.call("interrupt", name="main")
        took = anyio.current_time() - started

        assert result["status"] == "interrupted"
        # It used to take 26 s: the interrupt waited on a child that never answers.
        assert took < 10, f"interrupt took {took:.1f} s"
        events = await harness.poll_to_end(stream_id)
        assert events[-1]["kind"] == "interrupted"

        async def stopped_child_gone() -> bool:
            return child not in claude_processes()

        await eventually(stopped_child_gone, what="the stopped child being killed")
    finally:
        gate.set()
        with contextlib.suppress(psutil.Error):
            child.send_signal(signal.SIGCONT)
    reply = await harness.call("chat", name="main", prompt="next")
    assert reply["text"] == "after"


async def test_moving_a_session_keeps_its_history(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    model.push(text("a1"), text("a2"), text("a3"))
    await harness.call("create", name="main", cwd=str(first))
    await harness.call("chat", name="main", prompt="q1")
    # A fork's head came from a resumed child: it must resume after a move too.
    await harness.call("fork", name="main", new_name="moved")
    await harness.call("chat", name="moved", prompt="q2")
    await harness.call("configure", name="moved", cwd=str(second))

    reply = await harness.call("chat", name="moved", prompt="q3")

    assert reply["status"] == "completed", reply
    assert reply["text"] == "a3"
    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["q2"]),
        ("assistant", ["a2"]),
        ("user", ["q3"]),
    ]
