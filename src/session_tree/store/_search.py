"""Full-text search over what the children said and did.

The index (migration ``0010_titles_and_search``) is FTS5 over a view of the
nodes, kept in step by triggers on the nodes table, so every write path (a
turn, an import, garbage collection, a tree's delete) keeps it without knowing
of it. Nodes are never updated and their ids only grow, so "newest first" is
rowid order, which FTS5 walks backwards without sorting.

A hit is placed in its turn: the turn's prompt (the nearest ``user`` node
above it, or the hit itself), which names the session that ran the turn, and
the turn's summary (the first ``summary`` node below it), where a fork that
keeps the hit can start.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from ..errors import InvalidArgument
from ..models import NodeKind
from . import _rows
from ._database import Reads
from ._sql import Database, Row

SNIPPET_TOKENS = 16

_MATCH = """
SELECT node_fts.rowid AS id, nodes.tree_id, nodes.kind, nodes.created_at,
    snippet(node_fts, 0, '[', ']', '…', {tokens}) AS snippet
FROM node_fts JOIN nodes ON nodes.id = node_fts.rowid
WHERE node_fts MATCH :match AND node_fts.rowid < :before {trees}
ORDER BY node_fts.rowid DESC LIMIT :limit
"""
# Up the parent links to the turn's prompt; inside one turn, so a few steps.
_PROMPT = """
WITH RECURSIVE up(id, parent_id, kind) AS (
    SELECT id, parent_id, kind FROM nodes WHERE id = :id
    UNION ALL
    SELECT nodes.id, nodes.parent_id, nodes.kind FROM nodes JOIN up ON nodes.id = up.parent_id
    WHERE up.kind != 'user'
)
SELECT id FROM up WHERE kind = 'user' LIMIT 1
"""
# Down the turn's chain to its summary; a next turn's prompt ends the walk.
_SUMMARY = """
WITH RECURSIVE down(id, kind) AS (
    SELECT id, kind FROM nodes WHERE id = :id
    UNION ALL
    SELECT nodes.id, nodes.kind FROM nodes JOIN down ON nodes.parent_id = down.id
    WHERE down.kind != 'summary' AND nodes.kind != 'user'
)
SELECT id FROM down WHERE kind = 'summary' ORDER BY id LIMIT 1
"""


@dataclass(frozen=True)
class NodeHit:
    node_id: int
    tree_id: int
    kind: NodeKind
    created_at: float
    snippet: str
    session_id: int | None
    """The session that ran the hit's turn; None when that session is gone (or
    the node was imported): the caller places it on a session of its tree."""
    prompt_id: int | None
    summary_id: int | None
    """The turn's summary node, where a fork keeps the hit; None for a turn that
    ended without one (interrupted, failed before a result)."""


def match_expression(query: str, *, phrase: bool) -> str:
    """An FTS5 query that means the words of ``query`` (all of them, in any
    order), or with ``phrase`` the words in that order; FTS5's own syntax in
    ``query`` (quotes, operators, columns) is taken as plain text."""
    words = query.split()
    if not words:
        raise InvalidArgument("The search query is empty: give at least one word to look for.")
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    return "".join(["(", " + ".join(quoted) if phrase else " AND ".join(quoted), ")"])


class Search:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def nodes(
        self,
        query: str,
        *,
        phrase: bool = False,
        trees: Collection[int] | None = None,
        before: int | None = None,
        limit: int = 20,
    ) -> list[NodeHit]:
        """Nodes whose text matches, newest first, older than node ``before``;
        with ``trees``, only nodes of those trees."""
        tree_filter = ""
        params: dict[str, object] = {
            "match": match_expression(query, phrase=phrase),
            # The words as given, for PostgreSQL's tsquery (SQLite reads only :match).
            "words": " ".join(query.split()),
            "phrase": phrase,
            "before": before if before is not None else 2**63 - 1,
            "limit": limit,
        }
        if trees is not None:
            tree_filter = "AND nodes.tree_id IN (SELECT value FROM json_each(:trees))"
            params["trees"] = _rows.dumps(sorted(trees))
        async with self._db.snapshot() as db:
            rows = await db.all(_MATCH.format(tokens=SNIPPET_TOKENS, trees=tree_filter), params)
            hits = [await _place(db, row) for row in rows]
        if phrase and self._db.dialect == "postgresql":
            hits = [replace(hit, snippet=one_mark(hit.snippet, query)) for hit in hits]
        return hits

    async def index_check(self) -> None:
        """FTS5's own check that the index holds exactly the nodes' text (raises if not)."""
        async with self._db.write() as conn:
            await conn.execute("INSERT INTO node_fts (node_fts) VALUES ('integrity-check')")


def one_mark(snippet: str, phrase: str) -> str:
    """PostgreSQL's ts_headline marks each word of a phrase (``[walrus] [hides] in the
    [attic]``), SQLite's FTS5 the phrase once: join marks whose gap holds only the phrase's
    own words (its stop words), as FTS5 shows it."""
    words = {word.lower() for word in re.findall(r"\w+", phrase)}

    def join(gap: re.Match[str]) -> str:
        inside = re.findall(r"\w+", gap.group(1))
        return gap.group(1) if all(w.lower() in words for w in inside) else gap.group(0)

    return re.sub(r"\]([^\[\]]*?)\[", join, snippet)


async def _place(db: Reads, row: Row) -> NodeHit:
    prompt = await db.one(_PROMPT, {"id": row["id"]})
    summary = await db.one(_SUMMARY, {"id": row["id"]})
    prompt_id = None if prompt is None else int(prompt[0])
    owner = None
    if prompt_id is not None:
        # streams has no index on prompt_node_id: this scans it, once per hit
        # (about a millisecond per 10,000 turns).
        found = await db.one(
            "SELECT session_id FROM streams WHERE prompt_node_id = ? ORDER BY id LIMIT 1",
            (prompt_id,),
        )
        owner = None if found is None else int(found[0])
    return NodeHit(
        node_id=row["id"],
        tree_id=row["tree_id"],
        kind=NodeKind(row["kind"]),
        created_at=row["created_at"],
        snippet=row["snippet"] or "",
        session_id=owner,
        prompt_id=prompt_id,
        summary_id=None if summary is None else int(summary[0]),
    )
