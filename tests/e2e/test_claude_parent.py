"""The real Claude Code as the parent: it speaks 2026-07-28 to session-tree over stdio
(server/discover, capabilities in every request's _meta, no server-to-client requests),
defers our tools behind ToolSearch and shows its model each result's structured content."""

from __future__ import annotations

import json
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from session_tree.testing import Reply, ScriptedModel, text, tool_use

from .parent_harness import ParentScript, Roles, Seen, run_parent, tool

pytestmark = [pytest.mark.e2e]

TOOLS = ("create", "chat", "chat_async", "poll", "fork", "loopback_respond")
# Short enough that a default 45 s chat would be cut; the parent bounds its waits below it.
# Long enough that a chat bounded by CHAT_WAIT_S returns first on a loaded machine (a child's
# first start can take seconds there); the slow turn below still outlasts it.
TOOL_TIMEOUT_MS = 10_000
CHAT_WAIT_S = 8.0
WAIT_S = 1.5


def call(tool_name: str, **arguments: Any) -> Any:
    return tool_use(tool(tool_name), arguments)


def poll_to_end(stream_id: int) -> Generator[Reply, Seen, Seen]:
    """The parent's polls of one stream until it has ended: the last page, with the
    events of every page (which page holds which event depends on timing)."""
    seen: Seen = {"done": False}
    events: list[Any] = []
    from_seq = 0
    while not seen.get("done"):
        seen = yield call("poll", stream_id=stream_id, from_seq=from_seq, wait_ms=1500)
        assert "events" in seen, seen
        events += seen["events"]
        from_seq = seen["next_seq"]
    return {**seen, "events": events}


def parent_script(tmp_path: Path, observed: dict[str, Any]) -> ParentScript:
    loaded = yield tool_use("ToolSearch", {"query": "select:" + ",".join(map(tool, TOOLS))})
    observed["toolsearch"] = loaded

    observed["create"] = yield call("create", name="main", cwd=str(tmp_path))
    observed["chat1"] = yield call("chat", name="main", prompt="first", wait_s=CHAT_WAIT_S)
    observed["chat2"] = yield call("chat", name="main", prompt="second", wait_s=CHAT_WAIT_S)

    observed["fork"] = yield call("fork", name="main", new_name="alt")
    observed["chat_fork"] = yield call("chat", name="alt", prompt="on the fork", wait_s=CHAT_WAIT_S)

    started = yield call("chat_async", name="main", prompt="in the background")
    observed["chat_async"] = started
    observed["async_end"] = yield from poll_to_end(started["stream_id"])

    # A loopback approval, allowed by the parent.
    yield call("create", name="lb", cwd=str(tmp_path), loopback=True)
    asked = yield call("chat", name="lb", prompt="write it", wait_s=CHAT_WAIT_S)
    observed["lb_asked"] = asked
    (pending,) = asked["pending_approvals"]
    yield call("loopback_respond", approval_id=pending["id"], decision="allow")
    observed["lb_end"] = yield from poll_to_end(asked["stream_id"])

    # ask_human: Claude Code is asked (input_required); print mode has no one to ask.
    yield call("create", name="asker", cwd=str(tmp_path), loopback=True, ask_human=True)
    asked = yield call("chat", name="asker", prompt="write it too", wait_s=CHAT_WAIT_S)
    observed["human_asked"] = asked
    (pending,) = asked["pending_approvals"]
    yield call("loopback_respond", approval_id=pending["id"], decision="allow")
    observed["human_end"] = yield from poll_to_end(asked["stream_id"])

    # A turn longer than the parent's tool timeout: bounded chat, then poll.
    slow = yield call("chat", name="main", prompt="take your time", wait_s=WAIT_S)
    observed["slow"] = slow
    observed["slow_end"] = yield from poll_to_end(slow["stream_id"])
    yield text("all children answered")


