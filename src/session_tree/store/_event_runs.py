"""A finished turn's events kept by reference to its nodes (table ``event_runs``, migration 0013).

A reply of N bytes reaches a stream several times over: once as its text
deltas (one row each, with a row's overhead apiece), once as its block's event
(the whole text again, beside the node that holds it) and once more in the
result event. At a turn's end :func:`compact` replaces runs of such events by
one row each that says how to rebuild them from the node: the deltas as
lengths into the node's text, the block's event as the node's data plus its
id, the result's text as the node's. Times are kept exactly: the first
``created_at``, then each gap as a whole number of ticks of 2**-22 s (the
resolution of a float clock between 2**30 and 2**31 s, so such a gap is exact).
Gaps and lengths are packed as varints: a delta then costs two or three bytes.

Nothing is trusted: a run is written only when rebuilding it gives back every
one of its events exactly (kind, JSON text, ``created_at``); anything else
stays as it was, one row an event. :func:`expand` is the one reader, used by
``Streams.read``, so poll, resume and export see the same events either way.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..models import Event, JSONObject
from . import _rows
from ._database import reads
from ._sql import Connection, Row

TICKS = 1 << 22
"""Ticks a second in a run's packed gaps."""
DELTA_FIELDS = {"text_delta": ("text", "text"), "thinking_delta": ("thinking", "thinking")}
"""A delta's kind -> (its one field, the kind of the block it spells; the node's field has the same name)."""
WORTH = 2048
"""A turn whose events hold fewer bytes is left as it is: little to save, and a turn's end stays
one read cheaper."""
FILLED = 256
"""A single event is stored by reference only when it repeats this many bytes of its node."""

READ_SQL = (
    "SELECT 0, seq, seq, kind, data, created_at, NULL, NULL FROM (SELECT seq, kind, data, "
    "created_at FROM events WHERE stream_id = :stream AND seq >= :from ORDER BY seq LIMIT :limit) "
    "AS plain "
    "UNION ALL SELECT 1, first_seq, last_seq, layout, coalesce(event_runs.node_data, nodes.data), "
    "NULL, packed, node_id FROM event_runs LEFT JOIN nodes ON nodes.id = event_runs.node_id "
    "WHERE stream_id = :stream AND last_seq >= :from AND first_seq < :from + :limit"
)
"""Plain rows and runs in one statement, so one snapshot: a compaction committed
between two reads could otherwise hide events or show them twice. A plain row's time and a
run's packed bytes have columns of their own: PostgreSQL's UNION wants one type a column."""


NODES_SQL = "SELECT id, data FROM nodes WHERE id IN (SELECT value FROM json_each(?))"
"""The nodes a stream's events name, by a JSON list of ids."""


def expand(stream_id: int, rows: Sequence[Row], from_seq: int, limit: int) -> list[Event]:
    """The events of ``READ_SQL``'s rows, from ``from_seq`` on, in order, at most ``limit``."""
    out: list[Event] = []
    runs = False
    for run, first, last, kind, data, at, packed, node_id in rows:
        if not run:
            out.append(
                Event(
                    stream_id=stream_id,
                    seq=first,
                    kind=kind,
                    data=_rows.loads_object(data),
                    created_at=at,
                )
            )
            continue
        runs = True
        layout = json.loads(kind)
        stamps, lengths = unpack(packed, last - first + 1, _deltas(layout))
        for seq, (event_kind, event_data), created in zip(
            range(first, last + 1),
            decode(layout, _rows.loads_object(data), node_id, iter(lengths)),
            stamps,
            strict=True,
        ):
            if seq >= from_seq + limit:
                break  # seqs have no gaps: the page ends before this one
            if seq >= from_seq:
                out.append(
                    Event(
                        stream_id=stream_id,
                        seq=seq,
                        kind=event_kind,
                        data=event_data,
                        created_at=created,
                    )
                )
    if runs:
        out.sort(key=lambda event: event.seq)
    return out[:limit]


def decode(
    layout: list[Any], node: JSONObject, node_id: int, lengths: Iterator[int]
) -> Iterator[tuple[str, JSONObject]]:
    """The (kind, data) of each event a run's layout describes, rebuilt from its node's
    data; ``lengths`` are the deltas' lengths, in order."""
    for segment in layout:
        if segment[0] == "d":  # deltas: consecutive pieces of the node's field
            _, kind, field, count = segment
            whole, offset = node[field], 0
            assert isinstance(whole, str)
            for _ in range(count):
                length = next(lengths)
                yield kind, {field: whole[offset : offset + length]}
                offset += length
        elif segment[0] == "b":  # the block's own event: the node's data and its id
            yield segment[1], {**node, "node_id": node_id}
        else:  # "f": an event whose one field is the node's
            _, kind, template, key, field = segment
            yield kind, {**template, key: node[field]}


def _deltas(layout: list[Any]) -> int:
    return sum(segment[3] for segment in layout if segment[0] == "d")


def pack(stamps: Sequence[float], lengths: Sequence[int]) -> bytes | None:
    """The first time as a double, then each gap in ticks and each length as varints;
    None when a gap is not a whole number of ticks (a clock this cannot hold exactly)."""
    out = bytearray(struct.pack("<d", stamps[0]))
    at = stamps[0]
    for value in stamps[1:]:
        gap = (value - at) * TICKS
        ticks = int(gap)
        if ticks != gap or at + ticks / TICKS != value:
            return None
        _varint(out, ticks * 2 if ticks >= 0 else -ticks * 2 - 1)  # zigzag: a clock may step back
        at = value
    for length in lengths:
        _varint(out, length)
    return bytes(out)


