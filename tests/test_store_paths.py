"""The path of a node, read through the node cache and in chunks, is exactly what the
original single-query walk returned: the same nodes, in the same order, with the same
fields, and the same errors; also after forks, deletes and sweeps remove nodes the
cache still holds."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from session_tree.errors import InvalidArgument, NodeNotFound
from session_tree.models import NewNode, Node, NodeKind
from session_tree.store import Store
from session_tree.store._nodes import NodeCache, Nodes

# The walk as it was before the cache: one recursive query, one validation.
_OLD_ANCESTORS = """
WITH RECURSIVE path AS (
    SELECT * FROM nodes WHERE id = :node_id
    UNION ALL
    SELECT nodes.* FROM nodes JOIN path ON nodes.id = path.parent_id {stop}
)
SELECT json_group_array(json_object(
    'id', id, 'tree_id', tree_id, 'parent_id', parent_id, 'kind', kind, 'data', json(data),
    'ephemeral', ephemeral = 1, 'depth', depth, 'message_uuid', message_uuid,
    'created_at', created_at
)) FROM path
"""
_NODE_LIST = TypeAdapter(list[Node])

Outcome = list[Node] | tuple[str, str]


def old_path(db_path: Path, node_id: int, start: int | None) -> Outcome:
    """The original ``Nodes.path``, on its own connection: the nodes, or (error type, message)."""
    with sqlite3.connect(db_path) as conn:
        stop = "" if start is None else "WHERE path.id != :start"
        row = conn.execute(
            _OLD_ANCESTORS.format(stop=stop), {"node_id": node_id, "start": start}
        ).fetchone()
        nodes = _NODE_LIST.validate_json(row[0])
        if not nodes:
            return ("NodeNotFound", str(NodeNotFound(node_id)))
        nodes.reverse()
        if start is not None and nodes[0].id != start:
            if conn.execute("SELECT 1 FROM nodes WHERE id = ?", (start,)).fetchone() is None:
                return ("NodeNotFound", str(NodeNotFound(start)))
            return ("InvalidArgument", "not an ancestor")
    return nodes


async def new_path(nodes: Nodes, node_id: int, start: int | None) -> Outcome:
    try:
        return await nodes.path(node_id, start=start)
    except NodeNotFound as exc:
        return ("NodeNotFound", str(exc))
    except InvalidArgument as exc:
        return (
            "InvalidArgument",
            "not an ancestor" if "is not an ancestor" in str(exc) else str(exc),
        )


def same(got: Outcome, want: Outcome) -> bool:
    if isinstance(got, tuple) or isinstance(want, tuple):
        return got == want
    # Field by field, with types: model equality alone would take 1 == 1.0 or True == 1.
    return [(n.model_dump(), [type(v) for v in n.model_dump().values()]) for n in got] == [
        (n.model_dump(), [type(v) for v in n.model_dump().values()]) for n in want
    ]


# Finite floats only: an infinite one is stored as the JSON extension `Infinity`,
# which SQLite's json() refuses, so no path through such a node can be read
# (with the old walk as with the new one; reported on issue 20).
data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
Step = tuple[str, int, int, bool, object]
steps = st.lists(
    st.tuples(
        st.sampled_from(["append", "append", "append", "append", "fork", "delete", "sweep"]),
        st.integers(min_value=0, max_value=1_000),
        st.integers(min_value=0, max_value=1_000),
        st.booleans(),
        data,
    ),
    min_size=1,
    max_size=30,
)
queries = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=1_000), st.integers(min_value=-1, max_value=1_000)
    ),
    min_size=1,
    max_size=12,
)


async def check_history(db_path: Path, history: list[Step], asked: list[tuple[int, int]]) -> None:
    async with Store.open(db_path) as store:
        # Readers with caches that turn over every few nodes and reads of one or two
        # nodes at a time, beside the default: every way a path can be put together.
        readers = [
            store.nodes,
            Nodes(store.db, NodeCache(max_nodes=3), first_read=1),
            Nodes(store.db, NodeCache(max_nodes=50, max_bytes=12 * 1024), first_read=2),
        ]
        first = await store.sessions.create("s0")
        ever: list[int] = [first.head_id]  # every node id ever written, deleted ones too
        names = ["s0"]
        for step, (kind, a, b, flag, value) in enumerate(history):
            target = ever[a % len(ever)]
            if kind == "append":
                new = NewNode(
                    kind=[NodeKind.TEXT, NodeKind.USER, NodeKind.TOOL_USE][b % 3],
                    data={"text": f"n{step}", "value": value},
                    ephemeral=flag,
                    message_uuid=f"u{step}" if b % 2 else None,
                )
                try:
                    node = await store.nodes.append(target, new)
                except NodeNotFound:
                    continue
                ever.append(node.id)
                if names and not flag:
                    await store.sessions.set_head(names[b % len(names)], node.id)
            elif kind == "fork" and names:
                name = f"f{step}"
                try:
                    await store.sessions.fork(
                        names[b % len(names)], name, at=target if flag else None
                    )
                except (NodeNotFound, InvalidArgument):
                    continue
                names.append(name)
            elif kind == "delete" and len(names) > 1:
                await store.sessions.delete(names.pop(b % len(names)))
            elif kind == "sweep":
                await store.nodes.sweep_ephemeral(first.tree_id)
            # Read after every step, so caches hold nodes that later steps delete.
            for leaf_index, start_index in asked:
                leaf = ever[leaf_index % len(ever)]
                start = None if start_index < 0 else ever[start_index % len(ever)]
                want = old_path(db_path, leaf, start)
                for reader in readers:
                    for _ in range(2):  # cold, then warm
                        got = await new_path(reader, leaf, start)
                        assert same(got, want), (leaf, start, got, want)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=steps, asked=queries)
def test_cached_path_equals_the_single_query_walk_for_any_history(
    history: list[Step], asked: list[tuple[int, int]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(check_history, Path(tmp) / "paths.db", history, asked, backend="asyncio")


async def check_deep_fork(db_path: Path) -> None:
    async with Store.open(db_path) as store:
        session = await store.sessions.create("main")
        chain = await store.nodes.append_chain(
            session.head_id,
            [NewNode(kind=NodeKind.TEXT, data={"text": f"m{i}"}) for i in range(3_000)],
        )
        await store.sessions.set_head("main", chain[-1].id)
        await store.sessions.fork("main", "side", at=chain[1_500].id)
        side = await store.nodes.append_chain(
            chain[1_500].id,
            [NewNode(kind=NodeKind.USER, data={"text": f"s{i}"}) for i in range(500)],
        )
        readers = [store.nodes, Nodes(store.db, NodeCache(max_nodes=700), first_read=4)]
        for leaf, start in [
            (chain[-1].id, None),
            (side[-1].id, None),
            (side[-1].id, chain[100].id),
            (side[-1].id, chain[2_000].id),  # on the other branch: not an ancestor
            (chain[-1].id, side[0].id),
        ]:
            want = old_path(db_path, leaf, start)
            for reader in readers:
                for _ in range(2):
                    assert same(await new_path(reader, leaf, start), want)


def test_deep_forked_paths_equal_the_single_query_walk() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(check_deep_fork, Path(tmp) / "deep.db", backend="asyncio")


async def check_deleted_leaf(db_path: Path) -> None:
    async with Store.open(db_path) as store:
        await store.sessions.create("keep")
        doomed = await store.sessions.create("doomed")
        node = await store.nodes.append(doomed.head_id, NewNode(kind=NodeKind.TEXT, data={}))
        await store.sessions.set_head("doomed", node.id)
        assert [n.id for n in await store.nodes.path(node.id)] == [doomed.head_id, node.id]
        await store.sessions.delete("doomed")
        # The cache still holds the node; the database no longer does.
        outcome = await new_path(store.nodes, node.id, None)
        assert outcome == ("NodeNotFound", str(NodeNotFound(node.id)))


def test_a_cached_node_deleted_since_is_not_found() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(check_deleted_leaf, Path(tmp) / "gone.db", backend="asyncio")


async def check_cache_budget(db_path: Path) -> None:
    """SESSION_TREE_NODE_CACHE_MB reaches the cache: 0 keeps no node, and paths stay right."""
    async with Store.open(db_path) as store:
        session = await store.sessions.create("main")
        chain = await store.nodes.append_chain(
            session.head_id, [NewNode(kind=NodeKind.TEXT, data={"text": f"{i}"}) for i in range(50)]
        )
    for budget, cached in ((0, False), (1, True)):
        async with Store.open(db_path, node_cache_mb=budget) as store:
            want = old_path(db_path, chain[-1].id, None)
            assert same(await new_path(store.nodes, chain[-1].id, None), want)
            found: list[Node] = []
            missing = store.nodes._cache.walk(chain[-1].id, None, found)
            assert (missing is None) is cached, (budget, missing)
            assert same(await new_path(store.nodes, chain[-1].id, None), want)


def test_the_node_cache_budget_is_a_setting() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(check_cache_budget, Path(tmp) / "budget.db", backend="asyncio")
