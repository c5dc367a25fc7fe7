"""Domain errors, raised below the tool layer.

Only the MCP tool layer turns these into ``isError`` results; everything else
raises them and lets them travel. Each message states what was wrong, in the
domain's words, and keeps the facts as attributes; it names no MCP tool and no
tool argument. What to call next is the front end's to say: the tool layer adds
it (``server/_advice.py``), the CLI prints the fact.

    SessionTreeError
    ├── NotFound
    │   ├── SessionNotFound
    │   ├── NodeNotFound
    │   ├── StreamNotFound
    │   ├── TaskNotFound
    │   └── ApprovalNotFound
    ├── Conflict
    │   ├── SessionExists
    │   ├── SessionBusy
    │   ├── TurnElsewhere
    │   ├── ApprovalAlreadyDecided
    │   ├── InvalidTransition
    │   ├── BudgetExceeded
    │   └── UncommittedChanges
    ├── InvalidArgument
    │   ├── NodeNotInTree
    │   ├── WorkingDirMissing
    │   ├── NotAGitRepository
    │   ├── NoWorkspace
    │   ├── PastStreamEnd
    │   └── BadTranscript
    ├── DatabaseError
    │   ├── NotASessionTreeDatabase
    │   ├── SchemaTooNew
    │   ├── DatabaseUnwritable
    │   └── DatabaseCorrupt
    ├── ChildError
    │   ├── ChildUnavailable
    │   ├── ChildExited
    │   └── CapacityExceeded
    ├── GitFailed
    │   └── GitNotInstalled
    └── SettingsError
"""

from __future__ import annotations

import shlex


class SessionTreeError(Exception):
    """Base of every error session-tree raises on purpose."""


class NotFound(SessionTreeError):
    """Something named by the caller does not exist."""


class SessionNotFound(NotFound):
    def __init__(self, name: str, known: list[str] | None = None) -> None:
        self.name = name
        self.known = known or []
        if self.known:
            shown = ", ".join(sorted(self.known)[:20])
            more = "" if len(self.known) <= 20 else f" (and {len(self.known) - 20} more)"
            hint = f"Sessions that exist: {shown}{more}."
        else:
            hint = "No sessions exist yet."
        shown = name if len(name) <= 100 else f"{name[:97]}..."
        super().__init__(f"No session named {shown!r}. {hint}")


class NodeNotFound(NotFound):
    def __init__(self, node_id: int) -> None:
        self.node_id = node_id
        super().__init__(f"No node with id {node_id}.")


class StreamNotFound(NotFound):
    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id
        super().__init__(f"No stream with id {stream_id}.")


class TaskNotFound(NotFound):
    """A task id this database never gave out, or whose turn is gone with its session."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"No task with id {task_id!r}.")


class ApprovalNotFound(NotFound):
    def __init__(self, approval_id: int) -> None:
        self.approval_id = approval_id
        super().__init__(f"No approval with id {approval_id}.")


class Conflict(SessionTreeError):
    """The request is well-formed but clashes with the current state."""


class SessionExists(Conflict):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"A session named {name!r} already exists.")


class SessionBusy(Conflict):
    def __init__(self, name: str, stream_id: int) -> None:
        self.name = name
        self.stream_id = stream_id
        super().__init__(f"Session {name!r} is already running a turn (stream {stream_id}).")


class ApprovalAlreadyDecided(Conflict):
    def __init__(self, approval_id: int, status: str) -> None:
        self.approval_id = approval_id
        self.status = status
        super().__init__(
            f"Approval {approval_id} is already {status}; a decision is made exactly once."
        )


class TurnElsewhere(Conflict):
    def __init__(self, name: str, stream_id: int) -> None:
        self.name = name
        self.stream_id = stream_id
        super().__init__(
            f"Session {name!r} is running a turn (stream {stream_id}) in another session-tree "
            "server on this database; only that server can stop it."
        )


class InvalidTransition(Conflict):
    def __init__(self, what: str, current: str, target: str) -> None:
        self.what = what
        self.current = current
        self.target = target
        super().__init__(f"{what} cannot go from {current} to {target}.")


class InvalidArgument(SessionTreeError):
    """An argument is malformed in a way the schema could not catch."""


class NodeNotInTree(InvalidArgument):
    """A node was named for a session's branch, but it lies in another tree."""

    def __init__(self, node_id: int, session: str) -> None:
        self.node_id = node_id
        self.session = session
        super().__init__(f"Node {node_id} is not in the tree of session {session!r}.")


class WorkingDirMissing(InvalidArgument):
    """A child's working directory is not there (``session`` empty: a new session's)."""

    def __init__(self, cwd: str, session: str, problem: str) -> None:
        self.cwd = cwd
        self.session = session
        self.problem = problem
        if session:
            super().__init__(f"Session {session!r} works in {cwd}, which {problem} any more.")
        else:
            super().__init__(f"The working directory {cwd} {problem}.")


class PastStreamEnd(InvalidArgument):
    """A read of a stream from a seq beyond its next event."""

    def __init__(self, stream_id: int, from_seq: int, next_seq: int) -> None:
        self.stream_id = stream_id
        self.from_seq = from_seq
        self.next_seq = next_seq
        super().__init__(
            f"Seq {from_seq} is past the end of stream {stream_id}, whose next event "
            f"will be seq {next_seq}."
        )