def unpack(packed: bytes, events: int, deltas: int) -> tuple[list[float], list[int]]:
    """``pack``'s times (``events`` of them) and lengths (``deltas``)."""
    (at,) = struct.unpack_from("<d", packed)
    numbers = _varints(packed, 8)
    stamps = [at]
    for _ in range(events - 1):
        zigzag = next(numbers)
        at += (zigzag >> 1 if not zigzag & 1 else -((zigzag + 1) >> 1)) / TICKS
        stamps.append(at)
    return stamps, [next(numbers) for _ in range(deltas)]


def _varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def _varints(data: bytes, offset: int) -> Iterator[int]:
    value = shift = 0
    for byte in data[offset:]:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            yield value
            value = shift = 0


@dataclass(frozen=True)
class _Row:
    seq: int
    kind: str
    data: str
    created_at: float

    def parsed(self) -> Any:
        return json.loads(self.data)


@dataclass(frozen=True)
class _Run:
    first: int
    last: int
    node_id: int
    layout: list[Any]
    packed: bytes


async def compact(conn: Connection, stream_id: int) -> int:
    """Inside a write transaction at a turn's end: replace the stream's events that repeat
    its nodes by runs (see the module's doc). Returns how many events now live in runs."""
    found = await reads(conn).all(
        "SELECT seq, kind, data, created_at FROM events WHERE stream_id = ? ORDER BY seq",
        (stream_id,),
    )
    if sum(len(row[2]) for row in found) < WORTH:
        return 0
    rows = [_Row(*row) for row in found]
    node_ids = {
        data["node_id"]
        for row in rows
        if '"node_id":' in row.data
        and isinstance(data := row.parsed(), dict)
        and isinstance(data.get("node_id"), int)
    }
    nodes = {
        int(node_id): _rows.loads_object(data)
        for node_id, data in await reads(conn).all(
            NODES_SQL,
            (json.dumps(sorted(node_ids)),),
        )
    }
    runs = [run for run in _plan(rows, nodes) if run is not None]
    if not runs:
        return 0
    await conn.executemany(
        "DELETE FROM events WHERE stream_id = ? AND seq BETWEEN ? AND ?",
        [(stream_id, run.first, run.last) for run in runs],
    )
    await conn.executemany(
        "INSERT INTO event_runs (stream_id, first_seq, last_seq, node_id, layout, packed) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                stream_id,
                run.first,
                run.last,
                run.node_id,
                _rows.dumps(run.layout),
                run.packed,
            )
            for run in runs
        ],
    )
    return sum(run.last - run.first + 1 for run in runs)


def _plan(rows: list[_Row], nodes: dict[int, JSONObject]) -> Iterator[_Run | None]:
    """The runs worth writing, each checked; None for a candidate that failed its check."""
    index = 0
    while index < len(rows):
        row = rows[index]
        if row.kind in DELTA_FIELDS:
            field, block_kind = DELTA_FIELDS[row.kind]
            end, lengths = index, []
            while end < len(rows) and rows[end].kind == row.kind:
                data = rows[end].parsed()
                if not (isinstance(data, dict) and list(data) == [field]):
                    break
                if not isinstance(data[field], str):
                    break
                lengths.append(len(data[field]))
                end += 1
            node_id = _node_of(rows[end], nodes) if end < len(rows) else None
            if end > index and node_id is not None and rows[end].kind == block_kind:
                layout = [["d", row.kind, field, len(lengths)], ["b", block_kind]]
                yield _checked(rows[index : end + 1], node_id, nodes[node_id], layout, lengths)
                index = end + 1
            else:
                index = max(end, index + 1)
            continue
        node_id = _node_of(row, nodes) if len(row.data) >= FILLED else None
        if node_id is not None:
            yield _checked([row], node_id, nodes[node_id], [["b", row.kind]])
        elif row.kind == "result" and len(row.data) >= FILLED:
            yield _result_run(row, nodes)
        index += 1


def _node_of(row: _Row, nodes: dict[int, JSONObject]) -> int | None:
    if '"node_id":' not in row.data:
        return None
    data = row.parsed()
    node_id = data.get("node_id") if isinstance(data, dict) else None
    return node_id if isinstance(node_id, int) and node_id in nodes else None


def _result_run(row: _Row, nodes: dict[int, JSONObject]) -> _Run | None:
    """The result event with its text taken from the turn's text node that says the same."""
    data = row.parsed()
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, str) or len(result) < FILLED:
        return None
    same = [node_id for node_id, node in nodes.items() if node.get("text") == result]
    if not same:
        return None
    template = {**data, "result": None}
    return _checked(
        [row], max(same), nodes[max(same)], [["f", row.kind, template, "result", "text"]]
    )


def _checked(
    rows: list[_Row],
    node_id: int,
    node: JSONObject,
    layout: list[Any],
    lengths: Sequence[int] = (),
) -> _Run | None:
    """The run, if rebuilding it gives back exactly ``rows``."""
    stamps = [row.created_at for row in rows]
    packed = pack(stamps, lengths)
    if packed is None:
        return None
    times, unpacked = unpack(packed, len(rows), len(lengths))
    try:
        rebuilt = list(decode(layout, node, node_id, iter(unpacked)))
    except (KeyError, TypeError, AssertionError, StopIteration):
        return None  # a node without the field its deltas spell: left as rows
    if len(rebuilt) != len(rows) or times != stamps:
        return None
    for row, (kind, data) in zip(rows, rebuilt, strict=True):
        if row.kind != kind or row.data != _rows.dumps(data):
            return None
    return _Run(rows[0].seq, rows[-1].seq, node_id, layout, packed)
