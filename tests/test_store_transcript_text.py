"""A mirrored reply's text kept by reference to its node (store/_transcript_text.py): the mirror
loads exactly what was appended, byte for byte, whichever of the node and the entry came first,
and after the node is swept or collected; a long reply's text is stored once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_tree.models import NewNode, NodeKind, StreamStatus, Usage
from session_tree.store import Store, TranscriptKey
from session_tree.store._transcript_text import MIN_SHARED_CHARS

KEY: TranscriptKey = {"project_key": "-tmp-work", "session_id": "s-1"}
SUMMARY = NewNode(kind=NodeKind.SUMMARY, data={"claude_session_id": "c-1"})


def exact(entries: list[dict[str, Any]] | None) -> str:
    """JSON text with key order kept: what claude --resume would read."""
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":"))


def assistant(block: dict[str, Any], extra: str) -> dict[str, Any]:
    """An assistant entry as Claude Code writes it: one content block, usage after it."""
    return {
        "parentUuid": None,
        "type": "assistant",
        "message": {
            "id": "msg_1",
            "role": "assistant",
            "content": [block],
            "stop_reason": None,
            "usage": {"input_tokens": 3, "output_tokens": 9, "note": extra},
        },
        "uuid": str(uuid.uuid4()),
        "sessionId": "s-1",
    }


async def shared_values(store: Store) -> list[int | None]:
    return [row[0] for row in await store.db.all("SELECT node_id FROM transcript_values")]


async def run(db_path: str | Path, field: str, body: str, extra: str, order: str, end: str) -> None:
    ephemeral = end == "ephemeral"
    kind = NodeKind.TEXT if field == "text" else NodeKind.THINKING
    node_data: dict[str, Any] = {field: body}
    block: dict[str, Any] = {"type": field, field: body}
    if field == "thinking":
        node_data["signature"] = "sig"
        block["signature"] = "sig"
    entries = [
        {"type": "mode", "mode": "normal", "sessionId": "s-1"},
        assistant(block, extra),
    ]
    async with Store.open(db_path) as store:
        session = await store.sessions.create("main")
        start = await store.turns.begin(
            "main", NewNode(kind=NodeKind.USER, data={"text": "q"}, ephemeral=ephemeral)
        )
        stream_id, parent = start.stream.id, start.prompt_node.id
        if order == "mirror first":
            await store.transcripts.append(KEY, entries)
        node = NewNode(kind=kind, data=node_data, ephemeral=ephemeral, message_uuid="m")
        (written,) = await store.turns.record(stream_id, parent, [(field, dict(node_data), node)])
        if order == "node first":
            await store.transcripts.append(KEY, entries)
        if end == "interrupted":
            await store.turns.end_early(
                stream_id, StreamStatus.INTERRUPTED, "stopped", ("interrupted", {"reason": "x"})
            )
        else:
            await store.turns.finish(
                stream_id,
                parent_id=written.id,
                summary=SUMMARY,
                usage=Usage(turns=1),
                end={},
                claude_session_id=None if end in ("failed", "ephemeral") else "c-1",
                error="it broke" if end == "failed" else None,
            )
        if order == "after the turn":
            await store.transcripts.append(KEY, entries)
        assert exact(await store.transcripts.load(KEY)) == exact(entries)
        # Stored by reference once long enough, whichever came first.
        expected = written.id if len(body) >= MIN_SHARED_CHARS else None
        assert [n for n in await shared_values(store) if n is not None] == (
            [] if expected is None else [expected]
        )
        # The node gone: swept (ephemeral) or collected (failed, interrupted).
        if ephemeral:
            await store.nodes.sweep_ephemeral(session.tree_id)
        elif end in ("failed", "interrupted"):
            await store.nodes.collect_garbage(session.tree_id)
        if end != "kept":
            assert written.id not in await shared_values(store)
        assert exact(await store.transcripts.load(KEY)) == exact(entries)
    async with Store.open(db_path) as store:
        assert exact(await store.transcripts.load(KEY)) == exact(entries)


texts = st.builds(
    lambda piece, repeat: piece * repeat,
    st.text(max_size=40),
    st.integers(min_value=1, max_value=200),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    field=st.sampled_from(["text", "thinking"]),
    body=texts,
    extra=st.text(max_size=10),
    order=st.sampled_from(["node first", "mirror first", "after the turn"]),
    end=st.sampled_from(["kept", "kept", "failed", "interrupted", "ephemeral"]),
)
def test_the_mirror_loads_what_was_appended_exactly(
    new_db_location: Callable[[], str | Path],
    field: str,
    body: str,
    extra: str,
    order: str,
    end: str,
) -> None:
    anyio.run(run, new_db_location(), field, body, extra, order, end, backend="asyncio")


@pytest.mark.anyio
@pytest.mark.parametrize("order", ["node first", "mirror first"])
async def test_a_long_reply_is_stored_once(db_location: str | Path, order: str) -> None:
    body = 'a "quoted"\nline, é and 😀 ' * 4000
    await run(db_location, "text", body, "", order, "kept")

    async with Store.open(db_location) as store:
        (row,) = await store.db.all("SELECT sum(length(value)) FROM transcript_values")
    value_chars = int(row[0])
    # The value holds the entry's message without the reply: a few hundred characters.
    assert value_chars < 1000 < len(body)
