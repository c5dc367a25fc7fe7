"""A session's branch: the nodes from the root (or a given ancestor) down to its head,
or down to any node of the session's own tree.

Every reader of a branch (``render_context``, the CLI's ``render``, a transcript
export) checks the same thing, that the node asked for is in the session's tree,
so the check is written once, here.
"""

from __future__ import annotations

from ..errors import NodeNotInTree
from ..models import Node, Session
from ..store import Store

__all__ = ["NodeNotInTree", "branch"]


async def branch(
    store: Store, session: Session, *, end: int | None = None, start: int | None = None
) -> list[Node]:
    """The nodes from the root (or from ``start``, an ancestor of ``end``) down to ``end``
    (default: the session's head), first to last.

    Raises :class:`NodeNotInTree` when ``end`` is a node of another tree, and what
    the store raises for a node that does not exist or a ``start`` off the path.
    """
    end_id = session.head_id if end is None else end
    path = await store.nodes.path(end_id, start=start)
    # The walk from ``end`` stays in its own tree, so its first node says which.
    if path[0].tree_id != session.tree_id:
        raise NodeNotInTree(end_id, session.name)
    return path
