"""A long reply's events, kept as runs once its turn ends (store/_event_runs.py), are what
poll returned while it ran: from seq 0 and from inside the run, in small pages, and after a
restart of the server. Through the real parts: MCP client, ``session-tree serve``, claude."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_tree.testing import ScriptedModel, text

from .harness import Harness, query, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.both_backends]


async def stored_runs(harness: Harness, stream_id: int) -> tuple[int, int]:
    """(events rows, events held in runs) of the stream."""
    ((rows,),) = await query(
        harness, "SELECT count(*) FROM events WHERE stream_id = ?", (stream_id,)
    )
    ((in_runs,),) = await query(
        harness,
        "SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM event_runs WHERE stream_id = ?",
        (stream_id,),
    )
    return int(rows), int(in_runs)


async def pages(harness: Harness, stream_id: int, from_seq: int, limit: int) -> list[object]:
    out: list[object] = []
    while True:
        page = await harness.call("poll", stream_id=stream_id, from_seq=from_seq, limit=limit)
        out.extend(page["events"])
        from_seq = page["next_seq"]
        if page["done"]:
            return out


async def test_a_finished_long_reply_polls_as_it_did_live(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    parts = [f"part {i:04d} of a long reply; " for i in range(400)]
    model.push(text(*parts))
    await harness.call("create", name="main")
    stream_id = int((await harness.call("chat_async", name="main", prompt="talk"))["stream_id"])

    live = await harness.poll_to_end(stream_id, wait_ms=2000)

    assert [e["seq"] for e in live] == list(range(len(live)))
    assert "".join(e["data"]["text"] for e in live if e["kind"] == "text_delta") == "".join(parts)
    rows, in_runs = await stored_runs(harness, stream_id)
    assert in_runs >= len(parts) + 1  # the deltas and their block, at least
    assert rows + in_runs == len(live)
    assert await pages(harness, stream_id, 0, 7) == live
    assert await pages(harness, stream_id, 150, 33) == live[150:]
    model.push(text("ok"))
    assert (await harness.call("chat", name="main", prompt="again"))["text"] == "ok"

    # Another server on the same database reads the same events.
    (tmp_path / "second").mkdir()
    async with serve(tmp_path / "second", model, db_path=harness.db_path) as second:
        assert await pages(second, stream_id, 0, 1000) == live
