"""A blocking chat's result, built from the session and stream as the turn's end wrote them
(no second read, issue 20), is what the stream's summary read from the database says: text,
tool calls, head, usage, status, next_seq. Through the real parts: MCP client, ``session-tree
serve``, claude; the summary read by a second service on the same file."""

from __future__ import annotations

import pytest

from session_tree.service import SessionService, Settings
from session_tree.testing import ScriptedModel, text, tool_use

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_a_chat_result_is_the_stored_summary(harness: Harness, model: ScriptedModel) -> None:
    await harness.call("create", name="main")
    model.push(tool_use("Bash", {"command": "echo hi"}))
    model.push(text("first ", "answer"))
    replies = [(["run it"], "first answer"), (["again"], "second")]
    heads = []
    async with SessionService.open(Settings(db_path=harness.db_path)) as service:
        for (prompt,), expected in replies:
            result = await harness.call("chat", name="main", prompt=prompt)
            assert result["text"] == expected
            heads.append(result["head_id"])
            # Read before the next turn moves the session's head.
            stored = await service.summarize(int(result["stream_id"]))
            assert stored.model_dump(mode="json", exclude_none=True) == {
                k: v for k, v in result.items() if v is not None
            }
            model.push(text("second"))
    assert heads[0] != heads[1]
