"""Faults, each with a defined outcome. A turn that cannot go on ends with an error
that says what happened and what to do; the head stays where it was; nothing
stored is lost; and the session works again once the fault is gone. A fault seen
before anything is stored is a tool error, and nothing is stored."""

from __future__ import annotations

import sqlite3
import stat
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from session_tree.testing import (
    ScriptedModel,
    cut_stream,
    server_error,
    stream_error,
    text,
    tool_use,
    transcript,
)

from .harness import Harness, serve

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.e2e,
    pytest.mark.sqlite_only(reason="faults of the SQLite file: its size cap, a full disk"),
]


async def _first_turn(harness: Harness, model: ScriptedModel) -> dict[str, Any]:
    model.push(text("fine"))
    await harness.call("create", name="main")
    return await harness.call("chat", name="main", prompt="q1")


def _last_conversation(model: ScriptedModel) -> list[tuple[str, list[str]]]:
    return transcript(model.conversation_requests()[-1])


def _rows(db_path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(cut_stream(text("partial ", "never sent")), id="connection-cut"),
        pytest.param(stream_error(text("partial ", "never sent")), id="error-event"),
    ],
)
async def test_a_stream_cut_mid_message_is_retried_whole(
    harness: Harness, model: ScriptedModel, cut: Any
) -> None:
    """Claude Code retries a cut stream; the turn keeps only the whole reply."""
    before = await _first_turn(harness, model)
    model.push(cut, text("the whole reply"))

    reply = await harness.call("chat", name="main", prompt="q2")

    assert reply["status"] == "completed"
    assert reply["text"] == "the whole reply"
    assert reply["head_id"] != before["head_id"]
    rendered = await harness.call("render_context", name="main")
    texts = [block.get("text") for m in rendered["messages"] for block in m["content"]]
    assert "the whole reply" in texts
    assert not any("partial" in (t or "") for t in texts)


async def test_a_stream_cut_again_on_retry_fails_the_turn_and_keeps_the_head(
    harness: Harness, model: ScriptedModel
) -> None:
    before = await _first_turn(harness, model)
    model.push(cut_stream(text("partial ", "never sent")), server_error())

    failed = await harness.call("chat", name="main", prompt="q2")

    assert failed["status"] == "failed"
    assert "500" in failed["error"]
    assert failed["head_id"] == before["head_id"]
    model.push(text("recovered"))
    assert (await harness.call("chat", name="main", prompt="q3"))["text"] == "recovered"
    assert _last_conversation(model) == [
        ("user", ["q1"]),
        ("assistant", ["fine"]),
        ("user", ["q3"]),
    ]


def _write(path: Path, body: str, *, executable: bool) -> Path:
    path.write_text(body)
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("missing", "does not exist: point SESSION_TREE_CLAUDE at the claude binary"),
        ("not-executable", "is not executable: chmod +x it"),
    ],
)
async def test_a_missing_or_unrunnable_claude_binary_is_a_clear_error_and_stores_nothing(
    tmp_path: Path, model: ScriptedModel, which: str, expected: str
) -> None:
    binary = tmp_path / "claude"
    if which == "not-executable":
        _write(binary, "#!/bin/sh\nexit 0\n", executable=False)
    async with serve(tmp_path, model, env={"SESSION_TREE_CLAUDE": str(binary)}) as harness:
        await harness.call("create", name="main")
        before = _rows(harness.db_path)
        error = await harness.call_error("chat", name="main", prompt="q1")
        after = _rows(harness.db_path)

    assert str(binary) in error
    assert expected in error
    assert after == before


async def test_a_child_exiting_non_zero_fails_the_turn_with_what_it_said(
    tmp_path: Path, model: ScriptedModel
) -> None:
    binary = _write(
        tmp_path / "claude",
        "#!/bin/sh\necho 'claude: cannot read settings file' >&2\nexit 3\n",
        executable=True,
    )
    async with serve(tmp_path, model, env={"SESSION_TREE_CLAUDE": str(binary)}) as harness:
        await harness.call("create", name="main")
        failed = await harness.call("chat", name="main", prompt="q1")
        session = await harness.call("get", name="main")

    assert failed["status"] == "failed"
    assert "exit code 3" in failed["error"]
    assert "cannot read settings file" in failed["error"]
    assert session["session"]["status"] == "idle"
    assert session["session"]["head_id"] == failed["head_id"]


