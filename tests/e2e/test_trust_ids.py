"""A stale id stays unknown: deleting a session never hands its ids to the next one.

Before ids were kept unique, SQLite gave a deleted session's approval and stream
ids (the newest rows) to the next session's, so a late ``loopback_respond`` on
the deleted session's approval ran the new session's call (``rm -f important``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from session_tree.testing import ScriptedModel, text, tool_use

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def pending_of(harness: Harness, name: str) -> dict[str, object]:
    found = await harness.call("loopback_pending", name=name, wait_ms=30_000)
    (pending,) = found["approvals"]
    assert isinstance(pending, dict)
    return pending


async def test_a_deleted_sessions_approval_and_stream_ids_stay_unknown(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    important = tmp_path / "important"
    important.write_text("keep me")
    model.push(tool_use("Write", {"file_path": str(tmp_path / "x.txt"), "content": "x"}))
    await harness.call("create", name="x", cwd=str(tmp_path), loopback=True)
    x_stream = await harness.call("chat_async", name="x", prompt="write a file")
    x_approval = await pending_of(harness, "x")
    assert x_approval["tool_name"] == "Write"
    await harness.call("interrupt", name="x")
    await harness.call("delete", name="x")

    model.push(tool_use("Bash", {"command": f"rm -f {important}"}), text("removed"))
    await harness.call("create", name="y", cwd=str(tmp_path), loopback=True)
    y_stream = await harness.call("chat_async", name="y", prompt="clean up")
    y_approval = await pending_of(harness, "y")
    assert y_approval["tool_name"] == "Bash"

    assert y_approval["id"] != x_approval["id"]
    assert y_stream["stream_id"] != x_stream["stream_id"]
    late = await harness.call_error(
        "loopback_respond", approval_id=x_approval["id"], decision="allow"
    )
    assert f"No approval with id {x_approval['id']}." in late
    stale = await harness.call_error("poll", stream_id=x_stream["stream_id"])
    assert f"No stream with id {x_stream['stream_id']}." in stale
    # The late allow reached nothing: y's call still waits, and its rm has not run.
    assert (await pending_of(harness, "y"))["id"] == y_approval["id"]
    assert important.read_text() == "keep me"

    await harness.call("loopback_respond", approval_id=y_approval["id"], decision="deny")
    await harness.poll_to_end(y_stream["stream_id"])
    assert important.exists()
