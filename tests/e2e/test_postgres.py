"""Many machines, one tree: servers with different host identities on one PostgreSQL."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from session_tree.testing import ScriptedModel, text, tool_use, transcript
from session_tree.testing.postgres import Cluster

from .harness import eventually, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

LEASE_S = 2


def as_host(name: str, **settings: str) -> dict[str, str]:
    """A server that takes every other for a server on another machine."""
    return {"SESSION_TREE_HOST": name, "SESSION_TREE_LEASE_S": str(LEASE_S), **settings}


def dirs(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    return a, b


async def test_a_parent_on_one_server_answers_and_follows_a_child_another_runs(
    tmp_path: Path, model: ScriptedModel, pg_cluster: Cluster
) -> None:
    url = pg_cluster.new_database()
    target = tmp_path / "written.txt"
    model.push(tool_use("Write", {"file_path": str(target), "content": "from b"}), text("done"))
    a_dir, b_dir = dirs(tmp_path)
    async with (
        serve(a_dir, model, db_url=url, env=as_host("a")) as on_a,
        serve(b_dir, model, db_url=url, env=as_host("b")) as on_b,
    ):
        await on_b.call("create", name="main", cwd=str(tmp_path), loopback=True)
        asked = await on_b.call("chat_async", name="main", prompt="write it")
        # A waits for the request B's child makes: woken by B's commit.
        found: list[dict[str, object]] = []

        async def asked_on_a() -> bool:
            page = await on_a.call("loopback_pending", name="main", wait_ms=5000)
            found.extend(page["approvals"])
            return bool(found)

        await eventually(asked_on_a, timeout=60, what="B's child's request reaching A")
        (pending,) = found
        decided = await on_a.call("loopback_respond", approval_id=pending["id"], decision="allow")
        events = await on_a.poll_to_end(asked["stream_id"])
        listed = await on_a.call("list")

    assert decided["status"] == "allowed"
    assert target.read_text() == "from b"
    assert [e["seq"] for e in events] == list(range(len(events)))
    kinds = [e["kind"] for e in events]
    assert kinds.index("permission_decision") < kinds.index("tool_result")
    assert kinds[-1] == "turn_end"
    assert [s["session"]["name"] for s in listed["result"]] == ["main"]


async def test_a_dead_servers_turn_is_ended_by_a_live_one_and_the_session_goes_on_there(
    tmp_path: Path, model: ScriptedModel, pg_cluster: Cluster
) -> None:
    url = pg_cluster.new_database()
    target = tmp_path / "never.txt"
    model.push(text("a1"), tool_use("Write", {"file_path": str(target), "content": "x"}))
    a_dir, b_dir = dirs(tmp_path)
    async with (
        serve(a_dir, model, db_url=url, env=as_host("a", SESSION_TREE_PEER_CHECK_S="0.5")) as live,
        serve(b_dir, model, db_url=url, env=as_host("b")) as doomed,
    ):
        await doomed.call("create", name="main", cwd=str(tmp_path), loopback=True)
        await doomed.call("chat", name="main", prompt="q1")
        asked = await doomed.call("chat", name="main", prompt="write it")
        (pending,) = asked["pending_approvals"]
        process = doomed.server_process()
        process.send_signal(signal.SIGKILL)
        process.wait(10)

        async def ended() -> bool:
            info = await live.call("get", name="main")
            return info["running_stream_id"] is None

        # B's lease (2 s) plus A's watch (0.5 s), with room for a loaded machine.
        await eventually(ended, timeout=30, what="the dead server's turn ending")
        events = await live.poll_to_end(asked["stream_id"])
        late = await live.call_error(
            "loopback_respond", approval_id=pending["id"], decision="allow"
        )
        model.push(text("a3"))
        reply = await live.call("chat", name="main", prompt="again")

    assert events[-1]["kind"] == "interrupted"
    assert "stopped mid-turn" in events[-1]["data"]["reason"]
    assert "already expired" in late
    assert not target.exists()
    assert reply["text"] == "a3"
    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["again"]),
    ]
