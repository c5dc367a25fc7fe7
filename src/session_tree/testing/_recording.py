"""Every request the scripted model receives, kept in arrival order.

The journal is written by the server's handler threads and read by tests, so
it sits behind one `threading.Condition`: `wait_for` sleeps on the condition
until enough requests have arrived, never on a clock.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class RequestKind(enum.StrEnum):
    """What a request is for; see `classify` in `_classify.py` for the rules."""

    CONVERSATION = "conversation"  # the child's main loop (and its subagents)
    TITLE = "title"  # session-title generation
    COMPACT = "compact"  # conversation compaction (/compact or auto-compact)
    SIDE = "side"  # any other helper query (structured output, known prompts)
    COUNT_TOKENS = "count_tokens"  # POST /v1/messages/count_tokens
    OTHER = "other"  # probes and unknown endpoints (e.g. HEAD /api/hello)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as received: header names lower-cased, body parsed as JSON."""

    index: int
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: Any
    raw_body: bytes
    timestamp: float
    kind: RequestKind

    @property
    def json(self) -> dict[str, Any]:
        """The body when it is a JSON object, else an empty dict."""
        return self.body if isinstance(self.body, dict) else {}

    @property
    def model(self) -> str | None:
        value = self.json.get("model")
        return value if isinstance(value, str) else None

    @property
    def stream(self) -> bool:
        return self.json.get("stream") is True

    @property
    def messages(self) -> list[dict[str, Any]]:
        value = self.json.get("messages")
        return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []

    @property
    def system_text(self) -> str:
        """The system prompt as one string (it may be sent as a list of blocks)."""
        return system_text(self.json)

    @property
    def tool_names(self) -> list[str]:
        tools = self.json.get("tools")
        if not isinstance(tools, list):
            return []
        return [t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]


def system_text(body: Mapping[str, Any]) -> str:
    system = body.get("system")
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(
            block["text"]
            for block in system
            if isinstance(block, dict) and isinstance(block.get("text"), str)
        )
    return ""


class Journal:
    """The thread-safe, append-only list of recorded requests."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._requests: list[RecordedRequest] = []

    def add(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: Any,
        raw_body: bytes,
        kind: RequestKind,
    ) -> RecordedRequest:
        with self._changed:
            request = RecordedRequest(
                index=len(self._requests),
                method=method,
                path=path,
                query=query,
                headers=dict(headers),
                body=body,
                raw_body=raw_body,
                timestamp=time.time(),
                kind=kind,
            )
            self._requests.append(request)
            self._changed.notify_all()
            return request

    def snapshot(self, kind: RequestKind | None = None) -> list[RecordedRequest]:
        with self._changed:
            return [r for r in self._requests if kind is None or r.kind is kind]

    def wait_for(
        self, count: int, timeout: float, kind: RequestKind | None = None
    ) -> list[RecordedRequest]:
        """Block until `count` requests (of `kind`) are recorded; TimeoutError after `timeout`."""

        def matching() -> list[RecordedRequest]:
            return [r for r in self._requests if kind is None or r.kind is kind]

        def enough() -> bool:
            return len(matching()) >= count

        with self._changed:
            if not self._changed.wait_for(enough, timeout):
                seen = [(r.method, r.path, r.kind.value) for r in self._requests]
                what = f"{kind.value} " if kind else ""
                raise TimeoutError(f"expected {count} {what}requests within {timeout}s; got {seen}")
            return matching()
