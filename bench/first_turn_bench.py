"""First-turn latency: a child started at create (``create(start=true)``) against one
started by the first chat.

    python bench/first_turn_bench.py

Real MCP client, real ``session-tree serve``, real ``claude`` children; the model
is a ``ScriptedModel`` answering every request after 50 ms. Each round creates
two sessions: one cold (its first ``chat`` starts Claude Code) and one with
``start=true`` (the create starts it; the chat finds it warm). Timed at the MCP
client: the first chat of each, and the create with start. Rounds alternate which
goes first, so both meet the same load.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

from session_tree.testing import ScriptedModel
from turn_bench import LATENCY_S, Server, ms, quantile, serve

ROUNDS = 12


async def first_chat(server: Server, name: str, *, start: bool) -> tuple[float, float]:
    """Create a session (started or not) and time its create and its first chat."""
    began = time.perf_counter()
    await server.call("create", name=name, start=start)
    created = time.perf_counter()
    reply = await server.call("chat", name=name, prompt="hello")
    done = time.perf_counter()
    if reply["status"] != "completed":
        raise RuntimeError(f"first chat of {name} ended {reply['status']}: {reply.get('error')}")
    return created - began, done - created


def row(label: str, samples: list[float]) -> str:
    p50, p90 = ms(statistics.median(samples)), ms(quantile(samples, 0.9))
    return f"{label:<44}{len(samples):>6}{p50:>11.1f}{p90:>11.1f}{ms(max(samples)):>11.1f}"


async def main() -> None:
    cold_chat: list[float] = []
    warm_chat: list[float] = []
    warm_create: list[float] = []
    cold_create: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="first-turn-bench-") as tmp,
        ScriptedModel(latency_s=LATENCY_S) as model,
    ):
        directory = Path(tmp)
        (directory / "work").mkdir()
        async with serve(directory, model, "first-turn") as server:
            for number in range(ROUNDS):
                order = [False, True] if number % 2 == 0 else [True, False]
                for start in order:
                    name = f"{'warm' if start else 'cold'}-{number}"
                    create_s, chat_s = await first_chat(server, name, start=start)
                    (warm_create if start else cold_create).append(create_s)
                    (warm_chat if start else cold_chat).append(chat_s)
                    # Each session's child stays warm; close it so the cap never counts.
                    await server.call("delete", name=name)
    print(
        f"session-tree first-turn bench (python {sys.version.split()[0]}); "
        f"scripted model latency {ms(LATENCY_S):.0f} ms per request"
    )
    print(f"{'figure (ms)':<44}{'n':>6}{'p50':>11}{'p90':>11}{'max':>11}")
    print(row("first chat, cold (chat starts claude)", cold_chat))
    print(row("first chat after create(start=true)", warm_chat))
    print(row("create, without start", cold_create))
    print(row("create(start=true)", warm_create))


if __name__ == "__main__":
    anyio.run(main)
