"""Approval bench: from the parent's loopback_respond to the child's tool running.

    python bench/approval_bench.py

A real MCP client drives ``session-tree serve`` (real ``claude`` children, a
``ScriptedModel`` on 127.0.0.1 without added latency). Each of 20 rounds: a
loopback session's child asks to Write a new file; the parent's blocking chat
returns ``awaiting_permission``; the parent calls ``loopback_respond(allow)``.
Figures (same machine clock for all):

- respond -> tool ran: the file's mtime (set by Claude Code's Write tool as it
  runs) minus the time just before the parent sent loopback_respond;
- respond round trip: the MCP call itself;
- respond -> tool_result stored: the ``tool_result`` event's ``created_at``
  minus the same start, i.e. what a polling parent could see.
Baseline for scale, in the same run: the poll(wait_ms=0) MCP round trip.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

from session_tree.testing import ScriptedModel, text, tool_use
from turn_bench import Server, ms, quantile, serve

ROUNDS = 20
ROUND_TIMEOUT_S = 60.0


async def one_round(
    server: Server, model: ScriptedModel, target: Path
) -> tuple[float, float, float]:
    model.push(tool_use("Write", {"file_path": str(target), "content": "x"}), text("written"))
    with anyio.fail_after(ROUND_TIMEOUT_S):
        waiting = await server.call("chat", name="bench", prompt=f"write {target.name}")
        if waiting["status"] != "awaiting_permission":
            raise RuntimeError(f"expected a pending approval: {waiting}")
        (pending,) = waiting["pending_approvals"]
        start = time.time()
        await server.call("loopback_respond", approval_id=pending["id"], decision="allow")
        answered = time.time()
        stored: float | None = None
        from_seq = 0
        while True:
            page = await server.call(
                "poll", stream_id=waiting["stream_id"], from_seq=from_seq, wait_ms=5000
            )
            from_seq = page["next_seq"]
            for event in page["events"]:
                if event["kind"] == "tool_result" and stored is None:
                    stored = event["created_at"]
            if page["done"]:
                break
    written = anyio.Path(target)
    if stored is None or not await written.exists():
        raise RuntimeError(f"the tool did not run for {target}")
    return (await written.stat()).st_mtime - start, answered - start, stored - start


async def main() -> None:
    ran: list[float] = []
    round_trips: list[float] = []
    stored: list[float] = []
    polls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="approval-bench-") as tmp, ScriptedModel() as model:
        directory = Path(tmp)
        (directory / "work").mkdir()
        async with serve(directory, model, "approvals") as server:
            await server.call("create", name="bench", cwd=str(directory), loopback=True)
            for i in range(ROUNDS + 1):
                figures = await one_round(server, model, directory / f"file-{i}.txt")
                if i == 0:
                    continue  # the first round also starts the child
                ran.append(figures[0])
                round_trips.append(figures[1])
                stored.append(figures[2])
            last = (await server.call("streams", name="bench"))["streams"][0]
            # Poll past the last event (a seq beyond the next one is refused): an
            # empty page, so the figure is the round trip alone.
            for _ in range(100):
                start = time.perf_counter()
                await server.call("poll", stream_id=last["stream_id"], from_seq=last["events"])
                polls.append(time.perf_counter() - start)

    print(f"session-tree approval bench (python {sys.version.split()[0]}); {ROUNDS} rounds")
    print(f"{'figure (ms)':<40}{'n':>6}{'p50':>11}{'p90':>11}{'max':>11}")
    for label, samples in (
        ("loopback_respond -> tool ran", ran),
        ("loopback_respond round trip", round_trips),
        ("loopback_respond -> tool_result stored", stored),
        ("baseline: poll wait_ms=0 round trip", polls),
    ):
        p50, p90 = ms(statistics.median(samples)), ms(quantile(samples, 0.9))
        print(f"{label:<40}{len(samples):>6}{p50:>11.1f}{p90:>11.1f}{ms(max(samples)):>11.1f}")


if __name__ == "__main__":
    anyio.run(main, backend="asyncio")
