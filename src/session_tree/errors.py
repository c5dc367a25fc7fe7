"""Domain errors, raised below the tool layer.

Only the MCP tool layer turns these into ``isError`` results; everything else
raises them and lets them travel. Each message says what was wrong and what to
do instead, because the reader is often a model deciding its next call.

    SessionTreeError
    ├── NotFound
    │   ├── SessionNotFound
    │   ├── NodeNotFound
    │   ├── StreamNotFound
    │   └── ApprovalNotFound
    ├── Conflict
    │   ├── SessionExists
    │   ├── SessionBusy
    │   ├── TurnElsewhere
    │   ├── ApprovalAlreadyDecided
    │   └── InvalidTransition
    ├── InvalidArgument
    │   └── BadTranscript
    ├── DatabaseError
    │   ├── NotASessionTreeDatabase
    │   ├── SchemaTooNew
    │   └── DatabaseUnwritable
    └── ChildError
        ├── ChildUnavailable
        ├── ChildExited
        └── CapacityExceeded
"""

from __future__ import annotations


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
            hint = "No sessions exist yet; call create first."
        shown = name if len(name) <= 100 else f"{name[:97]}..."
        super().__init__(f"No session named {shown!r}. {hint}")


class NodeNotFound(NotFound):
    def __init__(self, node_id: int) -> None:
        self.node_id = node_id
        super().__init__(
            f"No node with id {node_id}. Call tree or render_context to see the node ids of a session."
        )


class StreamNotFound(NotFound):
    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id
        super().__init__(
            f"No stream with id {stream_id}. Call streams to list a session's streams."
        )


class ApprovalNotFound(NotFound):
    def __init__(self, approval_id: int) -> None:
        self.approval_id = approval_id
        super().__init__(
            f"No approval with id {approval_id}. Call loopback_pending to list the open ones."
        )


class Conflict(SessionTreeError):
    """The request is well-formed but clashes with the current state."""


class SessionExists(Conflict):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"A session named {name!r} already exists. Choose another name, "
            f"or call delete on {name!r} first."
        )


class SessionBusy(Conflict):
    def __init__(self, name: str, stream_id: int) -> None:
        self.name = name
        self.stream_id = stream_id
        super().__init__(
            f"Session {name!r} is already running a turn (stream {stream_id}). "
            f"Call poll with stream_id={stream_id} to follow it, interrupt to stop it, "
            f"or fork the session to work on a branch in parallel."
        )


class ApprovalAlreadyDecided(Conflict):
    def __init__(self, approval_id: int, status: str) -> None:
        self.approval_id = approval_id
        self.status = status
        super().__init__(
            f"Approval {approval_id} is already {status}; a decision is made exactly once. "
            "Call loopback_pending to see the approvals still waiting."
        )


class TurnElsewhere(Conflict):
    def __init__(self, name: str, stream_id: int) -> None:
        self.name = name
        self.stream_id = stream_id
        super().__init__(
            f"Session {name!r} is running a turn (stream {stream_id}) in another session-tree "
            "server on this database; only that server can stop it. Interrupt it through "
            f"that server, or poll stream_id={stream_id} until it ends."
        )


class InvalidTransition(Conflict):
    def __init__(self, what: str, current: str, target: str) -> None:
        self.what = what
        self.current = current
        self.target = target
        super().__init__(f"{what} cannot go from {current} to {target}.")


class InvalidArgument(SessionTreeError):
    """An argument is malformed in a way the schema could not catch."""


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


class ChildError(SessionTreeError):
    """A child Claude Code process could not do what was asked."""


class ChildUnavailable(ChildError):
    """The child could not be started (no binary, bad working dir, ...)."""


class ChildExited(ChildError):
    """The child process ended while a turn needed it."""


class CapacityExceeded(ChildError):
    """Too many warm children; the cap is a setting."""
