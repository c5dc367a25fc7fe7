"""A second process for tests/test_store_multiprocess.py: writes to a shared database.

Usage: python store_writer.py DB TAG STREAM_ID ROUNDS. Waits for a line on
stdin (so both writers start together), then interleaves session creation,
event appends to the shared stream, approval requests and decisions on every
pending approval, and prints one JSON line with what it did.
"""

from __future__ import annotations

import json
import sys

import anyio

from session_tree.errors import ApprovalAlreadyDecided
from session_tree.models import ApprovalStatus
from session_tree.store import Store


async def main(db: str, tag: str, stream_id: int, rounds: int) -> None:
    won: list[int] = []
    async with Store.open(db) as store:
        sys.stdin.readline()
        for i in range(rounds):
            await store.sessions.create(f"{tag}-{i}")
            await store.streams.append_many(
                stream_id, [("text", {"w": tag, "i": i, "j": j}) for j in range(i % 4 + 1)]
            )
            await store.approvals.create("shared", tool_name="Write", input={"w": tag, "i": i})
            for approval in await store.approvals.pending("shared"):
                try:
                    await store.approvals.decide(
                        approval.id, ApprovalStatus.ALLOWED, decided_by=tag
                    )
                    won.append(approval.id)
                except ApprovalAlreadyDecided:
                    pass
    sys.stdout.write(json.dumps({"won": won}) + "\n")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), backend="asyncio")
