"""A long reply's mirror entry keeps its text by reference to its node (migration 0016), and a
child resumed from the database alone (Claude's own files gone) sees that reply exactly. Through
the real parts: MCP client, ``session-tree serve``, claude."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from session_tree.testing import ScriptedModel, text, transcript

from .harness import serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

# Quotes, a newline, a tab, a backslash and characters beyond ASCII: all escaped or not in JSON.
LONG = "".join(f'line {i}: "quoted"\\ é 😀\tend\n' for i in range(200))


async def test_a_resumed_child_sees_a_shared_reply_exactly(
    tmp_path: Path, model: ScriptedModel
) -> None:
    model.push(text(LONG[:1000], LONG[1000:]), text("a2"))
    async with serve(tmp_path, model) as first:
        await first.call("create", name="main")
        assert (await first.call("chat", name="main", prompt="q1"))["text"] == LONG
        with sqlite3.connect(first.db_path) as conn:
            (shared,) = conn.execute(
                "SELECT count(*) FROM transcript_values WHERE node_id IS NOT NULL"
            ).fetchone()
        assert shared >= 1
    shutil.rmtree(tmp_path / "home" / ".claude" / "projects")

    async with serve(tmp_path, model) as second:
        assert (await second.call("chat", name="main", prompt="q2"))["text"] == "a2"

    resumed = transcript(model.conversation_requests()[-1])
    assert resumed == [("user", ["q1"]), ("assistant", [LONG]), ("user", ["q2"])]
