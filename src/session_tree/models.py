"""Pydantic types shared by every layer: nodes, sessions, streams, events, approvals.

Lifecycles are explicit: each status enum carries its legal moves, checked in
one place (:func:`check_transition`), so a stream cannot go from completed back
to running however a caller tries.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import InvalidTransition

JSONObject = dict[str, Any]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NodeKind(StrEnum):
    ROOT = "root"
    USER = "user"
    TEXT = "text"
    THINKING = "thinking"
    TOOL_USE = "tool_use"
    TOOL_RESULT = "tool_result"
    SUMMARY = "summary"


class Node(Frozen):
    """A complete unit of conversation, written once and never updated."""

    id: int
    tree_id: int
    parent_id: int | None
    kind: NodeKind
    data: JSONObject
    ephemeral: bool = False
    depth: int
    message_uuid: str | None = None
    created_at: float


class NewNode(Frozen):
    """What a caller supplies to append a node; the store fills in the rest."""

    kind: NodeKind
    data: JSONObject = Field(default_factory=dict)
    ephemeral: bool = False
    message_uuid: str | None = None


class TreeNode(Frozen):
    """One row of the compact tree view: enough to draw it, not the full content."""

    id: int
    parent_id: int | None
    kind: NodeKind
    ephemeral: bool
    depth: int
    preview: str


class TreeView(Frozen):
    tree_id: int
    nodes: list[TreeNode]
    heads: dict[str, int] = Field(description="session name -> head node id")


class Usage(Frozen):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0
    turns: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens
            + other.cache_creation_input_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            turns=self.turns + other.turns,
        )


PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions"]


class SessionConfig(Frozen):
    """How a session's child is started. Stored as JSON on the session row."""

    cwd: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    permission_mode: PermissionMode = "default"
    allowed_tools: list[str] = Field(default_factory=list)
    disallowed_tools: list[str] = Field(default_factory=list)
    loopback: bool = False
    # Put approvals to the person behind the parent's MCP client (elicitation)
    # during a blocking chat, before the parent agent.
    ask_human: bool = False
    approval_timeout_s: float = 300.0
    bypass_until: float | None = None
    max_turns: int | None = None
    env: dict[str, str] = Field(default_factory=dict)


class SessionStatus(StrEnum):
    IDLE = "idle"
    RUNNING = "running"


class Session(Frozen):
    id: int
    name: str
    tree_id: int
    head_id: int
    config: SessionConfig
    claude_session_id: str | None = None
    forked_from: str | None = None
    fork_node_id: int | None = None
    status: SessionStatus = SessionStatus.IDLE
    usage: Usage = Field(default_factory=Usage)
    created_at: float
    updated_at: float


class StreamStatus(StrEnum):
    RUNNING = "running"
    AWAITING_PERMISSION = "awaiting_permission"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL_STREAM


_TERMINAL_STREAM = frozenset(
    {StreamStatus.COMPLETED, StreamStatus.FAILED, StreamStatus.INTERRUPTED}
)


class Stream(Frozen):
    """One turn's event buffer."""

    id: int
    session_id: int
    session_name: str
    status: StreamStatus
    ephemeral: bool
    prompt_node_id: int | None
    error: str | None = None
    last_seq: int = Field(description="seq of the last event, -1 when there is none")
    created_at: float
    updated_at: float


class Event(Frozen):
    stream_id: int
    seq: int
    kind: str
    data: JSONObject
    created_at: float


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    ALLOWED = "allowed"
    DENIED = "denied"
    EXPIRED = "expired"


class Approval(Frozen):
    id: int
    session_id: int
    session_name: str
    stream_id: int | None
    tool_name: str
    input: JSONObject
    tool_use_id: str | None
    status: ApprovalStatus
    decision: JSONObject | None = None
    decided_by: str | None = None
    created_at: float
    decided_at: float | None = None


_LEGAL_MOVES: dict[type[StrEnum], dict[StrEnum, frozenset[StrEnum]]] = {
    SessionStatus: {
        SessionStatus.IDLE: frozenset({SessionStatus.RUNNING}),
        SessionStatus.RUNNING: frozenset({SessionStatus.IDLE}),
    },
    StreamStatus: {
        StreamStatus.RUNNING: frozenset(
            {
                StreamStatus.AWAITING_PERMISSION,
                StreamStatus.COMPLETED,
                StreamStatus.FAILED,
                StreamStatus.INTERRUPTED,
            }
        ),
        StreamStatus.AWAITING_PERMISSION: frozenset(
            {
                StreamStatus.RUNNING,
                StreamStatus.COMPLETED,
                StreamStatus.FAILED,
                StreamStatus.INTERRUPTED,
            }
        ),
        StreamStatus.COMPLETED: frozenset(),
        StreamStatus.FAILED: frozenset(),
        StreamStatus.INTERRUPTED: frozenset(),
    },
    ApprovalStatus: {
        ApprovalStatus.PENDING: frozenset(
            {ApprovalStatus.ALLOWED, ApprovalStatus.DENIED, ApprovalStatus.EXPIRED}
        ),
        ApprovalStatus.ALLOWED: frozenset(),
        ApprovalStatus.DENIED: frozenset(),
        ApprovalStatus.EXPIRED: frozenset(),
    },
}


def can_transition(current: StrEnum, target: StrEnum) -> bool:
    """True when ``current -> target`` is a legal move (staying put is legal)."""
    if current == target:
        return True
    return target in _LEGAL_MOVES[type(current)][current]


def check_transition(what: str, current: StrEnum, target: StrEnum) -> None:
    """Raise :class:`InvalidTransition` unless ``current -> target`` is legal."""
    if not can_transition(current, target):
        raise InvalidTransition(what, current.value, target.value)
