"""A mirrored reply's text kept by reference to the node that holds it (migration 0016).

Claude Code's transcript entry for an assistant message holds the reply's text,
and so does the node the turn wrote for it: a long reply was stored twice. A
large top-level value of an entry (``transcript_values``) may leave out one
slice of its JSON text that a node's data holds byte for byte, the reply's
text as a JSON string; the value then holds the rest and where the slice goes.
Loading puts it back in SQL (:data:`WHOLE_VALUE`), so an exact load returns the
same bytes; a node's delete first gives its slices back (the migration's
trigger).

The mirror's entry and the node are written by two paths (the SDK's mirror
batches, the turn's events) in either order, so both call :func:`share`: after
a mirror append and at a turn's end. It looks only at recent rows: the last
text and thinking nodes not yet shared, and the last unshared values.
"""

from __future__ import annotations

from . import _rows
from ._database import reads
from ._sql import Connection

# A text shorter than this (in characters, as JSON) is not worth a reference.
MIN_SHARED_CHARS = 1024
# How far back (in ids) share looks for nodes and values written in the same turn.
_RECENT_NODES = 64
_RECENT_VALUES = 16
# At most this many nodes a call: a turn's long blocks are few, and an imported branch's long
# nodes (no mirror entry repeats them) must not be read again on every append.
_MAX_CANDIDATES = 8
_FIELDS = ("text", "thinking")

WHOLE_VALUE = (
    "CASE WHEN transcript_values.node_id IS NULL THEN transcript_values.value "
    "ELSE substr(transcript_values.value, 1, transcript_values.value_at) "
    "|| substr(nodes.data, transcript_values.node_at + 1, transcript_values.node_len) "
    "|| substr(transcript_values.value, transcript_values.value_at + 1) END"
)
"""A value's whole JSON text, in a query that joins ``nodes ON nodes.id = transcript_values.node_id``
(a LEFT JOIN)."""

_CANDIDATE_NODES = f"""
SELECT id, data FROM nodes
WHERE id > (SELECT coalesce(max(id), 0) FROM nodes) - {_RECENT_NODES}
AND kind IN ('text', 'thinking')
AND NOT EXISTS (SELECT 1 FROM transcript_values WHERE transcript_values.node_id = nodes.id)
AND length(data) >= {MIN_SHARED_CHARS}
ORDER BY id DESC LIMIT {_MAX_CANDIDATES}
"""
# Every expression on the right reads the row as it was before the update.
_SHARE = f"""
UPDATE transcript_values SET
    value = substr(value, 1, instr(value, :slice) - 1) || substr(value, instr(value, :slice) + :len),
    value_at = instr(value, :slice) - 1, node_id = :node_id, node_at = :node_at, node_len = :len
WHERE node_id IS NULL
AND id > (SELECT coalesce(max(id), 0) FROM transcript_values) - {_RECENT_VALUES}
AND length(value) >= :len AND instr(value, :slice) > 0
"""


async def share(conn: Connection) -> int:
    """Let recent values that repeat a recent node's text refer to it; how many did."""
    shared = 0
    for node_id, data in await reads(conn).all(_CANDIDATE_NODES):
        node = _rows.loads_object(data)
        for field in _FIELDS:
            value = node.get(field)
            if not isinstance(value, str) or len(value) < MIN_SHARED_CHARS:
                continue
            piece = _rows.dumps(value)
            node_at = data.find(piece)
            if node_at < 0:
                continue  # the node spells it otherwise: nothing to point at
            cursor = await conn.execute(
                _SHARE, {"slice": piece, "len": len(piece), "node_id": node_id, "node_at": node_at}
            )
            shared += max(cursor.rowcount, 0)
    return shared
