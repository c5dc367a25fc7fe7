"""How a mirrored transcript's entries are laid out in the database.

A transcript is its own entries plus at most one shared block: the first
``base_count`` uuid entries of a base transcript, passed through field rules
(``_transcript_sharing``) learned from the copy and checked against it entry by
entry. Large top-level values are stored once by content in
``transcript_values``. ``_transcripts`` holds the mirror's operations; this
module, the rows beneath them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from . import _rows
from . import _transcript_sharing as _sharing
from . import _transcript_text as _text
from ._database import Reads, reads
from ._sql import Connection

TranscriptEntry = dict[str, Any]
"""One line of a transcript: an opaque JSON object."""

# A top-level value at least this long (as JSON) is stored once by content.
_SHARED_VALUE_BYTES = 256
# Placing a shared block looks at this many transcripts holding its last entry.
_MAX_BASE_CANDIDATES = 8


async def append_entries(
    conn: Connection, parts: tuple[str, str, str], entries: list[TranscriptEntry]
) -> None:
    db = reads(conn)
    row = await db.one(
        "SELECT id, base_id, length FROM transcripts WHERE project_key = ? AND session_id = ? "
        "AND subpath = ? AND live = 1",
        parts,
    )
    if row is None:
        cursor = await conn.execute(
            "INSERT INTO transcripts (project_key, session_id, subpath) VALUES (?, ?, ?)", parts
        )
        assert cursor.lastrowid is not None
        transcript_id, base_id, length = cursor.lastrowid, None, 0
    else:
        transcript_id, base_id, length = row[0], row[1], row[2]
    own_uuid = await db.one(
        "SELECT 1 FROM transcript_entries WHERE transcript_id = ? AND uuid IS NOT NULL LIMIT 1",
        (transcript_id,),
    )
    if own_uuid is None:
        # Still (possibly) a copy of another transcript's history: plan it again, whole.
        current = await effective(db, transcript_id)
        await _replan(conn, transcript_id, current + _fresh(entries, current))
    else:
        known = await _known_uuids(db, transcript_id, base_id, entries)
        own = list(enumerate(_fresh(entries, known), start=length))
        await _insert_own(conn, transcript_id, own)
        await conn.execute(
            "UPDATE transcripts SET length = (SELECT coalesce(max(seq), -1) + 1 FROM "
            "transcript_entries WHERE transcript_id = ?) WHERE id = ?",
            (transcript_id, transcript_id),
        )
    # A reply's node may already hold the text a new value repeats.
    await _text.share(conn)


def _uuid(entry: TranscriptEntry) -> str | None:
    value = entry.get("uuid")
    return value if isinstance(value, str) else None


def _fresh(
    entries: list[TranscriptEntry], known: list[TranscriptEntry] | set[str]
) -> list[TranscriptEntry]:
    """``entries`` without those whose uuid is known (or repeated within the batch)."""
    seen = known if isinstance(known, set) else {u for e in known if (u := _uuid(e))}
    seen = set(seen)
    fresh = []
    for entry in entries:
        found = _uuid(entry)
        if found is not None:
            if found in seen:
                continue
            seen.add(found)
        fresh.append(entry)
    return fresh


async def _known_uuids(
    db: Reads, transcript_id: int, base_id: int | None, entries: list[TranscriptEntry]
) -> set[str]:
    """Which of the entries' uuids the transcript already holds (own or shared)."""
    wanted = sorted({u for e in entries if (u := _uuid(e))})
    if not wanted:
        return set()
    chain = [transcript_id] + ([] if base_id is None else await _chain(db, base_id))
    marks = ", ".join("?" * len(chain))
    found: set[str] = set()
    for start in range(0, len(wanted), 400):
        part = wanted[start : start + 400]
        rows = await db.all(
            f"SELECT transcript_id, uuid FROM transcript_entries WHERE uuid IN "
            f"({', '.join('?' * len(part))}) AND transcript_id IN ({marks})",
            (*part, *chain),
        )
        found |= {row[1] for row in rows if row[0] == transcript_id}
        if any(row[0] != transcript_id for row in rows):
            # Rare (a retried batch of a fork): ask the whole transcript.
            return {u for e in await effective(db, transcript_id) if (u := _uuid(e))}
    return found


async def _chain(db: Reads, transcript_id: int) -> list[int]:
    """The transcript and its bases, nearest first."""
    rows = await db.all(
        "WITH RECURSIVE up(id, base_id) AS (SELECT id, base_id FROM transcripts WHERE id = ? "
        "UNION ALL SELECT t.id, t.base_id FROM transcripts t JOIN up ON t.id = up.base_id) "
        "SELECT id FROM up",
        (transcript_id,),
    )
    return [row[0] for row in rows]


async def _replan(conn: Connection, transcript_id: int, entries: list[TranscriptEntry]) -> None:
    """Store ``entries`` as the whole of the transcript, sharing what it can."""
    db = reads(conn)
    plan = await _best_block(db, transcript_id, entries)
    await conn.execute("DELETE FROM transcript_entries WHERE transcript_id = ?", (transcript_id,))
    if plan is None:
        at = count = 0
        base_id: int | None = None
        rules: str | None = None
    else:
        base_id, at, count, learned = plan
        rules = _rows.dumps(learned)
    own = [(seq, e) for seq, e in enumerate(entries) if not at <= seq < at + count]
    await _insert_own(conn, transcript_id, own)
    await conn.execute(
        "UPDATE transcripts SET base_id = ?, base_at = ?, base_count = ?, rules = ?, length = ? "
        "WHERE id = ?",
        (base_id, at, count, rules, len(entries), transcript_id),
    )


