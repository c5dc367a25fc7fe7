"""Git workspaces: a session's own worktree, a snapshot commit per turn, one per fork.

``create(workspace="git")`` gives the session a worktree of the repository that
holds its cwd, in a directory beside the database (private to its user, as the
database is), detached at the user's HEAD plus their uncommitted changes: the
child starts from the files the user sees, and the user's checkout, index,
branches and stash are never touched. (The uncommitted changes are taken as a
commit on top of HEAD built in a private index, so a fork of the root has them
too; a clean checkout starts at HEAD itself.)

Each turn's end commits the worktree's files (what .gitignore does not ignore)
in a private index and moves the session's ref ``refs/session-tree/<key>`` to
it, parented on the ref's last commit, so the ref reaches every snapshot of the
session; the summary node names the commit. A fork gets a new worktree at the
commit of the node it forks at, and its own ref. Deleting a session removes its
worktree and its ref; commits another session's ref reaches stay.

Order, so that a kill -9 anywhere leaves something start-up can make whole: the
row (unbound) before the ref and the worktree, the session before the row is
bound; the snapshot's commit and ref before the node that names them. An unbound
row older than ``STALE_UNBOUND_S`` is a crash's leftover and removed at start;
a bound row whose worktree is gone gets it back at its ref.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import shutil
import time
from pathlib import Path

from ..errors import GitFailed, InvalidArgument, NoWorkspace
from ..models import Node, NodeKind, Session, Workspace
from ..store import Store, is_postgres_url
from . import _git
from ._settings import default_db_path

log = logging.getLogger("session_tree.service")

# An unbound row this old was left by a crash (a create takes seconds, not minutes).
STALE_UNBOUND_S = 600.0
# The mark of a directory _restore moved aside (it was no worktree, and may hold files).
_ASIDE = ".broken-"
# A private index lock this old was left by a git that died with its server.
STALE_LOCK_S = 60.0


def workspaces_dir(db_path: str) -> Path:
    """Where the worktrees of the database at ``db_path`` live: beside its file. A
    PostgreSQL database has none here: this machine's data directory, by a digest of the
    URL (as the store shows it, password masked), so each database has its own."""
    if is_postgres_url(db_path):
        digest = hashlib.sha256(db_path.encode()).hexdigest()[:16]
        return default_db_path().parent / f"postgresql-{digest}.workspaces"
    db = Path(db_path)
    return db.parent / f"{db.name}.workspaces"


class Workspaces:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = workspaces_dir(store.path)

    def index_file(self, workspace: Workspace) -> str:
        return str(self.root / f"{workspace.key}.index")

    async def of(self, session: Session) -> Workspace:
        """The session's workspace; NoWorkspace for a session without one. A workspace
        session whose row a crash lost gets a new worktree at its head's snapshot."""
        if session.config.workspace is None:
            raise NoWorkspace(session.name)
        found = await self.store.workspaces.of_session(session.id)
        if found is not None:
            return found
        head = await self.store.nodes.get(session.head_id)
        if head.kind is NodeKind.ROOT:
            made = await self.make(_cwd(session))
        else:
            made = await self.for_fork(session, session.head_id)
        log.info("session %s had lost its workspace: made %s", session.name, made.path)
        return await self.store.workspaces.bind(made.key, session.name)

    async def make(self, cwd: str) -> Workspace:
        """An unbound workspace of the repository holding ``cwd``, at the user's HEAD
        plus their uncommitted changes; NotAGitRepository outside one."""
        repo = await _git.toplevel(cwd)
        base = await self._base_commit(repo)
        return await self._checkout(repo, start=base, base=base)

    async def for_fork(self, origin: Session, at: int) -> Workspace:
        """An unbound workspace at the snapshot of node ``at`` of ``origin``'s tree."""
        source = await self.store.workspaces.of_session(origin.id)
        node = await self.store.nodes.get(at)
        commit = await self.commit_at(node, source)
        repo = source.repo if source is not None else await _git.toplevel(_cwd(origin))
        base = source.base_commit if source is not None else commit
        return await self._checkout(repo, start=commit, base=base)

    async def commit_at(self, node: Node, workspace: Workspace | None) -> str:
        """The commit of the files as they were at ``node`` (a turn's end, or the root)."""
        if node.kind is NodeKind.ROOT and workspace is not None:
            return workspace.base_commit
        commit = node.data.get("commit") if node.kind is NodeKind.SUMMARY else None
        if not isinstance(commit, str):
            raise InvalidArgument(
                f"Node {node.id} has no workspace snapshot (it is a {node.kind.value} node, or "
                "its turn ended before the session had a workspace); fork at a summary node "
                "of a turn that ran in the workspace, or at the root."
            )
        return commit

    async def bind(self, workspace: Workspace, session_name: str) -> Workspace:
        return await self.store.workspaces.bind(workspace.key, session_name)

    async def child_cwd(self, session: Session) -> str:
        """Where the session's child works: its worktree, at the same place under the
        repository's top as the session's cwd."""
        workspace = await self.of(session)
        if not await _is_worktree(workspace):
            await self._restore(workspace)
        return _same_place(_cwd(session), workspace)

    async def at_turn_end(
        self, name: str, stream_id: int, started: Session | None = None
    ) -> str | None:
        """Snapshot a workspace session's worktree at a turn's end; None without one.
        ``started``, the session as its turn found it: a workspace is set at create,
        so a session that had none has none now (and is not read again to say so)."""
        if started is not None and started.config.workspace is None:
            return None
        session = await self.store.sessions.get(name)
        return await self.snapshot(session, f"session-tree: {name}, turn {stream_id}")

    async def snapshot(self, session: Session, message: str) -> str | None:
        """Commit the worktree's files and move the session's ref there; the commit, or
        None for a session without a workspace."""
        if session.config.workspace is None:
            return None
        workspace = await self.of(session)
        index = self.index_file(workspace)
        try:
            # The ref names the last snapshot (set when the worktree was made): one git
            # process fewer than reading it first. One turn per session: no race on it.
            commit = await _git.commit_all(workspace.path, index, [workspace.ref], message)
        except GitFailed:
            if await _git.read_ref(workspace.repo, workspace.ref) is not None:
                raise
            # The ref is gone (removed by hand): the snapshot hangs on the start again.
            commit = await _git.commit_all(workspace.path, index, [workspace.start_commit], message)
        await _git.set_ref(workspace.repo, workspace.ref, commit)
        return commit

    async def remove(self, workspace: Workspace) -> None:
        """The worktree, its private index and its ref, then the row."""
        path = workspace.path
        if _is_dir(path):
            try:
                await _git.git(workspace.repo, "worktree", "remove", "--force", "--force", path)
            except GitFailed as exc:
                log.info("worktree remove of %s: %s; removing the directory", path, exc.detail)
                shutil.rmtree(path, ignore_errors=True)
        if _is_dir(workspace.repo):
            await _git.git(workspace.repo, "worktree", "prune")
            await _git.delete_ref(workspace.repo, workspace.ref)
        _unlink(self.index_file(workspace), self.index_file(workspace) + ".lock")
        await self.store.workspaces.remove(workspace.key)

    async def repair(self) -> list[str]:
        """At start: remove what a crash left unbound, give every session back its
        worktree; what was done, one line each."""
        done: list[str] = []
        for workspace in await self.store.workspaces.all():
            try:
                if workspace.session_id is None:
                    if time.time() - workspace.created_at > STALE_UNBOUND_S:
                        await self.remove(workspace)
                        done.append(f"removed the unused worktree {workspace.path}")
                    continue
                lock = self.index_file(workspace) + ".lock"
                if _remove_stale(lock, STALE_LOCK_S):
                    done.append(f"removed a stale lock {lock}")
                if not await _is_worktree(workspace):
                    await self._restore(workspace)
                    done.append(f"restored the worktree {workspace.path}")
            except (GitFailed, OSError) as exc:
                log.warning("could not repair the workspace %s: %s", workspace.path, exc)
        return done

    async def problems(self) -> list[str]:
        """What doctor reports: stray worktree directories, rows whose worktree is gone."""
        rows = await self.store.workspaces.all()
        known = {Path(w.path).name for w in rows}
        found = [
            # What _restore moved aside may hold a turn's files: named as that, not as junk.
            f"{entry}: files kept aside from a broken worktree (look, then delete it)"
            if _ASIDE in entry.name
            else f"stray worktree {entry} (no session has it)"
            for entry in _directories(self.root)
            if entry.name not in known
        ]
        for workspace in rows:
            if workspace.session_id is None:
                found.append(f"unused worktree {workspace.path} (its session is gone)")
            elif not await _is_worktree(workspace):
                found.append(f"missing worktree {workspace.path} (restored at the next start)")
        return found

    async def _base_commit(self, repo: str) -> str:
        """The user's HEAD plus their uncommitted changes, committed in a private copy of
        their index (their own index stays as it was); HEAD itself when clean."""
        head = await _git.head(repo)
        self._make_root()
        scratch = self.root / f"base-{secrets.token_hex(6)}.index"
        try:
            own = await _git.index_path(repo)
            _copy_if_there(own, str(scratch))  # its stat cache: only changed files are read
            commit = await _git.commit_all(
                repo,
                str(scratch),
                [head] if head else [],
                f"session-tree: uncommitted changes in {repo}",
            )
        finally:
            _unlink(str(scratch))
        if head is not None:
            tree = await _git.git(repo, "rev-parse", f"{commit}^{{tree}}")
            if tree == await _git.git(repo, "rev-parse", f"{head}^{{tree}}"):
                return head
        return commit

    async def _checkout(self, repo: str, *, start: str, base: str) -> Workspace:
        key = secrets.token_hex(8)
        self._make_root()
        workspace = await self.store.workspaces.add(
            key=key,
            repo=repo,
            path=str(self.root / key),
            ref=f"{_git.REF_PREFIX}{key}",
            start_commit=start,
            base_commit=base,
        )
        try:
            await _git.set_ref(repo, workspace.ref, start)
            await self._add_worktree(workspace, start)
        except BaseException:
            await self.remove(workspace)
            raise
        return workspace

    async def _add_worktree(self, workspace: Workspace, commit: str) -> None:
        # No hooks (as for every git call here): post-checkout is for the user's checkouts.
        # Forced twice: git may still list the path (an entry a kill -9 left locked mid-add);
        # the path is session-tree's own, named by the row's key, so nothing else is there.
        await _git.git(
            workspace.repo,
            *("worktree", "add", "--force", "--force", "--detach", workspace.path, commit),
        )
        # The worktree's index has every file's stat data from the checkout: a copy makes
        # the private index's first snapshot read only the files that changed.
        shutil.copyfile(await _git.index_path(workspace.path), self.index_file(workspace))

    async def _restore(self, workspace: Workspace) -> None:
        """The worktree again, at the session's last snapshot (a crash or a person removed it)."""
        commit = await _git.read_ref(workspace.repo, workspace.ref) or workspace.start_commit
        # Not a worktree any more, but it may hold files: kept aside, never deleted. Then
        # prune forgets git's entry for it (its directory is gone now).
        _move_aside(workspace.path)
        await _git.git(workspace.repo, "worktree", "prune")
        await self._add_worktree(workspace, commit)
        await _git.set_ref(workspace.repo, workspace.ref, commit)

    def _make_root(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)


