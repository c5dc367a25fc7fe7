"""What a running turn is doing, in a few words: the progress a parent's client shows.

Claude Code shows each progress message to the person at the parent, so it
says what the child does now: the start of its latest text, the tool it runs
("Bash: pytest -q"), the approval it waits on, how the turn ended. Messages are
made from the turn's stream events, at most a few per second.
"""

from __future__ import annotations

import json

from ..models import Event

# The longest progress message; the start of a long text or command is enough.
MAX_MESSAGE = 80
# The fields that say what a tool call is about, by tool (else its first string).
_SUBJECTS = ("command", "file_path", "notebook_path", "path", "pattern", "url", "query")


class ProgressReader:
    """Follows a turn's events and says, after each batch, what the child is doing."""

    def __init__(self) -> None:
        self._text = ""
        self._latest = "starting"

    def read(self, events: list[Event]) -> str:
        for event in events:
            self._latest = self._describe(event) or self._latest
        return self._latest

    def _describe(self, event: Event) -> str | None:
        data = event.data
        if event.kind == "text_delta":
            if not self._text.endswith("\n\n") and len(self._text) < MAX_MESSAGE:
                self._text += str(data.get("text", ""))
            return _cut(self._text.strip()) or None
        if event.kind == "thinking_delta":
            return "thinking"
        if event.kind == "text":
            self._text = ""  # the next text block starts a new message
            return None
        if event.kind == "tool_use":
            return _cut(f"{data.get('name')}: {_subject(data.get('input'))}")
        if event.kind == "permission_request":
            call = f"{data.get('tool_name')} {_subject(data.get('input'))}"
            return _cut(f"waiting for approval {data.get('approval_id')}: {call}")
        if event.kind == "permission_decision":
            return _cut(
                f"approval {data.get('approval_id') or '(by rule)'}: {data.get('behavior')}"
            )
        if event.kind == "turn_end":
            return "turn ended: " + ("failed" if data.get("error") else "completed")
        if event.kind in ("error", "interrupted"):
            return f"turn ended: {'failed' if event.kind == 'error' else 'interrupted'}"
        return None


def _subject(tool_input: object) -> str:
    if not isinstance(tool_input, dict):
        return ""
    for key in _SUBJECTS:
        if isinstance(tool_input.get(key), str):
            return " ".join(str(tool_input[key]).split())
    return json.dumps(tool_input, separators=(",", ":"))


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
