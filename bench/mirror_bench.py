"""Transcript mirror: database size against history length for a chain of forks.

    python bench/mirror_bench.py                 # chains of 10, 50 and 200 forks
    python bench/mirror_bench.py --depths 20 --turns-per-fork 2

Each chain starts from a session of one turn; every link is a fork of the
previous one, written as Claude Code writes it (the whole history repeated,
with its session id, prompt id and request session id rewritten) plus one new
turn, through the mirror (the Agent SDK ``SessionStore`` the server uses).
The same transcripts go, in the same run, into a table laid out as the mirror
was before migration 0008 (every entry of every transcript stored whole), as
the baseline. Printed: bytes of the database file per fork, before and after,
and the p50 time to load the deepest transcript.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from session_tree.store import Store
from test_store_mirror_sharing import fork_of, history, key, turn

BEFORE_SCHEMA = """
CREATE TABLE transcript_entries (
    id INTEGER PRIMARY KEY, project_key TEXT NOT NULL, session_id TEXT NOT NULL,
    subpath TEXT NOT NULL DEFAULT '', uuid TEXT, entry TEXT NOT NULL);
CREATE INDEX transcript_entries_key ON transcript_entries(project_key, session_id, subpath, id);
CREATE UNIQUE INDEX transcript_entries_uuid
    ON transcript_entries(project_key, session_id, subpath, uuid) WHERE uuid IS NOT NULL;
"""


def file_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, size = (
            conn.execute("PRAGMA page_count").fetchone()[0],
            conn.execute("PRAGMA page_size").fetchone()[0],
        )
    return int(pages) * int(size)


async def chain(directory: Path, depth: int, turns_per_fork: int) -> dict[str, float]:
    import json

    after, before = directory / f"after-{depth}.db", directory / f"before-{depth}.db"
    old = sqlite3.connect(before)
    old.executescript(BEFORE_SCHEMA)
    entries = history("s0", 1)
    async with Store.open(after) as store:
        await store.transcripts.append(key("s0"), entries)
        old.executemany(
            "INSERT INTO transcript_entries (project_key, session_id, uuid, entry) VALUES (?, ?, ?, ?)",
            [("-tmp-work", "s0", e.get("uuid"), json.dumps(e)) for e in entries],
        )
        start_after, start_before = file_size(after), file_size(before)
        for link in range(1, depth + 1):
            session = f"s{link}"
            entries = fork_of(entries, session)
            for extra in range(turns_per_fork - 1):
                entries += turn(session, "p", entries[-1]["uuid"], 1000 + extra)
            await store.transcripts.append(key(session), entries)
            old.executemany(
                "INSERT INTO transcript_entries (project_key, session_id, uuid, entry) "
                "VALUES (?, ?, ?, ?)",
                [("-tmp-work", session, e.get("uuid"), json.dumps(e)) for e in entries],
            )
            old.commit()
        timings = []
        for _ in range(5):
            began = time.perf_counter()
            loaded = await store.transcripts.load(key(f"s{depth}"))
            timings.append(time.perf_counter() - began)
        assert loaded == entries
    old.close()
    history_bytes = sum(len(json.dumps(e)) for e in entries)
    return {
        "depth": depth,
        "entries": len(entries),
        "history_kib": history_bytes / 1024,
        "before_per_fork": (file_size(before) - start_before) / depth,
        "after_per_fork": (file_size(after) - start_after) / depth,
        "load_ms": statistics.median(timings) * 1000,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--turns-per-fork", type=int, default=1)
    args = parser.parse_args()
    print(
        f"{'forks':>6} {'entries':>8} {'history KiB':>12} {'before B/fork':>14} "
        f"{'after B/fork':>13} {'load p50 ms':>12}"
    )
    with tempfile.TemporaryDirectory() as directory:
        for depth in args.depths:
            r = await chain(Path(directory), depth, args.turns_per_fork)
            print(
                f"{r['depth']:>6} {r['entries']:>8} {r['history_kib']:>12.1f} "
                f"{r['before_per_fork']:>14.0f} {r['after_per_fork']:>13.0f} {r['load_ms']:>12.1f}"
            )


if __name__ == "__main__":
    anyio.run(main)
