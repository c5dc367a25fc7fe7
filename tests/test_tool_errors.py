"""Domain errors state facts; the MCP tool layer adds which tool to call next.

The CLI prints ``str(exc)``, so a domain error's own message must name no MCP
tool; an MCP client must read the same advice it always did.
"""

from __future__ import annotations

import re

import pytest

from session_tree.docs import list_tools
from session_tree.errors import (
    ApprovalAlreadyDecided,
    ApprovalNotFound,
    InvalidTransition,
    NodeNotFound,
    SessionBusy,
    SessionExists,
    SessionNotFound,
    SessionTreeError,
    StreamNotFound,
    TurnElsewhere,
)
from session_tree.server._advice import advised
from session_tree.server._permits import TokenlessPermits
from session_tree.service import LOOPBACK_TOKEN_VAR

pytestmark = pytest.mark.anyio

# Each error, its fact (what the CLI prints) and what an MCP client reads.
CASES = [
    pytest.param(
        SessionNotFound("x", ["b", "a"]),
        "No session named 'x'. Sessions that exist: a, b.",
        "No session named 'x'. Sessions that exist: a, b.",
        id="session-not-found-others-exist",
    ),
    pytest.param(
        SessionNotFound("x"),
        "No session named 'x'. No sessions exist yet.",
        "No session named 'x'. No sessions exist yet; call create first.",
        id="session-not-found-none-exist",
    ),
    pytest.param(
        NodeNotFound(7),
        "No node with id 7.",
        "No node with id 7. Call tree or render_context to see the node ids of a session.",
        id="node-not-found",
    ),
    pytest.param(
        StreamNotFound(8),
        "No stream with id 8.",
        "No stream with id 8. Call streams to list a session's streams.",
        id="stream-not-found",
    ),
    pytest.param(
        ApprovalNotFound(9),
        "No approval with id 9.",
        "No approval with id 9. Call loopback_pending to list the open ones.",
        id="approval-not-found",
    ),
    pytest.param(
        SessionExists("main"),
        "A session named 'main' already exists.",
        "A session named 'main' already exists. Choose another name, "
        "or call delete on 'main' first.",
        id="session-exists",
    ),
    pytest.param(
        SessionBusy("main", 3),
        "Session 'main' is already running a turn (stream 3).",
        "Session 'main' is already running a turn (stream 3). Call poll with stream_id=3 to "
        "follow it, interrupt to stop it, or fork the session to work on a branch in parallel.",
        id="session-busy",
    ),
    pytest.param(
        ApprovalAlreadyDecided(4, "allowed"),
        "Approval 4 is already allowed; a decision is made exactly once.",
        "Approval 4 is already allowed; a decision is made exactly once. "
        "Call loopback_pending to see the approvals still waiting.",
        id="approval-already-decided",
    ),
    pytest.param(
        TurnElsewhere("main", 5),
        "Session 'main' is running a turn (stream 5) in another session-tree server on this "
        "database; only that server can stop it.",
        "Session 'main' is running a turn (stream 5) in another session-tree server on this "
        "database; only that server can stop it. Interrupt it through that server, "
        "or poll stream_id=5 until it ends.",
        id="turn-elsewhere",
    ),
    pytest.param(
        InvalidTransition("stream 3", "completed", "running"),
        "stream 3 cannot go from completed to running.",
        "stream 3 cannot go from completed to running.",
        id="no-advice-reads-as-the-fact",
    ),
]


@pytest.mark.parametrize(("error", "fact", "tool_text"), CASES)
def test_an_error_states_the_fact_and_the_tool_error_adds_the_advice(
    error: SessionTreeError, fact: str, tool_text: str
) -> None:
    assert str(error) == fact
    assert advised(error) == tool_text


def _identifiers() -> set[str]:
    """Every tool name, and every argument name that can only be an identifier
    (one with an underscore: ``name`` or ``decision`` are also plain words)."""
    found: set[str] = set()
    for tool in list_tools():
        found.add(tool.name)
        found |= {arg for arg in tool.input_schema.get("properties", {}) if "_" in arg}
    return found


@pytest.mark.parametrize(("error", "fact", "tool_text"), CASES)
def test_a_domain_error_names_no_tool_and_no_tool_argument(
    error: SessionTreeError, fact: str, tool_text: str
) -> None:
    named = {
        word
        for word in _identifiers()
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", str(error))
    }
    assert named == set()


def test_a_subclass_without_advice_of_its_own_reads_as_its_base() -> None:
    class OldStream(StreamNotFound):
        pass

    assert advised(OldStream(8)).endswith("Call streams to list a session's streams.")


async def test_a_parent_server_denies_a_permit_it_cannot_tie_to_a_session() -> None:
    result = await TokenlessPermits().permit("Bash", {"command": "ls"}, "toolu_1")

    assert result.behavior == "deny"
    assert result.message is not None
    assert LOOPBACK_TOKEN_VAR in result.message
    assert "loopback_config" in result.message
