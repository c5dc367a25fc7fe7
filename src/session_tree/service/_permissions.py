"""A child's tool call, put to the loopback on behalf of the turn it works on."""

from __future__ import annotations

from collections.abc import Mapping

from ..agents import Allow, Child, Deny, ToolCall
from ..errors import SessionTreeError
from ..store import Store
from ._loopback import DEFAULT_DENY_MESSAGE, Loopback
from ._running import RunningTurn, TurnState


class ChildPermissions:
    """Answers one child's tool calls. A warm child serves turn after turn of its
    session, so each call goes to the session's running turn, if that turn is
    this child's; ``running`` is the runner's map of live turns."""

    def __init__(self, store: Store, session: str, running: Mapping[str, RunningTurn]) -> None:
        self._loopback = Loopback(store)
        self._session = session
        self._running = running
        self.child: Child | None = None
        """Set once the child has started."""

    async def __call__(self, call: ToolCall) -> Allow | Deny:
        turn = self._running.get(self._session)
        if (
            turn is None
            or self.child is None
            or turn.child is not self.child
            or turn.state is not TurnState.RUNNING
        ):
            # A child whose turn has ended (interrupted, failed, shut down) asks no more.
            return Deny("This turn has ended.", interrupt=True)
        try:
            result = await self._loopback.ask(
                self._session,
                tool_name=call.tool_name,
                tool_input=call.input,
                tool_use_id=call.tool_use_id,
                stream_id=turn.stream_id,
                on_pending=lambda _: turn.settled.set(),
            )
        except SessionTreeError as exc:
            return Deny(f"session-tree could not ask the parent: {exc}")
        if result.behavior == "allow":
            return Allow(result.updated_input or {})
        if result.interrupt:
            # Claude Code ends such a turn as an error; it is the parent's stop.
            turn.stop(f"the parent denied {call.tool_name} and stopped the turn: {result.message}")
        return Deny(result.message or DEFAULT_DENY_MESSAGE, interrupt=result.interrupt)
