"""Context in use: how much of the child's context window a branch takes, so a parent
knows when to fork fresh.

The figure is the usage of the last model request of the head's turn: what it
sent (input, cache read and cache creation tokens) plus its reply (output
tokens), which is what the next request starts from and how Claude Code counts
its own context. The turn summary's usage cannot say it: Claude Code's result
message sums every request of the turn (two requests of 2,558 and 2,623 input
tokens give 5,181), so a turn with tool calls would count its history twice.

Where the request's usage is found, in order:

1. ``context`` on the head's summary node (``{"tokens", "model"}``), which an
   import writes for each turn from the transcript's records.
2. The transcript mirror: Claude Code writes each API response's final usage
   on its assistant records, and the summary names the turn's Claude session
   and the uuid of its last assistant record, so one record says it.

The window comes from :data:`CONTEXT_WINDOWS`, by the model that answered
(``[1m]`` on the session's model asks Claude Code for the 1M-token beta).
"""

from __future__ import annotations

from typing import Any

from ..models import JSONObject, NodeKind, Session
from ..store import Store
from ._results import ContextUse

__all__ = [
    "CONTEXT_KEY",
    "CONTEXT_WINDOWS",
    "DEFAULT_CONTEXT_WINDOW",
    "context_data",
    "context_use",
    "context_window",
]

CONTEXT_KEY = "context"
"""The summary node's field holding its last request's context: ``{"tokens", "model"}``."""

DEFAULT_CONTEXT_WINDOW = 200_000
"""A model not in the table: the smallest window a Claude model has had, so a parent forks
early rather than late."""

ONE_MILLION = 1_000_000

CONTEXT_WINDOWS: tuple[tuple[str, int], ...] = (
    # Prefixes of the model names the API answers with, longest first; the windows are
    # those Claude Code 2.1.3xx reports for them (modelUsage.contextWindow).
    ("claude-opus-5", ONE_MILLION),
    ("claude-sonnet-5", ONE_MILLION),
    ("claude-haiku-5", ONE_MILLION),
    ("claude-opus-4", 200_000),
    ("claude-sonnet-4", 200_000),
    ("claude-haiku-4", 200_000),
    ("claude-3", 200_000),
)
"""Known models' context windows, by name prefix; anything else gets
:data:`DEFAULT_CONTEXT_WINDOW`."""


def context_window(model: str | None, configured: str | None = None) -> tuple[int, bool]:
    """The window of ``model`` (the name the API answered with) for a session configured
    with ``configured``, and whether the table knew it."""
    if configured is not None and configured.strip().lower().endswith("[1m]"):
        return ONE_MILLION, True  # the API names the model without the suffix
    for name in (model, configured):
        if not name:
            continue
        lowered = name.strip().lower()
        for prefix, window in CONTEXT_WINDOWS:
            if lowered.startswith(prefix):
                return window, True
    return DEFAULT_CONTEXT_WINDOW, False


def context_data(usage: object, model: object) -> JSONObject | None:
    """``context`` for a summary node from an API response's ``usage`` and ``model``;
    None when the usage says nothing (an export's records carry zeros)."""
    if not isinstance(usage, dict):
        return None
    tokens = sum(
        _count(usage, field)
        for field in (
            "input_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
            "output_tokens",
        )
    )
    if tokens <= 0:
        return None
    return {"tokens": tokens, "model": model if isinstance(model, str) and model else None}


async def context_use(store: Store, session: Session) -> ContextUse | None:
    """How much of its child's context window session ``session``'s branch takes;
    None at the root, or when nothing recorded the head turn's last request."""
    head = await store.nodes.get(session.head_id)
    if head.kind is not NodeKind.SUMMARY:
        return None
    recorded = head.data.get(CONTEXT_KEY)
    found = recorded if isinstance(recorded, dict) else await _from_mirror(store, head.data)
    if found is None or not isinstance(found.get("tokens"), int):
        return None
    tokens: int = found["tokens"]
    model = found.get("model") if isinstance(found.get("model"), str) else None
    window, known = context_window(model, session.config.model)
    return ContextUse(
        tokens=tokens,
        window=window,
        percent=round(100 * tokens / window, 1),
        model=model,
        window_known=known,
    )


async def _from_mirror(store: Store, summary: JSONObject) -> JSONObject | None:
    """The context of the turn's last assistant record, from the mirrored transcript."""
    claude_session_id = summary.get("claude_session_id")
    resume_at = summary.get("resume_at")
    if not isinstance(claude_session_id, str) or not isinstance(resume_at, str):
        return None
    for project_key in await store.transcripts.sessions_with_id(claude_session_id):
        entries = await store.transcripts.load(
            {"project_key": project_key, "session_id": claude_session_id}
        )
        for entry in reversed(entries or []):
            if entry.get("uuid") == resume_at:
                message = entry.get("message")
                if isinstance(message, dict):
                    return context_data(message.get("usage"), message.get("model"))
                return None
    return None


def _count(usage: dict[str, Any], field: str) -> int:
    value = usage.get(field)
    return value if isinstance(value, int) and value > 0 else 0
