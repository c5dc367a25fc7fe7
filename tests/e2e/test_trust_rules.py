"""One entry is one rule, and a remembered deny rule holds against disguised commands
(issue 13, items 2 and 3), through a real MCP client, ``session-tree serve`` and the
real ``claude`` child; only the model is scripted."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_tree.testing import ScriptedModel, text, tool_use

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

TWO_RULES_IN_ONE = "Read(/nonexistent),Bash(touch *)"


async def test_a_rule_claude_code_would_split_is_refused_and_nothing_is_stored(
    harness: Harness,
) -> None:
    message = await harness.call_error(
        "create", name="split", allowed_tools=[TWO_RULES_IN_ONE], loopback=True
    )

    assert "2 rules" in message, message
    assert "'Bash(touch *)'" in message
    assert "own list entry" in message
    assert (await harness.call("list"))["result"] == []
    for field in ("allowed_tools", "disallowed_tools"):
        await harness.call_error("create", name="split", **{field: ["Read Write"]})
    await harness.call("create", name="kept", allowed_tools=["Read"], loopback=True)
    await harness.call_error("configure", name="kept", allowed_tools=[TWO_RULES_IN_ONE])
    assert (await harness.call("get", name="kept"))["session"]["config"]["allowed_tools"] == [
        "Read"
    ]


async def test_a_remembered_deny_rule_denies_an_escaped_command_name(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    victim = tmp_path / "x"
    victim.write_text("keep me")
    model.push(
        tool_use("Bash", {"command": f"rm -f {victim}"}),
        tool_use("Bash", {"command": f"\\rm -rf {victim}"}),
        text("done"),
    )
    await harness.call("create", name="main", cwd=str(tmp_path), loopback=True)
    stream = await harness.call("chat_async", name="main", prompt="remove x")
    (pending,) = (await harness.call("loopback_pending", name="main", wait_ms=30_000))["approvals"]
    # From now on a bypass window allows whatever no deny rule covers.
    await harness.call("configure", name="main", bypass_for_s=3600)
    await harness.call(
        "loopback_respond",
        approval_id=pending["id"],
        decision="deny",
        remember=True,
        rule="Bash(rm:*)",
    )

    events = await harness.poll_to_end(stream["stream_id"])

    assert victim.read_text() == "keep me"
    decisions = [e["data"] for e in events if e["kind"] == "permission_decision"]
    assert [d.get("decided_by") for d in decisions] == ["parent", "rule Bash(rm:*)"], decisions
    config = (await harness.call("get", name="main"))["session"]["config"]
    assert config["disallowed_tools"] == ["Bash(rm:*)"]
