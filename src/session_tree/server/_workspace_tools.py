"""The tools over a workspace session's files: what it changed, and taking it."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from ..service import ApplyResult, DiffAgainst, WorkspaceDiff
from ._context import service_of
from ._params import MAX_ID, SessionName


async def workspace_diff(
    name: SessionName,
    ctx: Context[Any, Any],
    at: Annotated[
        int | None,
        Field(ge=1, le=MAX_ID, description="a turn's summary node: what that turn changed"),
    ] = None,
    against: Annotated[
        DiffAgainst,
        Field(
            description="without at: fork (where its worktree started) or head (the user's HEAD now)"
        ),
    ] = "fork",
) -> WorkspaceDiff:
    """Files and patch a workspace session (workspace='git') changed: one turn (at), or its
    whole branch up to its last turn, against its fork point or the user's HEAD."""
    return await service_of(ctx).changes.diff(name, at=at, against=against)


async def workspace_apply(
    name: SessionName,
    ctx: Context[Any, Any],
    branch: Annotated[
        str | None,
        Field(min_length=1, max_length=200, description="a new branch of the user's repository"),
    ] = None,
    switch: Annotated[
        bool,
        Field(description="switch the user's checkout to the new branch (refused if it is dirty)"),
    ] = False,
    patch_file: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=4096,
            description="a new file to write the patch to (absolute: a relative path is from the server's directory)",
        ),
    ] = None,
) -> ApplyResult:
    """Take a workspace session's result (its last turn's snapshot) into the user's repository:
    as a new branch, or as a patch of what it changed since it began (git apply takes it). Never moves an existing branch, never
    writes over a file or uncommitted work."""
    return await service_of(ctx).changes.apply(
        name, branch=branch, switch=switch, patch_file=patch_file
    )
