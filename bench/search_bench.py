"""Full-text search: query time over 100,000 nodes, and the migration's time on a ~100 MiB file.

    python bench/search_bench.py [--nodes 100000] [--queries 300] [--migrate-mb 100]

Search: a store of sessions whose turns (prompt, thinking, tool use, tool
result, reply, summary) are drawn from a 5,000-word vocabulary; the service's
search (placing each hit on its session and turn summary, 20 hits a page) for
random single words, word pairs and two-word phrases. Migration: a file at the
schema before ``0010_titles_and_search`` filled with ~100 MiB of nodes, then
opened (which builds the index from every node).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from session_tree.models import NewNode, NodeKind
from session_tree.service._search import SessionFilter, search
from session_tree.service._search import infos as session_rows
from session_tree.store import Store
from session_tree.store._migrations import APPLICATION_ID, MIGRATIONS

OURS = "0010_titles_and_search"
WORDS = [f"w{n:04d}" for n in range(5000)]


def sentence(rng: random.Random, length: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(length))


def turn(rng: random.Random) -> list[NewNode]:
    return [
        NewNode(kind=NodeKind.USER, data={"text": sentence(rng, 20)}),
        NewNode(kind=NodeKind.THINKING, data={"thinking": sentence(rng, 40), "signature": "s"}),
        NewNode(
            kind=NodeKind.TOOL_USE,
            data={"id": "t", "name": "Bash", "input": {"command": sentence(rng, 8)}},
        ),
        NewNode(kind=NodeKind.TOOL_RESULT, data={"tool_use_id": "t", "content": sentence(rng, 60)}),
        NewNode(kind=NodeKind.TEXT, data={"text": sentence(rng, 40)}),
        NewNode(kind=NodeKind.SUMMARY, data={"usage": {"cost_usd": 0.01}}),
    ]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_search(directory: Path, nodes: int, queries: int) -> None:
    rng = random.Random(7)
    async with Store.open(directory / "search.db") as store:
        started = time.perf_counter()
        written, session_number = 0, 0
        while written < nodes:
            session = await store.sessions.create(f"s{session_number}")
            chain = [node for _ in range(10) for node in turn(rng)]
            appended = await store.nodes.append_chain(session.head_id, chain)
            await store.sessions.set_head(session.name, appended[-1].id)
            written += len(chain)
            session_number += 1
        print(
            f"wrote {written} nodes in {session_number} sessions in {time.perf_counter() - started:.1f} s"
        )
        rows = session_rows(await store.sessions.overview(), {}, lambda name: False)
        kinds: dict[str, Callable[[], tuple[str, bool]]] = {
            "word": lambda: (rng.choice(WORDS), False),
            "two words": lambda: (f"{rng.choice(WORDS)} {rng.choice(WORDS)}", False),
            "phrase": lambda: (f"{rng.choice(WORDS)} {rng.choice(WORDS)}", True),
        }
        for label, make in kinds.items():
            times, hits = [], []
            for _ in range(queries):
                query, phrase = make()
                begun = time.perf_counter()
                result = await search(
                    store,
                    rows,
                    query,
                    phrase=phrase,
                    filters=SessionFilter(),
                    before=None,
                    limit=20,
                )
                times.append((time.perf_counter() - begun) * 1000)
                hits.append(len(result.hits))
            print(
                f"search ({label}): p50 {quantile(times, 0.5):.2f} ms, p99 {quantile(times, 0.99):.2f} ms, "
                f"mean hits {statistics.mean(hits):.1f}"
            )


def build_before_ours(path: Path, megabytes: int) -> int:
    rng = random.Random(11)
    before = MIGRATIONS[: [name for name, _ in MIGRATIONS].index(OURS)]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    for name, sql in before:
        conn.executescript(sql)
        conn.execute("INSERT INTO migrations VALUES (?, 1.0)", (name,))
    conn.execute("BEGIN")
    node_id, tree = 0, 0
    kinds = ["user", "thinking", "tool_use", "tool_result", "text", "summary"]
    wal = path.with_name(path.name + "-wal")
    while path.stat().st_size + (wal.stat().st_size if wal.exists() else 0) < megabytes * 2**20:
        tree += 1
        conn.execute("INSERT INTO trees (id, created_at) VALUES (?, 1.0)", (tree,))
        node_id += 1
        root = node_id
        conn.execute(
            "INSERT INTO nodes (id, tree_id, parent_id, kind, data, depth, created_at) "
            "VALUES (?, ?, NULL, 'root', '{}', 0, 1.0)",
            (root, tree),
        )
        parent = root
        for depth in range(1, 301):
            node_id += 1
            kind = kinds[depth % len(kinds)]
            data: dict[str, object] = {"text": sentence(rng, 40)}
            if kind == "tool_use":
                data = {"name": "Bash", "input": {"command": sentence(rng, 40)}}
            elif kind == "tool_result":
                data = {"content": sentence(rng, 40)}
            elif kind == "thinking":
                data = {"thinking": sentence(rng, 40)}
            conn.execute(
                "INSERT INTO nodes (id, tree_id, parent_id, kind, data, depth, created_at) "
                "VALUES (?, ?, ?, ?, json(?), ?, 1.0)",
                (node_id, tree, parent, kind, json.dumps(data), depth),
            )
            parent = node_id
        conn.execute(
            "INSERT INTO sessions (name, tree_id, head_id, config, status, usage, created_at, "
            "updated_at) VALUES (?, ?, ?, '{}', 'idle', '{}', 1.0, 1.0)",
            (f"s{tree}", tree, parent),
        )
        if tree % 20 == 0:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return node_id


async def bench_migration(directory: Path, megabytes: int) -> None:
    path = directory / "old.db"
    count = build_before_ours(path, megabytes)
    size = path.stat().st_size / 1024 / 1024
    started = time.perf_counter()
    async with Store.open(path) as store:
        opened = time.perf_counter() - started
        hits = await store.search.nodes(WORDS[0], limit=5)
    after = path.stat().st_size / 1024 / 1024
    print(
        f"migration on {size:.0f} MiB ({count} nodes): open with upgrade {opened:.1f} s; "
        f"file {after:.0f} MiB after; first search found {len(hits)} hits"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--migrate-mb", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        await bench_search(Path(directory), args.nodes, args.queries)
        if args.migrate_mb > 0:
            await bench_migration(Path(directory), args.migrate_mb)


if __name__ == "__main__":
    anyio.run(main, backend="asyncio")
