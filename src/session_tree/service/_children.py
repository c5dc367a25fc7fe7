"""Which child a turn runs in: the session's warm one when it stands at the head,
else a new one resumed from the head's summary (a resume point), so it sees
exactly the branch from the root to the head."""

from __future__ import annotations

from collections.abc import Mapping

from ..agents import Child, ChildPool, ChildSpec, ResumePoint
from ..errors import ChildError, InvalidArgument
from ..models import JSONObject, NodeKind, Session
from ..store import Store
from ._budgets import child_config
from ._permissions import ChildPermissions
from ._running import RunningTurn
from ._workspaces import Workspaces


class ChildSource:
    """Finds or starts the child for a session's turn; ``running`` is the runner's
    map of live turns, which a child's permission questions are routed by."""

    def __init__(
        self,
        store: Store,
        pool: ChildPool,
        running: Mapping[str, RunningTurn],
        workspaces: Workspaces,
    ) -> None:
        self.store = store
        self.pool = pool
        self._running = running
        self.workspaces = workspaces

    def fits(self, warm: Child, session: Session, output_schema: JSONObject | None) -> bool:
        """Whether a turn of ``session`` with ``output_schema`` may run in ``warm``."""
        return (
            warm.head_node_id == session.head_id
            and not warm.busy
            and self.pool.output_schema(warm) == output_schema
        )

    async def child_for(
        self,
        session: Session,
        ephemeral: bool,
        output_schema: JSONObject | None,
        *,
        reuse: bool = True,
    ) -> tuple[Child, bool]:
        """A child whose conversation ends at the session's head, and whether it is
        a warm one reused."""
        if reuse and not ephemeral:
            warm = self.pool.get(session.name)
            if warm is not None and self.fits(warm, session, output_schema):
                return warm, True
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
                f"Session {session.name!r} has its head inside a turn (node {head.id}); "
                "fork it at a summary node."
            )
        permissions = (
            ChildPermissions(self.store, session.name, self._running)
            if session.config.loopback
            else None
        )
        config = await child_config(self.store, session)
        if session.config.workspace is not None:
            # The session's cwd is in the user's checkout; its child works in its worktree.
            config = config.model_copy(update={"cwd": await self.workspaces.child_cwd(session)})
        spec = ChildSpec(
            config=config,
            resume=resume,
            transcripts=self.store.transcripts,
            ask_permission=permissions,
            output_schema=output_schema,
        )
        try:
            if ephemeral:
                child = await self.pool.start_temporary(spec)
            else:
                child = await self.pool.start(session.name, spec)
        except ChildError:
            raise
        except Exception as exc:
            raise ChildError(f"Could not start Claude Code for {session.name!r}: {exc}") from exc
        if permissions is not None:
            permissions.child = child
        return child, False
