"""A recorded request's `messages`, reduced to what a test wants to compare.

Claude Code decorates the conversation it sends (observed with 2.1.329):

- `<system-reminder>...</system-reminder>` text, as whole text blocks in user
  messages (the first prompt carries a git-attribution reminder) and appended
  to other text;
- mid-conversation messages with role `system` (the "# Environment" block with
  cwd, platform, model, deferred tools, agent types and skills), sent right
  after the first user message; the API accepts these under the
  `per-turn-control` beta;
- `cache_control` markers on the last blocks, which move from request to
  request.

Other things claude adds are real context and are kept: after an
interrupt, the partial assistant text and a user text
"[Request interrupted by user]\n"; after a slash command such as /compact,
`<local-command-caveat>`, `<command-name>` and `<local-command-stdout>`
texts and the "This session is being continued..." summary.

`transcript` drops all three (pass `keep_noise=True` to keep the first two),
merges consecutive messages of the same role (the API does the same), and
summarises each block as a string:

- text: the text itself;
- thinking: `[thinking] <thought>`;
- tool_use: `[tool_use <name> <input as compact sorted JSON>]`;
- tool_result: `[tool_result <text>]`, or `[tool_result error <text>]`;
- anything else (images, documents): `[<type>]`.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeAlias

from ._recording import RecordedRequest

Turn: TypeAlias = tuple[str, list[str]]

_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)


def strip_reminders(text: str) -> str:
    """`text` without system-reminder segments ('' if nothing else was there)."""
    if "<system-reminder>" not in text:
        return text
    rest = _REMINDER.sub("", text)
    return "" if not rest.strip() else rest.strip("\n")


def _result_text(content: Any, keep_noise: bool) -> str:
    if isinstance(content, str):
        return content if keep_noise else strip_reminders(content)
    if isinstance(content, list):
        parts = [_summary(block, keep_noise) for block in content if isinstance(block, dict)]
        return "\n".join(part for part in parts if part)
    return ""


def _summary(block: dict[str, Any], keep_noise: bool) -> str:
    kind = block.get("type")
    if kind == "text":
        value = str(block.get("text", ""))
        return value if keep_noise else strip_reminders(value)
    if kind == "thinking":
        return f"[thinking] {block.get('thinking', '')}"
    if kind == "tool_use":
        arguments = json.dumps(block.get("input", {}), sort_keys=True, separators=(",", ":"))
        return f"[tool_use {block.get('name')} {arguments}]"
    if kind == "tool_result":
        flag = "error " if block.get("is_error") else ""
        return f"[tool_result {flag}{_result_text(block.get('content'), keep_noise)}]"
    return f"[{kind}]"


def transcript(
    source: RecordedRequest | list[dict[str, Any]], *, keep_noise: bool = False
) -> list[Turn]:
    """`[(role, [block summary, ...]), ...]`, with Claude Code's noise removed."""
    messages = source.messages if isinstance(source, RecordedRequest) else source
    turns: list[Turn] = []
    for message in messages:
        role = str(message.get("role"))
        if role == "system" and not keep_noise:
            continue
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            continue
        summaries = [_summary(b, keep_noise) for b in blocks if isinstance(b, dict)]
        summaries = [s for s in summaries if s or keep_noise]
        if not summaries:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(summaries)
        else:
            turns.append((role, summaries))
    return turns


def last_user_text(source: RecordedRequest | list[dict[str, Any]]) -> str:
    """The text of the last user message; its tool results when it has no text."""
    messages = source.messages if isinstance(source, RecordedRequest) else source
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            continue
        blocks = [b for b in blocks if isinstance(b, dict)]
        texts = [strip_reminders(str(b.get("text", ""))) for b in blocks if b.get("type") == "text"]
        texts = [t for t in texts if t]
        if not texts:
            texts = [
                _result_text(b.get("content"), keep_noise=False)
                for b in blocks
                if b.get("type") == "tool_result"
            ]
        if any(texts):
            return "\n".join(texts)
    return ""