async def test_a_working_directory_that_does_not_exist(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    error = await harness.call_error("create", name="main", cwd=str(tmp_path / "nope"))
    assert "does not exist: create it first" in error
    assert (await harness.call("list"))["result"] == []

    gone = tmp_path / "gone"
    gone.mkdir()
    await harness.call("create", name="later", cwd=str(gone))
    gone.rmdir()
    before = _rows(harness.db_path)
    error = await harness.call_error("chat", name="later", prompt="q1")
    assert f"works in {gone}, which does not exist any more" in error
    assert "configure(cwd=...)" in error
    assert _rows(harness.db_path) == before

    moved = tmp_path / "moved"
    moved.mkdir()
    await harness.call("configure", name="later", cwd=str(moved))
    model.push(text("here"))
    assert (await harness.call("chat", name="later", prompt="q1"))["text"] == "here"


async def test_malformed_tool_input_goes_back_to_the_model_and_the_turn_goes_on(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    model.push(tool_use("Write", {"file_path": 5}), text("fixed it"))
    await harness.call("create", name="main", allowed_tools=["Write"], cwd=str(tmp_path))

    reply = await harness.call("chat", name="main", prompt="q1")

    assert reply["status"] == "completed"
    assert reply["text"] == "fixed it"
    tool_result = _last_conversation(model)[-1]
    assert tool_result[0] == "user"
    assert "InputValidationError" in tool_result[1][0]


async def test_a_huge_tool_input_is_stored_whole(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    """The SDK's default 1 MiB message limit would fail this turn."""
    content = "x" * (3 * 1024 * 1024)
    target = tmp_path / "big.txt"
    model.push(tool_use("Write", {"file_path": str(target), "content": content}), text("wrote it"))
    await harness.call("create", name="main", allowed_tools=["Write"], cwd=str(tmp_path))

    reply = await harness.call("chat", name="main", prompt="q1")

    assert reply["status"] == "completed", reply
    assert target.read_text() == content
    rendered = await harness.call("render_context", name="main")
    inputs = [
        block["input"]
        for message in rendered["messages"]
        for block in message["content"]
        if block["type"] == "tool_use"
    ]
    assert inputs == [{"file_path": str(target), "content": content}]


async def test_a_full_database_is_a_clear_error_and_loses_nothing(
    tmp_path: Path, model: ScriptedModel
) -> None:
    """SESSION_TREE_MAX_DB_MB makes SQLite answer SQLITE_FULL, as a full disk does."""
    async with serve(tmp_path, model) as harness:
        await _first_turn(harness, model)
    size_mb = harness.db_path.stat().st_size / 2**20
    cap = {"SESSION_TREE_MAX_DB_MB": f"{size_mb + 0.25:.3f}"}
    async with serve(tmp_path, model, env=cap) as harness:
        before = _rows(harness.db_path)
        error = await harness.call_error("chat", name="main", prompt="p" * 900_000)
        after = _rows(harness.db_path)
        still = await harness.call("render_context", name="main")

    assert "Cannot write to" in error
    assert "free disk space" in error
    assert after == before
    assert [m["role"] for m in still["messages"]] == ["user", "assistant"]
    with closing(sqlite3.connect(harness.db_path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    model.push(text("room again"))
    async with serve(tmp_path, model) as harness:
        assert (await harness.call("chat", name="main", prompt="q2"))["text"] == "room again"


async def test_a_disk_that_fills_mid_turn_fails_the_turn_and_keeps_what_was_stored(
    tmp_path: Path, model: ScriptedModel
) -> None:
    async with serve(tmp_path, model) as harness:
        before = await _first_turn(harness, model)
        # Something to delete later, to free room as a user would.
        await harness.call("create", name="ballast")
        model.push(text(*["b" * 1000] * 100))
        await harness.call("chat", name="ballast", prompt="fill")
    size_mb = harness.db_path.stat().st_size / 2**20
    # Room for the turn's start and a little of its reply, not for 400 KB of it.
    cap = {"SESSION_TREE_MAX_DB_MB": f"{size_mb + 0.05:.3f}"}
    async with serve(tmp_path, model, env=cap) as harness:
        model.push(text(*["y" * 1000] * 400))
        failed = await harness.call("chat", name="main", prompt="q2")
        events = await harness.poll_to_end(failed["stream_id"])
        session = await harness.call("get", name="main")
        # How much of the failed reply was stored first varies: free room for sure.
        await harness.call("delete", name="ballast")
        model.push(text("fits"))
        after = await harness.call("chat", name="main", prompt="q3")

    assert failed["status"] == "failed"
    assert "database or disk is full" in failed["error"]
    assert "free disk space" in failed["error"]
    assert failed["head_id"] == before["head_id"]
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["kind"] == "turn_start"
    assert events[-1] == {**events[-1], "kind": "error", "data": {"message": failed["error"]}}
    assert session["session"]["status"] == "idle"
    # Once there is room, the next turn goes on from the last good head, without the failed one.
    assert after["text"] == "fits"
    assert _last_conversation(model) == [
        ("user", ["q1"]),
        ("assistant", ["fine"]),
        ("user", ["q3"]),
    ]
    with closing(sqlite3.connect(harness.db_path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
