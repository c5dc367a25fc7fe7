"""Progress a parent's client shows: what the child does, in a few words."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from session_tree.testing import ScriptedModel, text, tool_use

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def chat_with_progress(
    harness: Harness, **arguments: Any
) -> tuple[dict[str, Any], list[str]]:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    result = await harness.client.call_tool("chat", arguments, progress_callback=on_progress)
    assert not result.is_error
    assert result.structured_content is not None
    return result.structured_content, messages


async def test_progress_says_what_the_child_writes_runs_and_waits_for(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    model.push(
        text("Let me look ", "at the notes first."),
        tool_use("Write", {"file_path": str(notes), "content": "x"}),
    )
    await harness.call("create", name="main", cwd=str(tmp_path))
    replied, said = await chat_with_progress(harness, name="main", prompt="look")
    await harness.call("configure", name="main", loopback=True)
    asked, waited = await chat_with_progress(harness, name="main", prompt="write")

    assert replied["status"] == "completed"
    assert any(m.startswith("Let me look") for m in said), said
    assert said[-1] == "turn ended: completed"
    assert asked["status"] == "awaiting_permission"
    (pending,) = asked["pending_approvals"]
    # Messages are cut at 80 characters; the temp path is long.
    assert any(m.startswith("Write: /") for m in waited), waited
    assert waited[-1].startswith(f"waiting for approval {pending['id']}: Write /")
    assert all(len(m) <= 80 for m in said + waited)
    # Each message says something new: no repeats in a row.
    assert all(a != b for a, b in itertools.pairwise(said))
