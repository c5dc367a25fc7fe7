"""The turn runner: starts turns, feeds a child's items into the store, ends turns.

A turn runs in the runner's task group, not in the request that started it: a parent's tool
call can return (chat's wait bound, chat_async) while the turn goes on, its events in the stream.

How a child picks up a branch: every turn that ends well leaves a summary node holding the
Claude session id that produced it and the uuid of its last assistant message. A session whose
warm child already ends at its head reuses it; otherwise a child starts from the head's summary
(a resume point), so it sees exactly the branch from the root to the head, and no other
session's child history is touched. A turn that fails or is interrupted leaves its nodes in the
tree as a side branch and does not move the head. A failed turn's child is closed, so the next
turn resumes from the head exactly. An interrupted turn's child that answered the interrupt is
rewound in place instead (Claude Code's rewind_conversation cuts its conversation before the
turn's prompt): it stays warm at the head, and the next turn runs in the same process without
the interrupted exchange. A child that cannot be rewound is closed as a failed one.

A turn with an output schema needs a child started with it (a process option of Claude Code): a
warm child is reused only for turns of its own schema (none, for a plain turn); otherwise a new
one starts from the head in its place.
"""

from __future__ import annotations

import logging
from functools import partial

import anyio
from anyio.abc import TaskGroup

from ..agents import Child, ChildPool, checked_claude_binary
from ..errors import (
    ChildExited,
    DatabaseError,
    InvalidArgument,
    SessionBusy,
    SessionTreeError,
)
from ..models import JSONObject, NewNode, Node, NodeKind, Session, StreamStatus
from ..store import Record, Store, TurnStart
from ._budgets import budget_error, check_budget
from ._checks import check_cwd
from ._children import ChildSource
from ._peers import LeaseKeeper
from ._runner import this_runner
from ._running import RunningTurn, TurnState
from ._turn_outcome import TurnOutcome
from ._turn_records import TurnEnd, TurnReading
from ._workspaces import Workspaces

log = logging.getLogger("session_tree.service")

# How long an interrupted turn may take to end by itself before it is ended for it.
INTERRUPT_WAIT_S = 10.0
# How long a new turn waits for the last one, whose end is being written, to let go
# of its session (one write transaction; longer only when the database is stuck).
RELEASE_WAIT_S = 10.0


class _Interrupted(Exception):
    def __init__(self, *, keeps_child: bool = False) -> None:
        super().__init__()
        # The child's conversation holds nothing of the turn (it was rewound, or
        # the turn never reached it): it may stay warm at the head.
        self.keeps_child = keeps_child


class _ChildGone(Exception):
    """A reused warm child had died while idle: nothing of the turn reached it."""


