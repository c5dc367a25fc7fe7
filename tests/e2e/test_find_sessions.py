"""Finding sessions through the real MCP client: titles, list's filters and order,
search and a fork from what it found, cost per subtree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from session_tree.testing import ScriptedModel, server_error, text, tool_use, transcript

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def names(rows: list[dict[str, Any]]) -> list[str]:
    return [row["session"]["name"] for row in rows]


async def listed(harness: Harness, **arguments: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await harness.call("list", **arguments))["result"]
    return rows


async def test_list_filters_and_orders_sessions_in_several_states(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    (tmp_path / "a" / "sub").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    model.push(text("done"))
    await harness.call("create", name="alpha", cwd=str(tmp_path / "a"))
    await harness.call("chat", name="alpha", prompt="Tidy the imports\nin every module")
    await harness.call("create", name="beta", cwd=str(tmp_path / "b"), title="Login bug hunt")
    model.push(server_error())
    assert (await harness.call("chat", name="beta", prompt="go"))["status"] == "failed"
    model.push(tool_use("Write", {"file_path": str(tmp_path / "x.txt"), "content": "x"}))
    model.push(text("written"))
    await harness.call("create", name="gamma", cwd=str(tmp_path / "a" / "sub"), loopback=True)
    asked = await harness.call("chat", name="gamma", prompt="write x")
    assert asked["status"] == "awaiting_permission"
    await harness.call("fork", name="alpha", new_name="alpha-exp")

    everything = await listed(harness)

    assert names(everything)[0] == "alpha-exp"  # the newest activity first
    activity = [row["last_activity"] for row in everything]
    assert activity == sorted(activity, reverse=True)
    by_name = {row["session"]["name"]: row for row in everything}
    assert {name: row["status"] for name, row in by_name.items()} == {
        "alpha": "idle",
        "beta": "failed",
        "gamma": "awaiting_permission",
        "alpha-exp": "idle",
    }
    assert by_name["alpha"]["session"]["title"] == "Tidy the imports"
    assert by_name["alpha-exp"]["session"]["title"] == "Tidy the imports (fork)"
    assert by_name["beta"]["session"]["title"] == "Login bug hunt"
    assert by_name["alpha"]["session"]["usage"]["turns"] == 1
    assert by_name["alpha"]["head_turn_usage"]["cost_usd"] > 0
    assert by_name["alpha-exp"]["session"]["forked_from"] == "alpha"
    assert by_name["alpha-exp"]["session"]["head_id"] == by_name["alpha"]["session"]["head_id"]

    assert names(await listed(harness, status="failed")) == ["beta"]
    assert names(await listed(harness, status="awaiting_permission")) == ["gamma"]
    assert sorted(names(await listed(harness, status="idle"))) == ["alpha", "alpha-exp"]
    assert sorted(names(await listed(harness, cwd=str(tmp_path / "a")))) == [
        "alpha", "alpha-exp", "gamma",
    ]  # fmt: skip
    assert names(await listed(harness, forked_from="alpha")) == ["alpha-exp"]
    assert names(await listed(harness, query="LOGIN bug")) == ["beta"]
    assert names(await listed(harness, query="imports", status="idle", order="name")) == [
        "alpha", "alpha-exp",
    ]  # fmt: skip

    # Pages by name, with a session made between them that sorts before the cursor.
    first = await listed(harness, order="name", limit=2)
    await harness.call("create", name="aardvark")
    rest = await listed(harness, order="name", cursor=first[-1]["cursor"])
    assert names(first) == ["alpha", "alpha-exp"]
    assert names(rest) == ["beta", "gamma"]
    error = await harness.call_error("list", order="activity", cursor=first[-1]["cursor"])
    assert "cursor" in error

    await harness.call("configure", name="alpha-exp", title="Imports, the other way")
    assert (await harness.call("get", name="alpha-exp"))["session"]["title"] == (
        "Imports, the other way"
    )
    (pending,) = asked["pending_approvals"]
    await harness.call("loopback_respond", approval_id=pending["id"], decision="deny")
    await harness.poll_to_end(asked["stream_id"])


async def test_search_finds_what_a_child_said_turns_and_forks_ago_and_a_fork_there_sees_that_history(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(text("The purple walrus hides in the attic."))
    model.push(*(text(f"answer {n}") for n in range(2, 5)), text("f1 says"), text("f2 says"))
    model.push(text("from the found fork"))
    await harness.call("create", name="child")
    said = await harness.call("chat", name="child", prompt="where is the walrus")
    for n in range(2, 5):
        await harness.call("chat", name="child", prompt=f"question {n}")
    await harness.call("fork", name="child", new_name="f1")
    await harness.call("chat", name="f1", prompt="on f1")
    await harness.call("fork", name="f1", new_name="f2")
    await harness.call("chat", name="f2", prompt="on f2")

    found = await harness.call("search", text="walrus hides in the attic", phrase=True)

    (hit,) = found["hits"]
    assert hit["session"] == "child"
    assert hit["kind"] == "text"
    assert "[walrus hides in the attic]" in hit["snippet"]
    assert hit["fork_at"] == said["head_id"]
    assert found["next_before"] is None
    words = await harness.call("search", text="walrus")
    assert [h["kind"] for h in words["hits"]] == ["text", "user"]  # the reply, then the prompt
    assert (await harness.call("search", text="walrus", forked_from="child"))["hits"] == []

    await harness.call("fork", name=hit["session"], new_name="found", at=hit["fork_at"])
    await harness.call("chat", name="found", prompt="go on from there")

    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["where is the walrus"]),
        ("assistant", ["The purple walrus hides in the attic."]),
        ("user", ["go on from there"]),
    ]


async def test_subtree_cost_sums_a_session_and_every_fork_below_it(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(*(text(f"reply {n}") for n in range(4)))
    await harness.call("create", name="root")
    await harness.call("chat", name="root", prompt="one")
    await harness.call("fork", name="root", new_name="f1")
    await harness.call("chat", name="f1", prompt="two")
    await harness.call("fork", name="f1", new_name="f2")
    await harness.call("chat", name="f2", prompt="three")
    await harness.call("create", name="other")
    await harness.call("chat", name="other", prompt="four")

    rows = {row["session"]["name"]: row for row in await listed(harness)}
    own = {name: row["session"]["usage"] for name, row in rows.items()}
    root = await harness.call("get", name="root")
    tree = await harness.call("tree", name="f1")

    assert all(usage["cost_usd"] > 0 for usage in own.values())
    subtree = root["subtree_usage"]
    assert subtree["cost_usd"] == pytest.approx(
        sum(own[n]["cost_usd"] for n in ("root", "f1", "f2"))
    )
    for field in ("input_tokens", "output_tokens", "cache_read_input_tokens", "turns"):
        assert subtree[field] == sum(own[n][field] for n in ("root", "f1", "f2"))
    assert rows["f1"]["subtree_usage"]["turns"] == 2
    assert rows["f2"]["subtree_usage"] == own["f2"]
    assert rows["other"]["subtree_usage"] == own["other"]
    assert set(tree["usage"]) == {"root", "f1", "f2"}
    assert tree["usage"]["f1"]["head_id"] == rows["f1"]["session"]["head_id"]
    assert tree["usage"]["f1"]["subtree_usage"] == rows["f1"]["subtree_usage"]
    assert tree["usage"]["root"]["usage"] == own["root"]
