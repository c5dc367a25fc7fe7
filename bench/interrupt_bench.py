"""Next-turn latency after an interrupt, against two baselines from the same run.

    python bench/interrupt_bench.py

Real MCP client, real ``session-tree serve``, real ``claude`` children; the model
is a ``ScriptedModel`` answering every request after 50 ms. Each round, on one
session: a turn that completes, a ``chat`` right after it (baseline: a warm
child), then a ``chat_async`` whose reply the model holds back, ``interrupt`` once
its first part is stored, and the ``chat`` right after (the figure). A second
baseline: the first ``chat`` of a fork of that session, which always starts a new
claude resumed from the fork point (what the turn after an interrupt paid when an
interrupted turn's child was closed). Timed at the MCP client; the interrupt call
itself is timed too (it now waits for the child's rewind).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio

from session_tree.testing import ScriptedModel, text
from turn_bench import LATENCY_S, Server, ms, quantile, serve

ROUNDS = 12
# Bound on waits: generous, so it only ever stops a hung run.
WAIT_S = 60.0


async def timed_chat(server: Server, name: str, prompt: str) -> float:
    began = time.perf_counter()
    with anyio.fail_after(WAIT_S):
        reply = await server.call("chat", name=name, prompt=prompt)
    elapsed = time.perf_counter() - began
    if reply["status"] != "completed":
        raise RuntimeError(f"chat on {name} ended {reply['status']}: {reply.get('error')}")
    return elapsed


async def interrupted_turn(server: Server, model: ScriptedModel, name: str) -> float:
    """A turn stopped after its first streamed part; the interrupt call's time."""
    gate = threading.Event()
    model.push(text("never ", "finished", gate=gate, gate_after_deltas=1))
    try:
        started = await server.call("chat_async", name=name, prompt="long")
        stream_id = started["stream_id"]
        with anyio.fail_after(WAIT_S):
            from_seq = 0
            while True:
                page = await server.call(
                    "poll", stream_id=stream_id, from_seq=from_seq, wait_ms=5000
                )
                from_seq = page["next_seq"]
                if any(event["kind"] == "text_delta" for event in page["events"]):
                    break
        began = time.perf_counter()
        stopped = await server.call("interrupt", name=name)
        elapsed = time.perf_counter() - began
        if stopped["status"] != "interrupted":
            raise RuntimeError(f"interrupt on {name}: {stopped}")
        return elapsed
    finally:
        gate.set()


def row(label: str, samples: list[float]) -> str:
    p50, p90 = ms(statistics.median(samples)), ms(quantile(samples, 0.9))
    return f"{label:<48}{len(samples):>6}{p50:>11.1f}{p90:>11.1f}{ms(max(samples)):>11.1f}"


async def main() -> None:
    after_completed: list[float] = []
    after_interrupt: list[float] = []
    fork_first: list[float] = []
    interrupt_call: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="interrupt-bench-") as tmp,
        ScriptedModel(latency_s=LATENCY_S) as model,
    ):
        directory = Path(tmp)
        (directory / "work").mkdir()
        async with serve(directory, model, "interrupt") as server:
            for number in range(ROUNDS):
                name = f"main-{number}"
                await server.call("create", name=name)
                await timed_chat(server, name, "first")
                after_completed.append(await timed_chat(server, name, "second"))
                interrupt_call.append(await interrupted_turn(server, model, name))
                after_interrupt.append(await timed_chat(server, name, "after the interrupt"))
                await server.call("fork", name=name, new_name=f"fork-{number}")
                fork_first.append(await timed_chat(server, f"fork-{number}", "on the fork"))
                # Close both children so the cap on warm children never counts.
                await server.call("delete", name=f"fork-{number}")
                await server.call("delete", name=name)
    print(
        f"session-tree interrupt bench (python {sys.version.split()[0]}); "
        f"scripted model latency {ms(LATENCY_S):.0f} ms per request"
    )
    print(f"{'figure (ms)':<48}{'n':>6}{'p50':>11}{'p90':>11}{'max':>11}")
    print(row("next chat after an interrupt", after_interrupt))
    print(row("baseline: next chat after a completed turn", after_completed))
    print(row("baseline: first chat of a fork (new claude)", fork_first))
    print(row("interrupt call", interrupt_call))


if __name__ == "__main__":
    anyio.run(main)
