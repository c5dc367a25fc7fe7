"""The transcript mirror stores a fork's copy of its history once: loads are exact, forks cheap."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from session_tree.agents import MirrorSessionStore
from session_tree.store import Store, TranscriptKey
from session_tree.store._migrations import MIGRATIONS

pytestmark = pytest.mark.anyio

Entry = dict[str, Any]
BIG_TOOLS = {"tools": [{"name": f"Tool{i}", "description": "does things " * 40} for i in range(20)]}


def key(session_id: str) -> TranscriptKey:
    return {"project_key": "-tmp-work", "session_id": session_id}


def turn(session_id: str, prompt_id: str, parent: str | None, n: int) -> list[Entry]:
    """A user prompt and its reply, shaped as Claude Code writes them."""
    user_uuid, reply_uuid = str(uuid.uuid4()), str(uuid.uuid4())
    return [
        {
            "parentUuid": parent,
            "promptId": prompt_id,
            "type": "user",
            "message": {"role": "user", "content": f"turn {n}"},
            "uuid": user_uuid,
            "sessionId": session_id,
        },
        {
            "parentUuid": user_uuid,
            "message": {"role": "assistant", "content": [{"type": "text", "text": f"reply {n}"}]},
            "type": "assistant",
            "uuid": reply_uuid,
            "sessionId": session_id,
        },
    ]


def header(session_id: str) -> list[Entry]:
    """What a fresh process writes first: entries without a uuid, and a large attachment."""
    return [
        {"type": "mode", "mode": "normal", "sessionId": session_id},
        {"type": "queue-operation", "operation": "enqueue", "sessionId": session_id},
    ]


def snapshot(session_id: str, parent: str | None) -> Entry:
    return {
        "parentUuid": parent,
        "attachment": {"type": "prompt_snapshot", **BIG_TOOLS},
        "type": "attachment",
        "uuid": str(uuid.uuid4()),
        "sessionId": session_id,
    }


def history(session_id: str, turns: int) -> list[Entry]:
    entries = [*header(session_id), snapshot(session_id, None)]
    prompt_id = str(uuid.uuid4())
    for n in range(turns):
        entries += turn(session_id, prompt_id, entries[-1]["uuid"], n)
    return entries


def fork_of(entries: list[Entry], session_id: str) -> list[Entry]:
    """Claude Code's copy of a history into a new session, as resume + fork_session writes it."""
    prompt_id = str(uuid.uuid4())
    copied = []
    for entry in entries:
        if "uuid" not in entry:
            continue
        copy = dict(entry, sessionId=session_id)
        if "promptId" in copy:
            copy["promptId"] = prompt_id
        if copy["type"] == "assistant" and "requestSessionId" not in entry:
            copy["requestSessionId"] = entry["sessionId"]
        copied.append(copy)
    fresh = turn(session_id, prompt_id, copied[-1]["uuid"], len(copied))
    return header(session_id) + copied + fresh


def own_bytes(db_path: Path, session_id: str) -> int:
    """What a transcript holds itself: its row, its entries' rows."""
    with sqlite3.connect(db_path) as conn:
        (tid,) = conn.execute(
            "SELECT id FROM transcripts WHERE session_id = ? AND live = 1", (session_id,)
        ).fetchone()
        (rows,) = conn.execute(
            "SELECT coalesce(sum(length(entry) + coalesce(length(refs), 0) + 60), 0) "
            "FROM transcript_entries WHERE transcript_id = ?",
            (tid,),
        ).fetchone()
        (rules,) = conn.execute(
            "SELECT coalesce(length(rules), 0) FROM transcripts WHERE id = ?", (tid,)
        ).fetchone()
    return int(rows) + int(rules) + 80


@pytest.mark.sqlite_only(reason="measures what the SQLite file holds")
async def test_a_fork_loads_exactly_and_stores_under_a_kilobyte_whatever_its_history(
    store: Store, db_path: Path
) -> None:
    mirror = MirrorSessionStore(store.transcripts)
    sizes = []
    for turns in (5, 50, 200):
        origin, fork = f"origin-{turns}", f"fork-{turns}"
        original = history(origin, turns)
        copied = fork_of(original, fork)
        await mirror.append(key(origin), original)  # type: ignore[arg-type]
        await mirror.append(key(fork), copied)  # type: ignore[arg-type]

        assert await mirror.load(key(origin)) == original
        assert await mirror.load(key(fork)) == copied
        # The fork's own new turn is new conversation, not the fork's cost.
        fresh = sum(len(json.dumps(e, separators=(",", ":"))) + 60 for e in copied[-2:])
        sizes.append(own_bytes(db_path, fork) - fresh)

    assert max(sizes) < 1024, sizes
    assert sizes[-1] - sizes[0] < 64, sizes  # not growing with the history


async def test_a_chain_of_forks_of_forks_loads_each_exactly(store: Store) -> None:
    entries = history("s0", 3)
    chain = [entries]
    await store.transcripts.append(key("s0"), entries)
    for depth in range(1, 12):
        entries = fork_of(entries, f"s{depth}")
        # The SDK writes in batches: a fork's copy may arrive in pieces.
        await store.transcripts.append(key(f"s{depth}"), entries[:3])
        await store.transcripts.append(key(f"s{depth}"), entries[3:])
        chain.append(entries)

    for depth, expected in enumerate(chain):
        assert await store.transcripts.load(key(f"s{depth}")) == expected


