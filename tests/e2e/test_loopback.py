"""Loopback approvals end to end: the model asks to write a file, the parent decides.

Real parts throughout: the MCP client, ``session-tree serve``, the ``claude``
binary and its Write tool on a real temp directory; only the model is scripted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types import ElicitRequestParams, ElicitResult

from session_tree.testing import (
    RecordedRequest,
    Reply,
    ScriptedModel,
    child_env,
    text,
    tool_use,
    transcript,
)

from .harness import Harness, claude, first_delta_stored, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def write(path: Path, content: str = "from the child") -> Reply:
    return tool_use("Write", {"file_path": str(path), "content": content})


def tool_results(model: ScriptedModel) -> list[str]:
    """What the model was told of tool calls, in its latest request."""
    _, blocks = transcript(model.conversation_requests()[-1])[-1]
    return [block for block in blocks if block.startswith("[tool_result")]


async def create_loopback(harness: Harness, name: str, cwd: Path, **policy: Any) -> None:
    await harness.call("create", name=name, cwd=str(cwd), loopback=True, **policy)


async def chat_until_asked(
    harness: Harness, model: ScriptedModel, tmp_path: Path, filename: str, *, then: str
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """A loopback session "main" whose child asks to write ``filename`` (and then
    says ``then``); a blocking chat that returned waiting on that one approval."""
    target = tmp_path / filename
    model.push(write(target), text(then))
    await create_loopback(harness, "main", tmp_path)
    first = await harness.call("chat", name="main", prompt="write the file")
    (pending,) = first["pending_approvals"]
    return target, first, pending


async def test_allow_lets_the_call_run(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    target = tmp_path / "allowed.txt"
    model.push(write(target), text("written"))
    await create_loopback(harness, "main", tmp_path)

    first = await harness.call("chat", name="main", prompt="write the file")

    # chat returns early: the child waits on the parent.
    assert first["status"] == "awaiting_permission"
    (pending,) = first["pending_approvals"]
    assert pending["tool_name"] == "Write"
    assert pending["input"] == {"file_path": str(target), "content": "from the child"}
    assert pending["tool_use_id"]
    assert not target.exists()

    decided = await harness.call("loopback_respond", approval_id=pending["id"], decision="allow")

    assert decided["status"] == "allowed"
    assert decided["decision"] == {
        "behavior": "allow",
        "updatedInput": {"file_path": str(target), "content": "from the child"},
    }
    events = await harness.poll_to_end(first["stream_id"])
    assert target.read_text() == "from the child"
    kinds = [e["kind"] for e in events]
    assert kinds.index("permission_request") < kinds.index("permission_decision")
    assert kinds.index("permission_decision") < kinds.index("tool_result")
    assert events[-1]["kind"] == "turn_end"
    assert (await harness.call("poll", stream_id=first["stream_id"]))["status"] == "completed"


async def test_deny_keeps_the_call_from_running_and_tells_the_model(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    target, first, pending = await chat_until_asked(
        harness, model, tmp_path, "denied.txt", then="understood"
    )

    await harness.call(
        "loopback_respond",
        approval_id=pending["id"],
        decision="deny",
        message="No files today, use the scratch pad instead.",
    )

    await harness.poll_to_end(first["stream_id"])
    assert not target.exists()
    (result,) = tool_results(model)
    assert result.startswith("[tool_result error")
    assert "No files today, use the scratch pad instead." in result


async def test_updated_input_is_what_the_tool_runs_with(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    target, first, pending = await chat_until_asked(
        harness, model, tmp_path, "edited.txt", then="written"
    )

    await harness.call(
        "loopback_respond",
        approval_id=pending["id"],
        decision="allow",
        updated_input={"file_path": str(target), "content": "from the parent"},
    )

    await harness.poll_to_end(first["stream_id"])
    assert target.read_text() == "from the parent"


async def test_remember_settles_the_next_call_without_asking(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    first_file, second_file = tmp_path / "one.txt", tmp_path / "two.txt"
    model.push(write(first_file), write(second_file), text("both written"))
    await create_loopback(harness, "main", tmp_path)
    stream = await harness.call("chat_async", name="main", prompt="write two files")

    # The parent of a chat_async sits on loopback_pending.
    found = await harness.call("loopback_pending", name="main", wait_ms=30_000)
    (pending,) = found["approvals"]
    assert pending["stream_id"] == stream["stream_id"]
    await harness.call(
        "loopback_respond", approval_id=pending["id"], decision="allow", remember=True
    )

    events = await harness.poll_to_end(stream["stream_id"])
    assert first_file.exists()
    assert second_file.exists()
    assert [e["kind"] for e in events].count("permission_request") == 1
    by_rule = [
        e["data"]
        for e in events
        if e["kind"] == "permission_decision" and e["data"]["decided_by"] == "rule Write"
    ]
    assert len(by_rule) == 1
    assert (await harness.call("loopback_pending"))["approvals"] == []
    info = await harness.call("get", name="main")
    assert info["session"]["config"]["allowed_tools"] == ["Write"]


async def test_an_unanswered_approval_times_out_as_a_deny(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    target = tmp_path / "late.txt"
    model.push(write(target), text("gave up"))
    await create_loopback(harness, "main", tmp_path, approval_timeout_s=1)

    stream = await harness.call("chat_async", name="main", prompt="write the file")
    events = await harness.poll_to_end(stream["stream_id"])

    assert not target.exists()
    (decision,) = [e["data"] for e in events if e["kind"] == "permission_decision"]
    assert decision["status"] == "expired"
    assert decision["decided_by"] == "timeout"
    (result,) = tool_results(model)
    assert "timed out" in result
    late = await harness.call_error(
        "loopback_respond", approval_id=decision["approval_id"], decision="allow"
    )
    assert "already expired" in late


async def test_bad_decisions_are_clear_errors_and_change_nothing(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    target, first, pending = await chat_until_asked(
        harness, model, tmp_path, "kept.txt", then="written"
    )

    unknown = await harness.call_error("loopback_respond", approval_id=999, decision="allow")
    assert "No approval with id 999" in unknown
    mixed = await harness.call_error(
        "loopback_respond", approval_id=pending["id"], decision="allow", interrupt=True
    )
    assert "interrupt goes with a deny" in mixed
    bad_rule = await harness.call_error(
        "loopback_respond",
        approval_id=pending["id"],
        decision="allow",
        remember=True,
        rule="Bash((",
    )
    assert "is not a tool rule" in bad_rule

    # Still pending, and still decidable.
    assert [a["id"] for a in (await harness.call("loopback_pending"))["approvals"]] == [
        pending["id"]
    ]
    await harness.call("loopback_respond", approval_id=pending["id"], decision="allow")
    await harness.poll_to_end(first["stream_id"])
    assert target.exists()
    again = await harness.call_error("loopback_respond", approval_id=pending["id"], decision="deny")
    assert "already allowed" in again


async def test_two_children_asking_at_once_each_get_their_own_decision(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    files = {name: tmp_path / f"{name}.txt" for name in ("a", "b")}

    def respond(request: RecordedRequest) -> Reply | None:
        # Concurrent children share the model: answer each by its own conversation.
        turns = transcript(request)
        if turns[-1][1][-1].startswith("[tool_result"):
            return text("done")
        name = turns[-1][1][-1].removeprefix("write file ")
        return write(files[name], content=f"child {name}")

    model.responder = respond
    streams = {}
    for name in files:
        await create_loopback(harness, name, tmp_path)
        started = await harness.call("chat_async", name=name, prompt=f"write file {name}")
        streams[name] = started["stream_id"]

    pending: list[dict[str, Any]] = []
    with anyio.fail_after(60):
        while len(pending) < 2:
            pending = (await harness.call("loopback_pending", wait_ms=5000))["approvals"]
    by_session = {a["session"]: a for a in pending}
    assert {name: a["stream_id"] for name, a in by_session.items()} == streams

    await harness.call(
        "loopback_respond",
        approval_id=by_session["a"]["id"],
        decision="allow",
        updated_input={"file_path": str(files["a"]), "content": "parent for a"},
    )
    await harness.call(
        "loopback_respond", approval_id=by_session["b"]["id"], decision="deny", message="not b"
    )

    for stream_id in streams.values():
        await harness.poll_to_end(stream_id)
    assert files["a"].read_text() == "parent for a"
    assert not files["b"].exists()
    told_b = [
        r
        for r in model.conversation_requests()
        if any("not b" in block for _, blocks in transcript(r) for block in blocks)
    ]
    assert told_b
    assert all("write file b" in str(transcript(r)) for r in told_b)


async def test_an_outside_claude_code_asks_through_another_server_on_the_same_database(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    target = tmp_path / "outside.txt"
    model.push(write(target), text("written from outside"))
    await harness.call("create", name="outside")
    config = await harness.call("loopback_config", name="outside")
    config_path = tmp_path / "outside-mcp.json"
    config_path.write_text(json.dumps(config["mcp_config"]))
    assert config["permission_prompt_tool"] == "mcp__session-tree__loopback_permit"
    command = [
        claude(),
        "-p",
        "write the file",
        "--output-format",
        "json",
        "--mcp-config",
        str(config_path),
        "--strict-mcp-config",
        "--permission-prompt-tool",
        config["permission_prompt_tool"],
    ]
    env = child_env(model, tmp_path / "outside-home", max_retries=0, inherit=True)
    outcome: dict[str, Any] = {}

    async def run_outside() -> None:
        done = await anyio.run_process(
            command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, check=False
        )
        outcome["returncode"] = done.returncode
        outcome["stdout"] = done.stdout.decode(errors="replace")
        outcome["stderr"] = done.stderr.decode(errors="replace")

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_outside)
            # This parent's server is not the one the outside claude talks to.
            found = await harness.call("loopback_pending", name="outside", wait_ms=50_000)
            (pending,) = found["approvals"]
            assert pending["stream_id"] is None
            assert pending["input"]["file_path"] == str(target)
            await harness.call("loopback_respond", approval_id=pending["id"], decision="allow")

    assert outcome["returncode"] == 0, outcome
    assert json.loads(outcome["stdout"])["result"] == "written from outside"
    assert target.read_text() == "from the child"


async def test_a_parents_server_denies_a_permit_call_that_names_no_session(
    harness: Harness,
) -> None:
    result = await harness.client.call_tool(
        "loopback_permit", {"tool_name": "Write", "input": {"file_path": "/x"}, "tool_use_id": "t1"}
    )

    assert not result.is_error
    (block,) = result.content
    decision = json.loads(block.text)  # type: ignore[union-attr]
    assert decision["behavior"] == "deny"
    assert "SESSION_TREE_LOOPBACK_TOKEN" in decision["message"]
    assert set(decision) == {"behavior", "message"}


async def test_the_permit_only_server_offers_nothing_that_decides(
    tmp_path: Path, model: ScriptedModel, harness: Harness
) -> None:
    await harness.call("create", name="child")
    config = await harness.call("loopback_config", name="child")
    server = config["mcp_config"]["mcpServers"]["session-tree"]
    assert server["command"] == sys.executable
    (tmp_path / "permit").mkdir()
    async with serve(
        tmp_path / "permit", model, db_path=harness.db_path, env=server["env"]
    ) as permit_server:
        tools = await permit_server.client.list_tools()
    assert [tool.name for tool in tools.tools] == ["loopback_permit"]


async def test_interrupting_a_waiting_turn_expires_its_approval(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    target, first, pending = await chat_until_asked(
        harness, model, tmp_path, "never.txt", then="unused"
    )

    stopped = await harness.call("interrupt", name="main")

    assert stopped["status"] == "interrupted"
    events = await harness.poll_to_end(first["stream_id"])
    assert events[-1]["kind"] == "interrupted"
    (decision,) = [e["data"] for e in events if e["kind"] == "permission_decision"]
    assert decision["status"] == "expired"
    assert (await harness.call("loopback_pending"))["approvals"] == []
    late = await harness.call_error("loopback_respond", approval_id=pending["id"], decision="allow")
    assert "already expired" in late
    assert not target.exists()
    model.push(text("after"))
    assert (await harness.call("chat", name="main", prompt="next"))["status"] == "completed"


async def test_a_deny_with_interrupt_stops_the_whole_turn(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    target, first, pending = await chat_until_asked(
        harness, model, tmp_path, "stopped.txt", then="should not be asked for"
    )

    await harness.call(
        "loopback_respond",
        approval_id=pending["id"],
        decision="deny",
        message="stop here",
        interrupt=True,
    )

    events = await harness.poll_to_end(first["stream_id"])
    assert not target.exists()
    # The child did not go back to the model with the denied call.
    assert len(model.conversation_requests()) == 1
    assert events[-1]["kind"] == "interrupted"
    final = await harness.call("poll", stream_id=first["stream_id"], from_seq=0, limit=1)
    assert final["status"] == "interrupted"
    assert final["error"] == "the parent denied Write and stopped the turn: stop here"


async def test_a_bypass_window_allows_until_it_is_closed(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    during, after = tmp_path / "during.txt", tmp_path / "after.txt"
    await create_loopback(harness, "main", tmp_path)
    await harness.call("configure", name="main", bypass_for_s=3600)
    model.push(write(during), text("written"))

    unasked = await harness.call("chat", name="main", prompt="write during")

    assert unasked["status"] == "completed"
    assert during.exists()
    await harness.call("configure", name="main", bypass_for_s=0)
    model.push(write(after), text("written"))
    asked = await harness.call("chat", name="main", prompt="write after")
    assert asked["status"] == "awaiting_permission"
    await harness.call("interrupt", name="main")
    assert not after.exists()


async def test_bypass_permissions_without_an_end_is_refused(harness: Harness) -> None:
    error = await harness.call_error("create", name="main", permission_mode="bypassPermissions")
    assert "bypass_for_s" in error
    assert (await harness.call("list"))["result"] == []


async def test_a_server_shutdown_expires_what_its_turns_waited_on(
    tmp_path: Path, model: ScriptedModel
) -> None:
    target = tmp_path / "shutdown.txt"
    model.push(write(target), text("unused"))
    async with serve(tmp_path, model) as first:
        await create_loopback(first, "main", tmp_path)
        waiting = await first.call("chat", name="main", prompt="write the file")
        assert waiting["status"] == "awaiting_permission"

    async with serve(tmp_path, model) as second:
        final = await second.call("poll", stream_id=waiting["stream_id"], from_seq=0)
        assert (await second.call("loopback_pending"))["approvals"] == []
        error = await second.call_error(
            "loopback_respond", approval_id=waiting["pending_approvals"][0]["id"], decision="allow"
        )
    assert final["status"] == "interrupted"
    assert "already expired" in error
    assert not target.exists()


async def test_a_person_answers_through_elicitation_during_a_blocking_chat(
    tmp_path: Path, model: ScriptedModel
) -> None:
    allowed, denied = tmp_path / "asked-yes.txt", tmp_path / "asked-no.txt"
    model.push(write(allowed), write(denied), text("done"))
    asked: list[str] = []

    async def person(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        if "asked-yes" in params.message:
            return ElicitResult(action="accept", content={"allow": True, "message": ""})
        return ElicitResult(action="accept", content={"allow": False, "message": "not that one"})

    async with serve(tmp_path, model, elicitation_callback=person) as harness:
        await create_loopback(harness, "main", tmp_path, ask_human=True)
        reply = await harness.call("chat", name="main", prompt="write two files")

    assert reply["status"] == "completed"
    assert len(asked) == 2
    assert "Write" in asked[0]
    assert allowed.exists()
    assert not denied.exists()
    assert any("not that one" in result for result in tool_results(model))


async def test_a_declined_elicitation_leaves_the_decision_to_the_parent(
    tmp_path: Path, model: ScriptedModel
) -> None:
    target = tmp_path / "parent-decides.txt"
    model.push(write(target), text("done"))

    async def away(context: Any, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action="cancel")

    async with serve(tmp_path, model, elicitation_callback=away) as harness:
        await create_loopback(harness, "main", tmp_path, ask_human=True)
        waiting = await harness.call("chat", name="main", prompt="write it")
        assert waiting["status"] == "awaiting_permission"
        (pending,) = waiting["pending_approvals"]
        await harness.call("loopback_respond", approval_id=pending["id"], decision="allow")
        await harness.poll_to_end(waiting["stream_id"])
    assert target.exists()


async def test_a_policy_changed_during_a_turn_applies_to_the_next_child(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    target = tmp_path / "forbidden.txt"
    gate = threading.Event()
    model.push(text("slow ", "turn", gate=gate, gate_after_deltas=1))
    await create_loopback(harness, "main", tmp_path)
    busy = await harness.call("chat_async", name="main", prompt="slow")
    try:
        await first_delta_stored(harness, "main")
        # Claude Code itself must now refuse Write: a rule for the next child's start.
        await harness.call("configure", name="main", disallowed_tools=["Write"])
    finally:
        gate.set()
    await harness.poll_to_end(busy["stream_id"])

    model.push(write(target), text("could not"))
    reply = await harness.call("chat", name="main", prompt="write it")

    assert reply["status"] == "completed"
    assert not target.exists()
    events = await harness.poll_to_end(reply["stream_id"])
    # Settled by the new child's own rules: the loopback was never asked.
    assert not [e for e in events if e["kind"].startswith("permission_")]
