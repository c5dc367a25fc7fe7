"""Argument types the tools share: each carries its bounds and its description,
which become the tool's input schema (and README's reference)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ._server import MAX_ID  # ids and seqs are SQLite integers

MAX_PROMPT_CHARS = 1_000_000
MAX_SYSTEM_PROMPT_CHARS = 200_000

SessionName = Annotated[
    str, Field(min_length=1, max_length=100, description="the session's unique name")
]
Prompt = Annotated[
    str, Field(min_length=1, max_length=MAX_PROMPT_CHARS, description="what to say to the child")
]
Rules = Annotated[
    list[str] | None,
    Field(description="tool rules in Claude Code's syntax, such as 'Read' or 'Bash(git *)'"),
]
AskHumanArg = Annotated[
    bool,
    Field(
        description="during a blocking chat, ask the person at your MCP client first "
        "(elicitation), where the client supports it"
    ),
]
ApprovalTimeout = Annotated[
    float | None,
    Field(gt=0, le=86_400, description="seconds an approval waits for you; then it is denied"),
]

__all__ = [
    "MAX_ID",
    "MAX_PROMPT_CHARS",
    "MAX_SYSTEM_PROMPT_CHARS",
    "ApprovalTimeout",
    "AskHumanArg",
    "Prompt",
    "Rules",
    "SessionName",
]
