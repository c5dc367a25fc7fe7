"""A finished turn's events kept as runs by reference to its nodes (store/_event_runs.py) read
back exactly as they were stored one row each: every event, from any seq, any page size, after
the nodes they point at are swept or collected too."""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_tree.models import Event, JSONObject, NewNode, NodeKind, StreamStatus, Usage
from session_tree.store import Store
from session_tree.store._event_runs import pack, unpack
from session_tree.store._turns import Record
from session_tree.testing.postgres import Cluster

SUMMARY = NewNode(kind=NodeKind.SUMMARY, data={"claude_session_id": "c-1"})


@dataclass(frozen=True)
class Piece:
    """What the child said: deltas and the block they spell (or not quite), or something else."""

    kind: str  # text, thinking, tool_result, note, odd
    deltas: tuple[str, ...]
    spelled: bool  # whether the block's text is the deltas' text
    body: str
    repeat: int = 1  # each delta and the body this many times over: turns past WORTH bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "deltas", tuple(delta * self.repeat for delta in self.deltas))
        object.__setattr__(self, "body", self.body * self.repeat)


pieces = st.builds(
    Piece,
    kind=st.sampled_from(["text", "text", "thinking", "tool_result", "note", "odd"]),
    deltas=st.lists(st.text(max_size=20), max_size=60).map(tuple),
    spelled=st.booleans(),
    body=st.text(max_size=30),
    repeat=st.integers(min_value=1, max_value=60),
)
turns = st.lists(pieces, min_size=1, max_size=6)
reads = st.lists(
    st.tuples(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=400)),
    min_size=1,
    max_size=12,
)


def records_of(piece: Piece, ephemeral: bool) -> list[Record]:
    def node(kind: NodeKind, data: JSONObject) -> NewNode:
        return NewNode(kind=kind, data=data, ephemeral=ephemeral, message_uuid="m")

    if piece.kind in ("text", "thinking"):
        field = piece.kind
        delta_kind = f"{field}_delta"
        spelled = "".join(piece.deltas)
        whole = spelled if piece.spelled else spelled + piece.body + "!"
        data: JSONObject = {field: whole}
        if field == "thinking":
            data["signature"] = "sig"
        kind = NodeKind.TEXT if field == "text" else NodeKind.THINKING
        deltas: list[Record] = [(delta_kind, {field: text}, None) for text in piece.deltas]
        return [*deltas, (field, dict(data), node(kind, data))]
    if piece.kind == "odd":  # deltas, then a text block whose node has no text field
        odd: JSONObject = {"x": piece.body}
        return [
            *[("text_delta", {"text": text}, None) for text in piece.deltas],
            ("text", dict(odd), node(NodeKind.TEXT, odd)),
        ]
    if piece.kind == "tool_result":
        result: JSONObject = {"tool_use_id": "t1", "content": piece.body, "is_error": False}
        return [("tool_result", dict(result), node(NodeKind.TOOL_RESULT, result))]
    return [("system", {"subtype": "status", "data": {"text": piece.body}}, None)]


async def read_all(store: Store, stream_id: int) -> list[Event]:
    out: list[Event] = []
    while batch := await store.streams.read(stream_id, from_seq=len(out), limit=97):
        out.extend(batch)
    return out


async def run_turn(
    location: str | Path,
    turn: list[Piece],
    batch_sizes: list[int],
    end: str,
    polls: list[tuple[int, int]],
    name: str = "main",
) -> None:
    ephemeral = end == "ephemeral"
    async with Store.open(location) as store:
        session = await store.sessions.create(name)
        start = await store.turns.begin(
            name, NewNode(kind=NodeKind.USER, data={"text": "q"}, ephemeral=ephemeral)
        )
        stream_id, parent = start.stream.id, start.prompt_node.id
        records = [record for piece in turn for record in records_of(piece, ephemeral)]
        last_text = next(
            (data.get("text") for kind, data, _ in reversed(records) if kind == "text"), None
        )
        records.append(("result", {"subtype": "success", "result": last_text, "x": 1.5}, None))
        # Written in batches, as the child's items arrive: a batch shares one created_at.
        sizes = iter(batch_sizes)
        while records:
            size = next(sizes, len(records))
            batch, records = records[:size], records[size:]
            for node in await store.turns.record(stream_id, parent, batch):
                parent = node.id
        # The old storage, one row an event: what every read must go on returning.
        before = await read_all(store, stream_id)
        if end == "interrupted":
            await store.turns.end_early(
                stream_id, StreamStatus.INTERRUPTED, "stopped", ("interrupted", {"reason": "x"})
            )
        else:
            await store.turns.finish(
                stream_id,
                parent_id=parent,
                summary=SUMMARY,
                usage=Usage(turns=1),
                end={},
                claude_session_id=None if end in ("failed", "ephemeral") else "c-1",
                error="it broke" if end == "failed" else None,
            )
        # The turn's nodes gone: an ephemeral one swept, a failed one collected.
        if ephemeral:
            await store.nodes.sweep_ephemeral(session.tree_id)
        elif end in ("failed", "interrupted"):
            await store.nodes.collect_garbage(session.tree_id)
        after = await read_all(store, stream_id)
        assert after[: len(before)] == before
        assert [event.kind for event in after[len(before) :]] == [
            "interrupted" if end == "interrupted" else "turn_end"
        ]
        assert [event.seq for event in after] == list(range(len(after)))
        for from_seq, limit in polls:
            page = await store.streams.read(stream_id, from_seq=from_seq, limit=limit)
            assert page == after[from_seq : from_seq + limit]


