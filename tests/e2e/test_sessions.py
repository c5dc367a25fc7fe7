"""Child sessions end to end: MCP client -> session-tree serve -> claude -> scripted model."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from session_tree.testing import (
    ScriptedModel,
    auth_error,
    overloaded,
    server_error,
    text,
    transcript,
)

from .harness import Harness, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def user_texts(request_index: int, model: ScriptedModel) -> list[tuple[str, list[str]]]:
    return transcript(model.conversation_requests()[request_index])


async def test_create_and_chat_returns_the_reply_and_moves_the_head(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("Hello from the child"))
    created = await harness.call("create", name="main")

    reply = await harness.call("chat", name="main", prompt="Say hello")

    assert reply["status"] == "completed"
    assert reply["text"] == "Hello from the child"
    assert reply["head_id"] != created["head_id"]
    assert reply["usage"]["turns"] == 1
    assert reply["usage"]["cost_usd"] > 0
    session = await harness.call("get", name="main")
    assert session["session"]["head_id"] == reply["head_id"]
    assert session["session"]["claude_session_id"]
    assert transcript(model.conversation_requests()[-1]) == [("user", ["Say hello"])]


async def test_chat_async_and_poll_deliver_every_event_in_order(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("one ", "two ", "three"))
    await harness.call("create", name="main")

    stream = await harness.call("chat_async", name="main", prompt="count")
    events = await harness.poll_to_end(stream["stream_id"], wait_ms=2000)

    assert [e["seq"] for e in events] == list(range(len(events)))
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "turn_start"
    assert kinds[-1] == "turn_end"
    deltas = "".join(e["data"]["text"] for e in events if e["kind"] == "text_delta")
    assert deltas == "one two three"
    assert [e["data"]["text"] for e in events if e["kind"] == "text"] == ["one two three"]
    final = await harness.call("poll", stream_id=stream["stream_id"], from_seq=0, limit=1)
    assert final["status"] == "completed"
    assert final["more"] is True


async def test_follow_up_turn_carries_the_conversation(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("first answer"), text("second answer"))
    await harness.call("create", name="main")

    await harness.call("chat", name="main", prompt="first question")
    await harness.call("chat", name="main", prompt="second question")

    assert user_texts(-1, model) == [
        ("user", ["first question"]),
        ("assistant", ["first answer"]),
        ("user", ["second question"]),
    ]


async def test_fork_at_head_shows_the_model_the_whole_branch_and_nothing_else(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("a1"), text("main-only"), text("fork-answer"))
    await harness.call("create", name="main")
    await harness.call("chat", name="main", prompt="q1")
    fork = await harness.call("fork", name="main", new_name="exp")
    await harness.call("chat", name="main", prompt="main continues")

    reply = await harness.call("chat", name="exp", prompt="fork continues")

    assert reply["text"] == "fork-answer"
    assert fork["forked_from"] == "main"
    assert user_texts(-1, model) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["fork continues"]),
    ]


async def test_fork_at_an_earlier_turn_cuts_the_history_there(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("a1"), text("a2"), text("a3"), text("from-the-past"))
    await harness.call("create", name="main")
    first = await harness.call("chat", name="main", prompt="q1")
    await harness.call("chat", name="main", prompt="q2")
    await harness.call("chat", name="main", prompt="q3")

    await harness.call("fork", name="main", new_name="past", at=first["head_id"])
    await harness.call("chat", name="past", prompt="q2 again, differently")

    assert user_texts(-1, model) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["q2 again, differently"]),
    ]
    # The fork of a fork, and the original, still carry on from their own heads.
    model.push(text("grandchild"), text("a4"))
    await harness.call("fork", name="past", new_name="past2")
    await harness.call("chat", name="past2", prompt="deeper")
    assert user_texts(-1, model)[-2:] == [("assistant", ["from-the-past"]), ("user", ["deeper"])]
    await harness.call("chat", name="main", prompt="q4")
    assert user_texts(-1, model)[-2:] == [("assistant", ["a3"]), ("user", ["q4"])]


async def test_fork_inside_a_turn_is_refused_with_what_to_do(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("a1"))
    await harness.call("create", name="main")
    await harness.call("chat", name="main", prompt="q1")
    rendered = await harness.call("render_context", name="main")
    prompt_node = rendered["messages"][0]["node_ids"][0]

    error = await harness.call_error("fork", name="main", new_name="bad", at=prompt_node)

    assert "turn boundary" in error
    assert "summary" in error
    assert [s["session"]["name"] for s in (await harness.call("list"))["result"]] == ["main"]


async def test_render_context_matches_what_the_model_received(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("a1"), text("a2"), text("a3"))
    await harness.call("create", name="main")
    await harness.call("chat", name="main", prompt="q1")
    await harness.call("chat", name="main", prompt="q2")
    await harness.call("chat", name="main", prompt="q3")

    rendered = await harness.call("render_context", name="main")

    messages = [{"role": m["role"], "content": m["content"]} for m in rendered["messages"]]
    sent = transcript(model.conversation_requests()[-1])
    # The last request held everything up to q3; the rendered branch adds the reply a3.
    assert transcript(messages) == [*sent, ("assistant", ["a3"])]
    assert all(m["role"] in ("user", "assistant") for m in messages)


async def test_an_ephemeral_turn_leaves_the_next_turns_context_clean(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("a1"), text("aside answer"), text("a2"))
    await harness.call("create", name="main")
    first = await harness.call("chat", name="main", prompt="q1")

    aside = await harness.call("chat", name="main", prompt="side question", ephemeral=True)
    assert aside["text"] == "aside answer"
    assert aside["head_id"] == first["head_id"]
    assert user_texts(-1, model)[-1] == ("user", ["side question"])

    await harness.call("chat", name="main", prompt="q2")

    assert user_texts(-1, model) == [("user", ["q1"]), ("assistant", ["a1"]), ("user", ["q2"])]


async def test_interrupt_mid_stream_keeps_what_arrived(
    harness: Harness, model: ScriptedModel
) -> None:
    gate = threading.Event()
    model.push(text("partial ", "rest", gate=gate, gate_after_deltas=1), text("after"))
    await harness.call("create", name="main")
    stream = await harness.call("chat_async", name="main", prompt="long task")
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

        result = await harness.call("interrupt", name="main")
    finally:
        gate.set()

    assert result["status"] == "interrupted"
    events = await harness.poll_to_end(stream["stream_id"])
    assert events[-1]["kind"] == "interrupted"
    final = await harness.call("poll", stream_id=stream["stream_id"], from_seq=0, limit=1)
    assert final["status"] == "interrupted"
    assert any(e["kind"] == "text_delta" and e["data"]["text"] == "partial " for e in events)
    # The session is usable again and continues from its head.
    reply = await harness.call("chat", name="main", prompt="next")
    assert reply["status"] == "completed"


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        pytest.param(server_error(), "500", id="500"),
        pytest.param(overloaded(), "529", id="overloaded"),
        pytest.param(auth_error(), "401", id="invalid-api-key"),
    ],
)
async def test_a_failing_model_ends_the_turn_with_a_clear_error_and_the_session_recovers(
    harness: Harness, model: ScriptedModel, failure: object, expected: str
) -> None:
    model.push(text("fine"))
    await harness.call("create", name="main")
    before = await harness.call("chat", name="main", prompt="q1")
    model.push(failure)  # type: ignore[arg-type]

    failed = await harness.call("chat", name="main", prompt="q2")

    assert failed["status"] == "failed"
    assert expected in failed["error"]
    assert failed["head_id"] == before["head_id"]
    model.push(text("recovered"))
    again = await harness.call("chat", name="main", prompt="q2 retry")
    assert again["status"] == "completed"
    assert again["text"] == "recovered"
    assert user_texts(-1, model) == [
        ("user", ["q1"]),
        ("assistant", ["fine"]),
        ("user", ["q2 retry"]),
    ]


async def test_a_second_chat_on_a_busy_session_names_the_running_stream(
    harness: Harness, model: ScriptedModel
) -> None:
    gate = threading.Event()
    model.push(text("slow", gate=gate))
    await harness.call("create", name="main")
    stream = await harness.call("chat_async", name="main", prompt="slow")
    try:
        error = await harness.call_error("chat", name="main", prompt="again")
    finally:
        gate.set()
    assert f"stream {stream['stream_id']}" in error
    await harness.poll_to_end(stream["stream_id"])


async def test_five_sessions_chat_at_the_same_time(harness: Harness, model: ScriptedModel) -> None:
    names = [f"s{i}" for i in range(5)]
    for name in names:
        await harness.call("create", name=name)
    replies: dict[str, dict[str, object]] = {}

    async def chat(name: str) -> None:
        replies[name] = await harness.call("chat", name=name, prompt=f"hello from {name}")

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(chat, name)

    assert {name: reply["text"] for name, reply in replies.items()} == {
        name: f"ok: hello from {name}" for name in names
    }
    assert all(reply["status"] == "completed" for reply in replies.values())


async def test_unknown_session_errors_list_the_names_that_exist(harness: Harness) -> None:
    await harness.call("create", name="alpha")

    error = await harness.call_error("chat", name="beta", prompt="hi")

    assert "No session named 'beta'" in error
    assert "alpha" in error
    duplicate = await harness.call_error("create", name="alpha")
    assert "already exists" in duplicate


async def test_chat_reports_progress_and_returns_running_at_its_wait_bound(
    harness: Harness, model: ScriptedModel
) -> None:
    gate = threading.Event()
    model.push(text("first ", "second", gate=gate, gate_after_deltas=1))
    await harness.call("create", name="main")
    reported: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append(progress)

    arguments: dict[str, Any] = {"name": "main", "prompt": "go", "wait_s": 3}
    try:
        result = await harness.client.call_tool("chat", arguments, progress_callback=on_progress)
    finally:
        gate.set()

    assert not result.is_error
    running = result.structured_content
    assert running is not None
    assert running["status"] == "running"
    assert reported  # at least the turn_start and first delta were reported
    events = await harness.poll_to_end(running["stream_id"])
    assert events[-1]["kind"] == "turn_end"
    assert "".join(e["data"]["text"] for e in events if e["kind"] == "text_delta") == "first second"


async def test_a_new_server_resumes_from_the_database_when_claudes_files_are_gone(
    tmp_path: Path, model: ScriptedModel
) -> None:
    model.push(text("a1"), text("a2"))
    async with serve(tmp_path, model) as first:
        await first.call("create", name="main")
        await first.call("chat", name="main", prompt="q1")
    projects = tmp_path / "home" / ".claude" / "projects"
    assert any(projects.rglob("*.jsonl"))
    shutil.rmtree(projects)

    async with serve(tmp_path, model) as second:
        reply = await second.call("chat", name="main", prompt="q2")

    assert reply["text"] == "a2"
    assert user_texts(-1, model) == [("user", ["q1"]), ("assistant", ["a1"]), ("user", ["q2"])]
