"""Workspaces against a user's repository that is not set up the way session-tree expects:
their hooks, their diff config, odd branch names, a missing git, a git cut off half-way,
a symlink where a directory was. Real git and a real SQLite file throughout."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from e2e.harness import eventually
from e2e.workspace_helpers import git, make_repo, user_state
from session_tree.errors import GitNotInstalled, InvalidArgument, UncommittedChanges
from session_tree.models import Session, SessionConfig
from session_tree.server._advice import advised
from session_tree.service import SessionService, Settings, WorkspaceChanges, Workspaces
from session_tree.store import Store

pytestmark = pytest.mark.anyio

_HOOKS = (
    "reference-transaction",
    "post-checkout",
    "post-commit",
    "pre-commit",
    "post-index-change",
)


async def _session(
    store: Store, workspaces: Workspaces, repo: Path, name: str = "main", cwd: Path | None = None
) -> Session:
    where = str(cwd or repo)
    session = await store.sessions.create(name, SessionConfig(cwd=where, workspace="git"))
    await workspaces.bind(await workspaces.make(where), name)
    return session


async def test_session_trees_own_git_calls_run_none_of_the_users_hooks(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    ran = tmp_path / "hooks-ran"
    hooks = repo / ".git" / "hooks"
    for hook in _HOOKS:
        (hooks / hook).write_text(f'#!/bin/sh\necho {hook} >> "{ran}"\n')
        (hooks / hook).chmod(0o755)
    workspaces = Workspaces(store)
    session = await _session(store, workspaces, repo)
    workspace = await workspaces.of(session)
    (Path(workspace.path) / "made.txt").write_text("made\n")

    await workspaces.snapshot(session, "turn 1")
    await WorkspaceChanges(workspaces).apply("main", branch="result")
    await workspaces.remove(workspace)

    assert git(repo, "rev-parse", "--verify", "result") != ""
    assert not ran.exists(), ran.read_text()


async def test_a_patch_applies_and_reads_plainly_whatever_the_users_diff_config_says(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    for key, value in (
        ("color.ui", "always"),
        ("diff.noprefix", "true"),
        ("diff.external", "false"),
        ("diff.submodule", "log"),
    ):
        git(repo, "config", key, value)
    workspaces = Workspaces(store)
    session = await _session(store, workspaces, repo)
    tree = Path((await workspaces.of(session)).path)
    (tree / "README.md").write_text("hello\nchanged\n")
    (tree / "new.txt").write_text("new\n")
    await workspaces.snapshot(session, "turn 1")
    changes = WorkspaceChanges(workspaces)

    shown = await changes.diff("main")
    done = await changes.apply("main", patch_file=str(tmp_path / "result.patch"))

    assert "\x1b" not in shown.patch
    assert "+++ b/README.md" in shown.patch
    assert done.patch_file is not None
    git(repo, "apply", "--check", done.patch_file)  # raises if git cannot take it


async def test_branch_names_that_are_not_plain_new_branches_are_refused(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    # A previous branch that is gone: "@{-1}" would name it, and git would make it again.
    git(repo, "switch", "-q", "-c", "gone")
    git(repo, "switch", "-q", "main")
    git(repo, "branch", "-q", "-D", "gone")
    workspaces = Workspaces(store)
    await _session(store, workspaces, repo)
    before = user_state(repo)
    changes = WorkspaceChanges(workspaces)

    for name in ("-f", "--force", "a..b", "a b", "@{-1}", "HEAD", "main"):
        with pytest.raises(InvalidArgument):
            await changes.apply("main", branch=name)

    assert user_state(repo) == before


async def test_a_patch_file_where_none_can_be_written_is_a_clear_error(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    workspaces = Workspaces(store)
    await _session(store, workspaces, repo)
    changes = WorkspaceChanges(workspaces)
    (tmp_path / "taken.patch").write_text("the user's own\n")
    (tmp_path / "link.patch").symlink_to(tmp_path / "elsewhere.patch")

    for target, said in (
        (tmp_path / "no-such-dir" / "x.patch", "No such file or directory"),
        (tmp_path, "exists already"),
        (tmp_path / "taken.patch", "exists already"),
        (tmp_path / "link.patch", "exists already"),
    ):
        with pytest.raises(InvalidArgument, match=said):
            await changes.apply("main", patch_file=str(target))

    assert (tmp_path / "taken.patch").read_text() == "the user's own\n"
    assert not (tmp_path / "elsewhere.patch").exists()


async def test_git_missing_from_path_is_said_at_create(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "project")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(GitNotInstalled, match="git is not installed") as raised:
        await Workspaces(store).make(str(repo))

    assert "install git" in advised(raised.value)  # what an MCP client reads
    assert await store.workspaces.all() == []


async def test_a_snapshot_cut_off_half_way_leaves_the_next_one_free_to_run(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    go = tmp_path / "go"
    # A clean filter that holds git inside add (so its index lock is taken) until told.
    git(repo, "config", "filter.slow.clean", f'while [ ! -e "{go}" ]; do sleep 0.05; done; cat')
    workspaces = Workspaces(store)
    session = await _session(store, workspaces, repo)
    workspace = await workspaces.of(session)
    tree = Path(workspace.path)
    (tree / ".gitattributes").write_text("slow.txt filter=slow\n")
    (tree / "slow.txt").write_text("slow\n")
    lock = Path(workspaces.index_file(workspace) + ".lock")

    async def locked() -> bool:
        return await anyio.Path(lock).exists()

    async with anyio.create_task_group() as tg:
        tg.start_soon(workspaces.snapshot, session, "cut off")
        await eventually(locked, timeout=60, what="git add holding the private index")
        tg.cancel_scope.cancel()
    go.touch()  # the filter's shell (git's child) ends now, not later
    (tree / ".gitattributes").unlink()

    commit = await workspaces.snapshot(session, "turn 2")

    assert commit is not None
    assert "slow.txt" in git(repo, "ls-tree", "--name-only", commit).split()


async def test_a_child_never_starts_outside_its_worktree_through_a_symlink(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    (repo / "sub").mkdir()
    (repo / "sub" / "file.txt").write_text("in sub\n")
    git(repo, "add", "sub")
    git(repo, "commit", "-q", "-m", "sub")
    outside = tmp_path / "outside"
    outside.mkdir()
    workspaces = Workspaces(store)
    session = await _session(store, workspaces, repo, cwd=repo / "sub")
    workspace = await workspaces.of(session)
    assert await workspaces.child_cwd(session) == os.path.join(workspace.path, "sub")
    # A turn replaced the directory with a link out of the worktree.
    moved = Path(workspace.path) / "sub"
    (moved / "file.txt").unlink()
    moved.rmdir()
    moved.symlink_to(outside)

    assert await workspaces.child_cwd(session) == workspace.path


async def test_snapshots_of_several_branches_of_one_repository_at_once_all_land(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    workspaces = Workspaces(store)
    sessions = [await _session(store, workspaces, repo, f"s{i}") for i in range(4)]
    for i, session in enumerate(sessions):
        (Path((await workspaces.of(session)).path) / f"own-{i}.txt").write_text(f"{i}\n")
    commits: dict[str, str | None] = {}

    async def take(session: Session) -> None:
        commits[session.name] = await workspaces.snapshot(session, "at once")

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for session in sessions:
                tg.start_soon(take, session)

    for i, session in enumerate(sessions):
        workspace = await workspaces.of(session)
        commit = commits[session.name]
        assert commit is not None
        assert git(repo, "rev-parse", workspace.ref) == commit
        assert f"own-{i}.txt" in git(repo, "ls-tree", "--name-only", commit).split()


async def test_a_delete_git_cannot_finish_still_deletes_and_start_up_finishes_it(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "project")
    settings = Settings(db_path=tmp_path / "st.db", loopback_token=None)
    async with SessionService.open(settings) as service:
        await service.sessions.create("main", SessionConfig(cwd=str(repo), workspace="git"))
        workspace = await service.workspaces.of(await service.store.sessions.get("main"))
        # Another git holds the session's ref (say a gc of the user's): its delete fails.
        held = repo / ".git" / f"{workspace.ref}.lock"
        held.write_text("")

        done = await service.sessions.delete("main")

        assert done.session == "main"
        assert await service.store.sessions.names() == []
        assert f"unused worktree {workspace.path} (its session is gone)" in (
            await service.workspaces.problems()
        )
    held.unlink()
    async with Store.open(str(tmp_path / "st.db")) as store, store.db.write() as conn:
        await conn.execute("UPDATE workspaces SET created_at = 0")  # a crash's leftover
    async with SessionService.open(settings) as service:
        assert await service.store.workspaces.all() == []
    assert git(repo, "for-each-ref", "refs/session-tree/") == ""
    assert not await anyio.Path(workspace.path).exists()


async def test_a_worktree_whose_git_link_a_child_replaced_is_restored_at_the_next_start(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")
    workspaces = Workspaces(store)
    session = await _session(store, workspaces, repo)
    workspace = await workspaces.of(session)
    tree = Path(workspace.path)
    (tree / "kept.txt").write_text("kept\n")
    await workspaces.snapshot(session, "turn 1")
    # A child ran `rm -rf .git && git init` in its worktree: a repository, not ours.
    (tree / ".git").unlink()
    git(tree, "init", "-q")

    assert f"missing worktree {workspace.path} (restored at the next start)" in (
        await workspaces.problems()
    )
    assert await workspaces.child_cwd(session) == workspace.path

    assert (tree / ".git").is_file()  # a worktree of the user's repository again
    assert (tree / "kept.txt").read_text() == "kept\n"
    assert await workspaces.snapshot(session, "turn 2") is not None
    (aside,) = workspaces.root.glob(f"{workspace.key}.broken-*")
    assert f"{aside}: files kept aside from a broken worktree (look, then delete it)" in (
        await workspaces.problems()
    )


async def test_git_variables_the_server_inherited_do_not_move_its_objects_or_refs(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name, value in (
        ("GIT_OBJECT_DIRECTORY", str(elsewhere)),
        ("GIT_NAMESPACE", "other"),
    ):
        monkeypatch.setenv(name, value)
    workspaces = Workspaces(store)
    session = await _session(store, workspaces, repo)
    (Path((await workspaces.of(session)).path) / "made.txt").write_text("made\n")
    await workspaces.snapshot(session, "turn 1")
    await WorkspaceChanges(workspaces).apply("main", branch="result")
    for name in ("GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE"):
        monkeypatch.delenv(name)

    # The user's own git finds the branch, its files and the session's ref.
    assert git(repo, "show", "result:made.txt") == "made"
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/session-tree/") != ""


async def test_a_switch_refused_over_uncommitted_work_leaves_the_users_index_as_it_was(
    tmp_path: Path, store: Store
) -> None:
    repo = make_repo(tmp_path / "project")  # notes.txt: the user's uncommitted work
    workspaces = Workspaces(store)
    await _session(store, workspaces, repo)
    # Same content, new times: a git status that may write would refresh the index.
    os.utime(repo / "README.md", (1_000_000_000, 1_000_000_000))
    index = repo / ".git" / "index"
    before = index.read_bytes()  # read, not asked of git status, which would refresh it

    with pytest.raises(UncommittedChanges, match=r"notes\.txt"):
        await WorkspaceChanges(workspaces).apply("main", branch="result", switch=True)

    assert index.read_bytes() == before