_names = itertools.count()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_db(request: pytest.FixtureRequest) -> str | None:
    """None: a new SQLite file each example; else one PostgreSQL database for every example
    (a database each would cost more than the example), a new session each."""
    if request.param == "sqlite":
        return None
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    turn=turns,
    batch_sizes=st.lists(st.integers(min_value=1, max_value=40), max_size=20),
    end=st.sampled_from(["kept", "kept", "failed", "interrupted", "ephemeral"]),
    polls=reads,
)
def test_runs_read_back_every_event_exactly(
    shared_db: str | None,
    turn: list[Piece],
    batch_sizes: list[int],
    end: str,
    polls: list[tuple[int, int]],
) -> None:
    name = f"s{next(_names)}"
    if shared_db is not None:
        anyio.run(run_turn, shared_db, turn, batch_sizes, end, polls, name, backend="asyncio")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.db"
        anyio.run(run_turn, path, turn, batch_sizes, end, polls, name, backend="asyncio")


async def counts(location: str | Path) -> tuple[int, int, int]:
    """(events rows, events in runs, runs that hold their node's data themselves)."""
    async with Store.open(location) as store:
        rows = await store.db.one("SELECT count(*) FROM events")
        runs = await store.db.one(
            "SELECT coalesce(sum(last_seq - first_seq + 1), 0), count(node_data) FROM event_runs"
        )
    assert rows is not None
    assert runs is not None
    return int(rows[0]), int(runs[0]), int(runs[1])


@pytest.mark.anyio
@pytest.mark.parametrize("end", ["kept", "ephemeral"])
async def test_a_long_reply_is_stored_once_and_outlives_its_node(
    db_location: str | Path, end: str
) -> None:
    deltas = tuple(f"word {i} " for i in range(500))
    turn = [Piece("text", deltas, True, ""), Piece("tool_result", (), True, "r" * 4000)]
    await run_turn(db_location, turn, [7, 100], end, [(0, 10_000), (250, 3)])

    rows, in_runs, kept = await counts(db_location)
    # 500 deltas, their block, the tool result and the result event are runs; left as rows:
    # turn_start and turn_end.
    assert (rows, in_runs) == (2, 503)
    # Swept nodes handed their data to the runs (kept turn: the nodes are still there).
    assert kept == (3 if end == "ephemeral" else 0)


@pytest.mark.anyio
async def test_a_small_turn_is_left_as_rows(db_location: str | Path) -> None:
    await run_turn(db_location, [Piece("text", ("a", "b"), True, "")], [], "kept", [(0, 10)])

    assert (await counts(db_location))[1] == 0


@given(
    stamps=st.lists(
        st.floats(min_value=1.1e9, max_value=2.1e9, allow_nan=False), min_size=1, max_size=30
    ),
    lengths=st.lists(st.integers(min_value=0, max_value=10**6), max_size=30),
)
def test_times_and_lengths_pack_exactly_or_not_at_all(
    stamps: list[float], lengths: list[int]
) -> None:
    packed = pack(stamps, lengths)
    if packed is not None:
        assert unpack(packed, len(stamps), len(lengths)) == (stamps, lengths)


def test_a_clock_that_steps_back_packs_too() -> None:
    stamps = [1_700_000_000.5, 1_700_000_000.25, 1_700_000_001.0, 1_700_000_001.0]
    packed = pack(stamps, [3, 0])
    assert packed is not None
    assert unpack(packed, 4, 2) == (stamps, [3, 0])
