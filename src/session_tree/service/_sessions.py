"""Sessions: create, configure, look at, fork and delete them.

A session is a named head on a tree of nodes; a fork is another head on the
same tree (O(1), nothing copied). What a session's child is doing is the turn
runner's; this module asks it only whether a child is warm, and tells it when
a session's policy changes or the session goes away.
"""

from __future__ import annotations

from ..errors import InvalidArgument, SessionBusy
from ..models import NodeKind, Session, SessionConfig
from ..store import Store
from ._branches import branch
from ._checks import check_cwd, check_name, check_policy
from ._render import render
from ._results import DeleteResult, RenderResult, SessionInfo, StreamList, TreeResult
from ._turns import TurnRunner


class Sessions:
    def __init__(self, store: Store, turns: TurnRunner) -> None:
        self.store = store
        self.turns = turns

    async def create(self, name: str, config: SessionConfig) -> Session:
        check_name(name)
        check_policy(config)
        check_cwd(config.cwd, "")
        return await self.store.sessions.create(name, config)

    async def configure(self, name: str, changes: dict[str, object]) -> Session:
        """Change a session's policy. A warm child started under the old one is
        replaced at the next turn; the loopback applies the new one at once."""

        def check(config: SessionConfig) -> None:
            check_policy(config)
            if "cwd" in changes:
                check_cwd(config.cwd, "")

        updated = await self.store.sessions.update_config(name, changes, check)
        warm = self.turns.pool.get(name)
        if warm is not None:
            # No turn reuses it; a busy one is closed when its turn ends.
            if warm.busy:
                self.turns.pool.forget(warm)
            else:
                await self.turns.pool.retire(warm)
        return updated

    async def get(self, name: str) -> SessionInfo:
        session = await self.store.sessions.get(name)
        active = await self.store.streams.active(session_id=session.id)
        return SessionInfo(
            session=session,
            running_stream_id=active[-1].id if active else None,
            warm=self.turns.pool.get(name) is not None,
        )

    async def list(self) -> list[SessionInfo]:
        sessions = await self.store.sessions.all()
        active = {s.session_id: s.id for s in await self.store.streams.active()}
        return [
            SessionInfo(
                session=s,
                running_stream_id=active.get(s.id),
                warm=self.turns.pool.get(s.name) is not None,
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
        """Delete a session; refused (in the database) while it has a turn, here or elsewhere."""
        session = await self.store.sessions.get(name)
        turn = self.turns.running(name)
        if turn is not None:
            raise SessionBusy(name, turn.stream_id)
        removed = await self.store.sessions.delete(session.name)
        await self.turns.pool.discard(name)
        return DeleteResult(session=name, nodes_removed=removed)

    async def tree(self, name: str) -> TreeResult:
        session = await self.store.sessions.get(name)
        return TreeResult(session=name, tree=await self.store.nodes.tree(session.tree_id))

    async def render_context(self, name: str, start: int | None, end: int | None) -> RenderResult:
        session = await self.store.sessions.get(name)
        path = await branch(self.store, session, end=end, start=start)
        return RenderResult(session=name, start_id=start, end_id=path[-1].id, messages=render(path))

    async def streams(self, name: str | None, limit: int) -> StreamList:
        if name is not None:
            await self.store.sessions.get(name)
        return StreamList(streams=await self.store.streams.recent(name, limit=limit))
