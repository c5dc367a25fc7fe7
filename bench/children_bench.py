"""Fifty children: fifty sessions with a turn each, at once, through one server.

    python bench/children_bench.py [--children 50]

Everything is real except the model, as in ``turn_bench.py``: a real MCP client
starts ``session-tree serve`` (with ``SESSION_TREE_MAX_CHILDREN`` raised to the
number of children) whose children are the real ``claude`` binary, talking to
a ``ScriptedModel`` on 127.0.0.1 that answers every request after 50 ms.

In order, on the one server:

1. Baseline: one session alone, its first turn (which starts its child: cold)
   and a follow-up on the warm child.
2. N new sessions, a first turn each, all at once (N children starting).
3. A follow-up turn on each of the N warm sessions, all at once.
4. Memory with N warm children: the server's RSS and USS, each child's RSS
   and USS (``memory_full_info``; USS is what one more child really costs, as
   the binary's pages are shared), and the machine's available memory before
   and after.

For each burst: p50 and p90 turn latency at the client, failures, the time for
all N to finish against the one session's turn time, and the CPU seconds the
server and its children used per turn (what a core carries).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import psutil

from session_tree.testing import ScriptedModel
from turn_bench import MIB, Server, ms, quantile, serve, tree_memory

LATENCY_S = 0.05
CHILDREN = 50
# A warm child's USS is about 125 MiB: refuse to start what the machine cannot hold.
NEED_PER_CHILD_MIB = 250
BURST_TIMEOUT_S = 600.0
WAIT_S = 300  # the chat tool's own bound on blocking


@dataclass
class Burst:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # the server and its children
    server_cpu_s: float = 0.0  # the server process alone


def server_process(server: Server) -> psutil.Process:
    marker = str(server.db_path)
    found = [p for p in psutil.Process().children(recursive=True) if marker in p.cmdline()]
    if len(found) != 1:
        raise RuntimeError(f"expected one server process, found {len(found)}")
    return found[0]


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time of a process and of every descendant still alive."""
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def one_turn(server: Server, name: str, prompt: str) -> float:
    start = time.perf_counter()
    reply = await server.call("chat", name=name, prompt=prompt, wait_s=WAIT_S)
    elapsed = time.perf_counter() - start
    if reply["status"] != "completed" or reply["text"] != f"ok: {prompt}":
        raise RuntimeError(f"{name}: {reply['status']}: {reply.get('text')!r}")
    return elapsed


async def burst(server: Server, process: psutil.Process, names: list[str], prompt: str) -> Burst:
    """One turn on each session, all at once."""
    result = Burst()

    async def turn(name: str) -> None:
        try:
            result.latencies.append(await one_turn(server, name, f"{prompt} {name}"))
        except Exception as exc:  # a failed turn is a figure, not the end of the run
            result.failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")

    cpu_before = cpu_seconds(process)
    server_before = sum(process.cpu_times()[:2])
    start = time.perf_counter()
    with anyio.fail_after(BURST_TIMEOUT_S):
        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(turn, name)
    result.wall_s = time.perf_counter() - start
    result.cpu_s = cpu_seconds(process) - cpu_before
    result.server_cpu_s = sum(process.cpu_times()[:2]) - server_before
    return result


@dataclass
class Memory:
    server_rss: float
    server_uss: float
    children: list[tuple[float, float, int]]


def memory(process: psutil.Process) -> Memory:
    info = process.memory_full_info()
    children = [c for c in process.children() if Path(c.exe()).name == "claude"]
    return Memory(
        server_rss=float(info.rss) / MIB,
        server_uss=float(info.uss) / MIB,
        children=[tree_memory(child) for child in children],
    )