async def _is_worktree(workspace: Workspace) -> bool:
    """Whether the workspace's directory is a worktree of its repository, at its top: a
    directory git finds another repository for (a child's `git init` there, a database
    kept inside a checkout) is not."""
    if not _is_dir(workspace.path):
        return False
    ask = ("rev-parse", "--path-format=absolute", "--show-toplevel", "--git-common-dir")
    try:
        top, common = (await _git.git(workspace.path, *ask)).splitlines()
        theirs = await _git.git(workspace.repo, *ask[:2], "--git-common-dir")
    except (GitFailed, ValueError):
        return False
    same = os.path.realpath
    return same(top) == same(workspace.path) and same(common) == same(theirs)


def _cwd(session: Session) -> str:
    return session.config.cwd or os.getcwd()


# Quick local file-system steps, kept out of the async functions that call them.


def _is_dir(path: str) -> bool:
    return os.path.isdir(path)


def _same_place(cwd: str, workspace: Workspace) -> str:
    """``cwd``'s place under the repository's top, in the worktree (its top if not there)."""
    below = os.path.relpath(os.path.realpath(cwd), os.path.realpath(workspace.repo))
    inside = os.path.normpath(os.path.join(workspace.path, below))
    top = os.path.realpath(workspace.path)
    # In the worktree that place may be a symlink (a turn made it, or a fork's commit has
    # one): the child starts inside its worktree, never where a link leads.
    if (
        below == os.pardir
        or below.startswith(os.pardir + os.sep)
        or not os.path.isdir(inside)
        or os.path.commonpath([top, os.path.realpath(inside)]) != top
    ):
        return workspace.path
    return inside


def _unlink(*paths: str) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _remove_stale(path: str, age_s: float) -> bool:
    try:
        if time.time() - os.stat(path).st_mtime <= age_s:
            return False
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def _directories(root: Path) -> list[Path]:
    return sorted(e for e in root.iterdir() if e.is_dir()) if root.is_dir() else []


def _copy_if_there(source: str, target: str) -> None:
    if os.path.exists(source):
        shutil.copyfile(source, target)


def _move_aside(path: str) -> None:
    if os.path.exists(path):
        os.rename(path, f"{path}{_ASIDE}{int(time.time())}")
