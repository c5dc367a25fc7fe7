"""What chat returns of a turn's events, folded one event at a time.

One fold for both ways of reading a turn: ``Chat.summarize`` runs it over the
events stored in the stream; a running turn runs it over its items as they are
recorded (each item is one event, with the same kind and data), so a blocking
chat that saw its turn end builds its result without reading the stream back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import JSONObject, Usage
from ._mcp_servers import failed_servers
from ._results import ToolCallSummary

PREVIEW = 200


@dataclass
class TurnDigest:
    text: list[str] = field(default_factory=list)
    calls: dict[str, ToolCallSummary] = field(default_factory=dict)
    usage: Usage | None = None
    structured_output: object = None
    failed_servers: list[str] = field(default_factory=list)

    def add(self, kind: str, data: JSONObject) -> None:
        if kind == "text":
            self.text.append(str(data.get("text", "")))
        elif kind == "tool_use":
            call_id = str(data.get("id"))
            self.calls[call_id] = ToolCallSummary(
                id=call_id, name=str(data.get("name")), input_preview=_preview(data.get("input"))
            )
        elif kind == "tool_result":
            call = self.calls.get(str(data.get("tool_use_id")))
            if call is not None:
                call.result_preview = _preview(data.get("content"))
                call.is_error = bool(data.get("is_error"))
        elif kind == "turn_end":
            self.usage = Usage.model_validate(data["usage"])
            self.structured_output = data.get("structured_output")
        elif kind == "system" and data.get("subtype") == "init":
            self.failed_servers = failed_servers(data.get("data"))

    @property
    def reply(self) -> str:
        return "\n\n".join(self.text)

    @property
    def tool_calls(self) -> list[ToolCallSummary]:
        return list(self.calls.values())


def _preview(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"