async def _best_block(
    db: Reads, transcript_id: int, entries: list[TranscriptEntry]
) -> tuple[int, int, int, _sharing.Rules] | None:
    """(base, at, count, rules) of the longest block ``entries`` can share, if any."""
    at = next((i for i, e in enumerate(entries) if _uuid(e) is not None), None)
    if at is None:
        return None
    end = at
    while end < len(entries) and _uuid(entries[end]) is not None:
        end += 1
    run = entries[at:end]
    candidates: list[int] = []
    for entry in reversed(run):  # the copy's last entry is the one the resume was cut at
        rows = await db.all(
            "SELECT DISTINCT transcript_id FROM transcript_entries WHERE uuid = ? "
            "AND transcript_id != ? LIMIT ?",
            (_uuid(entry), transcript_id, _MAX_BASE_CANDIDATES),
        )
        if rows:
            candidates = [row[0] for row in rows]
            break
    best: tuple[int, int, int, _sharing.Rules] | None = None
    for candidate in candidates:
        if transcript_id in await _chain(db, candidate):
            continue  # it shares this transcript's entries: basing on it would loop
        base = [e for e in await effective(db, candidate) if _uuid(e) is not None]
        count, rules = _sharing.match(base, run)
        if count > 0 and (best is None or count > best[2]):
            best = (candidate, at, count, rules)
    return best


async def _insert_own(
    conn: Connection, transcript_id: int, entries: Sequence[tuple[int, TranscriptEntry]]
) -> None:
    rows = []
    for seq, entry in entries:
        skeleton, refs = await _split(conn, entry)
        rows.append((transcript_id, seq, _uuid(entry), skeleton, refs))
    await conn.executemany(
        "INSERT INTO transcript_entries (transcript_id, seq, uuid, entry, refs) VALUES (?, ?, ?, ?, ?)",
        rows,
    )


async def _split(conn: Connection, entry: TranscriptEntry) -> tuple[str, str | None]:
    """The entry with its large top-level values replaced by null, and where they are."""
    skeleton = dict(entry)
    refs: dict[str, int] = {}
    for name, value in entry.items():
        if not isinstance(value, dict | list | str):
            continue
        text = _rows.dumps(value)
        if len(text) < _SHARED_VALUE_BYTES:
            continue
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        await conn.execute(
            "INSERT INTO transcript_values (digest, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (digest, text),
        )
        async with conn.execute(
            "SELECT id FROM transcript_values WHERE digest = ?", (digest,)
        ) as cursor:
            found = await cursor.fetchone()
        assert found is not None
        refs[name] = found[0]
        skeleton[name] = None
    return _rows.dumps(skeleton), (_rows.dumps(refs) if refs else None)


async def effective(db: Reads, transcript_id: int) -> list[TranscriptEntry]:
    """Every entry of the transcript, in order: its own, and its block's from its bases."""
    entries: list[TranscriptEntry] = []
    for level in reversed(await _chain(db, transcript_id)):
        row = await db.one(
            "SELECT base_id, base_at, base_count, rules FROM transcripts WHERE id = ?", (level,)
        )
        assert row is not None
        own = await _own(db, level)
        block: list[TranscriptEntry] = []
        if row[0] is not None:
            rules = _sharing.parse_rules(row[3])
            shared = [e for e in entries if _uuid(e) is not None][: row[2]]
            if len(shared) != row[2]:
                raise RuntimeError(f"transcript {level} shares more entries than its base holds")
            block = [_sharing.apply(rules, e) for e in shared]
        at = row[1]
        entries = [e for seq, e in own if seq < at] + block + [e for seq, e in own if seq >= at]
    return entries


async def _own(db: Reads, transcript_id: int) -> list[tuple[int, TranscriptEntry]]:
    rows = await db.all(
        "SELECT seq, entry, refs FROM transcript_entries WHERE transcript_id = ? ORDER BY seq",
        (transcript_id,),
    )
    wanted = sorted({ref for row in rows if row[2] for ref in _rows.loads_object(row[2]).values()})
    values: dict[int, str] = {}
    for start in range(0, len(wanted), 400):
        part = wanted[start : start + 400]
        found = await db.all(
            f"SELECT transcript_values.id, {_text.WHOLE_VALUE} FROM transcript_values "
            "LEFT JOIN nodes ON nodes.id = transcript_values.node_id "
            f"WHERE transcript_values.id IN ({', '.join('?' * len(part))})",
            tuple(part),
        )
        values.update((r[0], r[1]) for r in found)
    own = []
    for seq, text, refs in rows:
        entry = _rows.loads_object(text)
        if refs:
            for name, ref in _rows.loads_object(refs).items():
                entry[name] = json.loads(values[ref])
        own.append((seq, entry))
    return own


async def collect_garbage(conn: Connection) -> None:
    """Delete deleted transcripts no fork shares any more, then values nothing refers to."""
    while True:
        async with conn.execute(
            "SELECT id FROM transcripts t WHERE live = 0 AND (length > 0 OR base_id IS NOT NULL) "
            "AND NOT EXISTS "
            "(SELECT 1 FROM transcripts c WHERE c.base_id = t.id)"
        ) as cursor:
            gone = [row[0] for row in await cursor.fetchall()]
        if not gone:
            break
        for transcript_id in gone:
            await conn.execute(
                "DELETE FROM transcript_entries WHERE transcript_id = ?", (transcript_id,)
            )
            # The row stays, empty, as a record that the key was deleted (``known``).
            await conn.execute(
                "UPDATE transcripts SET base_id = NULL, base_at = 0, base_count = 0, rules = NULL, "
                "length = 0 WHERE id = ?",
                (transcript_id,),
            )
    await conn.execute(
        "DELETE FROM transcript_values WHERE id NOT IN (SELECT value FROM transcript_entries, "
        "json_each(transcript_entries.refs) WHERE transcript_entries.refs IS NOT NULL)"
    )
