"""The git command line, run as bounded asyncio subprocesses, and the few plumbing
steps workspaces are made of.

Everything here leaves the user's checkout as it was: a snapshot is built in a
private index file (``GIT_INDEX_FILE``) with ``add -A`` / ``write-tree`` /
``commit-tree``, and kept alive by a ref under ``refs/session-tree/``
(``update-ref``), so the user's index, branches, stash and files never change.
Commits carry session-tree's own identity, so no git config is needed or read
for it. No hook of the user's repository runs for these calls (``core.hooksPath``
is pointed at nothing): a reference-transaction or post-checkout hook is for the
user's own work, not for session-tree's refs and worktrees.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping, Sequence

import anyio

from ..errors import GitFailed, GitNotInstalled, NotAGitRepository

# The longest one git command may take; a checkout of a large repository is the slow one.
GIT_TIMEOUT_S = 120.0
REF_PREFIX = "refs/session-tree/"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "session-tree",
    "GIT_AUTHOR_EMAIL": "session-tree@localhost",
    "GIT_COMMITTER_NAME": "session-tree",
    "GIT_COMMITTER_EMAIL": "session-tree@localhost",
}
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null")
# What a git started here must not inherit: a repository, index, object store or ref
# namespace the server was pointed at (say, started from a git hook or alias): the user's
# own git would not find what was written there.
_DROPPED = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_PREFIX",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
)


def git_binary() -> str:
    found = shutil.which("git")
    if found is None:
        raise GitNotInstalled
    return found


async def git(
    cwd: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = GIT_TIMEOUT_S,
    hooks: bool = False,
) -> str:
    """``git args`` in ``cwd``: its stdout (stripped of the last newline); GitFailed when
    it exits non-zero or outlasts ``timeout`` (then it is killed). The repository's
    hooks run only with ``hooks`` (an action on the user's own checkout)."""
    return (
        (await git_bytes(cwd, *args, env=env, stdin=stdin, timeout=timeout, hooks=hooks))
        .decode(errors="replace")
        .removesuffix("\n")
    )


async def git_bytes(
    cwd: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = GIT_TIMEOUT_S,
    hooks: bool = False,
) -> bytes:
    command = [git_binary(), *([] if hooks else _NO_HOOKS), *args]
    full_env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    # No optional locks: a git status in the user's checkout would otherwise write their
    # index (a stat refresh), and take its lock from a git of theirs running then.
    full_env |= {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "LC_ALL": "C",
        **_IDENTITY,
        **(env or {}),
    }
    shown = " ".join(args[:3])
    try:
        with anyio.fail_after(timeout):
            done = await anyio.run_process(command, input=stdin, cwd=cwd, env=full_env, check=False)
    except TimeoutError as exc:
        raise GitFailed(
            shown, cwd, f"took over {timeout:.0f} s and was stopped", timed_out=True
        ) from exc
    except OSError as exc:
        raise GitFailed(shown, cwd, str(exc)) from exc
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        raise GitFailed(shown, cwd, said[-500:])
    return done.stdout


async def toplevel(path: str) -> str:
    """The top of the checkout holding ``path``; NotAGitRepository outside one."""
    try:
        return await git(path, "rev-parse", "--show-toplevel")
    except GitNotInstalled:
        raise
    except GitFailed as exc:
        raise NotAGitRepository(path, exc.detail.splitlines()[-1]) from exc


async def head(repo: str) -> str | None:
    """The commit HEAD names, or None in a repository with no commit yet."""
    try:
        return await git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except GitFailed:
        return None


async def commit_all(work_tree: str, index_file: str, parents: Sequence[str], message: str) -> str:
    """A commit of every file of ``work_tree`` that .gitignore does not ignore, built in
    the private ``index_file`` (its stat cache makes the next one quick)."""
    env = {"GIT_INDEX_FILE": index_file}
    try:
        # The untracked cache (kept in the private index) spares re-reading unchanged folders.
        await git(work_tree, "-c", "core.untrackedCache=true", "add", "--all", "--", ":/", env=env)
        tree = await git(work_tree, "write-tree", env=env)
    except BaseException as exc:
        # Cut off (a time limit, a cancelled turn end), git was killed holding the private
        # index's lock, which would refuse every later snapshot. Only this session's turn
        # end uses that index, and a git refused by a held lock fails without taking it.
        if not isinstance(exc, GitFailed) or exc.timed_out:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(index_file + ".lock")
        raise
    parent_args = [arg for parent in parents for arg in ("-p", parent)]
    return await git(work_tree, "commit-tree", tree, *parent_args, "-m", message)


async def set_ref(repo: str, ref: str, commit: str, old: str | None = None) -> None:
    """Point ``ref`` at ``commit`` (only if it still names ``old``, when given)."""
    await git(
        repo, "update-ref", "-m", "session-tree snapshot", ref, commit, *([old] if old else [])
    )


async def read_ref(repo: str, ref: str) -> str | None:
    try:
        return await git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitFailed:
        return None


async def delete_ref(repo: str, ref: str) -> None:
    if await read_ref(repo, ref) is not None:
        await git(repo, "update-ref", "-d", ref)


async def index_path(work_tree: str) -> str:
    """The worktree's own index file (copied to seed a private one with its stat cache)."""
    return await git(work_tree, "rev-parse", "--path-format=absolute", "--git-path", "index")


async def changed_files(repo: str) -> list[str]:
    """What ``git status`` lists in ``repo`` (untracked files too), as paths."""
    out = await git(repo, "status", "--porcelain=v1", "--untracked-files=normal")
    return [line[3:] for line in out.splitlines() if line.strip()]


# A patch as git apply takes it, whatever the user's diff config says (color, no prefixes,
# an external diff or textconv program, submodule logs, a relative diff).
PLAIN_DIFF = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--submodule=short",
    "--no-renames",
)


async def empty_tree(repo: str) -> str:
    """The empty tree's id in ``repo`` (it depends on the hash): a diff from nothing."""
    return await git(repo, "hash-object", "-t", "tree", "--stdin", stdin=b"")
