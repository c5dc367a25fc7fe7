"""Trees and nodes: the branching history.

Nodes are written once and never updated. A session is only a pointer to a
node (its head), so a fork is a second pointer into the same tree and copies
nothing. Reading a branch is one walk up the parent links (a recursive CTE over
the primary key), never a scan of the tree.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence

import aiosqlite
from pydantic import TypeAdapter

from ..errors import InvalidArgument, NodeNotFound
from ..models import NewNode, Node, NodeKind, TreeNode, TreeView
from . import _rows
from ._database import Database, now

PREVIEW_CHARS = 80

# The walk carries whole rows up the parent links (one primary-key lookup per
# level) and SQLite builds the JSON array, which pydantic-core parses in one
# call: ~20x fewer Python objects than reading row by row. Rows come out
# leaf first.
_ANCESTORS = """
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

# Every node some head, running turn or explicitly kept node needs: the union
# of the heads' ancestor paths, and of each running turn's prompt node with
# everything the turn has written under it (no head points there until the
# turn ends, and a sibling's delete must not take it). UNION, not UNION ALL, so
# shared prefixes are walked once.
_NEEDED = f"""
WITH RECURSIVE running(id) AS (
    SELECT streams.prompt_node_id FROM streams
    JOIN sessions ON sessions.id = streams.session_id
    WHERE sessions.tree_id = :tree_id AND streams.prompt_node_id IS NOT NULL
    AND streams.status IN ({_rows.ACTIVE_STREAM})
    UNION
    SELECT nodes.id FROM nodes JOIN running ON nodes.parent_id = running.id
), needed(id) AS (
    SELECT head_id FROM sessions WHERE tree_id = :tree_id
    UNION SELECT value FROM json_each(:keep)
    UNION SELECT id FROM running
    UNION
    SELECT nodes.parent_id FROM nodes JOIN needed ON nodes.id = needed.id
    WHERE nodes.parent_id IS NOT NULL
)
"""


class Nodes:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_tree(self, root_data: dict[str, object] | None = None) -> Node:
        """A new tree and its root node."""
        async with self._db.write() as conn:
            created = now()
            cursor = await conn.execute("INSERT INTO trees (created_at) VALUES (?)", (created,))
            tree_id = cursor.lastrowid
            assert tree_id is not None
            return await _insert(
                conn,
                tree_id,
                None,
                -1,
                NewNode(kind=NodeKind.ROOT, data=dict(root_data or {})),
                created,
            )

    async def append(self, parent_id: int, node: NewNode) -> Node:
        """Append ``node`` under ``parent_id``."""
        appended = await self.append_chain(parent_id, [node])
        return appended[0]

    async def append_chain(self, parent_id: int, nodes: Sequence[NewNode]) -> list[Node]:
        """Append ``nodes`` as a chain: the first under ``parent_id``, each next under the last."""
        async with self._db.write() as conn:
            return await insert_chain(conn, parent_id, nodes)

    async def get(self, node_id: int) -> Node:
        row = await self._db.one(f"SELECT {_rows.NODE_COLUMNS} FROM nodes WHERE id = ?", (node_id,))
        if row is None:
            raise NodeNotFound(node_id)
        return _rows.node(row)

    async def path(self, node_id: int, *, start: int | None = None) -> list[Node]:
        """The nodes from the root (or from ``start``, an ancestor) down to ``node_id``."""
        stop = "" if start is None else "WHERE path.id != :start"
        params: dict[str, int] = {"node_id": node_id}
        if start is not None:
            params["start"] = start
        row = await self._db.one(_ANCESTORS.format(stop=stop), params)
        # A deep path allocates tens of thousands of objects at once; pausing the
        # cyclic collector (nothing here makes cycles) halves the time on a
        # 10,000-node path. No await happens while it is paused.
        collecting = gc.isenabled()
        gc.disable()
        try:
            nodes = _NODE_LIST.validate_json(row[0] if row else "[]")
        finally:
            if collecting:
                gc.enable()
        if not nodes:
            raise NodeNotFound(node_id)
        nodes.reverse()
        if start is not None and nodes[0].id != start:
            await self.get(start)  # NodeNotFound when there is no such node at all
            raise InvalidArgument(
                f"Node {start} is not an ancestor of node {node_id}: start must lie on the "
                f"path from the root to {node_id} (call tree to see it), or leave start out."
            )
        return nodes

    async def children(self, node_id: int) -> list[Node]:
        await self.get(node_id)
        rows = await self._db.all(
            f"SELECT {_rows.NODE_COLUMNS} FROM nodes WHERE parent_id = ? ORDER BY id", (node_id,)
        )
        return [_rows.node(row) for row in rows]

    async def tree(self, tree_id: int) -> TreeView:
        """The whole tree, compactly: ids, parents, kinds and a short preview of each node."""
        # One snapshot, so every head names a node in the list.
        async with self._db.snapshot() as db:
            rows = await db.all(
                "SELECT id, parent_id, kind, ephemeral, depth, substr(coalesce("
                "json_extract(data, '$.text'), json_extract(data, '$.thinking'), "
                "json_extract(data, '$.name'), json_extract(data, '$.content'), data), 1, 400) AS head "
                "FROM nodes WHERE tree_id = ? ORDER BY id",
                (tree_id,),
            )
            heads = {
                row["name"]: row["head_id"]
                for row in await db.all(
                    "SELECT name, head_id FROM sessions WHERE tree_id = ? ORDER BY name", (tree_id,)
                )
            }
        return TreeView(
            tree_id=tree_id,
            nodes=[
                TreeNode(
                    id=row["id"],
                    parent_id=row["parent_id"],
                    kind=NodeKind(row["kind"]),
                    ephemeral=bool(row["ephemeral"]),
                    depth=row["depth"],
                    preview=preview(row["head"]),
                )
                for row in rows
            ],
            heads=heads,
        )

    async def sweep_ephemeral(self, tree_id: int, *, keep: Iterable[int] = ()) -> int:
        """Delete the tree's ephemeral nodes that no head, and nothing in ``keep``, reaches.

        Their descendants go with them (no head reaches those either, since
        what heads reach is closed under parents). ``keep`` protects the nodes
        of ephemeral turns still running, which no head points at by design.
        """
        async with self._db.write() as conn:
            await conn.execute(
                _NEEDED + ", doomed(id) AS ("
                "    SELECT id FROM nodes WHERE tree_id = :tree_id AND ephemeral = 1 "
                "    AND id NOT IN needed"
                "    UNION SELECT nodes.id FROM nodes JOIN doomed ON nodes.parent_id = doomed.id"
                ") DELETE FROM nodes WHERE id IN doomed",
                {"tree_id": tree_id, "keep": _rows.dumps(list(keep))},
            )
            return await changes(conn)

    async def collect_garbage(self, tree_id: int, *, keep: Iterable[int] = ()) -> int:
        """Delete every node of the tree that no session can reach; the tree too once no session is left."""
        async with self._db.write() as conn:
            return await collect_garbage(conn, tree_id, list(keep))


