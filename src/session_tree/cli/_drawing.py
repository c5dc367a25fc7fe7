"""A session tree drawn for the terminal.

A conversation is mostly one long line of nodes, so a node's only child is
drawn under it at the same depth; only a branch point indents, with one
``├─``/``└─`` arm per branch, as ``git log --graph`` keeps history readable.
Heads are marked ``◀ name``, forks show where they left their parent branch.
"""

from __future__ import annotations

from collections import defaultdict

from ..models import NodeKind, TreeNode, TreeView
from ..node_labels import NODE_LABELS

_NO_PREVIEW = {NodeKind.ROOT, NodeKind.SUMMARY}


def draw_tree(tree: TreeView, *, width: int = 100, only: str | None = None) -> list[str]:
    """Lines of the drawing; previews cut to fit ``width``. With ``only``, mark that
    session's head most visibly (``◀◀``)."""
    children: dict[int | None, list[TreeNode]] = defaultdict(list)
    for node in tree.nodes:
        children[node.parent_id].append(node)
    heads: dict[int, list[str]] = defaultdict(list)
    for name, head_id in sorted(tree.heads.items()):
        heads[head_id].append(name)

    lines: list[str] = []

    def line(prefix: str, node: TreeNode) -> str:
        label = NODE_LABELS.get(node.kind, str(node.kind))
        marks = "".join(
            f"  ◀◀ {name}" if name == only else f"  ◀ {name}" for name in heads.get(node.id, [])
        )
        side = " (ephemeral)" if node.ephemeral else ""
        text = f"{prefix}[{node.id}] {label}{side}"
        room = width - len(text) - len(marks) - 2
        preview = _one_line(node.preview)
        if preview and node.kind not in _NO_PREVIEW and room > 8:
            text += ": " + (preview if len(preview) <= room else preview[: room - 1] + "…")
        return text + marks

    # Iterative, so a 10,000-node conversation does not hit the recursion limit.
    stack: list[tuple[TreeNode, str, str]] = [(root, "", "") for root in reversed(children[None])]
    while stack:
        node, first, rest = stack.pop()
        lines.append(line(first, node))
        kids = children.get(node.id, [])
        if len(kids) == 1:
            stack.append((kids[0], rest, rest))
        else:
            for index, kid in reversed(list(enumerate(kids))):
                last = index == len(kids) - 1
                stack.append(
                    (kid, rest + ("└─ " if last else "├─ "), rest + ("   " if last else "│  "))
                )
    return lines


def _one_line(text: str) -> str:
    return " ".join(text.split())
