"""Argument types the tools share: each carries its bounds and its description,
which become the tool's input schema (and README's reference)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..models import Effort, McpServer, Sandbox, SettingSource
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
McpServersArg = Annotated[
    dict[str, McpServer] | None,
    Field(
        max_length=50,
        description="MCP servers for the child, by name: {command, args, env} for a stdio "
        "server, {url, headers} (type http or sse) for a remote one. The child sees these "
        "alone, none of the machine's; their tools are mcp__NAME__TOOL, under the same rules "
        "and loopback as built-in ones. get shows env and header values masked",
    ),
]
SettingSourcesArg = Annotated[
    list[SettingSource] | None,
    Field(
        description="settings files the child reads (user, project, local: project brings "
        "the project's CLAUDE.md and .claude/settings.json); none by default"
    ),
]
EnvArg = Annotated[
    dict[str, str] | None,
    Field(max_length=200, description="environment variables for the child; get masks values"),
]
AddDirsArg = Annotated[
    list[str] | None,
    Field(max_length=50, description="more directories the child may work in, beside cwd"),
]
EffortArg = Annotated[Effort | None, Field(description="how hard the child's model thinks")]
ThinkingTokensArg = Annotated[
    int | None,
    Field(ge=0, le=1_000_000, description="thinking budget in tokens per reply; 0 turns it off"),
]
FallbackModelArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        description="model the child turns to when its model is overloaded",
    ),
]
SandboxArg = Annotated[
    Sandbox | None,
    Field(
        description="Claude Code's sandbox for Bash (Linux and macOS), its settings in "
        "snake_case: enabled, excluded_commands, network.allowed_domains, ..."
    ),
]

__all__ = [
    "MAX_ID",
    "MAX_PROMPT_CHARS",
    "MAX_SYSTEM_PROMPT_CHARS",
    "AddDirsArg",
    "ApprovalTimeout",
    "AskHumanArg",
    "EffortArg",
    "EnvArg",
    "FallbackModelArg",
    "McpServersArg",
    "Prompt",
    "Rules",
    "SandboxArg",
    "SessionName",
    "SettingSourcesArg",
    "ThinkingTokensArg",
]
