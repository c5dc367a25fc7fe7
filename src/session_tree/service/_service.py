"""Sessions, turns and forks: the behaviour behind every tool.

A turn runs in the service's own task group, not in the request that started
it, so a parent's tool call can return (chat's wait bound, chat_async) while
the turn goes on and its events land in the stream for poll.

How a child picks up a branch: every turn that ends well leaves a summary node
holding the Claude session id that produced it and the uuid of its last
assistant message. A session whose warm child already ends at its head reuses
it; otherwise a child starts from the head's summary with ``resume`` +
``resume_session_at`` + ``fork_session``, so it sees exactly the branch from
the root to the head, and no other session's child history is touched. A turn
that fails or is interrupted leaves its nodes in the tree as a side branch and
does not move the head; its child is closed, so the next turn resumes from the
head exactly.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream
from claude_agent_sdk import (
    CanUseTool,
    PermissionResult,
    PermissionResultAllow,
    PermissionResultDeny,
    ResultMessage,
    ToolPermissionContext,
)
from claude_agent_sdk.types import Message

from ..agents import Child, ChildPool, ResumePoint, build_options, checked_claude_binary
from ..errors import (
    ApprovalAlreadyDecided,
    ChildError,
    DatabaseError,
    InvalidArgument,
    SessionBusy,
    SessionTreeError,
    TurnElsewhere,
)
from ..models import (
    Approval,
    JSONObject,
    NewNode,
    Node,
    NodeKind,
    Session,
    SessionConfig,
    Stream,
    StreamStatus,
    Usage,
)
from ..store import Store, TurnStart
from ._loopback import DEFAULT_DENY_MESSAGE, Loopback, PermitResult
from ._render import render
from ._results import (
    ChatResult,
    DeleteResult,
    InterruptResult,
    LoopbackConfig,
    PendingApproval,
    PendingList,
    PollResult,
    RenderResult,
    SessionInfo,
    StreamList,
    ToolCallSummary,
    TreeResult,
)
from ._rules import check_rules
from ._runner import runner_alive, this_runner
from ._settings import LOOPBACK_TOKEN_VAR, SERVER_NAME, Settings
from ._translate import translate, usage_of

log = logging.getLogger("session_tree.service")

_WAIT_STATES = frozenset(
    {
        StreamStatus.AWAITING_PERMISSION,
        StreamStatus.COMPLETED,
        StreamStatus.FAILED,
        StreamStatus.INTERRUPTED,
    }
)
PREVIEW = 200


@dataclass
class _RunningTurn:
    stream_id: int
    session: str
    child: Child | None = None
    interrupted: bool = False
    why_interrupted: str = "interrupted by the parent"
    done: anyio.Event = field(default_factory=anyio.Event)
    # Set when the turn ends or first needs a decision from the parent: what a
    # blocking chat waits for, without re-reading the stream on every write.
    settled: anyio.Event = field(default_factory=anyio.Event)


class SessionService:
    def __init__(
        self, store: Store, pool: ChildPool, task_group: TaskGroup, settings: Settings
    ) -> None:
        self.store = store
        self.pool = pool
        self.settings = settings
        self._tg = task_group
        self.loopback = Loopback(store)
        self._runner = this_runner()
        self._running: dict[str, _RunningTurn] = {}
        # Ends of turns the database could not take when they happened, by session.
        self._unrecorded: dict[
            str, tuple[int, StreamStatus, str, tuple[str, dict[str, object]], str]
        ] = {}

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[SessionService]:
        """The store, the children and every running turn, for the length of a block."""
        async with Store.open(
            settings.db_path, synchronous=settings.synchronous, max_mb=settings.max_db_mb
        ) as store:
            ended = await store.streams.end_all_active(
                "the session-tree server running this turn stopped mid-turn",
                still_running=runner_alive,
            )
            for stream in ended:
                await store.approvals.expire_pending(
                    stream_id=stream.id, reason="the turn was interrupted"
                )
            async with anyio.create_task_group() as tg:
                pool = ChildPool(
                    tg, max_warm=settings.max_children, idle_timeout_s=settings.idle_timeout_s
                )
                service = cls(store, pool, tg, settings)
                try:
                    yield service
                finally:
                    with anyio.CancelScope(shield=True):
                        await service.aclose()
                    tg.cancel_scope.cancel()

    async def aclose(self) -> None:
        """Interrupt running turns, settle their approvals, close every child."""
        started = anyio.current_time()
        turns = list(self._running.values())

        async def shut_down(turn: _RunningTurn) -> None:
            turn.interrupted = True
            with anyio.move_on_after(5):
                await self._finish_interrupted(turn, "session-tree is shutting down")

        async with anyio.create_task_group() as tg:
            for turn in turns:
                tg.start_soon(shut_down, turn)
        await self.pool.aclose()
        log.info(
            "shut down in %.0f ms; running turns interrupted: %d",
            (anyio.current_time() - started) * 1000,
            len(turns),
        )

    # --- sessions -------------------------------------------------------------------------

    async def create(self, name: str, config: SessionConfig) -> Session:
        check_name(name)
        _check_policy(config)
        _check_cwd(config.cwd, "")
        return await self.store.sessions.create(name, config)

    async def configure(self, name: str, changes: dict[str, object]) -> Session:
        """Change a session's policy. A warm child started under the old one is
        replaced at the next turn; the loopback applies the new one at once."""
        session = await self.store.sessions.get(name)
        config = SessionConfig.model_validate(session.config.model_dump() | changes)
        _check_policy(config)
        if "cwd" in changes:
            _check_cwd(config.cwd, "")
        updated = await self.store.sessions.set_config(name, config)
        warm = self.pool.get(name)
        if warm is not None:
            warm.stale = True  # the next turn starts a child under the new policy
            if not warm.busy:
                await self.pool.retire(warm)
        return updated

    async def get(self, name: str) -> SessionInfo:
        session = await self.store.sessions.get(name)
        active = await self.store.streams.active(session_id=session.id)
        return SessionInfo(
            session=session,
            running_stream_id=active[-1].id if active else None,
            warm=self.pool.get(name) is not None,
        )

    async def list(self) -> list[SessionInfo]:
        sessions = await self.store.sessions.all()
        active = {s.session_id: s.id for s in await self.store.streams.active()}
        return [
            SessionInfo(
                session=s,
                running_stream_id=active.get(s.id),
                warm=self.pool.get(s.name) is not None,
            )
            for s in sessions
        ]

    async def fork(self, name: str, new_name: str, at: int | None) -> Session:
        check_name(new_name)
        if at is not None:
            node = await self.store.nodes.get(at)
            if node.kind not in (NodeKind.ROOT, NodeKind.SUMMARY):
                raise InvalidArgument(
                    f"Node {at} is a {node.kind.value} node inside a turn; a fork starts at a turn boundary. "
                    "Fork at the turn's summary node (kind 'summary', see tree) or at the root."
                )
        return await self.store.sessions.fork(name, new_name, at=at)

    async def delete(self, name: str) -> DeleteResult:
        session = await self.store.sessions.get(name)
        if name in self._running:
            raise SessionBusy(name, self._running[name].stream_id)
        await self.pool.discard(name)
        removed = await self.store.sessions.delete(session.name)
        return DeleteResult(session=name, nodes_removed=removed)

    async def tree(self, name: str) -> TreeResult:
        session = await self.store.sessions.get(name)
        return TreeResult(session=name, tree=await self.store.nodes.tree(session.tree_id))

    async def render_context(self, name: str, start: int | None, end: int | None) -> RenderResult:
        session = await self.store.sessions.get(name)
        end_id = end if end is not None else session.head_id
        path = await self.store.nodes.path(end_id, start=start)
        if path[0].tree_id != session.tree_id:
            raise InvalidArgument(
                f"Node {end_id} is not in the tree of session {name!r}; call tree to see its nodes."
            )
        return RenderResult(session=name, start_id=start, end_id=end_id, messages=render(path))

    async def streams(self, name: str | None, limit: int) -> StreamList:
        if name is not None:
            await self.store.sessions.get(name)
        return StreamList(streams=await self.store.streams.recent(name, limit=limit))

    # --- turns ----------------------------------------------------------------------------

    async def chat_async(self, name: str, prompt: str, *, ephemeral: bool = False) -> Stream:
        """Start a turn and return its stream at once."""
        start, _ = await self._start(name, prompt, ephemeral)
        return start.stream

    async def _start(
        self, name: str, prompt: str, ephemeral: bool
    ) -> tuple[TurnStart, _RunningTurn]:
        if not prompt.strip():
            raise InvalidArgument(
                "The prompt is empty; send the text you want the child to answer."
            )
        if name in self._running:
            raise SessionBusy(name, self._running[name].stream_id)
        # Refused before anything is stored; a start that races another to the
        # last free child fails its turn with the same message instead.
        self.pool.check_room("" if ephemeral else name)
        if name in self._unrecorded:
            await self._record_end(*self._unrecorded[name])
            del self._unrecorded[name]
        session = await self.store.sessions.get(name)
        _check_cwd(session.config.cwd, name)
        checked_claude_binary()
        # The store refuses a second turn on a session whose turn runs in another process.
        start = await self.store.turns.begin(
            name,
            NewNode(kind=NodeKind.USER, data={"text": prompt}, ephemeral=ephemeral),
            runner=self._runner,
        )
        turn = _RunningTurn(stream_id=start.stream.id, session=name)
        self._running[name] = turn
        self._tg.start_soon(
            self._run_turn, turn, start.session, start.prompt_node, prompt, ephemeral
        )
        return start, turn

    async def chat(
        self,
        name: str,
        prompt: str,
        *,
        ephemeral: bool = False,
        wait_s: float | None = None,
        on_progress: Callable[[int], Awaitable[None]] | None = None,
        ask_human: AskHuman | None = None,
    ) -> ChatResult:
        """Start a turn and wait, at most ``wait_s``, for it to end or to need an approval.

        ``on_progress`` hears the number of events so far each time some arrive.
        ``ask_human``, for a session with ``ask_human`` set, is asked about each
        approval the turn waits on (an MCP elicitation); when it gives no answer,
        chat returns ``awaiting_permission`` for the parent to decide.
        """
        start, turn = await self._start(name, prompt, ephemeral)
        stream = start.stream
        asks_human = ask_human is not None and _asks_human(start.session)
        seen = 0
        try:
            with anyio.move_on_after(wait_s if wait_s is not None else self.settings.chat_wait_s):
                while True:
                    if on_progress is None:
                        await turn.settled.wait()
                    else:
                        seen = await self._report_progress(stream.id, turn, on_progress, seen)
                    if not asks_human or turn.done.is_set():
                        break
                    # Re-armed before reading what waits, so a request that comes
                    # while the human answers wakes the next round.
                    turn.settled = anyio.Event()
                    assert ask_human is not None
                    if not await self._ask_human(stream.id, ask_human):
                        break
        except anyio.get_cancelled_exc_class():
            # The parent cancelled its tool call: stop the turn it started (only that one).
            with anyio.CancelScope(shield=True):
                if self._running.get(name) is turn:
                    await self.interrupt(name)
            raise
        return await self.summarize(stream.id)

    async def _report_progress(
        self,
        stream_id: int,
        turn: _RunningTurn,
        on_progress: Callable[[int], Awaitable[None]],
        next_seq: int,
    ) -> int:
        """Report events as they come until the turn settles; the next seq to report."""
        while not turn.settled.is_set():
            events, stream = await self.store.streams.wait(
                stream_id, from_seq=next_seq, limit=10_000, timeout=1.0
            )
            if events:
                next_seq = events[-1].seq + 1
                await on_progress(next_seq)
            if stream.status in _WAIT_STATES and stream.last_seq < next_seq:
                break
        return next_seq

    async def _ask_human(self, stream_id: int, ask_human: AskHuman) -> bool:
        """Put each approval the turn waits on to the human; False when one goes unanswered."""
        for approval in await self.store.approvals.pending(stream_id=stream_id):
            answer = await ask_human(approval)
            if answer is None:
                return False
            try:
                await self.loopback.respond(
                    approval.id, allow=answer.allow, message=answer.message or None
                )
            except ApprovalAlreadyDecided:
                continue  # the parent agent (or a timeout) got there first
        return True

    async def poll(self, stream_id: int, from_seq: int, limit: int, wait_ms: int) -> PollResult:
        stream = await self.store.streams.get(stream_id)
        if from_seq > stream.last_seq + 1:
            raise InvalidArgument(
                f"from_seq {from_seq} is past the end of stream {stream_id}, whose next event "
                f"will be seq {stream.last_seq + 1}: poll from the next_seq of your last poll, "
                "or from 0."
            )
        events, stream = await self.store.streams.wait(
            stream_id, from_seq=from_seq, limit=limit, timeout=max(wait_ms, 0) / 1000
        )
        next_seq = events[-1].seq + 1 if events else max(from_seq, 0)
        more = stream.last_seq >= next_seq
        return PollResult(
            stream_id=stream.id,
            session=stream.session_name,
            status=stream.status,
            events=events,
            next_seq=next_seq,
            more=more,
            done=stream.status.terminal and not more,
            error=stream.error,
        )

    async def interrupt(self, name: str) -> InterruptResult:
        session = await self.store.sessions.get(name)
        turn = self._running.get(name)
        if turn is None:
            active = await self.store.streams.active(session_id=session.id)
            if not active:
                return InterruptResult(session=name, stream_id=None, status="not_running")
            raise TurnElsewhere(name, active[-1].id)
        turn.interrupted = True
        if turn.child is not None:
            with anyio.move_on_after(5):
                await turn.child.interrupt()
        with anyio.move_on_after(10):
            await turn.done.wait()
        if not turn.done.is_set():
            await self._finish_interrupted(turn, "interrupted by the parent")
        return InterruptResult(session=name, stream_id=turn.stream_id, status="interrupted")

    # --- approvals ------------------------------------------------------------------------

    async def pending(self, name: str | None, wait_ms: int) -> PendingList:
        if name is not None:
            await self.store.sessions.get(name)
        found = await self.store.approvals.wait_pending(name, timeout=max(wait_ms, 0) / 1000)
        now = time.time()
        return PendingList(approvals=[PendingApproval.of(a, now) for a in found])

    async def loopback_config(self, name: str, server_command: Sequence[str]) -> LoopbackConfig:
        """What an outside Claude Code needs to send this session its approvals."""
        session = await self.store.sessions.get(name)
        if not session.config.loopback:
            await self.configure(name, {"loopback": True})
        token = await self.store.sessions.loopback_token(name)
        mcp_config: JSONObject = {
            "mcpServers": {
                SERVER_NAME: {
                    "command": server_command[0],
                    "args": [*server_command[1:], "serve", "--db", self.store.path],
                    "env": {LOOPBACK_TOKEN_VAR: token},
                }
            }
        }
        tool = f"mcp__{SERVER_NAME}__loopback_permit"
        return LoopbackConfig(
            session=name,
            mcp_config=mcp_config,
            permission_prompt_tool=tool,
            command=["claude", "--mcp-config", "MCP_CONFIG.json", "--permission-prompt-tool", tool],
        )

    async def permit(
        self, tool_name: str, tool_input: JSONObject, tool_use_id: str | None
    ) -> PermitResult:
        """loopback_permit reaching a parent's server: it cannot know which session asks."""
        return PermitResult.deny(
            "This session-tree server was started without a loopback token, so it cannot tell "
            "which session asks. Start it from the MCP config that the parent's loopback_config "
            f"returns (it sets {LOOPBACK_TOKEN_VAR})."
        )

    def _permission_callback(self, name: str, asker: _ChildRef) -> CanUseTool:
        """Claude Code's question about one tool call of this session's child, put to the loopback."""

        async def can_use_tool(
            tool_name: str, tool_input: dict[str, Any], context: ToolPermissionContext
        ) -> PermissionResult:
            turn = self._running.get(name)
            if turn is None or asker.child is None or turn.child is not asker.child:
                # A child whose turn has ended (interrupted, failed, shut down) asks no more.
                return PermissionResultDeny(message="This turn has ended.", interrupt=True)
            try:
                result = await self.loopback.ask(
                    name,
                    tool_name=tool_name,
                    tool_input=tool_input,
                    tool_use_id=context.tool_use_id,
                    stream_id=turn.stream_id,
                    on_pending=lambda _: turn.settled.set(),
                )
            except SessionTreeError as exc:
                return PermissionResultDeny(message=f"session-tree could not ask the parent: {exc}")
            if result.behavior == "allow":
                return PermissionResultAllow(updated_input=result.updated_input)
            if result.interrupt:
                # Claude Code ends such a turn as an error; it is the parent's stop.
                turn.interrupted = True
                turn.why_interrupted = (
                    f"the parent denied {tool_name} and stopped the turn: {result.message}"
                )
            return PermissionResultDeny(
                message=result.message or DEFAULT_DENY_MESSAGE, interrupt=result.interrupt
            )

        return can_use_tool

    async def summarize(self, stream_id: int) -> ChatResult:
        """A turn as chat returns it: its text, tool calls, status and usage so far."""
        stream = await self.store.streams.get(stream_id)
        session = await self.store.sessions.get(stream.session_name)
        events = await self.store.streams.read(stream_id, limit=10_000)
        text: list[str] = []
        calls: dict[str, ToolCallSummary] = {}
        usage: Usage | None = None
        for event in events:
            if event.kind == "text":
                text.append(str(event.data.get("text", "")))
            elif event.kind == "tool_use":
                call_id = str(event.data.get("id"))
                calls[call_id] = ToolCallSummary(
                    id=call_id,
                    name=str(event.data.get("name")),
                    input_preview=_preview(event.data.get("input")),
                )
            elif event.kind == "tool_result":
                call = calls.get(str(event.data.get("tool_use_id")))
                if call is not None:
                    call.result_preview = _preview(event.data.get("content"))
                    call.is_error = bool(event.data.get("is_error"))
            elif event.kind == "turn_end":
                usage = Usage.model_validate(event.data["usage"])
        return ChatResult(
            session=session.name,
            stream_id=stream.id,
            status=stream.status,
            text="\n\n".join(text),
            tool_calls=list(calls.values()),
            head_id=session.head_id,
            usage=usage,
            error=stream.error,
            next_seq=stream.last_seq + 1,
            ephemeral=stream.ephemeral,
            pending_approvals=[
                PendingApproval.of(a, time.time())
                for a in await self.store.approvals.pending(stream_id=stream.id)
            ]
            if stream.status is StreamStatus.AWAITING_PERMISSION
            else [],
        )

    async def _run_turn(
        self, turn: _RunningTurn, session: Session, prompt_node: Node, prompt: str, ephemeral: bool
    ) -> None:
        stream_id = turn.stream_id
        try:
            child = await self._child_for(session, ephemeral)
            turn.child = child
            if turn.interrupted:
                raise _Interrupted
            await self._consume(turn, child, session, prompt_node, prompt, ephemeral)
        except _Interrupted:
            await self._finish_interrupted(turn, turn.why_interrupted)
        except (SessionTreeError, OSError) as exc:
            await self._fail(turn, str(exc))
        except Exception as exc:
            log.exception("turn %s failed", stream_id)
            await self._fail(turn, f"internal error: {exc!r}")
        finally:
            if ephemeral and turn.child is not None:
                with anyio.CancelScope(shield=True):
                    await self.pool.retire(turn.child)
            self._release(turn)
            turn.done.set()
            turn.settled.set()

    async def _child_for(self, session: Session, ephemeral: bool) -> Child:
        if not ephemeral:
            warm = self.pool.get(session.name)
            if (
                warm is not None
                and warm.head_node_id == session.head_id
                and not warm.busy
                and not warm.stale
            ):
                return warm
        # A new child takes the policy as it is now, not as it was when the turn began.
        session = await self.store.sessions.get(session.name)
        head = await self.store.nodes.get(session.head_id)
        resume: ResumePoint | None = None
        if head.kind is NodeKind.SUMMARY:
            resume = ResumePoint(
                session_id=str(head.data["claude_session_id"]), at=head.data.get("resume_at")
            )
        elif head.kind is not NodeKind.ROOT:
            raise InvalidArgument(
                f"Session {session.name!r} has its head inside a turn (node {head.id}); fork it at a summary node."
            )
        asker = _ChildRef()
        options = build_options(
            session.config,
            resume=resume,
            session_store=self.store.transcripts,
            can_use_tool=self._permission_callback(session.name, asker)
            if session.config.loopback
            else None,
        )
        try:
            if ephemeral:
                asker.child = await self.pool.start_temporary(options)
            else:
                asker.child = await self.pool.start(session.name, options)
        except ChildError:
            raise
        except Exception as exc:
            raise ChildError(f"Could not start Claude Code for {session.name!r}: {exc}") from exc
        return asker.child

    async def _consume(
        self,
        turn: _RunningTurn,
        child: Child,
        session: Session,
        prompt_node: Node,
        prompt: str,
        ephemeral: bool,
    ) -> None:
        stream_id = turn.stream_id
        parent_id = prompt_node.id
        last_assistant_uuid: str | None = None
        result: ResultMessage | None = None
        async with await child.start_turn(prompt) as messages:
            async for batch in _batches(messages):
                items = [
                    item for message in batch for item in translate(message, ephemeral=ephemeral)
                ]
                if not items:
                    continue
                records = [(item.kind, item.data, item.node) for item in items]
                for node in await self.store.turns.record(stream_id, parent_id, records):
                    parent_id = node.id
                    if node.kind is not NodeKind.TOOL_RESULT and node.message_uuid:
                        last_assistant_uuid = node.message_uuid
                result = next((m for m in reversed(batch) if isinstance(m, ResultMessage)), result)
        if turn.interrupted:
            raise _Interrupted
        if result is None:
            raise ChildError("Claude Code ended the turn without a result.")
        usage = usage_of(result)
        failed = result.is_error or last_assistant_uuid is None
        error = _result_error(result) if failed else None
        kept = not failed and not ephemeral
        if failed:
            # Its history now holds a turn the head does not: nobody may reuse it.
            self.pool.forget(child)
        end = await self.store.turns.finish(
            stream_id,
            parent_id=parent_id,
            summary=NewNode(
                kind=NodeKind.SUMMARY,
                ephemeral=ephemeral,
                data={
                    "claude_session_id": result.session_id,
                    "resume_at": last_assistant_uuid,
                    "stop_reason": result.stop_reason,
                    "is_error": result.is_error,
                    "usage": usage.model_dump(),
                },
            ),
            usage=usage,
            end={"usage": usage.model_dump(), "head_moved": kept}
            | ({"error": error} if error else {}),
            claude_session_id=result.session_id if kept else None,
            error=error,
        )
        if kept:
            child.head_node_id = end.summary_node.id
        self._release(turn)
        if failed:
            with anyio.CancelScope(shield=True):
                await self.store.approvals.expire_pending(
                    stream_id=stream_id, reason="the turn failed"
                )
                await child.stop()

    def _release(self, turn: _RunningTurn) -> None:
        """The session may take its next turn. Called before a stream's final status is
        written, so a parent that sees the status can chat again at once."""
        if self._running.get(turn.session) is turn:
            del self._running[turn.session]

    async def _fail(self, turn: _RunningTurn, error: str) -> None:
        await self._end_early(
            turn,
            StreamStatus.FAILED,
            error,
            event=("error", {"message": error}),
            expire_reason="the turn failed",
        )

    async def _finish_interrupted(self, turn: _RunningTurn, reason: str) -> None:
        await self._end_early(
            turn,
            StreamStatus.INTERRUPTED,
            reason,
            event=("interrupted", {"reason": reason}),
            expire_reason=f"the turn was {reason}",
        )

    async def _end_early(
        self,
        turn: _RunningTurn,
        status: StreamStatus,
        message: str,
        *,
        event: tuple[str, dict[str, object]],
        expire_reason: str,
    ) -> None:
        """End a turn that did not complete: close its child (whose history no longer
        matches the head), settle its approvals, and record why, once."""
        child = turn.child
        if child is not None:
            self.pool.forget(child)
        with anyio.CancelScope(shield=True):
            try:
                await self._record_end(turn.stream_id, status, message, event, expire_reason)
            except DatabaseError as exc:
                # The database cannot take it now (disk full): record it before this
                # session's next turn, which until then is refused with this error.
                log.warning("could not record the end of stream %s: %s", turn.stream_id, exc)
                self._unrecorded[turn.session] = (
                    turn.stream_id,
                    status,
                    message,
                    event,
                    expire_reason,
                )
            self._release(turn)
            if child is not None:
                await child.stop()

    async def _record_end(
        self,
        stream_id: int,
        status: StreamStatus,
        message: str,
        event: tuple[str, dict[str, object]],
        expire_reason: str,
    ) -> None:
        await self.store.approvals.expire_pending(stream_id=stream_id, reason=expire_reason)
        await self.store.turns.end_early(stream_id, status, message, event)


