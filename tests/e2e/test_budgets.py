"""Budgets through the real MCP client: max_cost_usd covers a session and every
fork below it; a spent budget refuses the next turn before anything is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_tree.testing import MessageReply, ScriptedModel, text, tool_use

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def node_count(harness: Harness, name: str) -> int:
    return len((await harness.call("tree", name=name))["tree"]["nodes"])


async def test_a_spent_budget_refuses_the_next_turn_of_the_session_and_its_forks(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("a1"), text("a2"))
    await harness.call("create", name="main")
    first = await harness.call("chat", name="main", prompt="q1")
    cost = first["usage"]["cost_usd"]
    assert cost > 0
    configured = await harness.call("configure", name="main", max_cost_usd=cost / 2)
    assert configured["config"]["max_cost_usd"] == cost / 2
    fork = await harness.call("fork", name="main", new_name="exp")
    assert fork["config"]["max_cost_usd"] == cost / 2
    nodes = await node_count(harness, "main")
    requests = len(model.conversation_requests())

    refused = await harness.call_error("chat", name="main", prompt="q2")
    refused_fork = await harness.call_error("chat_async", name="exp", prompt="q2")
    # A fork's own budget does not lift its origin's.
    await harness.call("configure", name="exp", max_cost_usd=100)
    still = await harness.call_error("chat", name="exp", prompt="q2", ephemeral=True)

    assert f"${cost:.4f} of ${cost / 2:.4f}" in refused
    assert "'main'" in refused
    assert "configure" in refused
    assert "'main', which 'exp' was forked from" in refused_fork
    assert "'main', which 'exp' was forked from" in still
    assert await node_count(harness, "main") == nodes  # nothing stored
    assert len(model.conversation_requests()) == requests
    assert (await harness.call("get", name="main"))["status"] == "idle"

    removed = await harness.call("configure", name="main", max_cost_usd=0)
    assert removed["config"]["max_cost_usd"] is None
    second = await harness.call("chat", name="exp", prompt="q2")
    assert second["status"] == "completed"
    assert second["text"] == "a2"


async def test_a_budget_counts_what_the_forks_spent(harness: Harness, model: ScriptedModel) -> None:
    model.push(text("a1"), text("b1"), text("never"))
    await harness.call("create", name="main")
    await harness.call("fork", name="main", new_name="exp")
    spent = (await harness.call("chat", name="exp", prompt="q1"))["usage"]["cost_usd"]
    spent += (await harness.call("chat", name="main", prompt="q1"))["usage"]["cost_usd"]
    # Between what main spent itself and what it spent with its fork.
    own = (await harness.call("get", name="main"))["session"]["usage"]["cost_usd"]
    await harness.call("configure", name="main", max_cost_usd=(own + spent) / 2)

    refused = await harness.call_error("chat", name="main", prompt="q2")

    assert f"${spent:.4f} of" in refused
    tree = await harness.call("tree", name="main")
    assert tree["usage"]["main"]["subtree_usage"]["cost_usd"] == pytest.approx(spent)


def costly(tmp_path: Path, n: int) -> MessageReply:
    """A model call that writes a long preamble (about 4,000 output tokens), then reads a file."""
    return tool_use(
        "Read", {"file_path": str(tmp_path / "notes.txt")}, preamble=f"step {n} " + "x" * 16_000
    )


async def test_a_turn_that_crosses_the_budget_is_stopped_and_says_why(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("notes\n")
    model.push(costly(tmp_path, 0), text("probe done"))
    await harness.call("create", name="probe", cwd=str(tmp_path), allowed_tools=["Read"])
    per_call = (await harness.call("chat", name="probe", prompt="go"))["usage"]["cost_usd"] / 2
    calls = len(model.conversation_requests())
    model.push(*(costly(tmp_path, n) for n in range(1, 7)), text("never reached"))
    await harness.call(
        "create",
        name="main",
        cwd=str(tmp_path),
        allowed_tools=["Read"],
        max_cost_usd=per_call * 2.5,
    )

    stopped = await harness.call("chat", name="main", prompt="go on and on")

    assert stopped["status"] == "failed"
    assert "budget of session 'main' is spent" in (stopped["error"] or "")
    assert f"of ${per_call * 2.5:.4f}" in stopped["error"]
    assert len(model.conversation_requests()) - calls < 7  # stopped before the script ran out
    events = await harness.poll_to_end(stopped["stream_id"])
    assert "budget" in events[-1]["data"]["error"]
    spent = (await harness.call("get", name="main"))["session"]["usage"]["cost_usd"]
    assert spent >= per_call * 2.5  # what it spent is recorded
    refused = await harness.call_error("chat", name="main", prompt="more")
    assert "is spent" in refused
