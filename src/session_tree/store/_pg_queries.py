"""PostgreSQL's wording of the few statements where the two dialects differ.

The store's modules write each statement once; a statement here, keyed by the
very text the module sends, is what the PostgreSQL backend runs in its place.
What differs: SQLite's JSON functions over a parameter (``json_each``,
``json_group_array``), ``x IN cte`` (PostgreSQL wants a subquery), LIMIT
inside a recursive CTE (PostgreSQL stops the walk by a counter instead), and
``INSERT OR IGNORE`` (``ON CONFLICT DO NOTHING``).
Everything else the modules send runs on both as it is, with three helper
functions the PostgreSQL schema defines (``json_extract`` over text, and
two-argument ``max``/``min``). ``SELECT changes()`` is answered by the adapter
from the previous statement's row count.

A module that changes one of these statements must change its entry here; the
store suite, run on both backends, fails until it does.
"""

from __future__ import annotations

from typing import Final

from . import _rows
from ._event_runs import NODES_SQL
from ._nodes import _ANCESTORS, _NEEDED, SWEEP
from ._search import _MATCH, SNIPPET_TOKENS
from ._secrets import KEEP_FIRST

_ACTIVE = _rows.ACTIVE_STREAM

_PG_ANCESTORS = """
WITH RECURSIVE path AS (
    SELECT nodes.*, 1 AS walked FROM nodes WHERE id = %(node_id)s
    UNION ALL
    SELECT nodes.*, path.walked + 1 FROM nodes JOIN path ON nodes.id = path.parent_id
    WHERE path.id != %(start)s AND path.walked < %(limit)s
)
SELECT coalesce(json_agg(json_build_object(
    'id', id, 'tree_id', tree_id, 'parent_id', parent_id, 'kind', kind, 'data', data::json,
    'ephemeral', ephemeral = 1, 'depth', depth, 'message_uuid', message_uuid,
    'created_at', created_at
) ORDER BY walked)::text, '[]'), coalesce(json_agg(length(data) ORDER BY walked)::text, '[]')
FROM path
"""

_KEEP = "SELECT jsonb_array_elements_text(%(keep)s::jsonb)::bigint"

_PG_NEEDED = f"""
WITH RECURSIVE running(id) AS (
    SELECT streams.prompt_node_id FROM streams
    JOIN sessions ON sessions.id = streams.session_id
    WHERE sessions.tree_id = %(tree_id)s AND streams.prompt_node_id IS NOT NULL
    AND streams.status IN ({_ACTIVE})
    UNION
    SELECT nodes.id FROM nodes JOIN running ON nodes.parent_id = running.id
), needed(id) AS (
    SELECT head_id FROM sessions WHERE tree_id = %(tree_id)s
    UNION {_KEEP}
    UNION SELECT id FROM running
    UNION
    SELECT nodes.parent_id FROM nodes JOIN needed ON nodes.id = needed.id
    WHERE nodes.parent_id IS NOT NULL
)
DELETE FROM nodes WHERE tree_id = %(tree_id)s AND id NOT IN (SELECT id FROM needed)
"""

_PG_SWEEP = f"""WITH RECURSIVE region(id) AS (
    SELECT id FROM nodes WHERE tree_id = %(tree_id)s AND ephemeral = 1 UNION
    SELECT nodes.id FROM nodes JOIN region ON nodes.parent_id = region.id
), running(id) AS (
    SELECT streams.prompt_node_id FROM streams JOIN sessions ON sessions.id = streams.session_id
    WHERE sessions.tree_id = %(tree_id)s AND streams.status IN ({_ACTIVE}) UNION
    SELECT nodes.id FROM nodes JOIN running ON nodes.parent_id = running.id
), needed(id) AS (
    SELECT head_id FROM sessions WHERE tree_id = %(tree_id)s
        AND head_id IN (SELECT id FROM region)
    UNION SELECT id FROM ({_KEEP}) AS kept(id) WHERE id IN (SELECT id FROM region)
    UNION SELECT id FROM running WHERE id IN (SELECT id FROM region) UNION
    SELECT parent_id FROM nodes JOIN needed USING (id)
        WHERE parent_id IN (SELECT id FROM region)
), doomed(id) AS (
    SELECT id FROM nodes WHERE id IN (SELECT id FROM region) AND ephemeral = 1
        AND id NOT IN (SELECT id FROM needed) UNION
    SELECT nodes.id FROM nodes JOIN doomed ON nodes.parent_id = doomed.id
) DELETE FROM nodes WHERE id IN (SELECT id FROM doomed)"""

