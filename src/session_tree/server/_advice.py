"""What an MCP client reads for a domain error: the fact, then the tool to call next.

A domain error states what is wrong and keeps the facts as attributes
(``errors.py``); naming the tools that help is this layer's business, since
only here are they tools (the CLI prints the bare fact). ``advised`` dispatches
on the error's class, so a subclass without advice of its own reads as its
nearest advised base, and an error with none reads as its own message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import singledispatch, wraps
from typing import ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from ..errors import (
    ApprovalAlreadyDecided,
    ApprovalNotFound,
    BudgetExceeded,
    GitFailed,
    GitNotInstalled,
    NodeNotFound,
    NodeNotInTree,
    NotAGitRepository,
    NoWorkspace,
    PastStreamEnd,
    SessionBusy,
    SessionExists,
    SessionNotFound,
    SessionTreeError,
    StreamNotFound,
    TurnElsewhere,
    UncommittedChanges,
    WorkingDirMissing,
)

P = ParamSpec("P")
R = TypeVar("R")


@singledispatch
def advised(exc: SessionTreeError) -> str:
    """The error's message as a tool error says it: with what to call next, where that helps."""
    return str(exc)


@advised.register
def _(exc: SessionNotFound) -> str:
    if exc.known:
        return str(exc)  # the names that exist are the advice
    return f"{str(exc).removesuffix('.')}; call create first."


@advised.register
def _(exc: NodeNotFound) -> str:
    return f"{exc} Call tree or render_context to see the node ids of a session."


@advised.register
def _(exc: StreamNotFound) -> str:
    return f"{exc} Call streams to list a session's streams."


@advised.register
def _(exc: ApprovalNotFound) -> str:
    return f"{exc} Call loopback_pending to list the open ones."


@advised.register
def _(exc: SessionExists) -> str:
    return f"{exc} Choose another name, or call delete on {exc.name!r} first."


@advised.register
def _(exc: SessionBusy) -> str:
    return (
        f"{exc} Call poll with stream_id={exc.stream_id} to follow it, interrupt to stop it, "
        "or fork the session to work on a branch in parallel."
    )


@advised.register
def _(exc: ApprovalAlreadyDecided) -> str:
    return f"{exc} Call loopback_pending to see the approvals still waiting."


@advised.register
def _(exc: TurnElsewhere) -> str:
    return (
        f"{exc} Interrupt it through that server, or poll stream_id={exc.stream_id} until it ends."
    )


@advised.register
def _(exc: NodeNotInTree) -> str:
    return f"{str(exc).removesuffix('.')}; call tree to see its nodes."


@advised.register
def _(exc: WorkingDirMissing) -> str:
    if exc.session:
        return (
            f"{str(exc).removesuffix('.')}: create that directory again, or move the session "
            "with configure(cwd=...)."
        )
    return f"cwd {exc.cwd} {exc.problem}: create it first, or pass an existing directory."


@advised.register
def _(exc: PastStreamEnd) -> str:
    return (
        f"from_seq {exc.from_seq} is past the end of stream {exc.stream_id}, whose next event "
        f"will be seq {exc.next_seq}: poll from the next_seq of your last poll, or from 0."
    )


@advised.register
def _(exc: BudgetExceeded) -> str:
    return (
        f"{str(exc).removesuffix('.')}. Nothing was stored. To go on, raise it with "
        f"configure(name={exc.budget_session!r}, max_cost_usd=...) or remove it with "
        "max_cost_usd=0; see what each branch spent with tree or list."
    )


@advised.register
def _(exc: NotAGitRepository) -> str:
    return (
        f"{exc} workspace='git' needs a cwd inside a git repository: run `git init` there "
        "(and commit) first, pass a cwd inside a repository, or leave workspace out to let "
        "the child work in the directory itself (forks then share it)."
    )


@advised.register
def _(exc: NoWorkspace) -> str:
    return (
        f"{exc} Only sessions made with create(workspace='git') (and their forks) have "
        "snapshots to diff or apply; call get to see a session's workspace."
    )


@advised.register
def _(exc: UncommittedChanges) -> str:
    return (
        f"{exc} Commit or stash them first, call workspace_apply without switch (the branch "
        "is made, the checkout left alone), or with patch_file."
    )


@advised.register
def _(exc: GitNotInstalled) -> str:
    return (
        f"{exc} workspace='git' runs the git command line: install git (so that `git` is "
        "on the PATH session-tree runs with) and retry, or leave workspace out to let the "
        "child work in the directory itself."
    )


@advised.register
def _(exc: GitFailed) -> str:
    return (
        f"{exc} Nothing of the session was lost; fix what git says (run `git status` in "
        f"{exc.where}) and retry."
    )


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn domain errors into MCP tool errors, worded with their advice."""

    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except SessionTreeError as exc:
            raise ToolError(advised(exc)) from exc

    return wrapper


__all__ = ["advised", "tool_errors"]
