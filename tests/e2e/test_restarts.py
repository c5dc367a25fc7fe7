"""Nothing lost across servers: a killed server, and two servers on one database."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import psutil
import pytest

from session_tree.agents import PARENT_WATCH_VAR
from session_tree.testing import ScriptedModel, text, tool_use, transcript

from .harness import claude_processes, eventually, first_delta_stored, query, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


# Linux ties a child to its server in the kernel; elsewhere the launcher watches
# its parent. The second way is forced here so that it is tested where CI runs.
@pytest.mark.parametrize("guard", [{}, {PARENT_WATCH_VAR: "1"}], ids=["pdeathsig", "parent-watch"])
async def test_a_server_killed_mid_turn_loses_nothing_and_leaves_no_child(
    tmp_path: Path, model: ScriptedModel, guard: dict[str, str]
) -> None:
    gate = threading.Event()
    model.push(text("a1"), text("partial ", "never sent", gate=gate, gate_after_deltas=1))
    try:
        async with serve(tmp_path, model, env=guard) as first:
            await first.call("create", name="main")
            await first.call("chat", name="main", prompt="q1")
            stream_id = (await first.call("chat_async", name="main", prompt="q2"))["stream_id"]
            await first_delta_stored(first, "main")
            received = (await first.call("poll", stream_id=stream_id, from_seq=0))["events"]
            children = claude_processes()
            assert children
            first.server_process().send_signal(signal.SIGKILL)

            def alive(child: psutil.Process) -> bool:
                try:
                    return bool(child.is_running() and child.status() != psutil.STATUS_ZOMBIE)
                except psutil.NoSuchProcess:
                    return False  # reaped already (by the watching launcher)

            async def orphans_gone() -> bool:
                return not any(alive(child) for child in children)

            await eventually(orphans_gone, what="the killed server's claude child exiting")
    finally:
        gate.set()

    model.push(text("a3"))
    async with serve(tmp_path, model) as second:
        after = await second.call("poll", stream_id=stream_id, from_seq=0)
        reply = await second.call("chat", name="main", prompt="q3")

    assert after["status"] == "interrupted"
    assert "stopped mid-turn" in after["error"]
    # Every event the poller had is still there, unchanged.
    assert after["events"][: len(received)] == received
    assert reply["text"] == "a3"
    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["q3"]),
    ]


async def test_a_second_server_on_the_database_leaves_the_firsts_turn_running(
    tmp_path: Path, model: ScriptedModel
) -> None:
    gate = threading.Event()
    model.push(text("slow ", "reply", gate=gate, gate_after_deltas=1))
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    async with serve(tmp_path, model) as first:
        await first.call("create", name="main")
        stream_id = (await first.call("chat_async", name="main", prompt="slow"))["stream_id"]
        try:
            await first_delta_stored(first, "main")
            async with serve(second_dir, model, db_path=first.db_path) as second:
                seen = await second.call("poll", stream_id=stream_id, from_seq=0)
                busy = await second.call_error("chat", name="main", prompt="me too")
                elsewhere = await second.call_error("interrupt", name="main")
        finally:
            gate.set()
        events = await first.poll_to_end(stream_id)

    assert seen["status"] == "running"
    assert f"stream {stream_id}" in busy
    assert f"(stream {stream_id}) in another session-tree server" in elsewhere
    assert events[-1]["kind"] == "turn_end"


@pytest.mark.parametrize(
    "peer_check", ["2", "0"], ids=["noticed-by-the-watch", "ended-by-an-interrupt"]
)
async def test_a_dead_peers_turn_is_ended_by_a_live_server(
    tmp_path: Path, model: ScriptedModel, peer_check: str
) -> None:
    target = tmp_path / "never.txt"
    model.push(tool_use("Write", {"file_path": str(target), "content": "x"}), text("a2"))
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    env = {"SESSION_TREE_PEER_CHECK_S": peer_check}
    async with (
        serve(second_dir, model, db_path=tmp_path / "shared.db", env=env) as live,
        serve(tmp_path, model, db_path=tmp_path / "shared.db") as doomed,
    ):
        await doomed.call("create", name="main", cwd=str(tmp_path), loopback=True)
        asked = await doomed.call("chat", name="main", prompt="write it")
        (pending,) = asked["pending_approvals"]
        process = doomed.server_process()
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        if peer_check == "0":
            stopped = await live.call("interrupt", name="main")
            assert stopped == {
                "session": "main",
                "stream_id": asked["stream_id"],
                "status": "interrupted",
            }

        async def ended() -> bool:
            info = await live.call("get", name="main")
            return info["running_stream_id"] is None

        # Within the watch's bound (2 s), with room for a loaded machine.
        await eventually(ended, timeout=10, what="the dead server's turn ending")
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
    assert reply["status"] == "completed"


# Two servers on one machine that must treat each other as on different machines: no pid
# check reaches across, so only the dead server's lease running out can end its turn.
LEASE_S = 2


def as_host(name: str, **settings: str) -> dict[str, str]:
    return {"SESSION_TREE_HOST": name, "SESSION_TREE_LEASE_S": str(LEASE_S), **settings}


@pytest.mark.parametrize(
    "peer_check", ["0.5", "0"], ids=["noticed-by-the-watch", "ended-by-an-interrupt"]
)
async def test_a_dead_remote_servers_turn_is_ended_when_its_lease_runs_out(
    tmp_path: Path, model: ScriptedModel, peer_check: str
) -> None:
    target = tmp_path / "never.txt"
    # No answer after the tool call: the turn waits on its approval when B dies.
    model.push(text("a1"), tool_use("Write", {"file_path": str(target), "content": "x"}))
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    shared = tmp_path / "shared.db"
    async with (
        serve(
            second_dir,
            model,
            db_path=shared,
            env=as_host("a", SESSION_TREE_PEER_CHECK_S=peer_check),
        ) as live,
        serve(tmp_path, model, db_path=shared, env=as_host("b")) as doomed,
    ):
        await doomed.call("create", name="main", cwd=str(tmp_path), loopback=True)
        await doomed.call("chat", name="main", prompt="q1")
        asked = await doomed.call("chat", name="main", prompt="write it")
        (pending,) = asked["pending_approvals"]
        process = doomed.server_process()
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        interrupts: list[str] = []

        async def ended() -> bool:
            if peer_check == "0":
                # Refused while B's lease may still be good; at once once it is not.
                result = await live.client.call_tool("interrupt", {"name": "main"})
                if result.is_error:
                    interrupts.append(str(result.content))
                    return False
                interrupts.append(json.dumps(result.structured_content))
                return True
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

    # Ended by the lease alone: not before B's lease ran out, nothing else told A.
    ((expired,),) = await query(live, "SELECT expires_at FROM servers WHERE host = 'b'")
    ((closed,),) = await query(
        live,
        "SELECT created_at FROM events WHERE stream_id = ? ORDER BY seq DESC LIMIT 1",
        (asked["stream_id"],),
    )
    assert closed >= expired
    if peer_check == "0":
        assert json.loads(interrupts[-1]) == {
            "session": "main",
            "stream_id": asked["stream_id"],
            "status": "interrupted",
        }
        assert all("another session-tree server" in refused for refused in interrupts[:-1])
    assert events[-1]["kind"] == "interrupted"
    assert "stopped mid-turn" in events[-1]["data"]["reason"]
    assert "already expired" in late
    assert not target.exists()
    assert reply["status"] == "completed"
    assert reply["text"] == "a3"
    # The session went on at A from its head, with the history B had written.
    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["again"]),
    ]
