"""The word a person reads for each kind of node: in the terminal's tree and the browser's graph."""

from __future__ import annotations

from .models import NodeKind

NODE_LABELS: dict[NodeKind, str] = {
    NodeKind.ROOT: "root",
    NodeKind.USER: "user",
    NodeKind.TEXT: "assistant",
    NodeKind.THINKING: "thinking",
    NodeKind.TOOL_USE: "tool_use",
    NodeKind.TOOL_RESULT: "tool_result",
    NodeKind.SUMMARY: "turn end",
}
