"""One warm child: a Claude Code process driven through ``ClaudeSDKClient``.

The SDK client must be entered and left in the same task (it owns a task
group), so each child is an actor: a task that holds the client open and takes
turns from a channel. A turn's messages come back through a channel of their
own; closing that channel ends the turn for the reader.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient, ResultMessage
from claude_agent_sdk.types import Message

from ..errors import ChildExited, ChildUnavailable

log = logging.getLogger("session_tree.child")

CLOSE_TIMEOUT_S = 10.0
# Lines of a child's stderr kept to explain why it failed to start or stopped.
STDERR_TAIL_LINES = 20


@dataclass
class Turn:
    prompt: str
    messages: MemoryObjectSendStream[Message | BaseException]


@dataclass(eq=False)  # one process each: compared and hashed by identity
class Child:
    """A warm Claude Code process for one session."""

    key: str
    options: ClaudeAgentOptions
    idle_timeout_s: float
    busy: bool = False
    last_used: float = 0.0
    claude_session_id: str | None = None
    # The node the child's conversation ends at; a session reuses the warm
    # child only while its head is still this node.
    head_node_id: int | None = None
    started: bool = False
    # Started under a session policy that has changed since: no turn reuses it.
    stale: bool = False
    closed: anyio.Event = field(default_factory=anyio.Event)
    _turns: tuple[MemoryObjectSendStream[Turn], MemoryObjectReceiveStream[Turn]] = field(
        default_factory=lambda: anyio.create_memory_object_stream[Turn](1)
    )
    _client: ClaudeSDKClient | None = None
    _stop: anyio.Event = field(default_factory=anyio.Event)
    _stderr: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=STDERR_TAIL_LINES)
    )

    def _note_stderr(self, line: str) -> None:
        self._stderr.append(line.rstrip())
        log.debug("child %s stderr: %s", self.key, line.rstrip())

    def _explained(self, what: str) -> str:
        """``what``, with the last thing the child wrote to stderr, if anything."""
        tail = " | ".join(line for line in self._stderr if line)
        return f"{what}; claude's last output: {tail[-1000:]}" if tail else what

    async def run(self, *, task_status: TaskStatus[None]) -> None:
        """Hold the client open, serving turns, until stopped or idle too long."""
        try:
            client = ClaudeSDKClient(dataclasses.replace(self.options, stderr=self._note_stderr))
            try:
                await client.connect()
            except Exception as exc:
                raise ChildUnavailable(
                    self._explained(f"Could not start Claude Code: {_first_line(exc)}")
                ) from exc
            self._client = client
            self.started = True
            task_status.started()
            try:
                await self._serve()
            finally:
                self._client = None
                with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT_S):
                    await client.disconnect()
        finally:
            self.closed.set()
            log.debug("child %s closed", self.key)

    async def _serve(self) -> None:
        receive = self._turns[1]
        async with anyio.create_task_group() as tg:

            async def stop_on_request() -> None:
                await self._stop.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(stop_on_request)
            timeout = self.idle_timeout_s if self.idle_timeout_s > 0 else math.inf
            while True:
                turn: Turn | None = None
                with anyio.move_on_after(timeout):
                    turn = await receive.receive()
                if turn is None:
                    break  # idle for too long
                await self._run_turn(turn)
            tg.cancel_scope.cancel()

    async def _run_turn(self, turn: Turn) -> None:
        assert self._client is not None
        async with turn.messages:
            try:
                await self._client.query(turn.prompt)
                async for message in self._client.receive_response():
                    if isinstance(message, ResultMessage):
                        self.claude_session_id = message.session_id
                    await turn.messages.send(message)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:
                await turn.messages.send(
                    ChildExited(self._explained(f"Claude Code stopped mid-turn: {exc}"))
                )
                self._stop.set()
            finally:
                self.busy = False
                self.last_used = anyio.current_time()

    async def start_turn(self, prompt: str) -> MemoryObjectReceiveStream[Message | BaseException]:
        """Hand the child a prompt; read the turn's messages from what this returns."""
        if self.closed.is_set():
            raise ChildExited("The child has already exited.")
        send, receive = anyio.create_memory_object_stream[Message | BaseException](1000)
        self.busy = True
        await self._turns[0].send(Turn(prompt, send))
        return receive

    async def interrupt(self) -> None:
        client = self._client
        if client is not None:
            with anyio.move_on_after(CLOSE_TIMEOUT_S):
                await client.interrupt()

    async def stop(self) -> None:
        """Close the child and wait (bounded) until it has gone."""
        if self.busy and not self._stop.is_set():
            # Mid-request, claude finishes the model call before it notices stdin has
            # closed (seconds); interrupted first, it exits at once.
            with anyio.move_on_after(1):
                await self.interrupt()
        self._stop.set()
        with anyio.move_on_after(CLOSE_TIMEOUT_S + 1):
            await self.closed.wait()


def _first_line(exc: BaseException) -> str:
    # The SDK's process errors add "Error output: Check stderr output for details",
    # which points nowhere a parent can look; the stderr tail says it instead.
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
