"""The MCP tools: thin handlers over the service.

Each handler validates nothing the argument schema already does, calls one
service method and returns its typed result. Domain errors become tool errors
(``isError``) whose text says what to do next; nothing else is caught here, so
a bug surfaces as the SDK's generic error rather than a traceback in the reply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from ..errors import SessionTreeError
from ..models import Approval, PermissionMode, Session, SessionConfig, Stream
from ..service import (
    ChatResult,
    DeleteResult,
    HumanAnswer,
    InterruptResult,
    PollResult,
    RenderResult,
    SessionInfo,
    SessionService,
    StreamList,
    TreeResult,
)
from ._arguments import MAX_ID

P = ParamSpec("P")
R = TypeVar("R")

MAX_PROMPT_CHARS = 1_000_000
MAX_SYSTEM_PROMPT_CHARS = 200_000
# A person is shown a tool call's whole input or is not asked: a cut-off
# command could hide its dangerous end.
MAX_ELICITED_INPUT = 4000

SessionName = Annotated[
    str, Field(min_length=1, max_length=100, description="the session's unique name")
]
Prompt = Annotated[
    str, Field(min_length=1, max_length=MAX_PROMPT_CHARS, description="what to say to the child")
]
NodeId = Annotated[
    int, Field(ge=1, le=MAX_ID, description="a node id, as shown by tree or render_context")
]
Rules = Annotated[
    list[str] | None,
    Field(description="tool rules in Claude Code's syntax, such as 'Read' or 'Bash(git *)'"),
]
AskHumanArg = Annotated[
    bool,
    Field(
        description="during a blocking chat, ask the person at your MCP client first "
        "(elicitation), where the client supports it"
    ),
]
ApprovalTimeout = Annotated[
    float | None,
    Field(gt=0, le=86_400, description="seconds an approval waits for you; then it is denied"),
]


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn domain errors into MCP tool errors with the domain message."""

    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except SessionTreeError as exc:
            raise ToolError(str(exc)) from exc

    return wrapper


class HumanDecision(BaseModel):
    """What a person answers about one tool call (an MCP elicitation form)."""

    allow: bool = Field(description="allow this tool call")
    message: str = Field(default="", description="for a deny: what the child is told")


def service_of(ctx: Context[Any, Any]) -> SessionService:
    service = ctx.request_context.lifespan_context
    assert isinstance(service, SessionService)
    return service


READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
WRITES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
RUNS_CHILD = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)
DESTROYS = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
)


