"""A clean shutdown (stdin closed, or SIGTERM) with a turn running: the turn is
recorded as interrupted, its child is gone, and the server exits promptly."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from session_tree.testing import ScriptedModel, text, transcript

from .harness import Harness, claude_processes, first_delta_stored, query, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

# The MCP client SIGTERMs a server that has not exited 2 s after its stdin closed;
# Claude Desktop is no more patient. A clean shutdown fits well inside that.
SHUTDOWN_BOUND_S = 2.0


async def _turn_streaming(harness: Harness) -> tuple[int, list[psutil.Process]]:
    await harness.call("create", name="main")
    await harness.call("chat", name="main", prompt="q1")
    stream_id = (await harness.call("chat_async", name="main", prompt="q2"))["stream_id"]
    await first_delta_stored(harness, "main")
    children = claude_processes()
    assert children, "the turn's claude child should be running"
    return stream_id, children


async def _recorded(harness: Harness, stream_id: int) -> tuple[str, str, str, str]:
    """What the stopped server left in its database: the stream's status, error and last
    event, and the session's status."""
    ((status, error, session_status),) = await query(
        harness,
        "SELECT streams.status, streams.error, sessions.status FROM streams"
        " JOIN sessions ON sessions.id = streams.session_id WHERE streams.id = ?",
        (stream_id,),
    )
    ((last_event,),) = await query(
        harness,
        "SELECT kind FROM events WHERE stream_id = ? ORDER BY seq DESC LIMIT 1",
        (stream_id,),
    )
    return status, error, last_event, session_status


# Claude Code stops a stdio server with SIGINT, SIGTERM about 100 ms later and SIGKILL
# about 400 ms after that (the sleeps below play that schedule; they wait on nothing).
CLAUDE_CODE_SIGNALS = [(0.0, signal.SIGINT), (0.1, signal.SIGTERM), (0.4, signal.SIGKILL)]


@pytest.mark.parametrize("how", ["stdin-closed", "SIGTERM", "claude-code"])
async def test_a_clean_shutdown_records_the_running_turn_and_leaves_no_child(
    tmp_path: Path, model: ScriptedModel, how: str
) -> None:
    gate = threading.Event()
    model.push(text("a1"), text("partial ", "never sent", gate=gate, gate_after_deltas=1))
    try:
        async with serve(tmp_path, model) as harness:
            stream_id, children = await _turn_streaming(harness)
            server = harness.server_process()
            started = time.monotonic()
            if how == "SIGTERM":
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=10)
                took = time.monotonic() - started
            if how == "claude-code":
                sent: signal.Signals | None = None
                for delay, signum in CLAUDE_CODE_SIGNALS:
                    with contextlib.suppress(psutil.TimeoutExpired):
                        server.wait(timeout=delay)
                    if not server.is_running():
                        break
                    sent = signum
                    server.send_signal(signum)
                server.wait(timeout=10)
                took = time.monotonic() - started
                # It finished by itself before Claude Code's SIGKILL was due.
                assert sent is not signal.SIGKILL, harness.server_log()
        if how == "stdin-closed":
            took = time.monotonic() - started
        log = harness.server_log()
    finally:
        gate.set()

    assert took < SHUTDOWN_BOUND_S, f"shutdown took {took:.2f} s\n{log}"
    assert "running turns interrupted: 1" in log, log
    assert {
        "stdin-closed": "stdin closed",
        "SIGTERM": "SIGTERM received",
        "claude-code": "SIGINT received",
    }[how] in log, log
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert await _recorded(harness, stream_id) == (
        "interrupted",
        "session-tree is shutting down",
        "interrupted",
        "idle",
    )
    # The next server resumes the session from its head, without the cut turn.
    model.push(text("a3"))
    async with serve(tmp_path, model) as again:
        reply = await again.call("chat", name="main", prompt="q3")
    assert reply["text"] == "a3"
    assert transcript(model.conversation_requests()[-1]) == [
        ("user", ["q1"]),
        ("assistant", ["a1"]),
        ("user", ["q3"]),
    ]
