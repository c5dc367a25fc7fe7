"""The tree graph's layout: what is always drawn, what folds, and the lanes of branches."""

from __future__ import annotations

import gc

from session_tree.models import NodeKind, StreamStatus, TreeNode, TreeView
from session_tree.web import layout
from session_tree.web._graph import PAGE


def line(count: int, *, start: int = 1, parent: int | None = None) -> list[TreeNode]:
    """A straight run of ``count`` nodes under ``parent`` (a root when None)."""
    nodes = []
    for offset in range(count):
        node_id = start + offset
        above = parent if offset == 0 else node_id - 1
        kind = NodeKind.ROOT if above is None else NodeKind.TEXT
        nodes.append(
            TreeNode(id=node_id, parent_id=above, kind=kind, ephemeral=False, depth=0, preview="")
        )
    return nodes


def test_a_ten_thousand_node_line_is_three_rows() -> None:
    tree = TreeView(tree_id=1, nodes=line(10_000), heads={"main": 10_000})

    graph = layout(tree)

    # The root, the fold, the head: the page's size does not grow with the tree.
    assert [(r.first_id, r.run) for r in graph.rows] == [
        (1, None),
        (2, (2, 9_999, 9_998)),
        (10_000, None),
    ]
    assert graph.rows[-1].node is not None
    assert graph.rows[-1].heads == ["main"]
    assert graph.lanes == 1


def test_opening_a_fold_shows_a_page_of_its_nodes() -> None:
    tree = TreeView(tree_id=1, nodes=line(1000), heads={"main": 1000})

    graph = layout(tree, expanded=frozenset({2}))

    shown = [r.node.id for r in graph.rows if r.node is not None]
    assert shown[: PAGE + 1] == list(range(1, PAGE + 2))
    # The rest of the run is one fold again, opened on its own.
    assert graph.rows[PAGE + 1].run == (PAGE + 2, 999, 999 - PAGE - 1)


def test_a_fork_takes_a_lane_right_of_everything_drawn_since_its_fork_point() -> None:
    # 1..10 a line, head "main" at 10; "alt" forks at 4 (11..14), "b" forks at 4 too (15..16).
    nodes = line(10) + line(4, start=11, parent=4) + line(2, start=15, parent=4)
    tree = TreeView(tree_id=1, nodes=nodes, heads={"main": 10, "alt": 14, "b": 16})

    graph = layout(tree)

    lanes = {r.heads[0]: r.lane for r in graph.rows if r.heads}
    assert lanes == {"main": 0, "alt": 1, "b": 2}
    (fork,) = [r for r in graph.rows if r.fork]
    assert fork.first_id == 4
    # Each branch's first row hangs from the fork point's row.
    fork_row = graph.rows.index(fork)
    starts = [r for r in graph.rows if r.parent_row == fork_row]
    assert [r.first_id for r in starts] == [5, 11, 15]


def test_failed_and_interrupted_turns_are_drawn_node_by_node_and_marked() -> None:
    nodes = line(12) + line(6, start=13, parent=6)
    tree = TreeView(tree_id=1, nodes=nodes, heads={"main": 12})

    graph = layout(tree, {13: StreamStatus.FAILED})

    side = [r for r in graph.rows if r.turn is StreamStatus.FAILED]
    assert side[0].node is not None
    assert side[0].node.id == 13
    assert all(r.lane == 1 for r in side)


def test_a_big_layout_runs_with_the_cyclic_collector_paused_and_restores_it() -> None:
    # Forks every 10 nodes: tens of thousands of objects made, enough for collections.
    nodes = line(10_000)
    nodes += [
        TreeNode(
            id=20_000 + i,
            parent_id=i * 10,
            kind=NodeKind.TEXT,
            ephemeral=False,
            depth=0,
            preview="",
        )
        for i in range(1, 1000)
    ]
    tree = TreeView(tree_id=1, nodes=nodes, heads={"main": 10_000})
    opened = frozenset(r.first_id for r in layout(tree).rows if r.run)
    collections: list[int] = []

    def heard(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(heard)
    try:
        graph = layout(tree, expanded=opened)
    finally:
        gc.callbacks.remove(heard)

    # The allocations made while paused still count: one collection may come at once
    # after, on the next allocation; while laying out, there were dozens.
    assert len(collections) <= 1, collections
    assert len(graph.rows) > 1000
    assert gc.isenabled()
    gc.disable()
    try:
        layout(tree)
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
