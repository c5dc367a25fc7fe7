"""Workspaces with real git: each session and fork has its own worktree, snapshotted per turn;
the user's checkout is never touched."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from session_tree.testing import ScriptedModel

from .harness import Harness, eventually, serve
from .workspace_helpers import Writer, git, make_repo, user_state

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def _create(harness: Harness, name: str, repo: Path) -> Path:
    await harness.call("create", name=name, cwd=str(repo), workspace="git", allowed_tools=["Write"])
    return await _worktree(harness, name)


async def _worktree(harness: Harness, name: str) -> Path:
    workspace = (await harness.call("get", name=name))["workspace"]
    assert workspace is not None
    return Path(workspace["path"])


async def _write(harness: Harness, name: str, path: Path, content: str) -> dict[str, Any]:
    reply = await harness.call("chat", name=name, prompt=f"write {path} {content}")
    assert reply["status"] == "completed", reply
    return reply


async def _head(harness: Harness, name: str) -> int:
    return int((await harness.call("get", name=name))["session"]["head_id"])


def _refs(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname)", "refs/session-tree/").split()


def _worktrees(repo: Path) -> list[str]:
    listed = git(repo, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in listed.splitlines() if line.startswith("worktree ")]


async def test_a_fork_branches_the_files_and_the_users_checkout_stays_as_it_was(
    tmp_path: Path, harness: Harness, model: ScriptedModel
) -> None:
    model.responder = Writer()
    repo = make_repo(tmp_path / "project")
    before = user_state(repo)

    origin = await _create(harness, "origin", repo)
    assert origin != repo
    # The worktree starts from HEAD plus the uncommitted file; ignored files stay behind.
    assert (origin / "notes.txt").read_text() == "not committed yet\n"
    assert not (origin / "debug.log").exists()
    await _write(harness, "origin", origin / "a.txt", "one")
    turn_1 = await _head(harness, "origin")
    await _write(harness, "origin", origin / "b.txt", "two")
    assert user_state(repo) == before

    await harness.call("fork", name="origin", new_name="fork", at=turn_1)
    fork = await _worktree(harness, "fork")
    assert fork not in (origin, repo)
    assert (fork / "a.txt").read_text() == "one\n"
    assert not (fork / "b.txt").exists()

    # Both branches run a turn at the same time (the model holds each until both asked).
    started: dict[str, int] = {}
    for name, where, content in (("origin", origin, "o"), ("fork", fork, "f")):
        stream = await harness.call(
            "chat_async", name=name, prompt=f"write {where / 'c.txt'} {content} together"
        )
        started[name] = stream["stream_id"]
    for stream_id in started.values():
        events = await harness.poll_to_end(stream_id)
        assert events[-1]["kind"] == "turn_end", events[-1]

    assert (origin / "c.txt").read_text() == "o\n"
    assert (fork / "c.txt").read_text() == "f\n"
    assert sorted(p.name for p in origin.glob("*.txt")) == ["a.txt", "b.txt", "c.txt", "notes.txt"]
    assert sorted(p.name for p in fork.glob("*.txt")) == ["a.txt", "c.txt", "notes.txt"]
    assert not (repo / "a.txt").exists()
    assert not (repo / "c.txt").exists()
    assert user_state(repo) == before

    # Each turn's summary names its snapshot; the diff tool shows what each branch changed.
    turn_2 = await harness.call("workspace_diff", name="origin", at=turn_1)
    assert [(f["path"], f["status"]) for f in turn_2["files"]] == [("a.txt", "added")]
    branch = await harness.call("workspace_diff", name="fork")
    assert [(f["path"], f["status"]) for f in branch["files"]] == [("c.txt", "added")]
    assert "+f" in branch["patch"]
    whole = await harness.call("workspace_diff", name="origin", against="head")
    assert [f["path"] for f in whole["files"]] == ["a.txt", "b.txt", "c.txt", "notes.txt"]

    # Apply: a new branch of the user's repository, the checkout left alone.
    applied = await harness.call("workspace_apply", name="fork", branch="from-fork")
    assert applied["switched"] is False
    assert git(repo, "show", "from-fork:c.txt") == "f"
    assert git(repo, "show", "from-fork:a.txt") == "one"
    assert "b.txt" not in git(repo, "ls-tree", "--name-only", "from-fork")
    again = await harness.call_error("workspace_apply", name="fork", branch="from-fork")
    assert "already exists" in again
    patch = tmp_path / "origin.patch"
    await harness.call("workspace_apply", name="origin", patch_file=str(patch))
    assert "b.txt" in patch.read_text()
    assert "notes.txt" not in patch.read_text()  # the user's own change is theirs already
    git(repo, "apply", "--check", str(patch))
    refused = await harness.call_error(
        "workspace_apply", name="origin", branch="switched", switch=True
    )
    assert "uncommitted changes (notes.txt)" in refused
    assert "switched" not in git(repo, "branch", "--list")
    after = user_state(repo)
    assert (after.head, after.status, after.stash) == (before.head, before.status, before.stash)

    # Delete: no worktree, no ref, no directory left behind.
    await harness.call("delete", name="fork")
    assert not fork.exists()
    assert (origin / "c.txt").exists()
    await harness.call("delete", name="origin")
    assert not origin.exists()
    assert _worktrees(repo) == [str(repo)]
    assert _refs(repo) == []
    assert list(origin.parent.iterdir()) == []
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == before.status


async def test_a_turn_killed_with_its_server_goes_on_in_the_same_worktree(
    tmp_path: Path, model: ScriptedModel
) -> None:
    hold = threading.Event()
    model.responder = Writer(hold=hold)
    repo = make_repo(tmp_path / "project")
    before = user_state(repo)
    try:
        async with serve(tmp_path, model) as first:
            tree = await _create(first, "main", repo)
            await _write(first, "main", tree / "a.txt", "one")
            await first.call("chat_async", name="main", prompt=f"write {tree / 'b.txt'} two hold")

            async def written() -> bool:
                return (tree / "b.txt").exists()

            await eventually(written, what="the child writing b.txt")
            process = first.server_process()
            process.send_signal(signal.SIGKILL)
            process.wait(10)
    except BaseException:
        hold.set()
        raise
    hold.set()

    async with serve(tmp_path, model) as second:
        assert await _worktree(second, "main") == tree
        await _write(second, "main", tree / "c.txt", "three")
        change = await second.call("workspace_diff", name="main")
        # The last snapshot holds the killed turn's file too: one worktree throughout.
        assert [f["path"] for f in change["files"]] == ["a.txt", "b.txt", "c.txt"]
    assert _worktrees(repo) == [str(repo), str(tree)]
    assert user_state(repo) == before


async def test_an_interrupted_turn_leaves_a_snapshot_of_what_it_wrote(
    tmp_path: Path, harness: Harness, model: ScriptedModel
) -> None:
    hold = threading.Event()
    model.responder = Writer(hold=hold)
    repo = make_repo(tmp_path / "project")
    tree = await _create(harness, "main", repo)
    try:
        stream = await harness.call(
            "chat_async", name="main", prompt=f"write {tree / 'half.txt'} half hold"
        )

        async def written() -> bool:
            return (tree / "half.txt").exists()

        await eventually(written, what="the child writing half.txt")
        await harness.call("interrupt", name="main")
    finally:
        hold.set()
    events = await harness.poll_to_end(stream["stream_id"])

    assert events[-1]["kind"] == "interrupted"
    commit = events[-1]["data"]["commit"]
    assert git(repo, "show", f"{commit}:half.txt") == "half"
    # Not on the branch (the head did not move), but the session's ref holds it.
    key = (await harness.call("get", name="main"))["workspace"]["key"]
    assert git(repo, "rev-parse", f"refs/session-tree/{key}") == commit


async def test_a_workspace_outside_a_git_repository_is_refused_and_nothing_is_stored(
    tmp_path: Path, harness: Harness
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    error = await harness.call_error("create", name="main", cwd=str(plain), workspace="git")
    assert f"{plain} is not inside a git repository" in error
    assert "git init" in error
    assert await harness.call("list") == {"result": []}


async def test_the_cli_shows_and_applies_a_workspace_sessions_change(
    tmp_path: Path, harness: Harness, model: ScriptedModel
) -> None:
    model.responder = Writer()
    repo = make_repo(tmp_path / "project")
    tree = await _create(harness, "main", repo)
    await _write(harness, "main", tree / "a.txt", "one")
    cli = [sys.executable, "-m", "session_tree.cli", "--db", harness.db]

    def run(*args: str) -> str:
        done = subprocess.run(
            [*cli, *args], capture_output=True, text=True, timeout=120, check=True
        )
        return done.stdout

    shown = await anyio.to_thread.run_sync(run, "diff", "main")
    applied = await anyio.to_thread.run_sync(run, "apply", "main", "--branch", "cli-made")

    assert "added     a.txt" in shown
    assert "+one" in shown
    assert "made branch cli-made" in applied
    assert git(repo, "show", "cli-made:a.txt") == "one"
