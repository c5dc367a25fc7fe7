"""What the service hands back: the typed results the MCP tools return as they are."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..models import (
    Approval,
    Event,
    JSONObject,
    NodeKind,
    Session,
    Stream,
    StreamStatus,
    TreeView,
    Usage,
    Workspace,
)
from ._mcp_servers import McpServerState
from ._render import RenderedMessage


class ToolCallSummary(BaseModel):
    id: str
    name: str
    input_preview: str
    result_preview: str | None = None
    is_error: bool = False


class PendingApproval(BaseModel):
    """A child's tool call waiting for the parent: answer it with loopback_respond."""

    id: int = Field(description="pass as approval_id to loopback_respond")
    session: str
    stream_id: int | None = Field(
        description="the turn that waits; None for an outside Claude Code"
    )
    tool_name: str
    input: JSONObject
    tool_use_id: str | None
    age_s: float = Field(description="seconds since the child asked")

    @classmethod
    def of(cls, approval: Approval, now: float) -> PendingApproval:
        return cls(
            id=approval.id,
            session=approval.session_name,
            stream_id=approval.stream_id,
            tool_name=approval.tool_name,
            input=approval.input,
            tool_use_id=approval.tool_use_id,
            age_s=round(max(now - approval.created_at, 0.0), 3),
        )


class PendingList(BaseModel):
    approvals: list[PendingApproval]


class ChatResult(BaseModel):
    session: str
    stream_id: int
    status: StreamStatus = Field(
        description="completed, failed or interrupted when the turn ended; running when the wait "
        "bound passed first (call poll); awaiting_permission when the child waits on an approval"
    )
    text: str = Field(description="the assistant's text in this turn so far")
    tool_calls: list[ToolCallSummary]
    head_id: int = Field(description="the session's head node after the turn")
    usage: Usage | None = Field(default=None, description="this turn's usage, once it has ended")
    error: str | None = None
    next_seq: int = Field(description="pass as from_seq to poll to read what comes after")
    ephemeral: bool = False
    pending_approvals: list[PendingApproval] = Field(
        default_factory=list,
        description="when awaiting_permission: what the child waits on (loopback_respond, then poll)",
    )
    structured_output: Any = Field(
        default=None,
        description="with output_schema: the child's answer as an object that meets the schema",
    )
    mcp_servers_failed: list[str] = Field(
        default_factory=list,
        description="MCP servers the child could not start this turn (it went on without their "
        "tools); see get for every server's status",
    )


class PollResult(BaseModel):
    stream_id: int
    session: str
    status: StreamStatus
    events: list[Event]
    next_seq: int = Field(description="pass as from_seq in the next poll")
    more: bool = Field(description="true when more events are already waiting past this page")
    done: bool = Field(description="true once the stream has ended and every event has been read")
    error: str | None = None


SessionState = Literal["idle", "running", "awaiting_permission", "failed"]
"""What a session is doing: a turn running, a turn waiting on an approval, its
last turn failed (until the next one starts), or none of these."""
ListOrder = Literal["activity", "name"]


class ContextUse(BaseModel):
    """How much of the child's context window the branch takes: fork fresh (or start a new
    session with a summary) before it fills, as Claude Code compacts the history then."""

    tokens: int = Field(
        description="tokens the branch takes: what the last model request of the head's turn "
        "sent (input + cache read + cache creation) plus its reply"
    )
    window: int = Field(description="the model's context window, in tokens")
    percent: float = Field(description="tokens as a percentage of window")
    model: str | None = Field(description="the model that answered that request")
    window_known: bool = Field(
        description="false when the model is not in session-tree's table and window is its "
        "default (200,000)"
    )


