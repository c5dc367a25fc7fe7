"""A child with MCP servers of its own, end to end: the real ``claude`` starts the
small stdio server in tests/mcp_echo_server.py, the scripted model calls its tool."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from session_tree.testing import ScriptedModel, text, tool_use, transcript

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

ECHO_SERVER = str(Path(__file__).resolve().parent.parent / "mcp_echo_server.py")


def echo_server(**env: str) -> dict[str, Any]:
    return {"command": sys.executable, "args": [ECHO_SERVER], "env": env}


def last_tool_results(model: ScriptedModel) -> list[str]:
    _, blocks = transcript(model.conversation_requests()[-1])[-1]
    return [block for block in blocks if block.startswith("[tool_result")]


async def test_a_child_calls_a_tool_of_its_mcp_server_and_the_result_lands_in_the_tree(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    model.push(tool_use("mcp__echo__echo", {"text": "hello"}), text("echoed"))
    await harness.call(
        "create",
        name="main",
        cwd=str(tmp_path),
        mcp_servers={"echo": echo_server(ECHO_PREFIX="from the server: ")},
        allowed_tools=["mcp__echo"],
    )

    result = await harness.call("chat", name="main", prompt="echo hello")

    assert result["status"] == "completed", result
    (told,) = last_tool_results(model)
    assert "from the server: hello" in told
    context = await harness.call("render_context", name="main")
    blocks = [b for m in context["messages"] for b in m["content"] if isinstance(b, dict)]
    results = [b for b in blocks if b.get("type") == "tool_result"]
    assert "from the server: hello" in str(results)
    info = await harness.call("get", name="main")
    assert info["mcp_servers"] == [
        {"name": "echo", "type": "stdio", "status": "connected", "tools": ["mcp__echo__echo"]}
    ]


async def test_a_loopback_child_asks_before_calling_an_mcp_tool_and_a_deny_reaches_the_model(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    model.push(tool_use("mcp__echo__echo", {"text": "secret plans"}), text("understood"))
    await harness.call(
        "create", name="main", cwd=str(tmp_path), loopback=True, mcp_servers={"echo": echo_server()}
    )

    first = await harness.call("chat", name="main", prompt="echo it")

    assert first["status"] == "awaiting_permission"
    (pending,) = first["pending_approvals"]
    assert pending["tool_name"] == "mcp__echo__echo"
    assert pending["input"] == {"text": "secret plans"}
    await harness.call(
        "loopback_respond", approval_id=pending["id"], decision="deny", message="Not that one."
    )
    await harness.poll_to_end(first["stream_id"])
    (told,) = last_tool_results(model)
    assert told.startswith("[tool_result error")
    assert "Not that one." in told
    assert "echo: secret plans" not in told


async def test_get_masks_env_and_header_values(harness: Harness, tmp_path: Path) -> None:
    servers = {
        "echo": echo_server(API_TOKEN="sk-very-secret"),
        "remote": {
            "url": "https://user:hunter2@mcp.invalid/mcp",
            "headers": {"Authorization": "Bearer very-secret"},
        },
    }
    created = await harness.call(
        "create", name="main", cwd=str(tmp_path), mcp_servers=servers, env={"DB_PASSWORD": "pw1"}
    )

    info = await harness.call("get", name="main")

    for shown in (created["config"], info["session"]["config"]):
        assert shown["env"] == {"DB_PASSWORD": "***"}
        assert shown["mcp_servers"]["echo"]["env"] == {"API_TOKEN": "***"}
        assert shown["mcp_servers"]["echo"]["args"] == [ECHO_SERVER]
        remote = shown["mcp_servers"]["remote"]
        assert remote["headers"] == {"Authorization": "***"}
        assert remote["url"] == "https://user:***@mcp.invalid/mcp"
    listed = await harness.call("list")
    assert "very-secret" not in str(listed)
    assert "hunter2" not in str(listed)
    assert [s["status"] for s in info["mcp_servers"]] == ["not_started", "not_started"]


async def test_a_server_that_cannot_start_shows_as_failed_and_the_turn_completes(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    model.push(text("going on without it"))
    await harness.call(
        "create",
        name="main",
        cwd=str(tmp_path),
        mcp_servers={"gone": {"command": str(tmp_path / "no-such-program")}, "echo": echo_server()},
    )

    result = await harness.call("chat", name="main", prompt="hi")

    assert result["status"] == "completed"
    assert result["text"] == "going on without it"
    assert result["mcp_servers_failed"] == ["gone"]
    events = await harness.poll_to_end(result["stream_id"])
    (init,) = [e["data"]["data"] for e in events if e["data"].get("subtype") == "init"]
    assert {"name": "gone", "status": "failed"}.items() <= init["mcp_servers"][0].items()
    info = await harness.call("get", name="main")
    assert [(s["name"], s["status"]) for s in info["mcp_servers"]] == [
        ("gone", "failed"),
        ("echo", "connected"),
    ]


async def test_bad_servers_are_refused_at_create_with_what_is_wrong(
    harness: Harness, tmp_path: Path
) -> None:
    bad_name = await harness.call_error(
        "create", name="a", mcp_servers={"two words": {"command": "x"}}
    )
    assert "server name 'two words'" in bad_name
    bad_url = await harness.call_error("create", name="b", mcp_servers={"w": {"url": "ftp://x"}})
    assert "not an http:// or https:// address" in bad_url
    nul = await harness.call_error(
        "create", name="c", mcp_servers={"w": {"command": "x", "args": ["a\x00b"]}}
    )
    assert "NUL" in nul
    for name in ("a", "b", "c"):
        assert "No session" in await harness.call_error("get", name=name)


# The other child options, end to end: what the child reads and runs with.


async def test_project_settings_reach_the_child_only_when_opted_in(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    (tmp_path / "CLAUDE.md").write_text("Always answer in haiku, said the project.\n")
    model.push(text("plain"), text("haiku"))
    await harness.call("create", name="plain", cwd=str(tmp_path))
    await harness.call("create", name="project", cwd=str(tmp_path), setting_sources=["project"])

    await harness.call("chat", name="plain", prompt="hello")
    plain = str(model.conversation_requests()[-1].body)
    await harness.call("chat", name="project", prompt="hello")
    project = str(model.conversation_requests()[-1].body)

    assert "said the project" not in plain
    assert "said the project" in project


async def test_the_child_runs_its_tools_with_the_env_it_was_given(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    model.push(tool_use("Bash", {"command": "printenv GIVEN_TO_CHILD"}), text("done"))
    await harness.call(
        "create",
        name="main",
        cwd=str(tmp_path),
        env={"GIVEN_TO_CHILD": "from-the-parent"},
        allowed_tools=["Bash(printenv *)"],
    )

    result = await harness.call("chat", name="main", prompt="show it")

    assert result["status"] == "completed"
    (told,) = last_tool_results(model)
    assert "from-the-parent" in told


async def test_configure_changes_the_servers_of_the_next_turn(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    model.push(text("one"), tool_use("mcp__echo__echo", {"text": "now"}), text("two"))
    await harness.call("create", name="main", cwd=str(tmp_path))
    await harness.call("chat", name="main", prompt="first")

    await harness.call(
        "configure", name="main", mcp_servers={"echo": echo_server()}, allowed_tools=["mcp__echo"]
    )
    await harness.call("chat", name="main", prompt="second")

    (told,) = last_tool_results(model)
    assert "echo: now" in told
    info = await harness.call("get", name="main")
    assert [s["status"] for s in info["mcp_servers"]] == ["connected"]


async def test_a_fork_gets_its_own_servers_and_its_origin_keeps_its_own(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    model.push(tool_use("mcp__echo__echo", {"text": "a"}), text("done 1"))
    await harness.call(
        "create",
        name="main",
        cwd=str(tmp_path),
        mcp_servers={"echo": echo_server(ECHO_PREFIX="origin: ")},
        allowed_tools=["mcp__echo", "mcp__other"],
    )
    await harness.call("chat", name="main", prompt="first")
    shown = (await harness.call("get", name="main"))["session"]["config"]["mcp_servers"]

    # The parent sends back what get showed it (***) for echo, and adds a server.
    forked = await harness.call(
        "fork",
        name="main",
        new_name="side",
        mcp_servers={"echo": shown["echo"], "other": echo_server(ECHO_PREFIX="fork: ")},
    )

    assert forked["config"]["mcp_servers"]["echo"]["env"] == {"ECHO_PREFIX": "***"}
    model.push(
        tool_use("mcp__other__echo", {"text": "b"}),
        tool_use("mcp__echo__echo", {"text": "c"}),
        text("done 2"),
    )
    await harness.call("chat", name="side", prompt="on the fork")
    fork_requests = model.conversation_requests()[-2:]
    # The masked value stood for the origin's real one, which the fork's child got.
    told = [last_tool_results_of(r) for r in fork_requests]
    assert [len(results) for results in told] == [1, 1]
    assert "fork: b" in told[0][0]
    assert "origin: c" in told[1][0]
    model.push(tool_use("mcp__echo__echo", {"text": "d"}), text("done 3"))
    await harness.call("chat", name="main", prompt="on the origin")
    (on_origin,) = last_tool_results_of(model.conversation_requests()[-1])
    assert "origin: d" in on_origin
    states = {
        name: [
            (s["name"], s["status"]) for s in (await harness.call("get", name=name))["mcp_servers"]
        ]
        for name in ("main", "side")
    }
    assert states == {
        "main": [("echo", "connected")],
        "side": [("echo", "connected"), ("other", "connected")],
    }


async def test_a_masked_value_with_nothing_behind_it_is_refused_and_nothing_is_made(
    harness: Harness, tmp_path: Path
) -> None:
    await harness.call(
        "create", name="main", cwd=str(tmp_path), mcp_servers={"echo": echo_server(A="1")}
    )

    error = await harness.call_error(
        "fork", name="main", new_name="side", mcp_servers={"new": echo_server(A="***")}
    )
    assert "mcp_servers['new'].env['A'] is ***" in error
    assert "send the real value" in error
    names = [row["session"]["name"] for row in (await harness.call("list"))["result"]]
    assert names == ["main"]
    # configure refuses the same way, and keeps the stored value behind a *** it can match.
    error = await harness.call_error(
        "configure", name="main", mcp_servers={"echo": echo_server(B="***")}
    )
    assert "mcp_servers['echo'].env['B'] is ***" in error
    await harness.call("configure", name="main", mcp_servers={"echo": echo_server(A="***", C="3")})
    info = await harness.call("get", name="main")
    assert info["session"]["config"]["mcp_servers"]["echo"]["env"] == {"A": "***", "C": "***"}
    error = await harness.call_error("configure", name="main", env={"E": "***"})
    assert "env['E'] is ***" in error


def last_tool_results_of(request: Any) -> list[str]:
    """The tool results the model was told of in ``request``'s last message."""
    _, blocks = transcript(request)[-1]
    return [block for block in blocks if block.startswith("[tool_result")]
