"""Nothing lost across servers: two servers on one database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from session_tree.testing import ScriptedModel, text

from .harness import first_delta_stored, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_a_second_server_on_the_database_leaves_the_firsts_turn_running(
    tmp_path: Path, model: ScriptedModel
) -> None:
    gate = threading.Event()
    model.push(text("slow ", "reply", gate=gate, gate_after_deltas=1))
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    async with serve(tmp_path, model) as first:
        await first.call("create", name="main")
        stream_id = (await first.call("chat_async", name="main", prompt="slow"))["id"]
        try:
            await first_delta_stored(first, "main")
            async with serve(second_dir, model, db_path=first.db_path) as second:
                seen = await second.call("poll", stream_id=stream_id, from_seq=0)
                busy = await second.call_error("chat", name="main", prompt="me too")
        finally:
            gate.set()
        events = await first.poll_to_end(stream_id)

    assert seen["status"] == "running"
    assert f"stream {stream_id}" in busy
    assert events[-1]["kind"] == "turn_end"
