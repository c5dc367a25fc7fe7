"""Chat: start a turn and wait for it (or not), read its stream, sum it up.

A blocking chat waits for the turn to settle (end, or first need a decision
from the parent), at most its wait bound, and then returns what the turn did so
far; the parent goes on with poll. chat_async returns the stream at once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from ..errors import ApprovalAlreadyDecided, PastStreamEnd
from ..models import Approval, Event, JSONObject, Session, Stream, StreamStatus
from ..store import Store
from ._loopback import Loopback
from ._progress import ProgressReader
from ._results import ChatResult, PendingApproval, PollResult
from ._running import RunningTurn
from ._settings import Settings
from ._structured import check_output_schema
from ._turn_digest import TurnDigest
from ._turns import TurnRunner

# Events read from a stream per query when summing up a turn.
_PAGE = 10_000

_WAIT_STATES = frozenset(
    {
        StreamStatus.AWAITING_PERMISSION,
        StreamStatus.COMPLETED,
        StreamStatus.FAILED,
        StreamStatus.INTERRUPTED,
    }
)


@dataclass(frozen=True)
class HumanAnswer:
    allow: bool
    message: str = ""


AskHuman = Callable[[Approval], Awaitable[HumanAnswer | None]]
"""Asks a person about an approval; None when they gave no answer."""

OnProgress = Callable[[int, str], Awaitable[None]]
"""Hears the number of a turn's events so far and what the child is doing, as
they change, at most every ``PROGRESS_EVERY_S`` (the last word always)."""

PROGRESS_EVERY_S = 0.25


class Chat:
    def __init__(
        self, store: Store, turns: TurnRunner, loopback: Loopback, settings: Settings
    ) -> None:
        self.store = store
        self.turns = turns
        self.loopback = loopback
        self.settings = settings

    async def chat_async(
        self,
        name: str,
        prompt: str,
        *,
        ephemeral: bool = False,
        output_schema: JSONObject | None = None,
    ) -> Stream:
        """Start a turn and return its stream at once."""
        schema = check_output_schema(output_schema) if output_schema is not None else None
        start, _ = await self.turns.start(name, prompt, ephemeral, schema)
        return start.stream

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
        """Start a turn and wait, at most ``wait_s``, for it to end or to need an approval.

        ``ask_human``, for a session with ``ask_human`` set, is asked about each
        approval the turn waits on (an MCP elicitation); when it gives no answer,
        chat returns ``awaiting_permission`` for the parent to decide. With
        ``output_schema`` the answer must be an object meeting it (``structured_output``).
        """
        schema = check_output_schema(output_schema) if output_schema is not None else None
        start, turn = await self.turns.start(name, prompt, ephemeral, schema)
        stream = start.stream
        config = start.session.config
        asks_human = ask_human is not None and config.loopback and config.ask_human
        seen = 0
        reader = ProgressReader()
        try:
            with anyio.move_on_after(wait_s if wait_s is not None else self.settings.chat_wait_s):
                while True:
                    if on_progress is None:
                        await turn.settled.wait()
                    else:
                        seen = await self._report_progress(
                            stream.id, turn, on_progress, seen, reader
                        )
                    if not asks_human or turn.done.is_set():
                        break
                    turn.rearm()
                    assert ask_human is not None
                    if not await self._ask_human(stream.id, ask_human):
                        break
        except anyio.get_cancelled_exc_class():
            # The parent cancelled its tool call: stop the turn it started (only that one).
            with anyio.CancelScope(shield=True):
                if self.turns.running(name) is turn:
                    await self.turns.interrupt(turn)
            raise
        if turn.done.is_set():
            return await self.summarize(stream.id, final=turn)
        return await self.summarize(stream.id)

    async def _report_progress(
        self,
        stream_id: int,
        turn: RunningTurn,
        on_progress: OnProgress,
        next_seq: int,
        reader: ProgressReader,
    ) -> int:
        """Report what the child does as events come, until the turn settles; the
        next seq to read."""
        said, said_at = "", -PROGRESS_EVERY_S
        while not turn.settled.is_set():
            events, stream = await self.store.streams.wait(
                stream_id, from_seq=next_seq, limit=_PAGE, timeout=1.0
            )
            if events:
                next_seq = events[-1].seq + 1
            # Read to its end and waiting (on an approval) or ended: the last word is due.
            settled = stream.status in _WAIT_STATES and stream.last_seq < next_seq
            if events:
                message = reader.read(events)
                now = anyio.current_time()
                if message != said and (settled or now - said_at >= PROGRESS_EVERY_S):
                    await on_progress(next_seq, message)
                    said, said_at = message, now
            if settled:
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
            raise PastStreamEnd(stream_id, from_seq, stream.last_seq + 1)
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

    async def summarize(self, stream_id: int, *, final: RunningTurn | None = None) -> ChatResult:
        """A turn as chat returns it: its text, tool calls, status and usage so far.
        ``final``, a turn of this process that reached its end, gives all of that as
        the turn's end wrote it: nothing is read back from the database."""
        if final is not None and final.final is not None:
            session, stream = final.final
            return self._result(session, stream, final.digest, [])
        stream = await self.store.streams.get(stream_id)
        session = await self.store.sessions.get(stream.session_name)
        digest = TurnDigest()
        # Read after the status, so a turn reported ended has every event counted; paged,
        # since a long turn has more events than one read returns. A short page is the
        # last: no read (and no second one to tell an empty stream from an unknown) after it.
        events: list[Event] = []
        from_seq = 0
        while from_seq <= stream.last_seq and (not events or len(events) == _PAGE):
            events = await self.store.streams.read(stream_id, from_seq=from_seq, limit=_PAGE)
            if not events:
                break
            from_seq = events[-1].seq + 1
            for event in events:
                digest.add(event.kind, event.data)
        pending = (
            await self.store.approvals.pending(stream_id=stream.id)
            if stream.status is StreamStatus.AWAITING_PERMISSION
            else []
        )
        return self._result(session, stream, digest, pending)

    @staticmethod
    def _result(
        session: Session, stream: Stream, digest: TurnDigest, pending: list[Approval]
    ) -> ChatResult:
        return ChatResult(
            session=session.name,
            stream_id=stream.id,
            status=stream.status,
            text=digest.reply,
            tool_calls=digest.tool_calls,
            head_id=session.head_id,
            usage=digest.usage,
            error=stream.error,
            next_seq=stream.last_seq + 1,
            ephemeral=stream.ephemeral,
            structured_output=digest.structured_output,
            mcp_servers_failed=digest.failed_servers,
            pending_approvals=[PendingApproval.of(a, time.time()) for a in pending],
        )
