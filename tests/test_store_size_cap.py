"""A SQLite file at its size cap (SESSION_TREE_MAX_DB_MB): writes past it are refused and
lose nothing, and deleting a session still frees room, though a delete writes before it
frees: a deleted reply's text goes to the transcript mirror that shares it
(store/_transcript_text.py), and full-text and B-tree pages change."""

from __future__ import annotations

import random
import string
import uuid
from pathlib import Path

import pytest

from session_tree.errors import DatabaseUnwritable
from session_tree.models import NewNode, NodeKind, Usage
from session_tree.store import Store, TranscriptKey

pytestmark = pytest.mark.anyio

KEY: TranscriptKey = {"project_key": "-tmp-work", "session_id": "ballast-1"}


def words(rng: random.Random, count: int) -> str:
    return " ".join(
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(count)
    )


def reply(text: str) -> NewNode:
    return NewNode(kind=NodeKind.TEXT, data={"text": text})


async def ballast_turn(store: Store, text: str) -> None:
    """A kept turn whose reply the transcript mirror holds too (by reference to its node)."""
    await store.sessions.create("ballast")
    start = await store.turns.begin("ballast", NewNode(kind=NodeKind.USER, data={"text": "q"}))
    node = NewNode(kind=NodeKind.TEXT, data={"text": text}, message_uuid="m")
    (written,) = await store.turns.record(
        start.stream.id, start.prompt_node.id, [("text", {"text": text}, node)]
    )
    entry = {
        "type": "assistant",
        "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
        "uuid": str(uuid.uuid4()),
        "sessionId": KEY["session_id"],
    }
    await store.transcripts.append(KEY, [entry])
    await store.turns.finish(
        start.stream.id,
        parent_id=written.id,
        summary=NewNode(kind=NodeKind.SUMMARY, data={"claude_session_id": "c-1"}),
        usage=Usage(turns=1),
        end={},
        claude_session_id="c-1",
    )


async def test_a_file_at_its_cap_refuses_writes_and_can_still_delete_to_make_room(
    tmp_path: Path,
) -> None:
    path = tmp_path / "capped.db"
    rng = random.Random(7)
    reply_text = words(rng, 40_000)  # about 250 KB
    async with Store.open(path) as store:
        await ballast_turn(store, reply_text)
        await store.sessions.create("main")
    cap_mb = path.stat().st_size / 2**20 + 0.05

    async with Store.open(path, max_mb=cap_mb) as store:
        main = await store.sessions.get("main")
        head, stored = main.head_id, 0
        # Writes until the cap refuses one, then smaller ones: the file is full to the brim.
        for size in (40, 1):
            refused: DatabaseUnwritable | None = None
            for _ in range(5000):
                try:
                    head = (await store.nodes.append(head, reply(words(rng, size)))).id
                except DatabaseUnwritable as exc:
                    refused = exc
                    break
                stored += 1
            assert refused is not None
            assert "database or disk is full" in str(refused)
        assert len(await store.nodes.path(head)) == stored + 1  # the root, and each one kept

        await store.sessions.delete("ballast")

        after = await store.nodes.append(head, reply("room again"))
        assert after.parent_id == head
        # The mirror kept the deleted reply's text.
        (entry,) = await store.transcripts.load(KEY) or []
        assert entry["message"]["content"][0]["text"] == reply_text
