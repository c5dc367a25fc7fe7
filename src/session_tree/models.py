"""Pydantic types shared by every layer: nodes, sessions, streams, events, approvals.

Lifecycles are explicit: each status enum carries its legal moves, checked in
one place (:func:`check_transition`), so a stream cannot go from completed back
to running however a caller tries.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ._sendable import STORED as STORED
from ._sendable import check_env as _check_env
from ._sendable import check_text as _check_text
from ._sendable import stored as _stored
from .child_config import MCP_SERVER_NAME as _MCP_SERVER_NAME
from .child_config import Effort as Effort
from .child_config import HttpMcpServer as HttpMcpServer
from .child_config import McpServer as McpServer
from .child_config import Sandbox as Sandbox
from .child_config import SandboxNetwork as SandboxNetwork
from .child_config import SettingSource as SettingSource
from .child_config import StdioMcpServer as StdioMcpServer
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
    # What this session and every fork below it may spend together, in USD
    # (service/_budgets.py). A fork copies it, and stays inside its origin's too.
    max_cost_usd: float | None = Field(default=None, gt=0)
    env: dict[str, str] = Field(default_factory=dict)
    # Children see only these MCP servers (strict): none on the machine.
    mcp_servers: dict[str, McpServer] = Field(default_factory=dict)
    # Settings files a child reads; none by default, so the config is the whole truth.
    setting_sources: list[SettingSource] = Field(default_factory=list)
    add_dirs: list[str] = Field(default_factory=list)
    effort: Effort | None = None
    # 0 turns thinking off; more is a fixed budget of thinking tokens per reply.
    thinking_tokens: int | None = Field(default=None, ge=0, le=1_000_000)
    fallback_model: str | None = None
    sandbox: Sandbox | None = None
    # "git": the child works in a git worktree of its own (service/_workspaces.py), made
    # from the repository holding cwd; a fork gets one at its fork point. Set at create.
    workspace: Literal["git"] | None = None

    # Every value here reaches Claude Code on its command line, in its environment
    # or in a file it parses, so what cannot travel there is refused here, where
    # create, configure and fork all build a config, before anything is stored.
    # A config read back from the database (context STORED) is only resolved,
    # never refused: a row an older version stored must still list and delete.

    @field_validator("cwd")
    @classmethod
    def _absolute_cwd(cls, cwd: str | None, info: ValidationInfo) -> str | None:
        # "~" is expanded (a model writing "~/project" means the home directory) and
        # a relative path is the server's working directory's, fixed now: stored
        # relative, it would change meaning with whoever reads the row later.
        if cwd is None:
            return None
        _check_text(cwd, "", info, one_line=False)
        return os.path.abspath(os.path.expanduser(cwd)) if cwd else cwd

    @field_validator("model", "fallback_model")
    @classmethod
    def _one_word(cls, model: str | None, info: ValidationInfo) -> str | None:
        if model is not None:
            _check_text(model, "", info, one_line=True)
            if not _stored(info) and any(ch.isspace() for ch in model):
                raise PydanticCustomError(
                    "model_name", "holds a space: a model name is one word, such as sonnet"
                )
        return model

    @field_validator("system_prompt")
    @classmethod
    def _sendable_prompt(cls, prompt: str | None, info: ValidationInfo) -> str | None:
        if prompt is not None:
            _check_text(prompt, "", info, one_line=False)
        return prompt

    @field_validator("allowed_tools", "disallowed_tools")
    @classmethod
    def _one_line_rules(cls, rules: list[str], info: ValidationInfo) -> list[str]:
        for number, rule in enumerate(rules):
            _check_text(rule, f"rule {number} ({rule[:40]!r}) ", info, one_line=True)
        return rules

    @field_validator("env")
    @classmethod
    def _sendable_env(cls, env: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        return _check_env(env, info)

    @field_validator("mcp_servers")
    @classmethod
    def _server_names(
        cls, servers: dict[str, StdioMcpServer | HttpMcpServer], info: ValidationInfo
    ) -> dict[str, StdioMcpServer | HttpMcpServer]:
        for name in servers:
            if not _stored(info) and (not _MCP_SERVER_NAME.fullmatch(name) or "__" in name):
                raise PydanticCustomError(
                    "mcp_server_name",
                    "has the server name {name}: 1-64 letters, digits, '_' and '-', starting "
                    "with a letter or digit, no '__' (it names the tools: mcp__NAME__TOOL)",
                    {"name": repr(name[:40])},
                )
        return servers

    @field_validator("add_dirs")
    @classmethod
    def _absolute_dirs(cls, dirs: list[str], info: ValidationInfo) -> list[str]:
        # As cwd: fixed now, so that the stored path means the same to every reader.
        for number, path in enumerate(dirs):
            _check_text(path, f"directory {number} ", info, one_line=False)
        return [os.path.abspath(os.path.expanduser(path)) if path else path for path in dirs]


class SessionStatus(StrEnum):
    IDLE = "idle"
    RUNNING = "running"


class Workspace(Frozen):
    """A session's git worktree and the ref in the user's repository its snapshots hang on."""

    key: str
    session_id: int | None = Field(description="None until bound, and once its session is gone")
    repo: str = Field(description="the top level of the user's checkout")
    path: str = Field(description="the worktree the child works in")
    ref: str
    start_commit: str = Field(description="what the worktree started at: its fork point")
    base_commit: str = Field(description="the user's HEAD plus uncommitted changes it began from")
    created_at: float


class Session(Frozen):
    # A client names a session by its name; the row id stays inside (not in any result, nor
    # in the schema a client checks results against).
    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_mode_override="serialization"
    )

    id: int = Field(exclude=True)
    name: str
    title: str | None = Field(
        default=None,
        description="given at create or configure; else the first prompt's first line; "
        "a fork shows its origin's, marked (fork), until given its own",
    )
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
    # Shown in a poll of its stream, which names the stream once, not once per event.
    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_mode_override="serialization"
    )

    stream_id: int = Field(exclude=True)
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
    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_mode_override="serialization"
    )

    id: int
    session_id: int = Field(exclude=True)  # the session is named by session_name
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


# Every legal move, staying put included where it is legal: re-writing an end
# or asking a second approval of a waiting stream is harmless, but a running
# session taking a second turn, or an approval decided twice, is not.
_LEGAL_MOVES: dict[type[StrEnum], dict[StrEnum, frozenset[StrEnum]]] = {
    SessionStatus: {
        SessionStatus.IDLE: frozenset({SessionStatus.IDLE, SessionStatus.RUNNING}),
        SessionStatus.RUNNING: frozenset({SessionStatus.IDLE}),
    },
    StreamStatus: {
        StreamStatus.RUNNING: frozenset(
            {
                StreamStatus.RUNNING,
                StreamStatus.AWAITING_PERMISSION,
                StreamStatus.COMPLETED,
                StreamStatus.FAILED,
                StreamStatus.INTERRUPTED,
            }
        ),
        StreamStatus.AWAITING_PERMISSION: frozenset(
            {
                StreamStatus.AWAITING_PERMISSION,
                StreamStatus.RUNNING,
                StreamStatus.COMPLETED,
                StreamStatus.FAILED,
                StreamStatus.INTERRUPTED,
            }
        ),
        StreamStatus.COMPLETED: frozenset({StreamStatus.COMPLETED}),
        StreamStatus.FAILED: frozenset({StreamStatus.FAILED}),
        StreamStatus.INTERRUPTED: frozenset({StreamStatus.INTERRUPTED}),
    },
    ApprovalStatus: {
        ApprovalStatus.PENDING: frozenset(
            {
                ApprovalStatus.PENDING,
                ApprovalStatus.ALLOWED,
                ApprovalStatus.DENIED,
                ApprovalStatus.EXPIRED,
            }
        ),
        ApprovalStatus.ALLOWED: frozenset(),
        ApprovalStatus.DENIED: frozenset(),
        ApprovalStatus.EXPIRED: frozenset(),
    },
}


def can_transition(current: StrEnum, target: StrEnum) -> bool:
    """True when ``current -> target`` is a legal move in its table."""
    return target in _LEGAL_MOVES[type(current)][current]


def check_transition(what: str, current: StrEnum, target: StrEnum) -> None:
    """Raise :class:`InvalidTransition` unless ``current -> target`` is legal."""
    if not can_transition(current, target):
        raise InvalidTransition(what, current.value, target.value)


StateT = TypeVar("StateT", bound=StrEnum)


def check_move(
    what: str, moves: Mapping[StateT, frozenset[StateT]], current: StateT, target: StateT
) -> None:
    """:func:`check_transition` for a lifecycle kept in memory, with its own table
    (a child process, a running turn); staying put is always legal there."""
    if target is not current and target not in moves[current]:
        raise InvalidTransition(what, current.value, target.value)
