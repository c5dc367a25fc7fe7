"""Store benchmarks: event ingest, node append, deep paths, fork cost, durability.

    python bench/store_bench.py

Prints figures, and ratios against a baseline measured in the same run.
Targets (issue 2): ingest >= 50,000 events/s; the path of a node at depth
10,000 in <= 50 ms; fork time flat in depth (depth 10,000 / depth 10 <= 1.5).

Deep branches (issue 20), one chain of 100,000 nodes: the path of the nodes at
depth 10,000 and 100,000 (p50 <= 10 ms and <= 100 ms), ``render_context``'s
work over each (the store path, then ``session_tree.service.render``), and
``tree`` of the 100,000-node tree (<= 1 s). ``render_context``'s figures
stand against the render that built every block on every call (issue 20's
first pass, ``render_building_blocks``) and the render before issue 20
(``baseline_render``) over the same warm path, and over a 100,000-node branch of every kind in turn (a tool-using
conversation: a message per two nodes) held in memory. Each path is timed warm (read
before, so its nodes are in the store's node cache: the p50 of a server that
renders a session again and again), cold (a fresh ``Store`` on the file), and
against the baseline: the single recursive query and validation that read
every path before the cache, in the same run.
"""

from __future__ import annotations

import gc
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from pydantic import TypeAdapter

from session_tree.models import NewNode, Node, NodeKind, TreeNode
from session_tree.service import RenderedMessage, render
from session_tree.service._render import _RENDERED
from session_tree.store import Store, Synchronous
from session_tree.store._nodes import preview

# The render before issue 20, frozen in the test that proves the new one equal to it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_render_speed_equivalence import old_render as baseline_render


def render_building_blocks(path: list[Node]) -> list[RenderedMessage]:
    """The render before blocks were kept between calls (issue 20's first pass): a block
    built for every node on every call. The baseline of the kept blocks, in the same run."""
    messages: list[RenderedMessage] = []
    role = None
    content: list[dict[str, Any]] = []
    node_ids: list[int] = []
    collecting = gc.isenabled()
    gc.disable()
    try:
        for node in path:
            entry = _RENDERED.get(node.kind)
            if entry is None:
                continue
            if entry[0] != role:
                role = entry[0]
                message = RenderedMessage(role=role, content=[], node_ids=[])
                content, node_ids = message.content, message.node_ids
                messages.append(message)
            content.append(entry[1](node.data))
            node_ids.append(node.id)
    finally:
        if collecting:
            gc.enable()
    return messages


EVENTS = 200_000
BATCH = 500
APPENDS = 2_000
DEEP = 10_000
REPEAT = 50
DEEPEST = 100_000
DEEP_REPEAT = 11
CHUNK = 5_000

# The walk before the node cache (issue 2's): one recursive query, one validation.
_BASELINE_PATH = """
WITH RECURSIVE path AS (
    SELECT * FROM nodes WHERE id = ?
    UNION ALL
    SELECT nodes.* FROM nodes JOIN path ON nodes.id = path.parent_id
)
SELECT json_group_array(json_object(
    'id', id, 'tree_id', tree_id, 'parent_id', parent_id, 'kind', kind, 'data', json(data),
    'ephemeral', ephemeral = 1, 'depth', depth, 'message_uuid', message_uuid,
    'created_at', created_at
)) FROM path
"""
_NODE_LIST = TypeAdapter(list[Node])


def mixed_branch(depth: int) -> list[Node]:
    """A branch of user, text, tool_use and tool_result nodes in turn, in memory."""
    kinds = (NodeKind.USER, NodeKind.TEXT, NodeKind.TOOL_USE, NodeKind.TOOL_RESULT)
    data: dict[NodeKind, dict[str, Any]] = {
        NodeKind.USER: {"text": "do the next step " * 4},
        NodeKind.TEXT: {"text": "reading the file " * 4},
        NodeKind.TOOL_USE: {"id": "toolu_1", "name": "Read", "input": {"path": "notes.md"}},
        NodeKind.TOOL_RESULT: {"tool_use_id": "toolu_1", "content": "line one\nline two"},
    }
    return [
        Node.model_construct(
            id=i + 1,
            tree_id=1,
            parent_id=i or None,
            kind=kinds[i % 4],
            data=data[kinds[i % 4]],
            ephemeral=False,
            depth=i,
            message_uuid=None,
            created_at=0.0,
        )
        for i in range(depth)
    ]


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


