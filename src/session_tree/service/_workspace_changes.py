"""What a workspace session changed, and taking it into the user's repository.

A turn's change is its snapshot against the one before it (its commit's parent);
a branch's is its last snapshot against its fork point (where its worktree
started) or against the user's HEAD as it is now. Applying makes a new branch in
the user's repository at the last snapshot (switched to only when their checkout
has no uncommitted changes), or writes what the session tree changed since it
began (from the user's HEAD and uncommitted changes then) as a patch file that
``git apply`` takes in their checkout; neither overwrites anything.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field

from ..errors import GitFailed, InvalidArgument, NodeNotInTree, UncommittedChanges
from ..models import Session
from . import _git
from ._workspaces import Workspaces

DiffAgainst = Literal["fork", "head"]
# A patch longer than this is cut (the files list stays whole): a model reads the result.
MAX_PATCH_CHARS = 100_000
_STATUS = {"A": "added", "M": "modified", "D": "deleted", "T": "type_changed"}


class FileChange(BaseModel):
    path: str
    status: str = Field(description="added, modified, deleted or type_changed")


class WorkspaceDiff(BaseModel):
    session: str
    from_commit: str | None = Field(description="None: from nothing (a repository's first commit)")
    to_commit: str
    files: list[FileChange]
    patch: str = Field(description="the unified diff, cut at 100,000 characters")
    truncated: bool = False


class ApplyResult(BaseModel):
    session: str
    commit: str = Field(description="the snapshot applied: the session's last turn end")
    branch: str | None = None
    switched: bool = Field(default=False, description="whether the user's checkout is on it now")
    patch_file: str | None = None
    files: list[FileChange]


class WorkspaceChanges:
    def __init__(self, workspaces: Workspaces) -> None:
        self.workspaces = workspaces
        self.store = workspaces.store

    async def diff(
        self, name: str, *, at: int | None = None, against: DiffAgainst = "fork"
    ) -> WorkspaceDiff:
        """With ``at`` (a summary node): what that turn changed; else the branch's change
        against its fork point or the user's HEAD."""
        session = await self.store.sessions.get(name)
        workspace = await self.workspaces.of(session)
        if at is not None:
            node = await self.store.nodes.get(at)
            if node.tree_id != session.tree_id:
                raise NodeNotInTree(at, name)
            to = await self.workspaces.commit_at(node, workspace)
            parents = await _git.git(workspace.repo, "rev-list", "--parents", "-n", "1", to)
            start = parents.split()[1] if len(parents.split()) > 1 else None
        else:
            to = await _last(session, self.workspaces)
            start = workspace.start_commit if against == "fork" else await _git.head(workspace.repo)
        return await _diff(workspace.repo, name, start, to)

    async def apply(
        self,
        name: str,
        *,
        branch: str | None = None,
        switch: bool = False,
        patch_file: str | None = None,
    ) -> ApplyResult:
        """The session's last snapshot as a new branch of the user's repository, or its
        change since its tree began as a new patch file."""
        if (branch is None) == (patch_file is None):
            raise InvalidArgument(
                "Give exactly one of branch (a new branch's name) and patch_file."
            )
        session = await self.store.sessions.get(name)
        workspace = await self.workspaces.of(session)
        repo = workspace.repo
        commit = await _last(session, self.workspaces)
        # From where the tree started (the user's HEAD and uncommitted changes then), so
        # the patch applies to the checkout as the user left it.
        change = await _diff(repo, name, workspace.base_commit, commit)
        if patch_file is not None:
            patch = await _git.git_bytes(
                repo, "diff", *_git.PLAIN_DIFF, "--binary", *await _range(repo, change)
            )
            path = _write_new(patch_file, patch)
            return ApplyResult(session=name, commit=commit, patch_file=path, files=change.files)
        assert branch is not None
        await _check_new_branch(repo, branch)
        if switch:
            dirty = await _git.changed_files(repo)
            if dirty:
                raise UncommittedChanges(repo, dirty)
        # git refuses a name that exists too (a branch made since the check): the user's
        # branches are never moved.
        await _git.git(repo, "branch", "--no-track", "--", branch, commit)
        if switch:
            # The user's own checkout moves: their post-checkout hook is for exactly that.
            await _git.git(repo, "switch", "--no-guess", "--", branch, hooks=True)
        return ApplyResult(
            session=name, commit=commit, branch=branch, switched=switch, files=change.files
        )


async def _check_new_branch(repo: str, branch: str) -> None:
    """InvalidArgument unless ``branch`` is a plain name no branch of ``repo`` has yet."""
    try:
        # It prints the name git would use: "@{-1}" comes back as the previous branch's.
        plain = await _git.git(repo, "check-ref-format", "--branch", branch)
    except GitFailed as exc:
        raise InvalidArgument(
            f"{branch!r} is not a valid git branch name (see git check-ref-format); nothing "
            "was changed. Name a new branch such as 'session-tree/result'."
        ) from exc
    if plain != branch:
        raise InvalidArgument(
            f"{branch!r} names another branch ({plain!r}) to git; nothing was changed. "
            "Give the new branch's name itself."
        )
    if await _git.read_ref(repo, f"refs/heads/{branch}") is not None:
        raise InvalidArgument(
            f"Branch {branch!r} already exists in {repo}; nothing was changed (an existing "
            "branch is never moved). Name a new branch."
        )


async def _last(session: Session, workspaces: Workspaces) -> str:
    """The session's last snapshot (its worktree's start before its first turn)."""
    workspace = await workspaces.of(session)
    return await _git.read_ref(workspace.repo, workspace.ref) or workspace.start_commit


async def _range(repo: str, change: WorkspaceDiff) -> list[str]:
    if change.from_commit is None:
        return [await _git.empty_tree(repo), change.to_commit]
    return [change.from_commit, change.to_commit]


async def _diff(repo: str, name: str, start: str | None, to: str) -> WorkspaceDiff:
    shown = WorkspaceDiff(session=name, from_commit=start, to_commit=to, files=[], patch="")
    span = await _range(repo, shown)
    listed = await _git.git(repo, "diff", *_git.PLAIN_DIFF, "--name-status", "-z", *span)
    fields = [f for f in listed.split("\0") if f]
    files = [
        FileChange(path=path, status=_STATUS.get(code[:1], code))
        for code, path in zip(fields[::2], fields[1::2], strict=False)
    ]
    patch = await _git.git(repo, "diff", *_git.PLAIN_DIFF, *span)
    truncated = len(patch) > MAX_PATCH_CHARS
    return shown.model_copy(
        update={"files": files, "patch": patch[:MAX_PATCH_CHARS], "truncated": truncated}
    )


def _write_new(patch_file: str, patch: bytes) -> str:
    """Write ``patch`` to a file that must not exist yet; its absolute path."""
    path = os.path.abspath(os.path.expanduser(patch_file))
    try:
        # Never over an existing file; O_EXCL refuses a symlink there too, even a dangling one.
        with open(path, "xb") as out:
            out.write(patch)
    except (FileExistsError, IsADirectoryError) as exc:
        raise InvalidArgument(
            f"{path} exists already; nothing was written. Name a new file."
        ) from exc
    except OSError as exc:
        raise InvalidArgument(
            f"Cannot write {path} ({exc.strerror}); nothing was written. Name a new file in "
            "a directory that exists and that you may write to."
        ) from exc
    return path