class BadTranscript(InvalidArgument):
    """A Claude Code transcript (JSONL) that cannot be imported as it is."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        # file:line first, as compilers say it, so an editor can jump there.
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {problem}. Nothing was imported.")


class DatabaseError(SessionTreeError):
    """The database file cannot be used as it is."""


class NotASessionTreeDatabase(DatabaseError):
    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(
            f"{path} is not a session-tree database ({detail}). "
            "Point --db (or SESSION_TREE_DB) at a new file or an existing session-tree database."
        )


class SchemaTooNew(DatabaseError):
    def __init__(self, path: str, found: str) -> None:
        self.path = path
        super().__init__(
            f"{path} was written by a newer session-tree (it has migration {found!r}, "
            "which this version does not know). Upgrade session-tree to open it, "
            "or use another database file."
        )


class DatabaseUnwritable(DatabaseError):
    def __init__(self, path: str, detail: str, *, opening: bool = False) -> None:
        self.path = path
        fix = (
            "session-tree writes every turn to it: make the file and its directory writable "
            "(or free disk space), or point --db (or SESSION_TREE_DB) at a file it can write."
            if opening
            else "Nothing was stored by this call; free disk space or fix the file's "
            "permissions, then retry."
        )
        super().__init__(f"Cannot write to {path} ({detail}). {fix}")


class DatabaseCorrupt(DatabaseError):
    """SQLite found the file damaged (SQLITE_CORRUPT, or a header it cannot read
    on a file that is ours): it is never written again by this process."""

    def __init__(self, path: str, detail: str, *, opening: bool = False) -> None:
        self.path = path
        self.detail = detail
        quoted = shlex.quote(path)
        recover = (
            f"To recover what it holds: sqlite3 {quoted} .recover | sqlite3 recovered.db "
            "(.dump instead of .recover where the sqlite3 shell has no .recover), then point "
            "--db (or SESSION_TREE_DB) at recovered.db; or restore a backup, or point --db "
            "at a new file."
        )
        if opening:
            super().__init__(
                f"{path} is corrupt ({detail}). session-tree will not open it and left the "
                f"file as it was. {recover}"
            )
        else:
            super().__init__(
                f"{path} is corrupt ({detail}). Nothing was stored by this call and nothing "
                "more will be written to the file; reads that still work go on. Stop every "
                f"session-tree using it, then recover. {recover}"
            )


class ChildError(SessionTreeError):
    """A child Claude Code process could not do what was asked."""


class ChildUnavailable(ChildError):
    """The child could not be started (no binary, bad working dir, ...)."""


class ChildExited(ChildError):
    """The child process ended while a turn needed it."""


class CapacityExceeded(ChildError):
    """Too many warm children; the cap is a setting."""


class SettingsError(SessionTreeError):
    """A server setting (a ``SESSION_TREE_*`` variable or a flag) has a value it cannot use."""

    def __init__(self, name: str, value: object, allowed: str) -> None:
        self.name = name
        self.value = value
        self.allowed = allowed
        shown = repr(value) if len(repr(value)) <= 200 else f"{repr(value)[:197]}..."
        super().__init__(f"Bad setting {name}={shown}: it must be {allowed}.")


class BudgetExceeded(Conflict):
    """A budget (``max_cost_usd``, set on ``budget_session``) is spent: it covers that
    session and every fork below it, and ``session``'s turn falls inside it."""

    def __init__(self, session: str, budget_session: str, spent: float, budget: float) -> None:
        self.session = session
        self.budget_session = budget_session
        self.spent = spent
        self.budget = budget
        where = (
            f"session {session!r}"
            if session == budget_session
            else f"session {budget_session!r}, which {session!r} was forked from,"
        )
        super().__init__(
            f"The budget of {where} is spent: ${spent:.4f} of ${budget:.4f} "
            f"(max_cost_usd covers {budget_session!r} and every fork below it)."
        )


class NotAGitRepository(InvalidArgument):
    """A git workspace was asked for in a directory outside every git repository."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path} is not inside a git repository ({detail}).")


class NoWorkspace(InvalidArgument):
    """A workspace action on a session that has no git workspace."""

    def __init__(self, session: str) -> None:
        self.session = session
        super().__init__(f"Session {session!r} has no git workspace: it works in its cwd directly.")


class UncommittedChanges(Conflict):
    """The user's checkout has changes that an action would put at risk."""

    def __init__(self, repo: str, files: list[str]) -> None:
        self.repo = repo
        self.files = files
        shown = ", ".join(files[:10]) + (
            f" (and {len(files) - 10} more)" if len(files) > 10 else ""
        )
        super().__init__(f"{repo} has uncommitted changes ({shown}); nothing was changed.")


class GitFailed(SessionTreeError):
    """A git command failed (or took too long) in a repository or worktree."""

    def __init__(self, command: str, where: str, detail: str, *, timed_out: bool = False) -> None:
        self.command = command
        self.where = where
        self.detail = detail
        # A git stopped on its time limit was killed: any lock it held is left behind.
        self.timed_out = timed_out
        super().__init__(f"git {command} failed in {where}: {detail}")


class GitNotInstalled(GitFailed):
    """No git program on PATH: workspaces need the git command line."""

    def __init__(self) -> None:
        self.command = "--version"
        self.where = "this machine"
        self.detail = "no git program on PATH"
        SessionTreeError.__init__(self, "git is not installed (no git program on PATH).")
