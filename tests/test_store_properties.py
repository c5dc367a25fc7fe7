"""Property tests of the tree: random histories of appends, forks, head moves,
sweeps and deletes, checked against the invariants the store promises."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import anyio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from session_tree.models import NewNode, Node, NodeKind
from session_tree.store import Store

Op = tuple[str, int, int, bool]

ops = st.lists(
    st.tuples(
        st.sampled_from(["append", "append", "append", "fork", "move", "sweep", "delete"]),
        st.integers(min_value=0, max_value=10_000),
        st.integers(min_value=0, max_value=10_000),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


async def all_paths(store: Store, node_ids: list[int]) -> dict[int, list[int]]:
    return {node_id: [n.id for n in await store.nodes.path(node_id)] for node_id in node_ids}


async def live_node_ids(store: Store, tree_id: int) -> list[int]:
    view = await store.nodes.tree(tree_id)
    return [n.id for n in view.nodes]


async def head_paths(store: Store) -> dict[str, list[int]]:
    return {
        s.name: [n.id for n in await store.nodes.path(s.head_id)]
        for s in await store.sessions.all()
    }


def check_path_shape(path: list[Node], node_id: int) -> None:
    assert path[0].parent_id is None
    assert path[0].kind is NodeKind.ROOT
    assert path[-1].id == node_id
    for parent, child in itertools.pairwise(path):
        assert child.parent_id == parent.id
        assert child.depth == parent.depth + 1


async def run_history(db_path: Path, history: list[Op]) -> None:
    async with Store.open(db_path) as store:
        root = await store.sessions.create("s0")
        tree_id = root.tree_id
        forks = 0
        for kind, a, b, flag in history:
            sessions = await store.sessions.all()
            if not sessions:
                return
            nodes = await live_node_ids(store, tree_id)
            session = sessions[a % len(sessions)]
            target = nodes[b % len(nodes)]
            if kind == "append":
                node = await store.nodes.append(
                    target, NewNode(kind=NodeKind.TEXT, data={"text": f"{a}"}, ephemeral=flag)
                )
                if not flag:
                    await store.sessions.set_head(session.name, node.id)
            elif kind == "fork":
                before = await all_paths(store, nodes)
                forks += 1
                fork = await store.sessions.fork(
                    session.name, f"f{forks}", at=target if flag else None
                )
                assert fork.head_id == (target if flag else session.head_id)
                # forking never changes an existing path
                assert await all_paths(store, nodes) == before
            elif kind == "move":
                await store.sessions.set_head(session.name, target)
            elif kind == "sweep":
                heads_before = await head_paths(store)
                await store.nodes.sweep_ephemeral(tree_id)
                # a sweep never removes a node any head reaches
                assert await head_paths(store) == heads_before
            elif kind == "delete":
                others = {k: v for k, v in (await head_paths(store)).items() if k != session.name}
                await store.sessions.delete(session.name)
                # deleting a session never removes a node another session's head reaches
                assert await head_paths(store) == others
                if not others:
                    return
                # ... and garbage collection leaves exactly what the heads reach
                reachable = {node_id for path in others.values() for node_id in path}
                assert set(await live_node_ids(store, tree_id)) == reachable
            for node_id in await live_node_ids(store, tree_id):
                check_path_shape(await store.nodes.path(node_id), node_id)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=ops)
# Found by hypothesis: a sweep must take the non-ephemeral descendants of a
# swept ephemeral node with it, or the parent link dangles.
@example(
    history=[
        ("append", 0, 0, False),
        ("append", 0, 0, True),
        ("append", 0, 0, False),
        ("append", 0, 0, False),
        ("append", 0, 0, False),
        ("append", 0, 2684, False),
        ("fork", 0, 0, False),
        ("delete", 0, 0, False),
        ("append", 0, 0, False),
        ("sweep", 0, 0, False),
    ]
)
def test_tree_invariants_hold_for_any_history(history: list[Op]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(run_history, Path(tmp) / "tree.db", history, backend="asyncio")