def report_burst(label: str, result: Burst, alone_s: float, count: int) -> None:
    done = result.latencies
    if done:
        p50, p90 = ms(statistics.median(done)), ms(quantile(done, 0.9))
        print(
            f"{label:<34}{len(done):>5}{len(result.failures):>6}{p50:>10.0f}{p90:>10.0f}"
            f"{ms(max(done)):>10.0f}{ms(result.wall_s):>10.0f}{ms(alone_s):>10.0f}"
            f"{result.wall_s / alone_s:>8.1f}{result.cpu_s / count:>12.2f}"
        )
    else:
        print(f"{label:<34}{0:>5}{len(result.failures):>6}  (no turn finished)")
    print(
        f"    cpu: {result.cpu_s:.1f} s in {result.wall_s:.1f} s "
        f"({result.cpu_s / result.wall_s:.2f} cores busy); the server's own "
        f"{ms(result.server_cpu_s / count):.1f} ms per turn"
    )
    for failure in result.failures[:5]:
        print(f"    failed: {failure}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=CHILDREN)
    count: int = parser.parse_args().children
    available_before = psutil.virtual_memory().available / MIB
    if available_before < count * NEED_PER_CHILD_MIB:
        raise SystemExit(
            f"{available_before:.0f} MiB available: too little for {count} children "
            f"(~{NEED_PER_CHILD_MIB} MiB each); pass --children"
        )
    with (
        tempfile.TemporaryDirectory(prefix="children-bench-") as tmp,
        ScriptedModel(latency_s=LATENCY_S) as model,
    ):
        directory = Path(tmp)
        (directory / "work").mkdir()
        settings = {"SESSION_TREE_MAX_CHILDREN": str(count)}
        async with serve(directory, model, "children", settings) as server:
            process = server_process(server)
            await server.call("create", name="alone")
            with anyio.fail_after(BURST_TIMEOUT_S):
                alone_cold = await one_turn(server, "alone", "first")
                alone_warm = await one_turn(server, "alone", "follow-up")
            # The lone child is idle: the pool closes it to make room for the N.
            names = [f"c{i}" for i in range(count)]
            for name in names:
                await server.call("create", name=name)
            cold = await burst(server, process, names, "first")
            warm = await burst(server, process, names, "follow-up")
            warm_now = 0
            for name in names:
                warm_now += bool((await server.call("get", name=name))["warm"])
            held = memory(process)
            available_after = psutil.virtual_memory().available / MIB
            model_requests = len(model.conversation_requests())

    print(
        f"session-tree children bench (python {sys.version.split()[0]}, "
        f"{psutil.cpu_count()} cores); {count} sessions at once through one server; "
        f"scripted model latency {ms(LATENCY_S):.0f} ms per request"
    )
    header = f"{'burst (ms)':<34}{'ok':>5}{'fail':>6}{'p50':>10}{'p90':>10}{'max':>10}"
    print(f"{header}{'all done':>10}{'alone':>10}{'x':>8}{'cpu s/turn':>12}")
    report_burst(f"{count} first turns (children start)", cold, alone_cold, count)
    report_burst(f"{count} follow-ups (warm children)", warm, alone_warm, count)
    print(
        f"alone: first turn {ms(alone_cold):.0f} ms, follow-up {ms(alone_warm):.0f} ms; "
        f"{model_requests} conversation requests reached the model"
    )
    print()
    rss = [r for r, _, _ in held.children]
    uss = [u for _, u, _ in held.children]
    print(f"memory with {len(held.children)} warm children ({warm_now} sessions report warm), MiB")
    print(f"{'server process':<34}{'RSS':>10}{'USS':>10}")
    print(f"{'':<34}{held.server_rss:>10.1f}{held.server_uss:>10.1f}")
    if rss:
        print(
            f"{'per child p50 (min..max)':<34}{statistics.median(rss):>10.1f}"
            f"{statistics.median(uss):>10.1f}   RSS {min(rss):.0f}..{max(rss):.0f}, "
            f"USS {min(uss):.0f}..{max(uss):.0f}"
        )
        print(f"{'children total':<34}{sum(rss):>10.1f}{sum(uss):>10.1f}")
    print(
        f"machine available memory: {available_before:.0f} MiB before, "
        f"{available_after:.0f} MiB with the children warm "
        f"({(available_before - available_after) / max(1, len(held.children)):.0f} MiB per child)"
    )


if __name__ == "__main__":
    anyio.run(main, backend="asyncio")