class SessionInfo(BaseModel):
    session: Session
    workspace: Workspace | None = Field(
        default=None,
        description="(get only) the git worktree the child works in, for workspace='git'",
    )
    running_stream_id: int | None = None
    warm: bool = False
    status: SessionState = Field(
        default="idle",
        description="running, awaiting_permission (a turn waits on an approval), failed (its "
        "last turn failed) or idle",
    )
    last_activity: float | None = Field(
        default=None, description="unix time of the session's last change or turn"
    )
    head_turn_usage: Usage | None = Field(
        default=None, description="usage of the turn that made the head (None at the root)"
    )
    subtree_usage: Usage = Field(
        default_factory=Usage,
        description="this session's usage plus every fork's below it, forks of forks too",
    )
    context: ContextUse | None = Field(
        default=None,
        description="(get only) the child's context window and how much of it the branch "
        "takes; None at the root, or when no turn recorded it",
    )
    cursor: str | None = Field(
        default=None, description="pass as cursor to list to read on after this row"
    )
    child_model: str | None = Field(
        default=None,
        description="(get only) the model the child reported using for the head's turn (its "
        "init message), beside the configured session.config.model; None at the root",
    )
    mcp_servers: list[McpServerState] = Field(
        default_factory=list,
        description="(get only) each MCP server of session.config.mcp_servers (shown there with "
        "env and header values masked) and its status from the latest turn's child",
    )


class BranchUsage(BaseModel):
    head_id: int
    usage: Usage = Field(description="the session's own turns")
    subtree_usage: Usage = Field(description="the session and every fork below it")


class SearchHit(BaseModel):
    session: str = Field(description="the session that ran the turn the text is from")
    node_id: int
    kind: NodeKind
    snippet: str = Field(description="the matching words in [brackets], with some around them")
    created_at: float
    fork_at: int | None = Field(
        description="the summary node ending the hit's turn: fork(name=session, at=fork_at) "
        "starts a session whose history ends right after the hit's turn; None when that turn "
        "has no summary (interrupted, or still running)"
    )


class SearchResult(BaseModel):
    hits: list[SearchHit] = Field(description="newest first")
    next_before: int | None = Field(
        description="pass as before to search for older hits; None when there are no more"
    )


class RenderResult(BaseModel):
    session: str
    start_id: int | None
    end_id: int
    messages: list[RenderedMessage]


class StreamView(BaseModel):
    """A turn's stream as a parent reads it: named by stream_id, its session by name."""

    stream_id: int = Field(description="pass to poll to read the turn's events")
    session: str
    status: StreamStatus
    ephemeral: bool = False
    error: str | None = None
    events: int = Field(description="events stored so far (poll from_seq 0 reads them all)")
    created_at: float
    updated_at: float

    @classmethod
    def of(cls, stream: Stream) -> StreamView:
        return cls(
            stream_id=stream.id,
            session=stream.session_name,
            status=stream.status,
            ephemeral=stream.ephemeral,
            error=stream.error,
            events=stream.last_seq + 1,
            created_at=stream.created_at,
            updated_at=stream.updated_at,
        )


class StreamList(BaseModel):
    streams: list[StreamView]


class TreeResult(BaseModel):
    session: str
    tree: TreeView
    usage: dict[str, BranchUsage] = Field(
        default_factory=dict, description="session name -> its head, own usage, subtree usage"
    )


class DeleteResult(BaseModel):
    session: str
    nodes_removed: int


class InterruptResult(BaseModel):
    session: str
    stream_id: int | None
    status: Literal["interrupted", "not_running"]


class ClaudeSession(BaseModel):
    """A Claude Code session's transcript on this machine."""

    session_id: str = Field(description="pass as source to import_claude_session")
    path: str
    first_prompt: str | None = Field(description="what the person asked first, on one line")
    size_bytes: int
    modified: float = Field(description="unix time the transcript last changed")


class ClaudeSessionList(BaseModel):
    cwd: str
    directory: str = Field(description="where Claude Code keeps the sessions of cwd")
    sessions: list[ClaudeSession] = Field(description="newest first, as claude --resume lists")
    more: bool = Field(description="true when older sessions were left out (raise limit)")


class ImportResult(BaseModel):
    session: Session = Field(description="the new session: chat, fork or render it by its name")
    source: str = Field(description="the transcript file read (left as it was)")
    source_session_id: str | None
    messages: int = Field(description="message records imported")
    skipped: dict[str, int] = Field(description="what was left out, by reason")


class ExportResult(BaseModel):
    session: str
    path: str = Field(description="the transcript written")
    claude_session_id: str
    cwd: str = Field(description="run claude --resume here to find it")
    records: int
    resume: str = Field(description="the command that carries the conversation on in a terminal")
