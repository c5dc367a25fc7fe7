"""The service every front end calls: one object over sessions, chat, turns and approvals.

It owns the store and the turn runner (with its child pool) for the length of
a block, and hands each call to the module that holds the behaviour:
``_sessions`` (create, configure, look, fork, delete), ``_chat`` (chat, poll),
``_turns`` (the runner, interrupt) and ``_loopback`` (approvals). The methods
here are one line each, so the tool layer has one door.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from ..agents import ChildPool
from ..errors import TurnElsewhere
from ..models import Approval, JSONObject, Session, SessionConfig, Stream
from ..store import Store
from ._chat import AskHuman, Chat, OnProgress
from ._context_use import context_use
from ._loopback import Loopback
from ._peers import LeaseKeeper, end_orphaned_turns, watch_peers
from ._progress import ProgressReader
from ._results import (
    ChatResult,
    ClaudeSessionList,
    DeleteResult,
    ExportResult,
    ImportResult,
    InterruptResult,
    ListOrder,
    PendingApproval,
    PendingList,
    PollResult,
    RenderResult,
    SearchResult,
    SessionInfo,
    StreamList,
    TreeResult,
)
from ._search import SessionFilter
from ._sessions import Sessions
from ._settings import Settings
from ._tasks import SECRET_NAME, TaskIds
from ._transcripts import claude_sessions, export_claude_session, import_claude_session
from ._turns import TurnRunner
from ._workspace_changes import WorkspaceChanges
from ._workspaces import Workspaces

log = logging.getLogger("session_tree.service")


class SessionService:
    def __init__(self, store: Store, turns: TurnRunner, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.turns = turns
        self.loopback = Loopback(store)
        self.workspaces = turns.workspaces
        self.sessions = Sessions(store, turns, self.workspaces)
        self.changes = WorkspaceChanges(self.workspaces)
        self.chats = Chat(store, turns, self.loopback, settings)
        self._task_ids: TaskIds | None = None

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[SessionService]:
        """The store, the children and every running turn, for the length of a block."""
        async with Store.open(
            settings.db_path,
            synchronous=settings.synchronous,
            max_mb=settings.max_db_mb,
            node_cache_mb=settings.node_cache_mb,
        ) as store:
            lease = LeaseKeeper(store, settings.host, settings.lease_s)
            await lease.take()
            await end_orphaned_turns(store, lease)
            workspaces = Workspaces(store)
            for repaired in await workspaces.repair():
                log.info("workspaces: %s", repaired)
            async with anyio.create_task_group() as tg:
                pool = ChildPool(
                    tg, max_warm=settings.max_children, idle_timeout_s=settings.idle_timeout_s
                )
                service = cls(store, TurnRunner(store, pool, tg, lease, workspaces), settings)
                tg.start_soon(lease.keep, service.turns.stop_all)
                if settings.peer_check_s > 0:
                    tg.start_soon(watch_peers, store, lease, settings.peer_check_s)
                try:
                    yield service
                finally:
                    with anyio.CancelScope(shield=True):
                        await service.aclose()
                        await lease.release()
                    tg.cancel_scope.cancel()

    async def aclose(self) -> None:
        """Interrupt running turns, settle their approvals, close every child."""
        started = anyio.current_time()
        ended = await self.turns.aclose()
        log.info(
            "shut down in %.0f ms; running turns interrupted: %d",
            (anyio.current_time() - started) * 1000,
            ended,
        )

    async def secret(self, name: str) -> bytes:
        """A random key of this database's own, made on first use and kept for its life."""
        return await self.store.secrets.get_or_create(name)

    async def task_ids(self) -> TaskIds:
        """The ids of turns served as tasks, under this database's own key."""
        if self._task_ids is None:
            self._task_ids = TaskIds(await self.secret(SECRET_NAME))
        return self._task_ids

    @property
    def pool(self) -> ChildPool:
        return self.turns.pool

    @property
    def db_path(self) -> str:
        """The database this service writes, as an absolute path."""
        return self.store.path

    # Sessions.

    async def create(
        self, name: str, config: SessionConfig, title: str | None = None, *, start: bool = False
    ) -> Session:
        return await self.sessions.create(name, config, title, start=start)

    async def configure(
        self, name: str, changes: dict[str, object], title: str | None = None
    ) -> Session:
        return await self.sessions.configure(name, changes, title)

    async def get(self, name: str) -> SessionInfo:
        info = await self.sessions.get(name)
        workspace = await self.store.workspaces.of_session(info.session.id)
        return info.model_copy(
            update={
                "context": await context_use(self.store, info.session),
                "workspace": workspace,
            }
        )

    async def list(
        self,
        filters: SessionFilter | None = None,
        *,
        order: ListOrder = "activity",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> list[SessionInfo]:
        return await self.sessions.list(filters, order=order, limit=limit, cursor=cursor)

    async def search(
        self,
        query: str,
        *,
        phrase: bool = False,
        filters: SessionFilter | None = None,
        before: int | None = None,
        limit: int = 20,
    ) -> SearchResult:
        return await self.sessions.search(
            query, phrase=phrase, filters=filters, before=before, limit=limit
        )

    async def fork(
        self,
        name: str,
        new_name: str,
        at: int | None,
        overrides: dict[str, object] | None = None,
    ) -> Session:
        return await self.sessions.fork(name, new_name, at, overrides)

    async def delete(self, name: str) -> DeleteResult:
        return await self.sessions.delete(name)

    async def tree(self, name: str) -> TreeResult:
        return await self.sessions.tree(name)

    async def render_context(self, name: str, start: int | None, end: int | None) -> RenderResult:
        return await self.sessions.render_context(name, start, end)

    async def streams(self, name: str | None, limit: int) -> StreamList:
        return await self.sessions.streams(name, limit)

    # Turns.

    async def chat_async(
        self,
        name: str,
        prompt: str,
        *,
        ephemeral: bool = False,
        output_schema: JSONObject | None = None,
    ) -> Stream:
        return await self.chats.chat_async(
            name, prompt, ephemeral=ephemeral, output_schema=output_schema
        )

    async def chat(
        self,
        name: str,
        prompt: str,
        *,
        ephemeral: bool = False,
        wait_s: float | None = None,
        on_progress: OnProgress | None = None,
        ask_human: AskHuman | None = None,
        output_schema: JSONObject | None = None,
    ) -> ChatResult:
        return await self.chats.chat(
            name,
            prompt,
            ephemeral=ephemeral,
            wait_s=wait_s,
            on_progress=on_progress,
            ask_human=ask_human,
            output_schema=output_schema,
        )

    async def poll(self, stream_id: int, from_seq: int, limit: int, wait_ms: int) -> PollResult:
        return await self.chats.poll(stream_id, from_seq, limit, wait_ms)

    async def summarize(self, stream_id: int) -> ChatResult:
        return await self.chats.summarize(stream_id)

    async def stream(self, stream_id: int) -> Stream:
        return await self.store.streams.get(stream_id)

    async def doing(self, stream_id: int) -> str:
        """What a turn's child is doing, in a few words: its latest progress message."""
        reader = ProgressReader()
        from_seq, doing = 0, ""
        while events := await self.store.streams.read(stream_id, from_seq=from_seq, limit=1000):
            doing = reader.read(events)
            from_seq = events[-1].seq + 1
        return doing or "starting"

    async def interrupt(self, name: str) -> InterruptResult:
        session = await self.store.sessions.get(name)
        turn = self.turns.running(name)
        if turn is None:
            active = await self.store.streams.active(session_id=session.id)
            if not active:
                return InterruptResult(session=name, stream_id=None, status="not_running")
            # A turn whose server is gone (its lease expired) is ended here and now.
            assert self.turns.lease is not None
            ended = await end_orphaned_turns(self.store, self.turns.lease)
            if any(stream.id == active[-1].id for stream in ended):
                return InterruptResult(session=name, stream_id=active[-1].id, status="interrupted")
            raise TurnElsewhere(name, active[-1].id)
        await self.turns.interrupt(turn)
        return InterruptResult(session=name, stream_id=turn.stream_id, status="interrupted")

    # Claude Code's own sessions (transcripts).

    async def claude_sessions(self, cwd: str | None, limit: int) -> ClaudeSessionList:
        return await claude_sessions(cwd, limit=limit)

    async def import_claude_session(
        self, source: str, *, cwd: str | None, name: str | None
    ) -> ImportResult:
        return await import_claude_session(self.store, source, cwd=cwd, name=name)

    async def export_claude_session(
        self, name: str, *, at: int | None, cwd: str | None
    ) -> ExportResult:
        return await export_claude_session(self.store, name, at=at, cwd=cwd)

    # Approvals.

    async def pending(self, name: str | None, wait_ms: int) -> PendingList:
        if name is not None:
            await self.store.sessions.get(name)
        found = await self.store.approvals.wait_pending(name, timeout=max(wait_ms, 0) / 1000)
        now = time.time()
        return PendingList(approvals=[PendingApproval.of(a, now) for a in found])

    async def respond(
        self,
        approval_id: int,
        *,
        allow: bool,
        message: str | None = None,
        updated_input: JSONObject | None = None,
        interrupt: bool = False,
        remember: bool = False,
        rule: str | None = None,
    ) -> Approval:
        return await self.loopback.respond(
            approval_id,
            allow=allow,
            message=message,
            updated_input=updated_input,
            interrupt=interrupt,
            remember=remember,
            rule=rule,
        )

    async def loopback_token(self, name: str) -> str:
        """The token an outside Claude Code's permit server asks for ``name`` with;
        switches the session's loopback on if it was off."""
        session = await self.store.sessions.get(name)
        if not session.config.loopback:
            await self.configure(name, {"loopback": True})
        return await self.store.sessions.loopback_token(name)