async def baseline_path(store: Store, node_id: int) -> list[Node]:
    row = await store.db.one(_BASELINE_PATH, (node_id,))
    assert row is not None
    gc.disable()  # as the old walk did
    try:
        nodes = _NODE_LIST.validate_json(row[0])
    finally:
        gc.enable()
    nodes.reverse()
    return nodes


async def baseline_tree(store: Store, tree_id: int) -> list[TreeNode]:
    """The tree's nodes as ``tree`` built them before issue 20: one model per row."""
    rows = await store.db.all(
        "SELECT id, parent_id, kind, ephemeral, depth, substr(coalesce("
        "json_extract(data, '$.text'), json_extract(data, '$.thinking'), "
        "json_extract(data, '$.name'), json_extract(data, '$.content'), data), 1, 400) AS head "
        "FROM nodes WHERE tree_id = ? ORDER BY id",
        (tree_id,),
    )
    return [
        TreeNode(
            id=row["id"],
            parent_id=row["parent_id"],
            kind=NodeKind(row["kind"]),
            ephemeral=bool(row["ephemeral"]),
            depth=row["depth"],
            preview=preview(row["head"]),
        )
        for row in rows
    ]


async def deep(directory: Path) -> dict[str, float]:
    """Deep-branch figures on one 100,000-node chain, in ms."""
    db_path = directory / "deep.db"
    at: dict[int, int] = {}
    async with Store.open(db_path) as store:
        session = await store.sessions.create("deepest")
        parent, tree_id = session.head_id, session.tree_id
        for offset in range(0, DEEPEST, CHUNK):
            chain = await store.nodes.append_chain(
                parent,
                [
                    NewNode(kind=NodeKind.TEXT, data={"text": f"message {i} " * 8})
                    for i in range(offset, offset + CHUNK)
                ],
            )
            parent = chain[-1].id
            for node in chain:
                if node.depth in (DEEP, DEEPEST):
                    at[node.depth] = node.id
        await store.sessions.set_head("deepest", parent)
    figures: dict[str, float] = {}
    for depth in (DEEP, DEEPEST):
        node_id = at[depth]
        label = f"{depth // 1000}k"
        cold, cold_baseline = [], []
        for _ in range(3):
            async with Store.open(db_path) as store:
                start = time.perf_counter()
                assert len(await store.nodes.path(node_id)) == depth + 1
                cold.append(time.perf_counter() - start)
            async with Store.open(db_path) as store:
                start = time.perf_counter()
                assert len(await baseline_path(store, node_id)) == depth + 1
                cold_baseline.append(time.perf_counter() - start)
        async with Store.open(db_path) as store:

            async def warm(_: int, store: Store = store, node_id: int = node_id) -> None:
                await store.nodes.path(node_id)

            async def rendered(_: int, store: Store = store, node_id: int = node_id) -> None:
                render(await store.nodes.path(node_id))

            async def old(_: int, store: Store = store, node_id: int = node_id) -> None:
                baseline_render(await baseline_path(store, node_id))

            async def old_render(_: int, store: Store = store, node_id: int = node_id) -> None:
                baseline_render(await store.nodes.path(node_id))

            async def built(_: int, store: Store = store, node_id: int = node_id) -> None:
                render_building_blocks(await store.nodes.path(node_id))

            async def old_path(_: int, store: Store = store, node_id: int = node_id) -> None:
                await baseline_path(store, node_id)

            await store.nodes.path(node_id)
            figures[f"path_{label}_warm_ms"] = await timed_median(warm, DEEP_REPEAT) * 1000
            figures[f"path_{label}_cold_ms"] = statistics.median(cold) * 1000
            figures[f"path_{label}_cold_baseline_ms"] = statistics.median(cold_baseline) * 1000
            figures[f"path_{label}_baseline_ms"] = await timed_median(old_path, DEEP_REPEAT) * 1000
            figures[f"render_{label}_warm_ms"] = await timed_median(rendered, DEEP_REPEAT) * 1000
            figures[f"render_{label}_built_ms"] = await timed_median(built, DEEP_REPEAT) * 1000
            figures[f"render_{label}_old_render_ms"] = (
                await timed_median(old_render, DEEP_REPEAT) * 1000
            )
            figures[f"render_{label}_baseline_ms"] = await timed_median(old, DEEP_REPEAT) * 1000
    mixed = mixed_branch(DEEPEST)

    async def mixed_new(_: int) -> None:
        render(mixed)

    async def mixed_old(_: int) -> None:
        baseline_render(mixed)

    figures["render_only_100k_mixed_ms"] = await timed_median(mixed_new, DEEP_REPEAT) * 1000
    figures["render_only_100k_mixed_old_ms"] = await timed_median(mixed_old, DEEP_REPEAT) * 1000
    async with Store.open(db_path) as store:

        async def tree(_: int) -> None:
            assert len((await store.nodes.tree(tree_id)).nodes) == DEEPEST + 1

        async def old_tree(_: int) -> None:
            assert len(await baseline_tree(store, tree_id)) == DEEPEST + 1

        figures["tree_100k_ms"] = await timed_median(tree, 5) * 1000
        figures["tree_100k_baseline_ms"] = await timed_median(old_tree, 5) * 1000
    return figures


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {sync: await run(Path(tmp), sync) for sync in ("NORMAL", "FULL")}
        deep_figures = await deep(Path(tmp))
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
    print()
    print(f"deep branches, one {DEEPEST:,}-node chain (ms, p50)")
    for key, value in deep_figures.items():
        print(f"{key:<26}{value:>14,.1f}")
    for depth, target in (("10k", 10), ("100k", 100)):
        warm, base = (
            deep_figures[f"path_{depth}_warm_ms"],
            deep_figures[f"path_{depth}_baseline_ms"],
        )
        print(
            f"path at depth {depth}: {warm:.1f} ms warm (target <= {target} ms), "
            f"{deep_figures[f'path_{depth}_cold_ms']:.1f} ms cold (baseline "
            f"{deep_figures[f'path_{depth}_cold_baseline_ms']:.1f} ms); baseline {base:.1f} ms "
            f"(x{base / warm:.1f})"
        )
        print(
            f"render_context at depth {depth}: "
            f"{deep_figures[f'render_{depth}_warm_ms']:.1f} ms (target <= {target} ms); "
            "blocks built on every call (before they were kept) "
            f"{deep_figures[f'render_{depth}_built_ms']:.1f} ms; "
            f"old render on the same path {deep_figures[f'render_{depth}_old_render_ms']:.1f} ms; "
            f"before issue 20 {deep_figures[f'render_{depth}_baseline_ms']:.1f} ms"
        )
    print(
        "render alone, 100,000 nodes of every kind in turn: "
        f"{deep_figures['render_only_100k_mixed_ms']:.1f} ms; "
        f"old render {deep_figures['render_only_100k_mixed_old_ms']:.1f} ms"
    )
    print(
        f"tree of {DEEPEST:,} nodes: {deep_figures['tree_100k_ms']:.0f} ms (target <= 1,000 ms); "
        f"baseline {deep_figures['tree_100k_baseline_ms']:.0f} ms"
    )
    print(f"peak RSS: {peak_rss_mib():.1f} MiB")


if __name__ == "__main__":
    anyio.run(main, backend="asyncio")
