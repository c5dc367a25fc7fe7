"""What a child yields during a turn: our own typed items, not the SDK's messages.

Every item is an event of the turn's stream (``kind`` and ``data``); a complete
content block also carries the node it becomes in the tree. The service records
items and never sees an SDK type, so another kind of agent could sit behind the
same interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import JSONObject, NewNode, Usage


@dataclass(frozen=True)
class Item:
    """One thing to record: an event, and the node it describes if it is a complete block."""

    kind: str
    data: JSONObject
    node: NewNode | None = None


@dataclass(frozen=True)
class Delta(Item):
    """A token delta (``text_delta``, ``thinking_delta``): an event only."""


@dataclass(frozen=True)
class Block(Item):
    """A complete content block of the branch: text, thinking, tool_use or tool_result."""


@dataclass(frozen=True)
class Note(Item):
    """Anything else the child said (system, subagent and unknown messages): kept as an event."""


@dataclass(frozen=True)
class Result(Item):
    """The end of the child's turn."""

    claude_session_id: str = ""
    is_error: bool = False
    stop_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    error: str = ""
    """The sentence that says the turn failed, should it count as failed."""


__all__ = ["Block", "Delta", "Item", "Note", "Result"]
