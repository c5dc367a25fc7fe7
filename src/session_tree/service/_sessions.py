"""Sessions: create, configure, look at, fork and delete them.

A session is a named head on a tree of nodes; a fork is another head on the
same tree (O(1), nothing copied). What a session's child is doing is the turn
runner's; this module asks it only whether a child is warm, and tells it when
a session's policy changes or the session goes away.
"""

from __future__ import annotations

import builtins
import logging
import os

import anyio

from ..errors import GitFailed, InvalidArgument, NodeNotInTree, SessionExists
from ..models import NodeKind, Session, SessionConfig
from ..store import Store
from ._branches import branch
from ._checks import check_add_dirs, check_cwd, check_name, check_policy
from ._mcp_servers import masked, server_states, unmasked
from ._render import render
from ._results import (
    BranchUsage,
    DeleteResult,
    ListOrder,
    RenderResult,
    SearchResult,
    SessionInfo,
    StreamList,
    StreamView,
    TreeResult,
)
from ._search import SessionFilter, infos, page, search
from ._turns import TurnRunner
from ._workspaces import Workspaces

log = logging.getLogger("session_tree.service")


class Sessions:
    def __init__(self, store: Store, turns: TurnRunner, workspaces: Workspaces) -> None:
        self.store = store
        self.turns = turns
        self.workspaces = workspaces

    async def create(
        self, name: str, config: SessionConfig, title: str | None = None, *, start: bool = False
    ) -> Session:
        """A new session; with ``start`` its child starts now, so the first chat does
        not wait for Claude Code to start (a child that cannot start undoes the create)."""
        check_name(name)
        check_policy(config)
        check_cwd(config.cwd, "")
        check_add_dirs(config.add_dirs)
        if config.workspace is None:
            session = await self.store.sessions.create(name, config, title=_title(title))
        else:
            session = await self._create_in_workspace(name, config, _title(title))
        if start:
            try:
                await self.turns.warm(name)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self.store.sessions.delete(name)
                raise
        return masked(session)

    async def _create_in_workspace(
        self, name: str, config: SessionConfig, title: str | None
    ) -> Session:
        # The cwd is fixed now: the child works at the same place in its worktree.
        config = config.model_copy(update={"cwd": config.cwd or os.getcwd()})
        if name in await self.store.sessions.names():
            raise SessionExists(name)
        workspace = await self.workspaces.make(str(config.cwd))
        try:
            session = await self.store.sessions.create(name, config, title=title)
            await self.workspaces.bind(workspace, name)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.workspaces.remove(workspace)
            raise
        return session

    async def warm(self, name: str) -> bool:
        """Start the session's child at its head now; False when it was warm already."""
        return await self.turns.warm(name)

    async def configure(
        self, name: str, changes: dict[str, object], title: str | None = None
    ) -> Session:
        """Change a session's policy (and with ``title``, its title). A warm child
        started under the old policy is replaced at the next turn; the loopback
        applies the new one at once. A title alone leaves the child be."""
        given = _title(title)
        if not changes:
            await self.store.sessions.get(name)
            if given is None:
                return masked(await self.store.sessions.get(name))
            return masked(await self.store.sessions.set_title(name, given))

        def check(config: SessionConfig) -> None:
            check_policy(config)
            if "cwd" in changes:
                check_cwd(config.cwd, "")
            if "add_dirs" in changes:
                check_add_dirs(config.add_dirs)

        if "env" in changes or "mcp_servers" in changes:
            current = await self.store.sessions.get(name)
            changes = unmasked(changes, current.config, f"session {name!r}")
        updated = await self.store.sessions.update_config(name, changes, check)
        warm = self.turns.pool.get(name)
        if warm is not None:
            if set(changes) == {"model"} and await warm.set_model(updated.config.model):
                pass  # switched in place (Claude Code's set_model): history and process kept
            # No turn reuses it; a busy one is closed when its turn ends.
            elif warm.busy:
                self.turns.pool.forget(warm)
            else:
                await self.turns.pool.retire(warm)
        if given is not None:
            updated = await self.store.sessions.set_title(name, given)
        return masked(updated)

    async def get(self, name: str) -> SessionInfo:
        session = await self.store.sessions.get(name)
        rows = [r for r in await self._rows(session.tree_id) if r.session.name == name]
        if not rows:  # deleted in between: say so as a first look would have
            await self.store.sessions.get(name)
        row = rows[0]
        return row.model_copy(
            update={
                "child_model": await self._child_model(row.session),
                "mcp_servers": await server_states(self.store, row.session),
            }
        )

    async def list(
        self,
        filters: SessionFilter | None = None,
        *,
        order: ListOrder = "activity",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> builtins.list[SessionInfo]:
        return page(
            await self._rows(),
            filters=filters or SessionFilter(),
            order=order,
            limit=limit,
            cursor=cursor,
        )

    async def search(
        self,
        query: str,
        *,
        phrase: bool = False,
        filters: SessionFilter | None = None,
        before: int | None = None,
        limit: int = 20,
    ) -> SearchResult:
        return await search(
            self.store,
            await self._rows(),
            query,
            phrase=phrase,
            filters=filters or SessionFilter(),
            before=before,
            limit=limit,
        )

    async def _rows(self, tree_id: int | None = None) -> builtins.list[SessionInfo]:
        """Every session's row (status, activity, subtree usage), or one tree's (a
        subtree never leaves its tree: forks share it), by id."""
        activities = await self.store.sessions.overview(tree_id=tree_id)
        running = {s.session_id: s.id for s in await self.store.streams.active()}
        rows = infos(activities, running, lambda name: self.turns.pool.get(name) is not None)
        return [row.model_copy(update={"session": masked(row.session)}) for row in rows]

    async def _child_model(self, session: Session) -> str | None:
        """The model the child said it ran for the head's turn (its init message)."""
        head = await self.store.nodes.get(session.head_id)
        model = head.data.get("model") if head.kind is NodeKind.SUMMARY else None
        return model if isinstance(model, str) else None

    async def fork(
        self,
        name: str,
        new_name: str,
        at: int | None,
        overrides: dict[str, object] | None = None,
    ) -> Session:
        """A new session at ``at`` (default the head); ``overrides`` (model, system_prompt,
        max_turns, mcp_servers) change the fork's config alone: its first turn starts a
        child with them and exactly the branch's history, while the origin keeps its own.
        A *** in mcp_servers keeps the origin's real value there."""
        check_name(new_name)
        if overrides:
            origin = await self.store.sessions.get(name)
            overrides = unmasked(overrides, origin.config, f"the origin {name!r}")
            # Refused before the fork exists, as create and configure would refuse it.
            check_policy(SessionConfig.model_validate(origin.config.model_dump() | overrides))
        if at is not None:
            node = await self.store.nodes.get(at)
            if node.kind not in (NodeKind.ROOT, NodeKind.SUMMARY):
                raise InvalidArgument(
                    f"Node {at} is a {node.kind.value} node inside a turn; a fork starts at a turn boundary. "
                    "Fork at the turn's summary node (kind 'summary', see tree) or at the root."
                )
        origin = await self.store.sessions.get(name)
        if origin.config.workspace is None:
            forked = await self.store.sessions.fork(name, new_name, at=at)
        else:
            forked = await self._fork_workspace(origin, new_name, at)
        if not overrides:
            return masked(forked)
        return masked(await self.store.sessions.update_config(new_name, overrides, check_policy))

    async def _fork_workspace(self, origin: Session, new_name: str, at: int | None) -> Session:
        if new_name in await self.store.sessions.names():
            raise SessionExists(new_name)
        node = at if at is not None else origin.head_id
        if (await self.store.nodes.get(node)).tree_id != origin.tree_id:
            raise NodeNotInTree(node, origin.name)  # before git runs, as the store would
        workspace = await self.workspaces.for_fork(origin, node)
        try:
            forked = await self.store.sessions.fork(origin.name, new_name, at=at)
            await self.workspaces.bind(workspace, new_name)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.workspaces.remove(workspace)
            raise
        return forked

    async def delete(self, name: str) -> DeleteResult:
        """Delete a session; refused (in the database) while it has a turn, here or elsewhere."""
        session = await self.store.sessions.get(name)
        await self.turns.free(name)
        workspace = await self.store.workspaces.of_session(session.id)
        removed = await self.store.sessions.delete(session.name)
        await self.turns.pool.discard(name)
        if workspace is not None:
            # Its row is unbound now; a crash before this line leaves it to start-up.
            try:
                await self.workspaces.remove(workspace)
            except (GitFailed, OSError) as exc:
                # The session is gone already: an error now would read as "not deleted".
                # Its unbound row stays; doctor names it, and a server's start removes it.
                log.warning("deleted %s; its worktree is left to start-up: %s", name, exc)
        return DeleteResult(session=name, nodes_removed=removed)

    async def tree(self, name: str) -> TreeResult:
        session = await self.store.sessions.get(name)
        tree = await self.store.nodes.tree(session.tree_id)
        usage = {
            row.session.name: BranchUsage(
                head_id=row.session.head_id,
                usage=row.session.usage,
                subtree_usage=row.subtree_usage,
            )
            for row in await self._rows(session.tree_id)
        }
        return TreeResult(session=name, tree=tree, usage=usage)

    async def render_context(self, name: str, start: int | None, end: int | None) -> RenderResult:
        session = await self.store.sessions.get(name)
        path = await branch(self.store, session, end=end, start=start)
        return RenderResult(session=name, start_id=start, end_id=path[-1].id, messages=render(path))

    async def streams(self, name: str | None, limit: int) -> StreamList:
        if name is not None:
            await self.store.sessions.get(name)
        recent = await self.store.streams.recent(name, limit=limit)
        return StreamList(streams=[StreamView.of(stream) for stream in recent])


def _title(title: str | None) -> str | None:
    """A title as one line of words; refused when nothing is left."""
    if title is None:
        return None
    words = " ".join(title.split())
    if not words:
        raise InvalidArgument("The title is blank: give it some words, or leave it out.")
    return words