async def test_a_retried_batch_of_a_fork_is_stored_once(store: Store) -> None:
    original = history("a", 4)
    copied = fork_of(original, "b")
    await store.transcripts.append(key("a"), original)
    await store.transcripts.append(key("b"), copied)
    await store.transcripts.append(key("b"), copied[5:9])  # uuids it shares with "a"
    more = turn("b", "p", copied[-1]["uuid"], 99)
    await store.transcripts.append(key("b"), more)
    await store.transcripts.append(key("b"), more)

    assert await store.transcripts.load(key("b")) == copied + more


@pytest.mark.sqlite_only(reason="measures what the SQLite file holds")
async def test_deleting_the_origin_keeps_its_fork_whole_and_the_last_delete_frees_all(
    store: Store, db_path: Path
) -> None:
    original = history("a", 4)
    copied = fork_of(original, "b")
    await store.transcripts.append(key("a"), original)
    await store.transcripts.append(key("b"), copied)

    await store.transcripts.delete(key("a"))
    assert await store.transcripts.load(key("a")) is None
    assert await store.transcripts.load(key("b")) == copied
    await store.transcripts.delete(key("b"))

    assert await store.transcripts.load(key("b")) is None
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM transcript_entries").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM transcript_values").fetchone() == (0,)


@pytest.mark.sqlite_only(reason="measures what the SQLite file holds")
async def test_a_large_value_shared_by_many_transcripts_is_stored_once(
    store: Store, db_path: Path
) -> None:
    for n in range(5):
        await store.transcripts.append(key(f"s{n}"), [snapshot(f"s{n}", None)])

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM transcript_values").fetchone() == (1,)
    assert (await store.transcripts.load(key("s3")))[0]["attachment"]["tools"] == BIG_TOOLS["tools"]  # type: ignore[index]


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
edits = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=30),
        st.sampled_from(["set", "drop", "add", "nested", "reorder"]),
        st.text(min_size=1, max_size=3),
        json_scalars,
    ),
    max_size=6,
)


def edited(entries: list[Entry], changes: list[tuple[int, str, str, Any]]) -> list[Entry]:
    out = [dict(e) for e in entries]
    for index, kind, name, value in changes:
        if not out:
            break
        entry = out[index % len(out)]
        if kind == "set":
            entry[name] = value
        elif kind == "drop" and name in entry:
            del entry[name]
        elif kind == "add":
            entry["x" + name] = value
        elif kind == "nested" and isinstance(entry.get("message"), dict):
            entry["message"] = {"extra": value, **entry["message"]}
        elif kind == "reorder":
            out[index % len(out)] = dict(reversed(list(entry.items())))
    return out


def as_text(entries: list[Entry] | None) -> str:
    return json.dumps(entries)  # key order included, at every level


def deduped(entries: list[Entry]) -> list[Entry]:
    """What the mirror keeps: an entry whose uuid it already holds is a retry."""
    seen: set[str] = set()
    kept = []
    for entry in entries:
        found = entry.get("uuid")
        if isinstance(found, str):
            if found in seen:
                continue
            seen.add(found)
        kept.append(entry)
    return kept


@settings(max_examples=40, deadline=None)
@given(changes=edits, split=st.integers(min_value=0, max_value=20))
def test_any_copy_loads_exactly_what_was_appended(
    tmp_path_factory: pytest.TempPathFactory, changes: list[tuple[int, str, str, Any]], split: int
) -> None:
    async def run() -> None:
        path = tmp_path_factory.mktemp("prop") / "t.db"
        async with Store.open(path) as store:
            original = history("a", 5)
            copied = edited(fork_of(original, "b"), changes)
            later = turn("a", "q", None, 7)
            await store.transcripts.append(key("a"), original)
            await store.transcripts.append(key("b"), copied[:split])
            await store.transcripts.append(key("b"), copied[split:])
            await store.transcripts.append(key("a"), later)

            assert as_text(await store.transcripts.load(key("b"))) == as_text(deduped(copied))
            assert as_text(await store.transcripts.load(key("a"))) == as_text(original + later)

    anyio.run(run)


async def test_a_mirror_from_the_schema_before_upgrades_with_every_transcript_kept(
    db_path: Path,
) -> None:
    before = MIGRATIONS[:7]
    assert before[-1][0] == "0007_ids_never_reused"
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    for name, sql in before:
        conn.executescript(sql)
        conn.execute("INSERT INTO migrations VALUES (?, 1.0)", (name,))
    conn.execute("PRAGMA application_id = 1398043237")
    transcripts = {
        ("p", "s1", ""): history("s1", 3),
        ("p", "s1", "subagents/agent-1"): history("s1", 1),
        ("q", "s2", ""): fork_of(history("s1", 3), "s2"),
    }
    for (project, session, subpath), entries in transcripts.items():
        for entry in entries:
            conn.execute(
                "INSERT INTO transcript_entries (project_key, session_id, subpath, uuid, entry) "
                "VALUES (?, ?, ?, ?, ?)",
                (project, session, subpath, entry.get("uuid"), json.dumps(entry)),
            )
        conn.execute(
            "INSERT INTO transcript_files VALUES (?, ?, ?, 7)", (project, session, subpath)
        )
    conn.commit()
    conn.close()

    async with Store.open(db_path) as store:
        for (project, session, subpath), entries in transcripts.items():
            found = await store.transcripts.load(
                {"project_key": project, "session_id": session, "subpath": subpath}
            )
            assert as_text(found) == as_text(entries)
        assert await store.transcripts.list_subkeys(key("s1") | {"project_key": "p"}) == [
            "subagents/agent-1"
        ]
        more = turn("s2", "x", None, 9)
        await store.transcripts.append({"project_key": "q", "session_id": "s2"}, more)
        assert await store.transcripts.load({"project_key": "q", "session_id": "s2"}) == (
            transcripts[("q", "s2", "")] + more
        )