async def collect_garbage(conn: aiosqlite.Connection, tree_id: int, keep: list[int]) -> int:
    """Inside a write transaction: delete what no session of the tree reaches."""
    async with conn.execute(
        "SELECT 1 FROM sessions WHERE tree_id = ? LIMIT 1", (tree_id,)
    ) as cursor:
        alive = await cursor.fetchone()
    if alive is None and not keep:
        async with conn.execute(
            "SELECT count(*) FROM nodes WHERE tree_id = ?", (tree_id,)
        ) as cursor:
            row = await cursor.fetchone()
        await conn.execute("DELETE FROM trees WHERE id = ?", (tree_id,))
        return int(row[0]) if row else 0
    await conn.execute(
        _NEEDED + "DELETE FROM nodes WHERE tree_id = :tree_id AND id NOT IN needed",
        {"tree_id": tree_id, "keep": _rows.dumps(keep)},
    )
    return await changes(conn)


async def changes(conn: aiosqlite.Connection) -> int:
    """Rows changed by the last statement (cursor.rowcount is -1 for a WITH ... DELETE)."""
    async with conn.execute("SELECT changes()") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def insert_chain(
    conn: aiosqlite.Connection, parent_id: int, nodes: Sequence[NewNode]
) -> list[Node]:
    """Append ``nodes`` as a chain under ``parent_id``, inside a write transaction."""
    async with conn.execute(
        "SELECT tree_id, depth FROM nodes WHERE id = ?", (parent_id,)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise NodeNotFound(parent_id)
    tree_id, depth = row["tree_id"], row["depth"]
    created = now()
    appended: list[Node] = []
    for new in nodes:
        added = await _insert(conn, tree_id, parent_id, depth, new, created)
        appended.append(added)
        parent_id, depth = added.id, added.depth
    return appended


async def _insert(
    conn: aiosqlite.Connection,
    tree_id: int,
    parent_id: int | None,
    parent_depth: int,
    new: NewNode,
    created: float,
) -> Node:
    depth = parent_depth + 1
    cursor = await conn.execute(
        "INSERT INTO nodes (tree_id, parent_id, kind, data, ephemeral, depth, message_uuid, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            tree_id,
            parent_id,
            new.kind.value,
            _rows.dumps(new.data),
            int(new.ephemeral),
            depth,
            new.message_uuid,
            created,
        ),
    )
    assert cursor.lastrowid is not None
    return Node(
        id=cursor.lastrowid,
        tree_id=tree_id,
        parent_id=parent_id,
        kind=new.kind,
        data=new.data,
        ephemeral=new.ephemeral,
        depth=depth,
        message_uuid=new.message_uuid,
        created_at=created,
    )


def preview(content: object) -> str:
    """A one-line preview of a node's content, for tree views."""
    text = " ".join(str(content).split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
