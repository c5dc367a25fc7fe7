"""Workspaces against real git and a real SQLite file: snapshots, repair after a crash, doctor's list."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from e2e.workspace_helpers import git, make_repo, user_state
from session_tree.errors import NotAGitRepository
from session_tree.models import Session, SessionConfig
from session_tree.service import Workspaces
from session_tree.service._workspaces import workspaces_dir
from session_tree.store import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store.open(str(tmp_path / "st.db")) as opened:
        yield opened


async def _session(store: Store, workspaces: Workspaces, repo: Path) -> Session:
    session = await store.sessions.create("main", SessionConfig(cwd=str(repo), workspace="git"))
    await workspaces.bind(await workspaces.make(str(repo)), "main")
    return session


async def test_a_snapshot_takes_untracked_files_leaves_ignored_ones_and_the_user_alone(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    before = user_state(repo)
    workspaces = Workspaces(store)
    session = await _session(store, workspaces, repo)
    tree = Path((await workspaces.of(session)).path)
    (tree / "new.txt").write_text("new\n")
    (tree / "skip.log").write_text("ignored\n")

    commit = await workspaces.snapshot(session, "turn 1")

    assert commit is not None
    files = git(repo, "ls-tree", "-r", "--name-only", commit).split()
    assert files == [".gitignore", "README.md", "new.txt", "notes.txt"]
    assert git(repo, "rev-parse", "refs/session-tree/" + (await workspaces.of(session)).key) == (
        commit
    )
    # The worktree's own index is not the snapshot's: git status there still shows new.txt.
    assert "?? new.txt" in git(tree, "status", "--porcelain")
    assert user_state(repo) == before
    assert oct((tmp_path / "st.db.workspaces").stat().st_mode & 0o777) == "0o700"


async def test_a_worktree_removed_by_a_crash_comes_back_at_its_last_snapshot(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    workspaces = Workspaces(store)
    session = await _session(store, workspaces, repo)
    workspace = await workspaces.of(session)
    (Path(workspace.path) / "kept.txt").write_text("kept\n")
    await workspaces.snapshot(session, "turn 1")
    shutil.rmtree(workspace.path)

    done = await workspaces.repair()

    assert done == [f"restored the worktree {workspace.path}"]
    assert (Path(workspace.path) / "kept.txt").read_text() == "kept\n"
    assert await workspaces.child_cwd(session) == workspace.path
    assert await workspaces.repair() == []


async def test_start_up_removes_what_a_crash_left_unbound_and_doctor_names_strays(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    workspaces = Workspaces(store)
    old = await workspaces.make(str(repo))
    young = await workspaces.make(str(repo))
    await _age(store, old.key)  # as old as a crash's leftover
    stray = workspaces.root / "left-by-hand"
    stray.mkdir()

    problems = await workspaces.problems()
    done = await workspaces.repair()

    assert f"stray worktree {stray} (no session has it)" in problems
    assert f"unused worktree {old.path} (its session is gone)" in problems
    assert done == [f"removed the unused worktree {old.path}"]
    assert not _is_dir(old.path)
    assert _is_dir(young.path)  # a create may still be under way
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/session-tree/").split()
    assert refs == [young.ref]


async def test_a_directory_outside_git_is_refused_before_anything_is_stored(
    tmp_path: Path, store: Store
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    workspaces = Workspaces(store)

    with pytest.raises(NotAGitRepository, match="is not inside a git repository"):
        await workspaces.make(str(plain))

    assert await store.workspaces.all() == []


async def _age(store: Store, key: str) -> None:
    async with store.db.write() as conn:
        await conn.execute(
            "UPDATE workspaces SET created_at = ? WHERE key = ?", (time.time() - 3600, key)
        )


def _is_dir(path: str) -> bool:
    return Path(path).is_dir()


def test_a_postgresql_databases_worktrees_live_in_this_machines_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    one = workspaces_dir("postgresql://st@db.example/one")
    other = workspaces_dir("postgresql://st@db.example/other")

    assert one.parent == tmp_path / "session-tree"
    assert one.name.startswith("postgresql-")
    assert one != other
    assert workspaces_dir(str(tmp_path / "st.db")) == tmp_path / "st.db.workspaces"
