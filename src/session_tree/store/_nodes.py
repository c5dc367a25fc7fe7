"""Trees and nodes: the branching history.

Nodes are written once and never updated. A session is only a pointer to a
node (its head), so a fork is a second pointer into the same tree and copies
nothing. Reading a branch is one walk up the parent links (a recursive CTE over
the primary key), never a scan of the tree.

Because a node never changes and its id is never reused (AUTOINCREMENT), a
node read once can be kept: :class:`NodeCache` holds recently read nodes, and a
path whose leaf is cached is a walk up ``parent_id`` in memory, checked against
the database by one primary-key lookup (the leaf still exists; its ancestors
then do too, as deletes are closed under descendants and parent_id is a foreign
key). Only nodes whose transaction committed enter the cache: a rolled-back
insert gives its id back to ``sqlite_sequence``.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Sequence

from pydantic import TypeAdapter

from ..errors import InvalidArgument, NodeNotFound
from ..models import NewNode, Node, NodeKind, TreeView
from . import _rows
from ._database import now
from ._sql import Connection, Database

PREVIEW_CHARS = 80

# The walk carries whole rows up the parent links (one primary-key lookup per
# level) and SQLite builds the JSON array, which pydantic-core parses in one
# call: ~20x fewer Python objects than reading row by row. Rows come out leaf
# first, with each row's stored size (what the cache charges for it). LIMIT
# stops the recursion itself, so a read can end where the cache takes over.
_ANCESTORS = """
WITH RECURSIVE path AS (
    SELECT * FROM nodes WHERE id = :node_id
    UNION ALL
    SELECT nodes.* FROM nodes JOIN path ON nodes.id = path.parent_id
    WHERE path.id != :start
    LIMIT :limit
)
SELECT json_group_array(json_object(
    'id', id, 'tree_id', tree_id, 'parent_id', parent_id, 'kind', kind, 'data', json(data),
    'ephemeral', ephemeral = 1, 'depth', depth, 'message_uuid', message_uuid,
    'created_at', created_at
)), json_group_array(length(data)) FROM path
"""
# The first read of a path not cached takes this many nodes, and each next read
# four times as many: a new leaf over a cached branch costs one small read, and
# a cold 100,000-node path six.
FIRST_READ = 64
# Each cache generation holds at most this many nodes or this many bytes, and two
# generations are kept: a node used again survives one turnover, and a
# 100,000-node branch read over and over stays whole. A node is charged its
# stored JSON plus NODE_OVERHEAD for the Python objects (measured: about 2.5 KB
# of memory per node of 100 characters, so a cached 100,000-node branch holds
# about 240 MiB). A node bigger than an eighth of the byte budget is not kept.
CACHE_NODES = 200_000
CACHE_BYTES = 128 * 1024 * 1024
NODE_CACHE_MB = 2 * CACHE_BYTES / (1024 * 1024)  # both generations: SESSION_TREE_NODE_CACHE_MB
NODE_OVERHEAD = 1024
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

SWEEP = f"""WITH RECURSIVE region(id) AS (
    SELECT id FROM nodes WHERE tree_id = :tree_id AND ephemeral = 1 UNION
    SELECT nodes.id FROM nodes JOIN region ON nodes.parent_id = region.id
), running(id) AS (
    SELECT streams.prompt_node_id FROM streams JOIN sessions ON sessions.id = streams.session_id
    WHERE sessions.tree_id = :tree_id AND streams.status IN ({_rows.ACTIVE_STREAM}) UNION
    SELECT nodes.id FROM nodes JOIN running ON nodes.parent_id = running.id
), needed(id) AS (
    SELECT head_id FROM sessions WHERE tree_id = :tree_id AND head_id IN region
    UNION SELECT value FROM json_each(:keep) WHERE value IN region
    UNION SELECT id FROM running WHERE id IN region UNION
    SELECT parent_id FROM nodes JOIN needed USING (id) WHERE parent_id IN region
), doomed(id) AS (
    SELECT id FROM nodes WHERE id IN region AND ephemeral = 1 AND id NOT IN needed UNION
    SELECT nodes.id FROM nodes JOIN doomed ON nodes.parent_id = doomed.id
) DELETE FROM nodes WHERE id IN doomed"""


class NodeCache:
    """Nodes already read, by id, within a budget (two generations of :data:`CACHE_NODES`
    nodes or :data:`CACHE_BYTES` charged each).

    Callers share the cached objects: ``Node`` is frozen, and its ``data`` must be
    treated so too (copy it before changing it)."""

    def __init__(self, max_nodes: int = CACHE_NODES, max_bytes: int = CACHE_BYTES) -> None:
        self._max_nodes = max_nodes
        self._max_bytes = max_bytes
        self._young: dict[int, tuple[Node, int]] = {}
        self._old: dict[int, tuple[Node, int]] = {}
        self._bytes = 0

    def put(self, node: Node, size: int) -> None:
        """Keep ``node``, whose stored JSON is ``size`` bytes."""
        size += NODE_OVERHEAD
        if size <= self._max_bytes // 8 and node.id not in self._young:
            self._add(node.id, (node, size))

    def walk(self, node_id: int, start: int | None, into: list[Node]) -> int | None:
        """Append to ``into`` the cached nodes from ``node_id`` up, leaf first, ending
        after ``start`` or the root; return the first id not cached, or None."""
        current: int | None = node_id
        while current is not None:
            entry = self._young.get(current)
            if entry is None:
                entry = self._old.pop(current, None)
                if entry is None:
                    return current
                self._add(current, entry)
            into.append(entry[0])
            if current == start:
                return None
            current = entry[0].parent_id
        return None

    def _add(self, node_id: int, entry: tuple[Node, int]) -> None:
        if len(self._young) >= self._max_nodes or self._bytes + entry[1] > self._max_bytes:
            self._old, self._young, self._bytes = self._young, {}, 0
        self._young[node_id] = entry
        self._bytes += entry[1]


class Nodes:
    def __init__(
        self, db: Database, cache: NodeCache | None = None, *, first_read: int = FIRST_READ
    ) -> None:
        self._db = db
        self._cache = NodeCache() if cache is None else cache
        self._first_read = first_read

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
        nodes: list[Node] = []
        missing = self._cache.walk(node_id, start, nodes)
        from_cache = bool(nodes)
        limit = self._first_read
        while missing is not None:
            read = await self._read_up(missing, start, limit)
            if not read:
                # The leaf is gone (or never was): its ancestors cannot be missing otherwise.
                raise NodeNotFound(node_id)
            nodes.extend(read)
            last = read[-1]
            if last.id == start or last.parent_id is None:
                break
            missing = self._cache.walk(last.parent_id, start, nodes)
            limit *= 4
        if (
            from_cache
            and await self._db.one("SELECT 1 FROM nodes WHERE id = ?", (node_id,)) is None
        ):
            raise NodeNotFound(node_id)  # deleted since it was cached
        nodes.reverse()
        if start is not None and nodes[0].id != start:
            await self.get(start)  # NodeNotFound when there is no such node at all
            raise InvalidArgument(
                f"Node {start} is not an ancestor of node {node_id}: start must lie on the "
                f"path from the root to {node_id} (call tree to see it), or leave start out."
            )
        return nodes

    async def _read_up(self, node_id: int, start: int | None, limit: int) -> list[Node]:
        """At most ``limit`` nodes from ``node_id`` up (leaf first, ending after ``start``
        or the root), from the database; each enters the cache."""
        # Ids are positive: -1 never stops the walk.
        params = {"node_id": node_id, "start": -1 if start is None else start, "limit": limit}
        row = await self._db.one(_ANCESTORS, params)
        if row is None:
            return []
        # A deep path allocates tens of thousands of objects at once; pausing the
        # cyclic collector (nothing here makes cycles) halves the time on a
        # 10,000-node path. No await happens while it is paused.
        collecting = gc.isenabled()
        gc.disable()
        try:
            nodes = _NODE_LIST.validate_json(row[0])
            sizes: list[int] = json.loads(row[1])
            for node, size in zip(nodes, sizes, strict=True):
                self._cache.put(node, size)
        finally:
            if collecting:
                gc.enable()
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
        # One validation of the whole view, with the cyclic collector paused (it
        # would otherwise walk the growing heap again and again): 60% of the time
        # of building 100,000 TreeNodes one by one. No await in between.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return TreeView.model_validate(
                {
                    "tree_id": tree_id,
                    "nodes": [
                        {
                            "id": row[0],
                            "parent_id": row[1],
                            "kind": row[2],
                            "ephemeral": bool(row[3]),
                            "depth": row[4],
                            "preview": preview(row[5]),
                        }
                        for row in rows
                    ],
                    "heads": heads,
                }
            )
        finally:
            if collecting:
                gc.enable()

    async def sweep_ephemeral(self, tree_id: int, *, keep: Iterable[int] = ()) -> int:
        """Delete the tree's ephemeral nodes that no head, running turn or node in
        ``keep`` needs, and their descendants. It reads only the region at and below
        ephemeral nodes (a head outside it needs nothing in it): run at every kept
        turn's start, it costs a tree without side branches one index probe."""
        async with self._db.write() as conn:
            await conn.execute(SWEEP, {"tree_id": tree_id, "keep": _rows.dumps(list(keep))})
            return await changes(conn)

    async def collect_garbage(self, tree_id: int, *, keep: Iterable[int] = ()) -> int:
        """Delete every node of the tree that no session can reach; the tree too once no session is left."""
        async with self._db.write() as conn:
            return await collect_garbage(conn, tree_id, list(keep))


async def collect_garbage(conn: Connection, tree_id: int, keep: list[int]) -> int:
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


async def changes(conn: Connection) -> int:
    """Rows changed by the last statement (cursor.rowcount is -1 for a WITH ... DELETE)."""
    async with conn.execute("SELECT changes()") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def insert_chain(conn: Connection, parent_id: int, nodes: Sequence[NewNode]) -> list[Node]:
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
    conn: Connection,
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
