"""chat as a task (the Tasks extension of 2026-07-28), through a raw 2026-07-28 client.

The mcp Python client has no tasks/get, so tests/e2e/modern_client.py speaks
the revision in plain JSON-RPC over stdio to a real ``session-tree serve``
whose children are the real ``claude`` against the scripted model.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from session_tree.testing import Reply, ScriptedModel, text, tool_use

from .modern_client import ModernClient, RpcError, modern_serve, until_seen, until_task

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

INVALID_PARAMS = -32602
MISSING_CAPABILITY = -32021


def write(path: Path) -> Reply:
    return tool_use("Write", {"file_path": str(path), "content": "from the child"})


async def create(client: ModernClient, name: str, cwd: Path, **config: Any) -> None:
    result = await client.call("create", name=name, cwd=str(cwd), **config)
    assert not result.get("isError"), result


async def test_a_chat_is_a_task_that_completes_and_outlives_its_server(
    tmp_path: Path, model: ScriptedModel
) -> None:
    gate = threading.Event()
    model.push(text("slow ", "answer", gate=gate, gate_after_deltas=1))
    async with modern_serve(tmp_path, model) as client:
        await create(client, "main", tmp_path)
        created = await client.call("chat", name="main", prompt="take your time")
        # Answered at once, while the child is held mid-reply by the gate.
        assert created["resultType"] == "task"
        assert created["status"] == "working"
        task_id = created["taskId"]
        working = await until_task(client, task_id, "working")
        assert working["resultType"] == "complete"
        gate.set()
        done = await until_task(client, task_id, "completed", "failed", "cancelled")

    assert done["status"] == "completed"
    structured = done["result"]["structuredContent"]
    assert structured["text"] == "slow answer"
    assert structured["status"] == "completed"
    assert done["result"]["content"][0]["type"] == "text"

    # A new server on the same database answers for the same task, as for its stream.
    async with modern_serve(tmp_path, model) as restarted:
        again = await restarted.request("tasks/get", {"taskId": task_id})
        forgery = f"{structured['stream_id']}-{'A' * 22}"
        with pytest.raises(RpcError) as forged:
            await restarted.request("tasks/get", {"taskId": forgery})
    assert again["status"] == "completed"
    assert again["result"]["structuredContent"]["text"] == "slow answer"
    assert forged.value.code == INVALID_PARAMS


async def test_tasks_cancel_interrupts_the_turn(tmp_path: Path, model: ScriptedModel) -> None:
    gate = threading.Event()
    model.push(text("never ", "finished", gate=gate, gate_after_deltas=1))
    try:
        async with modern_serve(tmp_path, model) as client:
            await create(client, "main", tmp_path)
            task_id = (await client.call("chat", name="main", prompt="go"))["taskId"]
            ack = await client.request("tasks/cancel", {"taskId": task_id})
            cancelled = await until_task(client, task_id, "cancelled", "completed")
            session = await client.call("get", name="main")
    finally:
        gate.set()
    assert ack == {"resultType": "complete", "_meta": ack.get("_meta")}
    assert cancelled["status"] == "cancelled"
    assert "interrupted" in cancelled["statusMessage"]
    assert session["structuredContent"]["status"] == "idle"


async def test_a_running_task_is_cancelled_by_a_restart_and_still_answers(
    tmp_path: Path, model: ScriptedModel
) -> None:
    gate = threading.Event()
    model.push(text("cut ", "short", gate=gate, gate_after_deltas=1))
    try:
        async with modern_serve(tmp_path, model) as client:
            await create(client, "main", tmp_path)
            task_id = (await client.call("chat", name="main", prompt="go"))["taskId"]
            await until_task(client, task_id, "working")
        # The server stopped mid-turn: it recorded the turn interrupted, so is its task.
        async with modern_serve(tmp_path, model) as restarted:
            after = await restarted.request("tasks/get", {"taskId": task_id})
    finally:
        gate.set()
    assert after["status"] == "cancelled"


async def test_a_person_answers_a_tasks_approval_through_tasks_update(
    tmp_path: Path, model: ScriptedModel
) -> None:
    allowed = tmp_path / "asked-yes.txt"
    model.push(write(allowed), text("written"))
    async with modern_serve(tmp_path, model) as client:
        await create(client, "main", tmp_path, loopback=True, ask_human=True)
        task_id = (await client.call("chat", name="main", prompt="write it"))["taskId"]
        asking = await until_task(client, task_id, "input_required")
        ((key, form),) = asking["inputRequests"].items()
        await client.request(
            "tasks/update",
            {
                "taskId": task_id,
                "inputResponses": {key: {"action": "accept", "content": {"allow": True}}},
            },
        )
        done = await until_task(client, task_id, "completed", "cancelled")
    assert form["method"] == "elicitation/create"
    assert "asked-yes.txt" in form["params"]["message"]
    assert done["status"] == "completed"
    assert done["result"]["structuredContent"]["text"] == "written"
    assert allowed.exists()


async def test_an_approval_the_parent_decides_keeps_the_task_working(
    tmp_path: Path, model: ScriptedModel
) -> None:
    target = tmp_path / "parent-allows.txt"
    model.push(write(target), text("written"))
    async with modern_serve(tmp_path, model) as client:
        await create(client, "main", tmp_path, loopback=True)
        task_id = (await client.call("chat", name="main", prompt="write it"))["taskId"]

        seen = await until_seen(
            client, task_id, lambda task: "loopback_respond" in task["statusMessage"]
        )
        (approval,) = (await client.call("loopback_pending"))["structuredContent"]["approvals"]
        await client.call("loopback_respond", approval_id=approval["id"], decision="allow")
        done = await until_task(client, task_id, "completed", "cancelled")
    assert seen["status"] == "working"
    assert "loopback_respond" in seen["statusMessage"]
    assert done["status"] == "completed"
    assert target.exists()


async def test_clients_without_the_extension_get_the_bounded_chat(
    tmp_path: Path, model: ScriptedModel
) -> None:
    model.push(text("plain"))
    async with modern_serve(tmp_path, model, tasks=False) as client:
        await create(client, "main", tmp_path)
        reply = await client.call("chat", name="main", prompt="hi")
        with pytest.raises(RpcError) as refused:
            await client.request("tasks/get", {"taskId": "1-" + "A" * 22})
    assert reply["resultType"] == "complete"
    assert reply["structuredContent"]["text"] == "plain"
    assert refused.value.code == MISSING_CAPABILITY


async def test_a_2026_client_is_asked_by_input_required_and_its_retry_decides(
    tmp_path: Path, model: ScriptedModel
) -> None:
    allowed = tmp_path / "retried.txt"
    model.push(write(allowed), text("written"))
    async with modern_serve(tmp_path, model, tasks=False) as client:
        await create(client, "main", tmp_path, loopback=True, ask_human=True)
        asked = await client.call("chat", name="main", prompt="write it")
        assert asked["resultType"] == "input_required"
        ((key, form),) = asked["inputRequests"].items()
        retried = await client.request(
            "tools/call",
            {
                "name": "chat",
                "arguments": {"name": "main", "prompt": "write it"},
                "inputResponses": {key: {"action": "accept", "content": {"allow": True}}},
                "requestState": asked["requestState"],
            },
        )
    assert form["method"] == "elicitation/create"
    assert retried["structuredContent"]["status"] == "completed"
    assert retried["structuredContent"]["text"] == "written"
    assert allowed.exists()


async def test_a_retry_that_reaches_a_restarted_server_is_answered_from_the_stored_turn(
    tmp_path: Path, model: ScriptedModel
) -> None:
    target = tmp_path / "after-restart.txt"
    model.push(write(target), text("unused"))
    async with modern_serve(tmp_path, model, tasks=False) as client:
        await create(client, "main", tmp_path, loopback=True, ask_human=True)
        asked = await client.call("chat", name="main", prompt="write it")
    assert asked["resultType"] == "input_required"
    (key,) = asked["inputRequests"]
    # The person answers after the server restarted: its request state is still read.
    async with modern_serve(tmp_path, model, tasks=False) as restarted:
        retried = await restarted.request(
            "tools/call",
            {
                "name": "chat",
                "arguments": {"name": "main", "prompt": "write it"},
                "inputResponses": {key: {"action": "accept", "content": {"allow": True}}},
                "requestState": asked["requestState"],
            },
        )
    # The restart ended the turn (and expired its approval): the retry says so.
    assert not retried.get("isError"), retried
    assert retried["structuredContent"]["status"] == "interrupted"
    assert not target.exists()


async def test_a_declined_ask_in_a_task_leaves_the_approval_to_the_parent(
    tmp_path: Path, model: ScriptedModel
) -> None:
    target = tmp_path / "parent-after-decline.txt"
    model.push(write(target), text("written"))
    async with modern_serve(tmp_path, model) as client:
        await create(client, "main", tmp_path, loopback=True, ask_human=True)
        task_id = (await client.call("chat", name="main", prompt="write it"))["taskId"]
        asking = await until_task(client, task_id, "input_required")
        (key,) = asking["inputRequests"]
        await client.request(
            "tasks/update", {"taskId": task_id, "inputResponses": {key: {"action": "decline"}}}
        )
        handed = await until_task(client, task_id, "working")
        (approval,) = (await client.call("loopback_pending"))["structuredContent"]["approvals"]
        await client.call("loopback_respond", approval_id=approval["id"], decision="allow")
        done = await until_task(client, task_id, "completed", "cancelled")
    assert "loopback_respond" in handed["statusMessage"]
    assert done["status"] == "completed"
    assert target.exists()
