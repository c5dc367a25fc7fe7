"""Database growth per reply: a reply of N bytes should grow the file by at most about 2N.

    python bench/reply_growth_bench.py                      # replies of 100 KB and 300 KB
    python bench/reply_growth_bench.py --sizes 100000 --part 20

Everything is real except the model: a real MCP client starts ``session-tree
serve``, whose child is the real ``claude``; the scripted model streams each
reply as text deltas of ``--part / 2`` to ``3 * --part / 2`` bytes (``--part``
40 by default, about what the API sends: a few tokens a delta). After each reply the database is copied with
``VACUUM INTO`` (so free pages and the WAL do not count) and measured table by
table (``dbstat``). The baseline, in the same run: the same copy with every
event stored as its own row again, as before migration 0013 (the events as
``poll`` returns them, written back one row each). Printed per reply: bytes
added in all, by nodes, events, the transcript mirror, the full-text search
index and the rest, as a multiple of N, and whether every event read back equals what was read live.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

from session_tree.store import Store
from session_tree.testing import ScriptedModel, text
from turn_bench import Server, serve

GROUPS = {
    "nodes": ("nodes",),
    "events": ("events", "event_runs"),
    "mirror": ("transcript",),
    "search": ("node_fts",),
}
VOCABULARY = 3000


def reply_text(size: int, part: int) -> list[str]:
    """``size`` characters of prose-like words (a vocabulary of 3,000 made-up words, drawn
    with Zipf's weights, as words of a language are), cut into deltas of ``part / 2`` to
    ``3 * part / 2`` characters, as the API's deltas vary."""
    rng = random.Random(size)
    letters = "etaoinshrdlucmfwypvbgkjqxz"
    vocabulary = ["".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(VOCABULARY)]
    weights = [1 / rank for rank in range(1, VOCABULARY + 1)]
    words: list[str] = []
    length = 0
    while length < size:
        chosen = rng.choices(vocabulary, weights, k=256)
        words.extend(chosen)
        length += sum(len(word) + 1 for word in chosen)
    whole = " ".join(words)[:size]
    parts, start = [], 0
    while start < size:
        step = rng.randint(max(1, part // 2), part * 3 // 2)
        parts.append(whole[start : start + step])
        start += step
    return parts


def vacuumed(db_path: Path, into: Path) -> None:
    into.unlink(missing_ok=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute("VACUUM INTO ?", (str(into),))


def measure(path: Path) -> dict[str, int]:
    """Bytes by group (dbstat: a table's pages and its indexes'), and the file's size."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT dbstat.name, coalesce(m.tbl_name, dbstat.name), sum(pgsize) FROM dbstat "
            "LEFT JOIN sqlite_master m ON m.name = dbstat.name GROUP BY dbstat.name"
        ).fetchall()
    out = dict.fromkeys((*GROUPS, "other"), 0)
    for _, table, size in rows:
        group = next(
            (g for g, prefixes in GROUPS.items() if any(table.startswith(p) for p in prefixes)),
            "other",
        )
        out[group] += int(size)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    out["file"] = int(pages) * int(page_size)
    return out


async def as_before(path: Path) -> None:
    """The database as it would be with every event one row (the layout before 0013)."""
    async with Store.open(path) as store:
        streams = [int(row[0]) for row in await store.db.all("SELECT id FROM streams")]
        events = {}
        for stream_id in streams:
            events[stream_id] = await read_all(store, stream_id)
    with sqlite3.connect(path) as conn:
        has_runs = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'event_runs'").fetchone()
        if has_runs:
            conn.execute("DELETE FROM event_runs")
        conn.execute("DELETE FROM events")
        conn.executemany(
            "INSERT INTO events (stream_id, seq, kind, data, created_at) VALUES (?, ?, ?, ?, ?)",
            [
                (e.stream_id, e.seq, e.kind, dumps(e.data), e.created_at)
                for stream in events.values()
                for e in stream
            ],
        )
        conn.commit()
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def dumps(value: Any) -> str:
    from session_tree.store._rows import dumps as store_dumps

    return store_dumps(value)


async def read_all(store: Store, stream_id: int) -> list[Any]:
    out: list[Any] = []
    while batch := await store.streams.read(stream_id, from_seq=len(out), limit=10_000):
        out.extend(batch)
    return out


async def reply(server: Server, model: ScriptedModel, prompt: str, parts: list[str]) -> list[Any]:
    """One chat answered with ``parts``; the stream's events as read live through poll."""
    model.push(text(*parts))
    started = await server.call("chat_async", name="growth", prompt=prompt)
    stream_id = int(started["stream_id"])
    events: list[Any] = []
    with anyio.fail_after(300):
        while True:
            page = await server.call(
                "poll", stream_id=stream_id, from_seq=len(events), wait_ms=5000, limit=1000
            )
            events.extend(page["events"])
            if page["done"]:
                break
    return events


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--part", type=int, default=40)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="reply-growth-") as tmp,
        ScriptedModel() as model,
    ):
        directory = Path(tmp)
        (directory / "work").mkdir()
        results = []
        async with serve(directory, model, "growth") as server:
            await server.call("create", name="growth")
            await reply(server, model, "warm up", ["hello"])
            for index, size in enumerate(args.sizes):
                parts = reply_text(size, args.part)
                copies = [directory / f"{name}.db" for name in ("a", "a-old", "b", "b-old")]
                before_copy, before_old, after_copy, after_old = copies
                vacuumed(server.db_path, before_copy)
                live = await reply(server, model, f"reply {index}", parts)
                vacuumed(server.db_path, after_copy)
                for copy, old in ((before_copy, before_old), (after_copy, after_old)):
                    vacuumed(copy, old)
                    await as_before(old)
                start, now = measure(before_copy), measure(after_copy)
                base, then = measure(before_old), measure(after_old)
                async with Store.open(after_copy) as store:
                    stored = await read_all(store, int(live[0]["stream_id"]))
                same = [(e.seq, e.kind, e.data, e.created_at) for e in stored] == [
                    (e["seq"], e["kind"], e["data"], e["created_at"]) for e in live
                ]
                results.append((size, len(parts), start, base, now, then, same))
    print(
        f"reply growth bench (python {sys.version.split()[0]}): real claude, scripted model, "
        f"text deltas of {args.part // 2}-{args.part * 3 // 2} bytes; bytes added per reply, after VACUUM INTO"
    )
    header = f"{'reply':>9}{'deltas':>8}  {'layout':<8}{'total':>11}{'xN':>7}"
    header += "".join(f"{g:>11}" for g in (*GROUPS, "other"))
    print(header)
    for size, deltas, start, base, now, then, same in results:
        for label, before, after in (("before", base, then), ("after", start, now)):
            added = {k: after[k] - before[k] for k in after}
            line = (
                f"{size:>9}{deltas:>8}  {label:<8}{added['file']:>11}{added['file'] / size:>7.2f}"
            )
            line += "".join(f"{added[g]:>11}" for g in (*GROUPS, "other"))
            print(line)
        print(f"{'':>17}events read back equal to those polled live: {same}")


if __name__ == "__main__":
    anyio.run(main)
