"""A parent's model finds our tools through Claude Code's ToolSearch, in a parent's words.

Claude Code defers MCP tools: its model sees only their names until ToolSearch
returns them (tool_reference blocks). A search in the words a parent would use
must bring back the tool that does it, so names and descriptions are written
for that search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from session_tree.testing import ScriptedModel, text, tool_use

from .parent_harness import ParentScript, Roles, run_parent, tool

pytestmark = [pytest.mark.e2e]

# What a parent would type, and the tool that must come back for it.
SEARCHES = {
    "start a sub-agent": "create",
    "fork a session": "fork",
    "approve a child's tool call": "loopback_respond",
    "what is the child doing": "poll",
    "send a message to a sub-agent and wait for its reply": "chat",
    "stop a running child": "interrupt",
    "see every branch of a conversation": "tree",
    "children waiting for permission": "loopback_pending",
}


def test_toolsearch_finds_the_right_tool_in_a_parents_words(tmp_path: Path) -> None:
    found: dict[str, Any] = {}

    def script() -> ParentScript:
        for query in SEARCHES:
            found[query] = yield tool_use("ToolSearch", {"query": query})
        yield text("searched")

    roles = Roles(script())
    with ScriptedModel(responder=roles) as model:
        run = run_parent(tmp_path, model, tool_timeout_ms=10_000)

    assert run.returncode == 0, f"{run.stderr[-2000:]}\n{run.mcp_log[-2000:]}"
    missed = {
        query: names
        for query, wanted in SEARCHES.items()
        if tool(wanted) not in (names := _names(found[query]))
    }
    assert not missed, missed


def _names(shown: Any) -> list[str]:
    """The tools a ToolSearch result referenced, in its order."""
    if not isinstance(shown, list):
        return [str(shown)]
    return [
        block["tool_name"] for block in shown if isinstance(block, dict) and "tool_name" in block
    ]
