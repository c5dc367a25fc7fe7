"""A session tree laid out as a graph: rows, lanes and edges, long straight runs collapsed.

A conversation is mostly one long line, so what the eye needs are the places
where something happens: the root, fork points, heads, the ends of branches,
the turns that failed or were interrupted. Those are always drawn; a straight
run of other nodes (each the only child of the one before) longer than
``MIN_RUN`` becomes one row, ``… N nodes``, which a click opens (``expanded``),
at most ``PAGE`` nodes at a time. A tree of 10,000 nodes in one line is then
three rows, and the page stays small whatever the tree's size.

Rows are in depth-first order, children oldest first. A node's first child
continues in its lane; each later child (a branch) takes the first lane right
of everything drawn since the fork point, so its edge, a vertical line down
from the fork, crosses nothing.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from dataclasses import dataclass, field

from ..models import StreamStatus, TreeNode, TreeView

MIN_RUN = 3
PAGE = 200

# Turn states drawn as side branches that went nowhere.
SIDE = frozenset({StreamStatus.FAILED, StreamStatus.INTERRUPTED})


@dataclass
class Row:
    """One line of the graph: a node, or a collapsed run of nodes."""

    lane: int
    node: TreeNode | None = None
    # A collapsed run: its first and last node, and how many it holds.
    run: tuple[int, int, int] | None = None
    parent_row: int | None = None
    heads: list[str] = field(default_factory=list)
    turn: StreamStatus | None = None
    fork: bool = False

    @property
    def first_id(self) -> int:
        if self.node is not None:
            return self.node.id
        assert self.run is not None
        return self.run[0]


@dataclass
class Graph:
    rows: list[Row]
    lanes: int
    nodes: int


def layout(
    tree: TreeView,
    turns: dict[int, StreamStatus] | None = None,
    *,
    expanded: frozenset[int] = frozenset(),
) -> Graph:
    """The rows of ``tree``; ``turns`` gives each turn's status by its prompt node,
    ``expanded`` the first node ids of runs to open."""
    # Laying out 10,000 nodes just read makes tens of thousands of small objects; the
    # cyclic collector would walk that young heap again and again (half of the
    # layout's time; nothing here makes cycles). The store's tree read does the same.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _layout(tree, turns or {}, expanded)
    finally:
        if collecting:
            gc.enable()


def _layout(tree: TreeView, turns: dict[int, StreamStatus], expanded: frozenset[int]) -> Graph:
    children: dict[int | None, list[TreeNode]] = defaultdict(list)
    for node in tree.nodes:  # ordered by id: children oldest first
        children[node.parent_id].append(node)
    heads: dict[int, list[str]] = defaultdict(list)
    for name, head_id in sorted(tree.heads.items()):
        heads[head_id].append(name)

    def kept(node: TreeNode, turn: StreamStatus | None) -> bool:
        """Drawn whatever: the places where something happens."""
        kids = children.get(node.id, [])
        return (
            node.parent_id is None
            or len(kids) != 1
            or node.id in heads
            or (node.id in turns and turns[node.id] in SIDE)
            or turn is StreamStatus.RUNNING
            or turn is StreamStatus.AWAITING_PERMISSION
        )

    rows: list[Row] = []
    # (node, its lane or None for a branch not yet placed, the row of its parent,
    # the status of the turn its parent is in)
    stack: list[tuple[TreeNode, int | None, int | None, StreamStatus | None]] = [
        (root, None, None, None) for root in reversed(children[None])
    ]
    while stack:
        node, lane, parent_row, turn = stack.pop()
        if lane is None:
            # A branch takes the first lane right of all drawn since its fork point.
            lane = 0 if parent_row is None else max(r.lane for r in rows[parent_row:]) + 1
        turn = turns.get(node.id, turn)
        run, run_turns = [node], [turn]
        if not kept(node, turn):
            # A straight run from here (a node not kept has exactly one child).
            while True:
                (child,) = children[run[-1].id]
                child_turn = turns.get(child.id, run_turns[-1])
                if kept(child, child_turn):
                    break
                run.append(child)
                run_turns.append(child_turn)
            if run[0].id not in expanded and len(run) >= MIN_RUN:
                rows.append(
                    Row(lane=lane, run=(run[0].id, run[-1].id, len(run)), parent_row=parent_row)
                )
                (after,) = children[run[-1].id]
                stack.append((after, lane, len(rows) - 1, run_turns[-1]))
                continue
            if len(run) > PAGE:
                # Opened a page at a time: the rest is a run of its own, folded.
                rest, rest_turn = run[PAGE], run_turns[PAGE - 1]
                run, run_turns = run[:PAGE], run_turns[:PAGE]
                _append(rows, run, run_turns, lane, parent_row, heads)
                stack.append((rest, lane, len(rows) - 1, rest_turn))
                continue
        _append(rows, run, run_turns, lane, parent_row, heads)
        parent_row = len(rows) - 1
        kids = children.get(run[-1].id, [])
        rows[-1].fork = len(kids) > 1
        # Pushed last first: the first child (the line going on) is drawn next, in this
        # lane; each later one is placed when its turn comes, after its elder siblings.
        for index in range(len(kids) - 1, -1, -1):
            stack.append((kids[index], lane if index == 0 else None, parent_row, run_turns[-1]))
    return Graph(rows=rows, lanes=max((r.lane for r in rows), default=0) + 1, nodes=len(tree.nodes))


def _append(
    rows: list[Row],
    run: list[TreeNode],
    run_turns: list[StreamStatus | None],
    lane: int,
    parent_row: int | None,
    heads: dict[int, list[str]],
) -> None:
    """The nodes of ``run`` as rows of their own, each under the one before."""
    for member, member_turn in zip(run, run_turns, strict=True):
        rows.append(
            Row(
                lane=lane,
                node=member,
                parent_row=parent_row,
                heads=heads.get(member.id, []),
                turn=member_turn,
            )
        )
        parent_row = len(rows) - 1
