"""Workspace benchmark: the turn-end snapshot on a repository of 10,000 files, 10 changed.

    python bench/workspace_bench.py

Target (issue 17): the snapshot (``Workspaces.snapshot``: ``add --all`` in the
private index, ``write-tree``, ``commit-tree``, ``update-ref``, plus reading the
ref) under 200 ms at p50. Printed beside, from the same run on the same
worktree and the same changes: ``git status --porcelain`` (what git needs just
to find the changes) and ``git add --all`` into the worktree's own index (the
plain way to stage them). Also shown: making the workspace (a checkout of the
10,000 files) and a snapshot whose private index is gone (every file read).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import anyio

from session_tree.models import SessionConfig
from session_tree.service import Workspaces
from session_tree.store import Store

FILES = 10_000
CHANGED = 10
ROUNDS = 21
_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **_IDENTITY}
    )


def _make_repo(root: Path) -> Path:
    repo = root / "repo"
    for number in range(FILES):
        folder = repo / f"d{number // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{number:05d}.txt").write_text(f"file {number}\n" * 4)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "--all")
    _git(repo, "commit", "-q", "-m", "10,000 files")
    return repo


def _change(tree: Path, round_number: int) -> None:
    for number in range(CHANGED):
        target = tree / f"d{number * 7:03d}" / f"f{number * 700:05d}.txt"
        target.write_text(f"round {round_number}, change {number}\n")


def _ms(seconds: list[float]) -> str:
    return f"p50 {statistics.median(seconds) * 1000:7.1f} ms  max {max(seconds) * 1000:7.1f} ms"


async def _run(root: Path) -> None:
    repo = _make_repo(root)
    async with Store.open(str(root / "bench.db")) as store:
        session = await store.sessions.create(
            "bench", SessionConfig(cwd=str(repo), workspace="git")
        )
        workspaces = Workspaces(store)
        started = time.perf_counter()
        workspace = await workspaces.make(str(repo))
        made = time.perf_counter() - started
        await workspaces.bind(workspace, "bench")
        tree = Path(workspace.path)

        snapshots: list[float] = []
        statuses: list[float] = []
        adds: list[float] = []
        for round_number in range(ROUNDS):
            _change(tree, round_number)
            started = time.perf_counter()
            # Spawned as the snapshot's git processes are (asyncio), for a like-for-like figure.
            await anyio.run_process(["git", "status", "--porcelain"], cwd=tree)
            statuses.append(time.perf_counter() - started)
            started = time.perf_counter()
            await workspaces.snapshot(session, f"bench round {round_number}")
            snapshots.append(time.perf_counter() - started)
            started = time.perf_counter()
            await anyio.run_process(["git", "add", "--all"], cwd=tree)
            adds.append(time.perf_counter() - started)

        os.unlink(workspaces.index_file(workspace))
        _change(tree, ROUNDS)
        started = time.perf_counter()
        await workspaces.snapshot(session, "bench: no private index")
        cold = time.perf_counter() - started

    p50 = statistics.median(snapshots)
    print(f"repository: {FILES:,} files, {CHANGED} changed per round, {ROUNDS} rounds")
    print(
        f"  snapshot (turn end)        {_ms(snapshots)}   target p50 < 200 ms: "
        f"{'met' if p50 < 0.2 else 'MISSED'}"
    )
    print(
        f"  baseline git status        {_ms(statuses)}   snapshot / status "
        f"{p50 / statistics.median(statuses):.1f}x"
    )
    print(
        f"  baseline git add --all     {_ms(adds)}   snapshot / add "
        f"{p50 / statistics.median(adds):.1f}x"
    )
    print(f"  making the workspace       {made * 1000:7.1f} ms (checkout of every file)")
    print(f"  snapshot, private index gone {cold * 1000:7.1f} ms (every file read again)")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="workspace-bench-") as root:
        anyio.run(_run, Path(root), backend="asyncio")


if __name__ == "__main__":
    main()
