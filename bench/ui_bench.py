"""UI bench: the session page of a 10,000-node tree, against drawing it in the terminal.

    python bench/ui_bench.py

A real SQLite file holds two trees of 10,000 nodes: one straight conversation,
and one with a fork every 100 nodes (100 branches, each a session's head). For
each, through the real application (Starlette behind its guard, over httpx's
ASGI transport, no socket): the session page as a browser gets it, folded, and
with every fold opened a page at a time. Baseline in the same run: reading the
tree (``Supervisor.tree``) and drawing it for the terminal (``session-tree
tree``'s ``draw_tree``), which shows every node.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio
import httpx

from session_tree.cli._drawing import draw_tree
from session_tree.models import NewNode, NodeKind, TreeView
from session_tree.service import Settings, open_supervisor
from session_tree.store import Store
from session_tree.web import Access, build_app, layout

T = TypeVar("T")

NODES = 10_000
FORK_EVERY = 100
ROUNDS = 5
KINDS = (NodeKind.USER, NodeKind.TEXT, NodeKind.TOOL_USE, NodeKind.TOOL_RESULT, NodeKind.SUMMARY)


async def build(db: Path) -> None:
    async with Store.open(db) as store:
        line = await store.sessions.create("line")
        chain = [NewNode(kind=KINDS[i % 5], data={"text": f"node {i}"}) for i in range(NODES - 1)]
        nodes = await store.nodes.append_chain(line.head_id, chain)
        await store.sessions.set_head("line", nodes[-1].id)

        forks = await store.sessions.create("forks")
        spine = await store.nodes.append_chain(
            forks.head_id,
            [NewNode(kind=KINDS[i % 5], data={"text": f"spine {i}"}) for i in range(NODES // 2)],
        )
        await store.sessions.set_head("forks", spine[-1].id)
        per_branch = (NODES // 2) // FORK_EVERY
        for b in range(FORK_EVERY):
            at = spine[b * per_branch].id
            branch = await store.nodes.append_chain(
                at, [NewNode(kind=NodeKind.TEXT, data={"text": f"b{b}"}) for _ in range(per_branch)]
            )
            name = f"fork-{b}"
            await store.sessions.fork("forks", name, at=at)
            await store.sessions.set_head(name, branch[-1].id)


async def timed(what: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    """The median time of ``ROUNDS`` calls, in ms, and the last result."""
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        result = await what()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        await build(db)
        access = Access(port=1)
        async with open_supervisor(Settings(db_path=db)) as supervisor:
            transport = httpx.ASGITransport(app=build_app(supervisor, access))
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://127.0.0.1:1",
                headers={"authorization": f"Bearer {access.token}"},
            ) as client:
                print(f"{'tree':<8}{'what':<34}{'median ms':>10}{'rows':>8}{'bytes':>10}")
                for name in ("line", "forks"):
                    tree = await supervisor.tree(name)

                    async def read(name: str = name) -> object:
                        return await supervisor.tree(name)

                    async def draw(view: TreeView = tree.tree) -> list[str]:
                        return draw_tree(view, width=120)

                    async def page(query: str = "", name: str = name) -> str:
                        answer = await client.get(f"/s/{name}{query}")
                        answer.raise_for_status()
                        return answer.text

                    ms, _ = await timed(read)
                    print(f"{name:<8}{'read the tree (baseline)':<34}{ms:>10.1f}")
                    ms, lines = await timed(draw)
                    drawn = "\n".join(lines)
                    print(
                        f"{name:<8}{'terminal drawing (baseline)':<34}{ms:>10.1f}"
                        f"{len(lines):>8}{len(drawn.encode()):>10}"
                    )
                    graph = layout(tree.tree)
                    ms, text = await timed(page)
                    print(
                        f"{name:<8}{'session page, folded':<34}{ms:>10.1f}"
                        f"{len(graph.rows):>8}{len(text.encode()):>10}"
                    )
                    opened = ",".join(str(r.first_id) for r in graph.rows if r.run)
                    graph = layout(tree.tree, expanded=frozenset(int(i) for i in opened.split(",")))

                    async def opened_page(opened: str = opened) -> str:
                        return await page(f"?expand={opened}")

                    ms, text = await timed(opened_page)
                    print(
                        f"{name:<8}{'session page, folds opened once':<34}{ms:>10.1f}"
                        f"{len(graph.rows):>8}{len(text.encode()):>10}"
                    )


if __name__ == "__main__":
    anyio.run(main, backend="asyncio")
    sys.exit(0)