def test_claude_code_as_the_parent_drives_every_kind_of_turn(tmp_path: Path) -> None:
    observed: dict[str, Any] = {}
    lb_file, human_file = tmp_path / "lb.txt", tmp_path / "human.txt"
    roles = Roles(parent_script(tmp_path, observed))
    roles.children.extend(
        [
            text("one"),
            text("two"),
            text("forked"),
            text("background done"),
            tool_use("Write", {"file_path": str(lb_file), "content": "loopback"}),
            text("written"),
            tool_use("Write", {"file_path": str(human_file), "content": "asked"}),
            text("written too"),
            # 12 parts 1 s apart: about 12 s, past the 1.5 s wait and the parent's 10 s timeout.
            text(*[f"slow {i} " for i in range(12)], delay_s=1.0),
        ]
    )
    with ScriptedModel(responder=roles) as model:
        run = run_parent(tmp_path, model, tool_timeout_ms=TOOL_TIMEOUT_MS)

    context = f"seen: {roles.seen}\nstderr: {run.stderr[-2000:]}\nserver: {run.mcp_log[-3000:]}"
    assert run.returncode == 0, context
    assert run.result["result"] == "all children answered", context
    # The parent's model first sees only ToolSearch: our tools are deferred behind it.
    first = roles.parent_requests[0]
    assert "ToolSearch" in first.tool_names
    assert tool("chat") not in first.tool_names
    assert tool("chat") in roles.parent_requests[1].tool_names

    assert observed["chat1"]["text"] == "one"
    assert observed["chat2"]["text"] == "two"
    assert observed["fork"]["forked_from"] is not None
    assert observed["chat_fork"]["text"] == "forked"
    assert observed["async_end"]["status"] == "completed"
    assert observed["lb_asked"]["status"] == "awaiting_permission"
    assert observed["lb_end"]["status"] == "completed"
    assert lb_file.read_text() == "loopback"
    # No error in either direction: the ask went unanswered and the parent decided.
    assert observed["human_asked"]["status"] == "awaiting_permission"
    assert observed["human_end"]["status"] == "completed"
    assert human_file.read_text() == "asked"
    assert observed["slow"]["status"] == "running"
    assert observed["slow_end"]["status"] == "completed"
    # Its whole text reached the parent's model through the polls.
    texts = [e["data"]["text"] for e in observed["slow_end"]["events"] if e["kind"] == "text"]
    assert texts == ["".join(f"slow {i} " for i in range(12))]
    # Every child request carried the children's header, none the parent's.
    assert roles.child_requests
    assert all(r.headers.get("x-session-tree-role") == "child" for r in roles.child_requests)
    assert not any(isinstance(s, dict) and s.get("is_error") for s in roles.seen), context


# Print mode has no one to show a form to; an Elicitation hook is Claude Code's own way
# to answer one there. It records what it was asked and allows.
HOOK = """\
import json, pathlib, sys
pathlib.Path(sys.argv[1]).write_text(sys.stdin.read())
print(json.dumps({"hookSpecificOutput": {"hookEventName": "Elicitation",
      "action": "accept", "content": {"allow": True, "message": ""}}}))
"""


def test_claude_codes_elicitation_hook_answers_an_ask_human_approval(tmp_path: Path) -> None:
    observed: dict[str, Any] = {}
    target, asked_file, hook = (
        tmp_path / "hooked.txt",
        tmp_path / "asked.json",
        tmp_path / "hook.py",
    )
    hook.write_text(HOOK)
    settings = tmp_path / "parent-home" / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    command = f"{sys.executable} {hook} {asked_file}"
    settings.write_text(
        json.dumps(
            {"hooks": {"Elicitation": [{"hooks": [{"type": "command", "command": command}]}]}}
        )
    )

    def script() -> ParentScript:
        yield tool_use("ToolSearch", {"query": "select:" + ",".join(map(tool, TOOLS))})
        yield call("create", name="asker", cwd=str(tmp_path), loopback=True, ask_human=True)
        observed["chat"] = yield call("chat", name="asker", prompt="write it", wait_s=CHAT_WAIT_S)
        yield text("the person allowed it")

    roles = Roles(script())
    roles.children.extend(
        [tool_use("Write", {"file_path": str(target), "content": "allowed"}), text("written")]
    )
    with ScriptedModel(responder=roles) as model:
        run = run_parent(tmp_path, model, tool_timeout_ms=TOOL_TIMEOUT_MS)

    assert run.returncode == 0, f"seen: {roles.seen}\nserver: {run.mcp_log[-3000:]}"
    assert observed["chat"]["status"] == "completed", roles.seen
    assert observed["chat"]["text"] == "written"
    assert target.read_text() == "allowed"
    # Claude Code's own elicitation path was asked, by our server, about that call.
    asked = json.loads(asked_file.read_text())
    assert asked["mcp_server_name"] == "session-tree"
    assert "wants to run Write" in asked["message"]