def register(server: MCPServer[SessionService]) -> None:
    @server.tool(annotations=WRITES)
    @tool_errors
    async def create(
        name: SessionName,
        ctx: Context[Any, Any],
        cwd: Annotated[str | None, Field(description="the child's working directory")] = None,
        model: Annotated[
            str | None,
            Field(
                min_length=1,
                max_length=200,
                description="model for the child, e.g. claude-sonnet-4-5",
            ),
        ] = None,
        system_prompt: Annotated[
            str | None,
            Field(
                max_length=MAX_SYSTEM_PROMPT_CHARS,
                description="replaces Claude Code's system prompt",
            ),
        ] = None,
        permission_mode: Annotated[
            PermissionMode, Field(description="Claude Code permission mode")
        ] = "default",
        allowed_tools: Annotated[Rules, Field(description="tools the child uses unasked")] = None,
        disallowed_tools: Annotated[
            Rules, Field(description="tools the child may never use")
        ] = None,
        loopback: Annotated[
            bool,
            Field(
                description="send every tool call Claude Code would ask about to you (loopback_pending)"
            ),
        ] = False,
        ask_human: AskHumanArg = False,
        approval_timeout_s: ApprovalTimeout = None,
        max_turns: Annotated[
            int | None, Field(ge=1, le=10_000, description="cap on model round trips per chat")
        ] = None,
    ) -> Session:
        """Create a child Claude Code session with an empty history. The child starts on its first chat."""
        config = SessionConfig(
            cwd=cwd,
            model=model,
            system_prompt=system_prompt,
            permission_mode=permission_mode,
            allowed_tools=allowed_tools or [],
            disallowed_tools=disallowed_tools or [],
            loopback=loopback,
            ask_human=ask_human,
            max_turns=max_turns,
            **({"approval_timeout_s": approval_timeout_s} if approval_timeout_s else {}),
        )
        return await service_of(ctx).create(name, config)

    @server.tool(annotations=WRITES)
    @tool_errors
    async def configure(
        name: SessionName,
        ctx: Context[Any, Any],
        permission_mode: Annotated[
            PermissionMode | None, Field(description="Claude Code permission mode")
        ] = None,
        allowed_tools: Annotated[Rules, Field(description="replaces the allowed rules")] = None,
        disallowed_tools: Annotated[
            Rules, Field(description="replaces the disallowed rules")
        ] = None,
        loopback: Annotated[bool | None, Field(description="send tool calls to you")] = None,
        ask_human: Annotated[
            bool | None, Field(description="ask the person at your MCP client first")
        ] = None,
        approval_timeout_s: ApprovalTimeout = None,
        cwd: Annotated[
            str | None, Field(description="move the session: the next child works here")
        ] = None,
        bypass_for_s: Annotated[
            float | None,
            Field(
                ge=0,
                le=86_400,
                description="allow every loopback call unasked for this many seconds (0 ends it)",
            ),
        ] = None,
    ) -> Session:
        """Change a session's permission policy or cwd; arguments left out stay as they are. Claude
        Code's own rules (mode, allowed, disallowed) settle a call first; only the rest reaches the
        loopback."""
        changes: dict[str, object] = {
            key: value
            for key, value in {
                "permission_mode": permission_mode,
                "allowed_tools": allowed_tools,
                "disallowed_tools": disallowed_tools,
                "loopback": loopback,
                "ask_human": ask_human,
                "approval_timeout_s": approval_timeout_s,
                "cwd": cwd,
            }.items()
            if value is not None
        }
        if bypass_for_s is not None:
            changes["bypass_until"] = time.time() + bypass_for_s if bypass_for_s > 0 else None
        return await service_of(ctx).configure(name, changes)

    @server.tool(annotations=RUNS_CHILD)
    @tool_errors
    async def chat(
        name: SessionName,
        prompt: Prompt,
        ctx: Context[Any, Any],
        ephemeral: Annotated[
            bool, Field(description="a side question: recorded off-branch, the head does not move")
        ] = False,
        wait_s: Annotated[
            float | None,
            Field(gt=0, le=3600, description="longest to block; default 45 s, then poll"),
        ] = None,
    ) -> ChatResult:
        """Send a prompt and wait for the reply. Returns the final text, tool calls, new head and usage.
        If the turn is still running at the wait bound (or needs an approval), returns its status and
        stream_id: continue with poll."""

        async def progress(events: int) -> None:
            await ctx.report_progress(events, message=f"{events} events")

        async def ask_human(approval: Approval) -> HumanAnswer | None:
            shown = json.dumps(approval.input, indent=1)
            if len(shown) > MAX_ELICITED_INPUT:
                return None  # too long to show whole: the parent agent decides
            answer = await ctx.elicit(
                f"Session {approval.session_name!r} wants to run {approval.tool_name} with "
                f"{shown}\nAllow it?",
                schema=HumanDecision,
            )
            if answer.action != "accept" or answer.data is None:
                return None
            return HumanAnswer(allow=answer.data.allow, message=answer.data.message)

        # Following the stream costs a read per write: only for a client that asked.
        meta = ctx.request_context.meta
        wants_progress = meta is not None and meta.get("progress_token") is not None
        capabilities = ctx.request_context.session.client_capabilities
        can_elicit = capabilities is not None and capabilities.elicitation is not None
        return await service_of(ctx).chat(
            name,
            prompt,
            ephemeral=ephemeral,
            wait_s=wait_s,
            on_progress=progress if wants_progress else None,
            ask_human=ask_human if can_elicit else None,
        )

    @server.tool(annotations=RUNS_CHILD)
    @tool_errors
    async def chat_async(
        name: SessionName,
        prompt: Prompt,
        ctx: Context[Any, Any],
        ephemeral: Annotated[
            bool, Field(description="recorded off-branch; the head does not move")
        ] = False,
    ) -> Stream:
        """Start a turn and return its stream at once; read it with poll."""
        return await service_of(ctx).chat_async(name, prompt, ephemeral=ephemeral)

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def poll(
        stream_id: Annotated[
            int, Field(ge=1, le=MAX_ID, description="from chat, chat_async or streams")
        ],
        ctx: Context[Any, Any],
        from_seq: Annotated[
            int,
            Field(
                ge=0, le=MAX_ID, description="first event seq to return (next_seq of the last poll)"
            ),
        ] = 0,
        limit: Annotated[int, Field(ge=1, le=10_000, description="most events to return")] = 500,
        wait_ms: Annotated[
            int, Field(ge=0, le=50_000, description="long poll: wait this long for a new event")
        ] = 0,
    ) -> PollResult:
        """Events of a turn after a seq, its status, and whether more remain."""
        return await service_of(ctx).poll(stream_id, from_seq, limit, wait_ms)

    @server.tool(annotations=WRITES)
    @tool_errors
    async def fork(
        name: SessionName,
        new_name: Annotated[
            str, Field(min_length=1, max_length=100, description="the new session's name")
        ],
        ctx: Context[Any, Any],
        at: Annotated[
            int | None,
            Field(
                ge=1,
                le=MAX_ID,
                description="a summary node (turn end) or the root; default the head",
            ),
        ] = None,
    ) -> Session:
        """Branch a session: a new session whose history is name's up to a node. Copies nothing."""
        return await service_of(ctx).fork(name, new_name, at)

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def render_context(
        name: SessionName,
        ctx: Context[Any, Any],
        start: Annotated[
            int | None, Field(ge=1, le=MAX_ID, description="first node (an ancestor of end)")
        ] = None,
        end: Annotated[
            int | None, Field(ge=1, le=MAX_ID, description="last node; default the session's head")
        ] = None,
    ) -> RenderResult:
        """A branch as Claude Messages API messages (user/assistant, text, thinking, tool_use, tool_result)."""
        return await service_of(ctx).render_context(name, start, end)

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def get(name: SessionName, ctx: Context[Any, Any]) -> SessionInfo:
        """One session: head, config, usage, the running stream if any."""
        return await service_of(ctx).get(name)

    @server.tool(name="list", annotations=READ_ONLY)
    @tool_errors
    async def list_sessions(ctx: Context[Any, Any]) -> list[SessionInfo]:
        """Every session, by name."""
        return await service_of(ctx).list()

    @server.tool(annotations=DESTROYS)
    @tool_errors
    async def delete(name: SessionName, ctx: Context[Any, Any]) -> DeleteResult:
        """Delete a session and the nodes no other session reaches. Forks keep their history."""
        return await service_of(ctx).delete(name)

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def tree(name: SessionName, ctx: Context[Any, Any]) -> TreeResult:
        """The whole tree a session lives on: nodes with previews, and every session's head."""
        return await service_of(ctx).tree(name)

    @server.tool(annotations=WRITES)
    @tool_errors
    async def interrupt(name: SessionName, ctx: Context[Any, Any]) -> InterruptResult:
        """Stop the session's running turn. What already arrived stays in the tree."""
        return await service_of(ctx).interrupt(name)

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def streams(
        ctx: Context[Any, Any],
        name: Annotated[
            str | None, Field(max_length=100, description="only this session's streams")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=1000, description="most streams to return")] = 50,
    ) -> StreamList:
        """Recent turns' streams, newest first, with their status."""
        return await service_of(ctx).streams(name, limit)
