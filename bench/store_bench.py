"""Store benchmarks: event ingest, node append, deep paths, fork cost, durability.

    python bench/store_bench.py

Prints figures, and ratios against a baseline measured in the same run.
Targets (issue 2): ingest >= 50,000 events/s; the path of a node at depth
10,000 in <= 50 ms; fork time flat in depth (depth 10,000 / depth 10 <= 1.5).
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

from session_tree.models import NewNode, NodeKind
from session_tree.store import Store, Synchronous

EVENTS = 200_000
BATCH = 500
APPENDS = 2_000
DEEP = 10_000
REPEAT = 50


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def ingest(store: Store) -> float:
    await store.sessions.create("ingest")
    stream = await store.streams.create("ingest")
    batch = [("text_delta", {"text": "tok", "index": i}) for i in range(BATCH)]
    start = time.perf_counter()
    for _ in range(EVENTS // BATCH):
        await store.streams.append_many(stream.id, batch)
    return EVENTS / (time.perf_counter() - start)


async def append_latency(store: Store, name: str) -> list[float]:
    session = await store.sessions.create(name)
    parent = session.head_id
    samples = []
    for i in range(APPENDS):
        start = time.perf_counter()
        node = await store.nodes.append(parent, NewNode(kind=NodeKind.TEXT, data={"text": f"n{i}"}))
        samples.append(time.perf_counter() - start)
        parent = node.id
    return samples


async def build_chain(store: Store, name: str, depth: int) -> int:
    session = await store.sessions.create(name)
    nodes = await store.nodes.append_chain(
        session.head_id,
        [NewNode(kind=NodeKind.TEXT, data={"text": f"message {i} " * 8}) for i in range(depth)],
    )
    await store.sessions.set_head(name, nodes[-1].id)
    return nodes[-1].id


async def timed_median(fn: object, repeat: int = REPEAT) -> float:
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        await fn(i)  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def run(directory: Path, synchronous: Synchronous) -> dict[str, float]:
    async with Store.open(directory / f"bench-{synchronous}.db", synchronous=synchronous) as store:
        rate = await ingest(store)
        appends = await append_latency(store, "appends")
        shallow = await build_chain(store, "shallow", 10)
        deep = await build_chain(store, "deep", DEEP)

        async def path_deep(_: int) -> None:
            assert len(await store.nodes.path(deep)) == DEEP + 1

        async def fork_shallow(i: int) -> None:
            await store.sessions.fork("shallow", f"fs{i}")

        async def fork_deep(i: int) -> None:
            await store.sessions.fork("deep", f"fd{i}")

        path_s = await timed_median(path_deep, 20)
        fork_s = await timed_median(fork_shallow)
        fork_d = await timed_median(fork_deep)
        assert shallow
    return {
        "ingest_per_s": rate,
        "append_p50_ms": statistics.median(appends) * 1000,
        "append_p99_ms": statistics.quantiles(appends, n=100)[98] * 1000,
        "path_10k_ms": path_s * 1000,
        "fork_depth10_ms": fork_s * 1000,
        "fork_depth10k_ms": fork_d * 1000,
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {sync: await run(Path(tmp), sync) for sync in ("NORMAL", "FULL")}
    normal, full = results["NORMAL"], results["FULL"]
    print(f"session-tree store bench (python {sys.version.split()[0]}); default synchronous=NORMAL")
    print(f"{'figure':<26}{'NORMAL':>14}{'FULL':>14}")
    for key in normal:
        print(f"{key:<26}{normal[key]:>14,.3f}{full[key]:>14,.3f}")
    print()
    print(f"ingest: {normal['ingest_per_s']:,.0f} events/s (target >= 50,000)")
    print(f"path of a depth-10,000 node: {normal['path_10k_ms']:.1f} ms (target <= 50 ms)")
    ratio = normal["fork_depth10k_ms"] / normal["fork_depth10_ms"]
    print(f"fork depth 10,000 / depth 10: {ratio:.2f} (target <= 1.5)")
    print(
        "durability trade-off, FULL / NORMAL: "
        f"append latency x{full['append_p50_ms'] / normal['append_p50_ms']:.2f}, "
        f"ingest rate x{full['ingest_per_s'] / normal['ingest_per_s']:.2f}"
    )
    print(f"peak RSS: {peak_rss_mib():.1f} MiB")


if __name__ == "__main__":
    anyio.run(main, backend="asyncio")
