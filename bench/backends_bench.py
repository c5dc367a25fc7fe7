"""The store on both backends in one run: SQLite (the baseline) and PostgreSQL.

    python bench/backends_bench.py

Starts a throwaway PostgreSQL cluster (``session_tree.testing.postgres``), then
measures on each backend: event ingest, node append latency, the path of a
node at depth 10,000, fork cost at depth 10 and 10,000, and the long-poll wake
latency across two servers (two ``Store`` objects on one database: one waits
on a stream, the other appends; SQLite's waiter notices by re-reading every
50 ms, PostgreSQL's by NOTIFY). Prints each figure and PostgreSQL / SQLite.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from session_tree.models import NewNode, NodeKind
from session_tree.store import Store
from session_tree.testing.postgres import Cluster

EVENTS = 50_000
BATCH = 500
APPENDS = 500
DEEP = 10_000
REPEAT = 20
WAKES = 20


async def median_ms(fn: Callable[[int], Awaitable[object]], repeat: int = REPEAT) -> float:
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        await fn(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


async def chain(store: Store, name: str, depth: int) -> int:
    session = await store.sessions.create(name)
    nodes = await store.nodes.append_chain(
        session.head_id,
        [NewNode(kind=NodeKind.TEXT, data={"text": f"message {i} " * 8}) for i in range(depth)],
    )
    await store.sessions.set_head(name, nodes[-1].id)
    return nodes[-1].id


async def wake_ms(location: str | Path) -> float:
    """Median time from one server's append to another's waiter returning with it."""
    async with Store.open(location) as waiter, Store.open(location) as writer:
        await writer.sessions.create("wake")
        stream = await writer.streams.create("wake")
        samples = []
        for seq in range(WAKES):
            woke: list[float] = []

            async def wait(seq: int = seq, woke: list[float] = woke) -> None:
                await waiter.streams.wait(stream.id, from_seq=seq, timeout=30)
                woke.append(time.perf_counter())

            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await anyio.sleep(0.1)  # a bench, not a test: let the waiter settle into its wait
                sent = time.perf_counter()
                await writer.streams.append(stream.id, "tick")
            samples.append(woke[0] - sent)
    return statistics.median(samples) * 1000


async def figures(location: str | Path) -> dict[str, float]:
    async with Store.open(location) as store:
        await store.sessions.create("ingest")
        stream = await store.streams.create("ingest")
        batch = [("text_delta", {"text": "tok", "index": i}) for i in range(BATCH)]
        start = time.perf_counter()
        for _ in range(EVENTS // BATCH):
            await store.streams.append_many(stream.id, batch)
        ingest = EVENTS / (time.perf_counter() - start)

        session = await store.sessions.create("appends")
        parent = session.head_id
        appends = []
        for i in range(APPENDS):
            start = time.perf_counter()
            node = await store.nodes.append(parent, NewNode(kind=NodeKind.TEXT, data={"i": i}))
            appends.append(time.perf_counter() - start)
            parent = node.id

        await chain(store, "shallow", 10)
        deep = await chain(store, "deep", DEEP)
    # A new Store: the path is read from the database, not the node cache.
    async with Store.open(location) as store:
        path = await median_ms(lambda _: store.nodes.path(deep), 1)
        fork_10 = await median_ms(lambda i: store.sessions.fork("shallow", f"s{i}"))
        fork_10k = await median_ms(lambda i: store.sessions.fork("deep", f"d{i}"))
    return {
        "ingest_per_s": ingest,
        "append_p50_ms": statistics.median(appends) * 1000,
        "path_10k_cold_ms": path,
        "fork_depth10_ms": fork_10,
        "fork_depth10k_ms": fork_10k,
        "wake_across_servers_ms": await wake_ms(location),
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, Cluster.start() as cluster:
        sqlite = await figures(Path(tmp) / "bench.db")
        postgres = await figures(cluster.new_database())
    print(f"session-tree store on both backends (python {sys.version.split()[0]})")
    print(f"{'figure':<26}{'SQLite':>14}{'PostgreSQL':>14}{'PG / SQLite':>14}")
    for key, base in sqlite.items():
        print(f"{key:<26}{base:>14,.2f}{postgres[key]:>14,.2f}{postgres[key] / base:>14.2f}")
    for name, found in (("SQLite", sqlite), ("PostgreSQL", postgres)):
        flat = found["fork_depth10k_ms"] / found["fork_depth10_ms"]
        print(f"{name}: fork depth 10,000 / depth 10: {flat:.2f} (O(1): about 1)")


if __name__ == "__main__":
    anyio.run(main, backend="asyncio")
