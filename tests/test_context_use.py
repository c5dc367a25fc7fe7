"""Context in use: the window of each model, and the tokens a branch takes, read from an
imported transcript's records and from the transcript mirror, on a real SQLite store."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from session_tree.agents import project_key
from session_tree.models import NewNode, NodeKind, SessionConfig
from session_tree.service import import_transcript
from session_tree.service._context_use import (
    DEFAULT_CONTEXT_WINDOW,
    context_use,
    context_window,
)
from session_tree.store import Store

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("model", "configured", "window", "known"),
    [
        ("claude-sonnet-4-5-20250929", None, 200_000, True),
        ("claude-haiku-4-5", "haiku", 200_000, True),
        ("claude-3-5-haiku-20241022", None, 200_000, True),
        ("claude-opus-5-5", "opus", 1_000_000, True),
        # The API names the model without the suffix that asked for the 1M beta.
        ("claude-sonnet-4-5", "claude-sonnet-4-5[1m]", 1_000_000, True),
        (None, "claude-opus-4-1", 200_000, True),
        ("some-other-model", None, DEFAULT_CONTEXT_WINDOW, False),
        (None, None, DEFAULT_CONTEXT_WINDOW, False),
    ],
)
def test_each_model_has_its_window_and_others_the_default(
    model: str | None, configured: str | None, window: int, known: bool
) -> None:
    assert context_window(model, configured) == (window, known)


def record(kind: str, parent: str | None, message: dict[str, Any], cwd: Path) -> dict[str, Any]:
    return {
        "parentUuid": parent,
        "isSidechain": False,
        "type": kind,
        "uuid": str(uuid.uuid4()),
        "timestamp": "2026-01-02T03:04:05.678Z",
        "cwd": str(cwd),
        "sessionId": "11111111-2222-3333-4444-555555555555",
        "message": message,
    }


def reply(parent: str, text: str, usage: dict[str, int], cwd: Path) -> dict[str, Any]:
    message = {
        "id": "msg_" + uuid.uuid4().hex[:8],
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": text}],
        "usage": usage,
    }
    return record("assistant", parent, message, cwd)


async def test_an_imported_session_knows_the_context_of_each_of_its_turns(
    store: Store, tmp_path: Path
) -> None:
    q1 = record("user", None, {"role": "user", "content": "q1"}, tmp_path)
    a1 = reply(q1["uuid"], "a1", {"input_tokens": 1000, "output_tokens": 100}, tmp_path)
    q2 = record("user", a1["uuid"], {"role": "user", "content": "q2"}, tmp_path)
    usage = {
        "input_tokens": 3,
        "cache_read_input_tokens": 1100,
        "cache_creation_input_tokens": 200,
        "output_tokens": 50,
    }
    a2 = reply(q2["uuid"], "a2", usage, tmp_path)
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (q1, a1, q2, a2)))

    imported = await import_transcript(store, path, name="imported")
    first_turn_end = next(
        node.id
        for node in await store.nodes.path(imported.session.head_id)
        if node.kind is NodeKind.SUMMARY
    )
    early = await store.sessions.fork("imported", "early", at=first_turn_end)
    root = await store.sessions.create("empty", SessionConfig())

    now = await context_use(store, imported.session)
    before = await context_use(store, early)

    assert now is not None
    assert before is not None
    assert (now.tokens, now.window, now.percent) == (1353, 200_000, 0.7)
    assert now.model == "claude-sonnet-4-5-20250929"
    assert now.window_known
    assert before.tokens == 1100
    assert await context_use(store, root) is None


async def test_a_turn_without_a_recorded_context_is_read_from_the_mirror(
    store: Store, tmp_path: Path
) -> None:
    claude_session_id = str(uuid.uuid4())
    last = str(uuid.uuid4())
    session = await store.sessions.create("run", SessionConfig(cwd=str(tmp_path)))
    (summary,) = await store.nodes.append_chain(
        session.head_id,
        [
            NewNode(
                kind=NodeKind.SUMMARY,
                data={"claude_session_id": claude_session_id, "resume_at": last},
            )
        ],
    )
    session = await store.sessions.set_head("run", summary.id)
    missing = await context_use(store, session)
    response = {"model": "claude-opus-5-5", "usage": {"input_tokens": 5000, "output_tokens": 7}}
    await store.transcripts.append(
        {"project_key": project_key(str(tmp_path)), "session_id": claude_session_id},
        [
            {"type": "assistant", "uuid": str(uuid.uuid4()), "message": {"usage": {}}},
            {"type": "assistant", "uuid": last, "message": response},
        ],
    )

    found = await context_use(store, session)

    assert missing is None
    assert found is not None
    assert (found.tokens, found.window, found.model) == (5007, 1_000_000, "claude-opus-5-5")
