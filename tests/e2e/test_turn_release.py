"""A parent that sees a turn end may start the next one at once: the session is
free by the time any poll can report the end.

The race this guards against needs the server's database writer thread to stall
between its commit becoming visible to readers and its return to the event loop
(SQLite's WAL autocheckpoint runs there; a loaded machine may deschedule it):
a poll that probed in that gap reported the end while the runner still held the
turn, and a chat sent at once was refused as busy (2 of 9 bench runs). Seen on a
loaded machine only; this loop did not reproduce it here (0 of 5 runs on the old
code), so it is a guard, not a proof. A start now waits, bounded, for a turn whose
end is being written (RunningTurn.finishing) instead of refusing."""

from __future__ import annotations

import pytest

from session_tree.testing import ScriptedModel

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

TURNS = 40


async def test_a_chat_right_after_poll_reports_the_end_is_never_refused_as_busy(
    harness: Harness, model: ScriptedModel
) -> None:
    await harness.call("create", name="main")
    for turn in range(TURNS):
        # No pause anywhere: each chat_async goes out the moment poll says done.
        started = await harness.client.call_tool(
            "chat_async", {"name": "main", "prompt": f"turn {turn}"}
        )
        assert not started.is_error, f"turn {turn} refused: {started.content}"
        assert started.structured_content is not None
        stream_id, from_seq = started.structured_content["stream_id"], 0
        while True:
            page = await harness.call("poll", stream_id=stream_id, from_seq=from_seq, wait_ms=0)
            from_seq = page["next_seq"]
            if page["done"]:
                break
        assert page["status"] == "completed", page