_VALUES_GONE = (
    "DELETE FROM transcript_values WHERE id NOT IN (SELECT value FROM transcript_entries, "
    "json_each(transcript_entries.refs) WHERE transcript_entries.refs IS NOT NULL)"
)
_PG_VALUES_GONE = (
    "DELETE FROM transcript_values WHERE id NOT IN (SELECT refs.value::bigint FROM "
    "transcript_entries, jsonb_array_elements_text(transcript_entries.refs::jsonb) AS refs(value) "
    "WHERE transcript_entries.refs IS NOT NULL)"
)

_PG_MATCH = """
SELECT nodes.id, nodes.tree_id, nodes.kind, nodes.created_at,
    ts_headline('english', node_search.body, query,
        'StartSel=[, StopSel=], MaxWords={tokens}, MinWords=4, MaxFragments=1, '
        'FragmentDelimiter=…') AS snippet
FROM node_search JOIN nodes ON nodes.id = node_search.id,
    (SELECT CASE WHEN %(phrase)s THEN phraseto_tsquery('english', %(words)s)
        ELSE plainto_tsquery('english', %(words)s) END AS query) AS asked
WHERE node_search.words @@ asked.query AND node_search.id < %(before)s {trees}
ORDER BY node_search.id DESC LIMIT %(limit)s
"""
_TREES = "AND nodes.tree_id IN (SELECT value FROM json_each(:trees))"
_PG_TREES = "AND nodes.tree_id IN (SELECT jsonb_array_elements_text(%(trees)s::jsonb)::bigint)"

_PG_NODES = (
    "SELECT id, data FROM nodes WHERE id IN (SELECT jsonb_array_elements_text(%s::jsonb)::bigint)"
)
_PG_KEEP_FIRST = (
    "INSERT INTO secrets (name, value, created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
)

_INDEX_CHECK = "INSERT INTO node_fts (node_fts) VALUES ('integrity-check')"
_PG_INDEX_CHECK = """DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM nodes WHERE ephemeral = 0
            AND kind IN ('user', 'text', 'thinking', 'tool_use', 'tool_result')
            AND id NOT IN (SELECT id FROM node_search))
        OR EXISTS (SELECT 1 FROM node_search JOIN nodes USING (id) WHERE nodes.ephemeral = 1
            OR node_search.body != coalesce(node_body(nodes.kind, nodes.data), ''))
    THEN RAISE EXCEPTION 'node_search does not hold exactly the text of the nodes';
    END IF;
END $$"""

# Already in psycopg's placeholders: the adapter runs these as they are.
STATEMENTS: Final[dict[str, str]] = {
    _ANCESTORS: _PG_ANCESTORS,
    _NEEDED + "DELETE FROM nodes WHERE tree_id = :tree_id AND id NOT IN needed": _PG_NEEDED,
    SWEEP: _PG_SWEEP,
    NODES_SQL: _PG_NODES,
    KEEP_FIRST: _PG_KEEP_FIRST,
    _VALUES_GONE: _PG_VALUES_GONE,
    _MATCH.format(tokens=SNIPPET_TOKENS, trees=""): _PG_MATCH.format(
        tokens=SNIPPET_TOKENS, trees=""
    ),
    _MATCH.format(tokens=SNIPPET_TOKENS, trees=_TREES): _PG_MATCH.format(
        tokens=SNIPPET_TOKENS, trees=_PG_TREES
    ),
    _INDEX_CHECK: _PG_INDEX_CHECK,
}
