"""Two real processes writing one database file at once lose nothing and never
surface 'database is locked'."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from session_tree.models import ApprovalStatus
from session_tree.store import Store

pytestmark = pytest.mark.anyio

WRITER = Path(__file__).with_name("store_writer.py")
ROUNDS = 150


async def test_two_processes_write_events_sessions_and_approvals_at_once(db_path: Path) -> None:
    async with Store.open(db_path) as store:
        await store.sessions.create("shared")
        stream = await store.streams.create("shared")

    writers = [
        subprocess.Popen(
            [sys.executable, str(WRITER), str(db_path), tag, str(stream.id), str(ROUNDS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    try:
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.flush()
        results = [writer.communicate(timeout=120) for writer in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()

    for writer, (_, stderr) in zip(writers, results, strict=True):
        assert "locked" not in stderr
        assert writer.returncode == 0, stderr
    won = [approval_id for out, _ in results for approval_id in json.loads(out)["won"]]

    per_writer = sum(i % 4 + 1 for i in range(ROUNDS))
    async with Store.open(db_path) as store:
        events = await store.streams.read(stream.id, limit=10_000)
        assert [e.seq for e in events] == list(range(2 * per_writer))
        for tag in ("a", "b"):
            mine = [(e.data["i"], e.data["j"]) for e in events if e.data["w"] == tag]
            assert mine == [(i, j) for i in range(ROUNDS) for j in range(i % 4 + 1)]
        assert len(await store.sessions.names()) == 2 * ROUNDS + 1
        # Every approval decided exactly once, by exactly one of the writers.
        assert await store.approvals.pending() == []
        assert sorted(won) == sorted(set(won))
        assert len(won) == 2 * ROUNDS
        decided = [await store.approvals.get(approval_id) for approval_id in won]
        assert all(
            a.status is ApprovalStatus.ALLOWED and a.decided_by in {"a", "b"} for a in decided
        )


async def test_a_waiter_sees_events_written_by_another_process(db_path: Path) -> None:
    async with Store.open(db_path) as store:
        await store.sessions.create("main")
        stream = await store.streams.create("main")
        script = (
            "import anyio, sys\n"
            "from session_tree.store import Store\n"
            "async def main():\n"
            "    async with Store.open(sys.argv[1]) as s:\n"
            "        await s.streams.append(int(sys.argv[2]), 'text', {'from': 'elsewhere'})\n"
            "anyio.run(main, backend='asyncio')\n"
        )
        other = subprocess.Popen([sys.executable, "-c", script, str(db_path), str(stream.id)])
        try:
            events, _ = await store.streams.wait(stream.id, from_seq=0, timeout=60)
        finally:
            other.wait(timeout=60)
        assert [e.data for e in events] == [{"from": "elsewhere"}]
        assert other.returncode == 0