class TurnRunner:
    """Owns the task group turns run in, the child pool, and the turns this process runs."""

    def __init__(
        self,
        store: Store,
        pool: ChildPool,
        task_group: TaskGroup,
        lease: LeaseKeeper | None = None,
        workspaces: Workspaces | None = None,
    ) -> None:
        self.store = store
        self.pool = pool
        self._tg = task_group
        self.lease = lease  # every turn started here runs under it (a new id if it lapses)
        self.runner = this_runner(lease.host if lease is not None else None)
        self._local: dict[str, RunningTurn] = {}
        self.workspaces = workspaces or Workspaces(store)
        self._children = ChildSource(store, pool, self._local, self.workspaces)
        # Ends of turns the database could not take when they happened, by session.
        self._unrecorded: dict[str, TurnEnd] = {}

    def running(self, name: str) -> RunningTurn | None:
        """The turn this process runs for ``name``, if any (the database says for all)."""
        return self._local.get(name)

    async def start(
        self, name: str, prompt: str, ephemeral: bool, output_schema: JSONObject | None = None
    ) -> tuple[TurnStart, RunningTurn]:
        """Store the prompt and a stream, then run the turn in the background; with a
        (checked) ``output_schema`` the answer must be an object meeting it."""
        if not prompt.strip():
            raise InvalidArgument(
                "The prompt is empty; send the text you want the child to answer."
            )
        await self.free(name)
        # Refused before anything is stored; a start that races another to the
        # last free child fails its turn with the same message instead.
        self.pool.check_room("" if ephemeral else name)
        if name in self._unrecorded:
            await self._unrecorded[name].record(self.store)
            del self._unrecorded[name]
        session = await self.store.sessions.get(name)
        check_cwd(session.config.cwd, name)
        checked_claude_binary()
        await check_budget(self.store, session)
        # The store refuses a second turn on a session whose turn runs in another process.
        # A kept turn sweeps first: side questions asked before it are no longer anyone's
        # to read from the tree once the branch moves on (a running one is kept).
        start = await self.store.turns.begin(
            name,
            NewNode(kind=NodeKind.USER, data={"text": prompt}, ephemeral=ephemeral),
            runner=self.runner,
            server_id=self.lease.id if self.lease is not None else None,
            sweep=not ephemeral,
        )
        turn = RunningTurn(stream_id=start.stream.id, session=name)
        self._local[name] = turn
        self._tg.start_soon(
            self._run, turn, start.session, start.prompt_node, prompt, ephemeral, output_schema
        )
        return start, turn

    async def warm(self, name: str) -> bool:
        """Start the session's child now, at its head, so its next turn does not wait
        for Claude Code to start; False when one was already warm there."""
        await self.free(name)
        session = await self.store.sessions.get(name)
        check_cwd(session.config.cwd, name)
        warm = self.pool.get(name)
        if warm is not None and self._children.fits(warm, session, None):
            return False
        child, _ = await self._children.child_for(
            session, ephemeral=False, output_schema=None, reuse=False
        )
        # No turn has run in it yet: it stands at the head it was started from.
        child.head_node_id = session.head_id
        return True

    async def free(self, name: str) -> None:
        """Raise SessionBusy while ``name`` has a turn here; a turn whose end is being
        written is waited for (bounded), so a parent that saw the end may go on."""
        turn = self._local.get(name)
        if turn is not None and turn.finishing:
            with anyio.move_on_after(RELEASE_WAIT_S):
                await turn.released.wait()
        if name in self._local:
            raise SessionBusy(name, self._local[name].stream_id)

    async def interrupt(self, turn: RunningTurn, why: str = "interrupted by the parent") -> None:
        """Stop ``turn`` and wait (bounded) until it has ended and is recorded."""
        turn.stop(why)
        child = turn.child
        answered = True
        if child is not None:
            answered = await child.interrupt()
        if answered:
            with anyio.move_on_after(INTERRUPT_WAIT_S):
                await turn.done.wait()
        if not turn.done.is_set():
            # The child does not answer (stopped, wedged): end the turn without it,
            # and let it be killed in the background (that takes seconds).
            await self._end_early(
                turn, StreamStatus.INTERRUPTED, turn.why_stopped, wait_for_child=False
            )

    def stop_all(self, why: str) -> None:
        """Interrupt every turn here, in the background (a lapsed lease may have ended them)."""
        for turn in list(self._local.values()):
            self._tg.start_soon(self.interrupt, turn, why)

    async def aclose(self) -> int:
        """Interrupt every running turn, record it, close every child; the turns ended."""
        turns = list(self._local.values())

        async def shut_down(turn: RunningTurn) -> None:
            turn.stop("session-tree is shutting down")
            with anyio.move_on_after(5):
                await self._end_early(turn, StreamStatus.INTERRUPTED, turn.why_stopped)

        async with anyio.create_task_group() as tg:
            for turn in turns:
                tg.start_soon(shut_down, turn)
        await self.pool.aclose()
        return len(turns)

    async def _run(
        self,
        turn: RunningTurn,
        session: Session,
        prompt_node: Node,
        prompt: str,
        ephemeral: bool,
        output_schema: JSONObject | None,
    ) -> None:
        try:
            child, reused = await self._children.child_for(session, ephemeral, output_schema)
            turn.child = child
            if turn.state is TurnState.STOPPING:
                raise _Interrupted(keeps_child=not ephemeral)
            turn.move(TurnState.RUNNING)
            consume = partial(
                self._consume,
                turn,
                session=session,
                prompt_node=prompt_node,
                prompt=prompt,
                ephemeral=ephemeral,
                output_schema=output_schema,
            )
            try:
                await consume(child, reused=reused)
            except _ChildGone:
                # Killed while idle (OOM, a person): a new child from the head, once.
                log.info("warm child of %s had exited; starting a new one", session.name)
                await self.pool.retire(child)
                child, _ = await self._children.child_for(
                    session, ephemeral, output_schema, reuse=False
                )
                turn.child = child
                await consume(child, reused=False)
        except _Interrupted as stopped:
            keep_at = session.head_id if stopped.keeps_child else None
            await self._end_early(turn, StreamStatus.INTERRUPTED, turn.why_stopped, keep_at=keep_at)
        except (SessionTreeError, OSError) as exc:
            await self._end_early(turn, StreamStatus.FAILED, str(exc))
        except Exception as exc:
            log.exception("turn %s failed", turn.stream_id)
            await self._end_early(turn, StreamStatus.FAILED, f"internal error: {exc!r}")
        finally:
            if ephemeral and turn.child is not None:
                with anyio.CancelScope(shield=True):
                    await self.pool.retire(turn.child)
            self._release(turn)
            turn.end()

    async def _consume(
        self,
        turn: RunningTurn,
        child: Child,
        session: Session,
        prompt_node: Node,
        prompt: str,
        ephemeral: bool,
        output_schema: JSONObject | None,
        *,
        reused: bool,
    ) -> None:
        stream_id = turn.stream_id
        read = TurnReading(parent_id=prompt_node.id, digest=turn.digest, mirror=child.mirror)
        # What the mirror gains during the turn goes into the turn's own writes.
        async with child.mirror_held():
            try:
                items = await child.start_turn(prompt, ephemeral=ephemeral)
            except ChildExited as exc:
                if reused:
                    raise _ChildGone from exc
                raise
            # The batch that holds the result is written with the turn's end, in one
            # transaction (a commit fewer a turn); a turn that ends otherwise writes it first.
            last: list[Record] = []
            try:
                async with items:
                    try:
                        last = await read.through_result(self.store, stream_id, items)
                    except ChildExited as exc:
                        if reused and not read.received:
                            raise _ChildGone from exc
                        raise
                if turn.state is TurnState.STOPPING:
                    # The child has ended its turn (it answered the interrupt, or had just
                    # finished): taken back out of its conversation, it can serve the next.
                    await read.write(self.store, stream_id, last)
                    last = []
                    rewound = not ephemeral and self.pool.holds(child) and await child.rewind()
                    raise _Interrupted(keeps_child=rewound)
                await self._finish(turn, child, session, read, last, ephemeral, output_schema)
            except BaseException:
                await read.write_unended(self.store, stream_id, last)
                raise

    async def _finish(
        self,
        turn: RunningTurn,
        child: Child,
        session: Session,
        read: TurnReading,
        last: list[Record],
        ephemeral: bool,
        output_schema: JSONObject | None,
    ) -> None:
        """End a turn that reached its result: ``last``, the batch holding it, is
        written in the same transaction as the turn's end (and emptied once it is)."""
        stream_id = turn.stream_id
        outcome = TurnOutcome.of(read, output_schema, ephemeral)
        if outcome.result.data.get("subtype") == "error_max_budget_usd":
            cost = outcome.result.usage.cost_usd
            outcome = outcome.with_error(await budget_error(self.store, turn.session, cost))
        if outcome.failed:
            # Its history now holds a turn the head does not: nobody may reuse it.
            self.pool.forget(child)
        # Before the node that names it: a crash in between leaves a ref, never a dangling id.
        # Shielded (git bounds each step): a git killed half-way leaves its index locked.
        with anyio.CancelScope(shield=True):
            commit = await self.workspaces.at_turn_end(turn.session, stream_id, session)
        end_data = outcome.end(commit)
        turn.finishing = True
        with read.held() as transcripts:
            end = await self.store.turns.finish(
                stream_id,
                parent_id=read.parent_id,
                summary=outcome.summary(commit),
                usage=outcome.result.usage,
                end=end_data,
                claude_session_id=outcome.result.claude_session_id if outcome.kept else None,
                error=outcome.error,
                records=last,
                transcripts=transcripts,
            )
        last.clear()
        turn.digest.add("turn_end", end_data)
        if outcome.kept:
            child.head_node_id = end.summary_node.id
        if not outcome.failed:
            turn.final = (end.session, end.stream)
        self._release(turn)
        if outcome.failed or not self.pool.holds(child):
            # Failed, or its session's policy changed during the turn (configure).
            with anyio.CancelScope(shield=True):
                await self.store.approvals.expire_pending(
                    stream_id=stream_id, reason="the turn failed"
                )
                await self.pool.retire(child)

    def _release(self, turn: RunningTurn) -> None:
        """The session may take its next turn. Called right after a stream's final
        status is written, with no await between; a start that comes in between (a
        poller saw the commit first) waits for this (see ``finishing``)."""
        if self._local.get(turn.session) is turn:
            del self._local[turn.session]
        turn.released.set()

    async def _end_early(
        self,
        turn: RunningTurn,
        status: StreamStatus,
        message: str,
        *,
        wait_for_child: bool = True,
        keep_at: int | None = None,
    ) -> None:
        """End a turn that did not complete: close its child (whose history no longer
        matches the head), settle its approvals, and record why, once. With
        ``keep_at`` (the head the turn started from) a child whose conversation
        holds nothing of the turn stays warm there instead."""
        child = turn.child
        if child is not None and keep_at is not None and self.pool.holds(child):
            # Before the end is recorded: a parent that sees it may chat at once.
            child.head_node_id = keep_at
        elif child is not None:
            self.pool.forget(child)
            keep_at = None
        with anyio.CancelScope(shield=True), anyio.move_on_after(30):
            # The files as the turn left them, though it has no summary to name them in.
            try:
                commit = await self.workspaces.at_turn_end(turn.session, turn.stream_id)
            except SessionTreeError as exc:
                log.warning("no snapshot of stream %s: %s", turn.stream_id, exc)
                commit = None
        end = TurnEnd.of(turn.stream_id, status, message, commit=commit)
        turn.finishing = True
        with anyio.CancelScope(shield=True):
            try:
                await end.record(self.store)
            except DatabaseError as exc:
                # The database cannot take it now (disk full): record it before this
                # session's next turn, which until then is refused with this error.
                log.warning("could not record the end of stream %s: %s", turn.stream_id, exc)
                self._unrecorded[turn.session] = end
            self._release(turn)
            if child is not None and keep_at is None:
                if wait_for_child:
                    await child.stop()
                else:
                    self._tg.start_soon(child.stop)