@dataclass
class _ChildRef:
    """The child a permission callback belongs to, known once it has started."""

    child: Child | None = None


@dataclass(frozen=True)
class HumanAnswer:
    allow: bool
    message: str = ""


AskHuman = Callable[[Approval], Awaitable[HumanAnswer | None]]
"""Asks a person about an approval; None when they gave no answer."""


def _asks_human(session: Session) -> bool:
    """Whether the session's approvals go to a person first (when the client can ask one)."""
    return session.config.loopback and session.config.ask_human


class _Interrupted(Exception):
    pass


async def _batches(
    messages: MemoryObjectReceiveStream[Message | BaseException],
) -> AsyncIterator[list[Message]]:
    """The child's messages in batches: each batch is one message and whatever else
    had already arrived behind it, so a burst is written in one transaction and
    nothing waits for a batch to fill. An exception from the child is raised."""
    async for first in messages:
        arrived = [first]
        while True:
            try:
                arrived.append(messages.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        batch: list[Message] = []
        for message in arrived:
            if isinstance(message, BaseException):
                if batch:
                    yield batch
                raise message
            batch.append(message)
        yield batch


def _check_policy(config: SessionConfig) -> None:
    check_rules(config.allowed_tools)
    check_rules(config.disallowed_tools)
    if not config.loopback and (config.ask_human or config.bypass_until is not None):
        raise InvalidArgument(
            "ask_human and bypass_for_s act on the loopback; set loopback=true with them."
        )
    if config.permission_mode == "bypassPermissions":
        raise InvalidArgument(
            "bypassPermissions never ends by itself, so session-tree does not start children in it. "
            "Use loopback=true and configure with bypass_for_s: calls are allowed until then, "
            "and asked again after."
        )


def _result_error(result: ResultMessage) -> str:
    detail = "; ".join(result.errors or []) or (result.result or "") or result.subtype
    status = f" (model API status {result.api_error_status})" if result.api_error_status else ""
    return f"The child's turn failed{status}: {detail}"


def _preview(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


MAX_NAME = 100
_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_NAME - 1}}}")


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        shown = name if len(name) <= 40 else f"{name[:37]}..."
        raise InvalidArgument(
            f"Session names are 1-{MAX_NAME} characters: letters, digits, '.', '_' and '-', "
            f"starting with a letter or digit (they name files and appear in commands); "
            f"got {shown!r}. Try {_suggest(name)!r}."
        )


def _check_cwd(cwd: str | None, name: str) -> None:
    """A child's working directory must exist when it starts; say so before storing."""
    if cwd is None or os.path.isdir(cwd):
        return
    problem = "is not a directory" if os.path.exists(cwd) else "does not exist"
    if name:
        raise InvalidArgument(
            f"Session {name!r} works in {cwd}, which {problem} any more: create that "
            "directory again, or move the session with configure(cwd=...)."
        )
    raise InvalidArgument(f"cwd {cwd} {problem}: create it first, or pass an existing directory.")


def _suggest(name: str) -> str:
    """A valid name close to ``name``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:MAX_NAME]
    return cleaned or "session-1"
