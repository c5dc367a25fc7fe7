"""The summary node that closes every turn: what a later child resumes from.

A turn that ends well leaves one, holding the Claude session id that produced it
and the uuid of its last assistant message; an imported transcript leaves the
same, so the next chat resumes it from the database alone.
"""

from __future__ import annotations

from ..models import NewNode, NodeKind, Usage


def summary_node(
    *,
    claude_session_id: str,
    resume_at: str | None,
    usage: Usage,
    stop_reason: str | None = None,
    is_error: bool = False,
    ephemeral: bool = False,
) -> NewNode:
    return NewNode(
        kind=NodeKind.SUMMARY,
        ephemeral=ephemeral,
        data={
            "claude_session_id": claude_session_id,
            "resume_at": resume_at,
            "stop_reason": stop_reason,
            "is_error": is_error,
            "usage": usage.model_dump(),
        },
    )
