"""Arguments that change how a session's child runs, shared by configure and fork."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ._params import MAX_SYSTEM_PROMPT_CHARS

ModelOverride = Annotated[
    str | None,
    Field(
        max_length=200,
        description="the child's model from the next turn (a warm child switches in place); "
        "empty for Claude Code's default",
    ),
]
SystemPromptOverride = Annotated[
    str | None,
    Field(
        max_length=MAX_SYSTEM_PROMPT_CHARS,
        description="replaces the system prompt from the next turn (a new child, same history); "
        "empty for none",
    ),
]
MaxTurnsOverride = Annotated[
    int | None,
    Field(ge=0, le=10_000, description="cap on model round trips per chat; 0 removes it"),
]


def overrides(
    model: str | None, system_prompt: str | None, max_turns: int | None
) -> dict[str, object]:
    """The config changes the given arguments make (left out: unchanged; empty or 0: unset)."""
    changes: dict[str, object] = {}
    if model is not None:
        changes["model"] = model or None
    if system_prompt is not None:
        changes["system_prompt"] = system_prompt or None
    if max_turns is not None:
        changes["max_turns"] = max_turns or None
    return changes


__all__ = ["MaxTurnsOverride", "ModelOverride", "SystemPromptOverride", "overrides"]
