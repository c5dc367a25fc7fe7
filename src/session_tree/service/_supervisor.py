"""The door for a person supervising from outside the servers: the browser view.

It reads what every server on the database writes (sessions, trees, the
streams of running turns, pending approvals) and decides approvals, but it
starts no children and runs no turns, so it can run beside any number of
servers. A decision goes through :class:`Loopback` like ``loopback_respond``:
one write transaction settles it exactly once, and the server whose child
waits sees the commit within ``CROSS_PROCESS_POLL_S`` and lets the child go on.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio

from ..models import Approval, Event, JSONObject, Node, Stream, StreamStatus
from ..store import Store
from ._branches import branch
from ._loopback import Loopback
from ._render import RenderedMessage, render
from ._results import BranchUsage, ListOrder, PendingApproval, SessionInfo, TreeResult
from ._search import SessionFilter, infos, page
from ._settings import Settings

T = TypeVar("T")

# Streams of one tree read to mark its failed, interrupted and running turns.
_TURNS_READ = 10_000


class Supervisor:
    """Sessions, trees, turns and approvals of one database, seen from outside the servers."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._loopback = Loopback(store)

    @property
    def db_path(self) -> str:
        return self._store.path

    async def list(
        self, filters: SessionFilter | None = None, *, order: ListOrder = "activity"
    ) -> builtins.list[SessionInfo]:
        """The sessions as ``list`` shows them (filters, order, status, cost)."""
        activities = await self._store.sessions.overview()
        running = {s.session_id: s.id for s in await self._store.streams.active()}
        # Warm children belong to the servers: none is this process's.
        rows = infos(activities, running, lambda _name: False)
        return page(rows, filters=filters or SessionFilter(), order=order, limit=None, cursor=None)

    async def info(self, name: str) -> SessionInfo:
        """Session ``name``'s row as ``list`` shows it, from its own tree's sessions only
        (a session page must not sum up every session of the database)."""
        session = await self._store.sessions.get(name)
        activities = await self._store.sessions.overview(tree_id=session.tree_id)
        active = await self._store.streams.active(session_id=session.id)
        running = {session.id: active[-1].id} if active else {}
        rows = infos(activities, running, lambda _name: False)
        return next(row for row in rows if row.session.id == session.id)

    async def tree(self, name: str) -> TreeResult:
        """Session ``name``'s whole tree, every head on it, and each branch's usage."""
        session = await self._store.sessions.get(name)
        tree = await self._store.nodes.tree(session.tree_id)
        activities = await self._store.sessions.overview(tree_id=session.tree_id)
        usage = {
            row.session.name: BranchUsage(
                head_id=row.session.head_id,
                usage=row.session.usage,
                subtree_usage=row.subtree_usage,
            )
            for row in infos(activities, {}, lambda _name: False)
        }
        return TreeResult(session=name, tree=tree, usage=usage)

    async def turns(self, heads: builtins.list[str]) -> builtins.list[Stream]:
        """The turns of the sessions named ``heads`` (one tree's), newest first: each
        stream's prompt node starts its turn's nodes in the tree."""
        found: builtins.list[Stream] = []
        for name in heads:
            found += await self._store.streams.recent(name, limit=_TURNS_READ)
        return sorted(found, key=lambda s: s.id, reverse=True)

    async def session_state(self, name: str) -> JSONObject:
        """What a session page follows: its running turn, its head and its status."""
        session = await self._store.sessions.get(name)
        active = await self._store.streams.active(session_id=session.id)
        return {
            "stream": active[-1].id if active else None,
            "head": session.head_id,
            "status": session.status.value,
        }

    async def node(self, node_id: int) -> Node:
        return await self._store.nodes.get(node_id)

    async def render(self, name: str, *, at: int | None = None) -> builtins.list[RenderedMessage]:
        """Session ``name``'s branch up to its head (or node ``at``), as the model sees it."""
        session = await self._store.sessions.get(name)
        return render(await branch(self._store, session, end=at))

    async def streams(self, name: str | None, limit: int = 20) -> builtins.list[Stream]:
        if name is not None:
            await self._store.sessions.get(name)
        return await self._store.streams.recent(name, limit=limit)

    async def stream(self, stream_id: int) -> Stream:
        return await self._store.streams.get(stream_id)

    async def events(
        self, stream_id: int, from_seq: int, *, timeout: float
    ) -> tuple[builtins.list[Event], Stream]:
        """Events at or after ``from_seq`` as soon as there are some, or the stream's end."""
        return await self._store.streams.wait(stream_id, from_seq=from_seq, timeout=timeout)

    async def final_text(self, stream_id: int) -> str:
        """The assistant's text of a turn, every text block in order."""
        parts: builtins.list[str] = []
        from_seq = 0
        while events := await self._store.streams.read(stream_id, from_seq=from_seq, limit=10_000):
            from_seq = events[-1].seq + 1
            parts += [str(e.data.get("text", "")) for e in events if e.kind == "text"]
        return "\n\n".join(part for part in parts if part)

    async def pending(self) -> builtins.list[PendingApproval]:
        """Every pending approval, of every session, oldest first."""
        now = time.time()
        return [PendingApproval.of(a, now) for a in await self._store.approvals.pending()]

    async def changed(
        self,
        read: Callable[[], Awaitable[T]],
        seen: T | None,
        *,
        timeout: float,
        every: float | None = None,
    ) -> T | None:
        """``read()`` as soon as it differs from ``seen``, or None after ``timeout``.

        Without ``every``, looked at again on each commit of this process and every
        ``CROSS_PROCESS_POLL_S`` (what a waiting turn sees); with it, every ``every``
        seconds, for a read too costly to repeat twenty times a second (the list)."""

        async def probe() -> T | None:
            value = await read()
            return value if value != seen else None

        if every is None:
            return await self._store.db.wait_for(probe, timeout)
        deadline = anyio.current_time() + timeout
        while (found := await probe()) is None:
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return None
            await anyio.sleep(min(every, remaining))
        return found

    async def respond(
        self,
        approval_id: int,
        *,
        allow: bool,
        message: str | None = None,
        updated_input: JSONObject | None = None,
        remember: bool = False,
        rule: str | None = None,
    ) -> Approval:
        """A decision on a pending approval, exactly once (as ``loopback_respond``)."""
        return await self._loopback.respond(
            approval_id,
            allow=allow,
            message=message,
            updated_input=updated_input,
            remember=remember,
            rule=rule,
        )


def turn_status(streams: builtins.list[Stream]) -> dict[int, StreamStatus]:
    """Per prompt node: the status of the turn it started."""
    return {s.prompt_node_id: s.status for s in streams if s.prompt_node_id is not None}


@asynccontextmanager
async def open_supervisor(settings: Settings) -> AsyncIterator[Supervisor]:
    """The database of ``settings`` for the length of a block; servers may share it."""
    async with Store.open(settings.db_path, synchronous=settings.synchronous) as store:
        yield Supervisor(store)
