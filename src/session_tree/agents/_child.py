"""One warm child: a Claude Code process driven through ``ClaudeSDKClient``.

The SDK client must be entered and left in the same task (it owns a task
group), so each child is an actor: a task that holds the client open and takes
turns from a channel. A turn's items come back through a channel of their own;
closing that channel ends the turn for the reader.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient

from ..errors import ChildExited, ChildUnavailable
from ..models import check_move
from ._items import Item, Result
from ._session_store import MirrorSessionStore
from ._translate import translate

log = logging.getLogger("session_tree.child")

CLOSE_TIMEOUT_S = 10.0
# How long an interrupt may take before the child counts as unresponsive: a
# stopped or wedged claude never answers the control request.
INTERRUPT_TIMEOUT_S = 3.0
# Lines of a child's stderr kept to explain why it failed to start or stopped.
STDERR_TAIL_LINES = 20


class ChildState(StrEnum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    CLOSED = "closed"


_MOVES: dict[ChildState, frozenset[ChildState]] = {
    ChildState.STARTING: frozenset({ChildState.IDLE, ChildState.CLOSED}),
    ChildState.IDLE: frozenset({ChildState.BUSY, ChildState.CLOSED}),
    ChildState.BUSY: frozenset({ChildState.IDLE, ChildState.CLOSED}),
    ChildState.CLOSED: frozenset(),
}

TurnItems = MemoryObjectReceiveStream[Item | BaseException]
"""A turn's items as the child yields them; an exception ends the turn."""


@dataclass
class _Turn:
    prompt: str
    ephemeral: bool
    items: MemoryObjectSendStream[Item | BaseException]
    # The uuid the prompt's message gets in the child's conversation (Claude Code
    # keeps one a client gives): what a rewind names to take the turn back out.
    prompt_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(eq=False)  # one process each: compared and hashed by identity
class Child:
    """A warm Claude Code process for one session."""

    key: str
    options: ClaudeAgentOptions
    idle_timeout_s: float
    state: ChildState = ChildState.STARTING
    last_used: float = 0.0
    claude_session_id: str | None = None
    # The node the child's conversation ends at; a session reuses the warm
    # child only while its head is still this node.
    head_node_id: int | None = None
    closed: anyio.Event = field(default_factory=anyio.Event)
    _turns: tuple[MemoryObjectSendStream[_Turn], MemoryObjectReceiveStream[_Turn]] = field(
        default_factory=lambda: anyio.create_memory_object_stream[_Turn](1)
    )
    _client: ClaudeSDKClient | None = None
    _stop: anyio.Event = field(default_factory=anyio.Event)
    _stderr: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=STDERR_TAIL_LINES)
    )
    # The prompt uuid of the last turn handed to the child, until it is rewound.
    _last_prompt_uuid: str | None = None

    @property
    def busy(self) -> bool:
        return self.state is ChildState.BUSY

    @property
    def mirror(self) -> MirrorSessionStore | None:
        """Where the child's transcript is mirrored, if it is."""
        store = self.options.session_store
        return store if isinstance(store, MirrorSessionStore) else None

    @asynccontextmanager
    async def mirror_held(self) -> AsyncIterator[None]:
        """For a turn: the mirror holds what the child's transcript gains, for the turn's
        writes to take; what they leave is written when the turn is over."""
        mirror = self.mirror
        if mirror is None:
            yield
            return
        mirror.hold()
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await mirror.release()

    def _move(self, target: ChildState) -> None:
        check_move(f"child {self.key}", _MOVES, self.state, target)
        self.state = target

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
                    self._explained(f"Could not start Claude Code: {_start_failure(exc)}")
                ) from exc
            self._client = client
            self._move(ChildState.IDLE)
            task_status.started()
            try:
                await self._serve()
            except Exception:
                # After start-up a child's failure is reported through its turn; it
                # must never take the server's task group down with it.
                log.exception("child %s ended with an error", self.key)
            finally:
                self._client = None
                with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT_S):
                    await client.disconnect()
        finally:
            self.state = ChildState.CLOSED
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
                turn: _Turn | None = None
                with anyio.move_on_after(timeout):
                    turn = await receive.receive()
                if turn is None:
                    break  # idle for too long
                await self._run_turn(turn)
            tg.cancel_scope.cancel()

    async def _run_turn(self, turn: _Turn) -> None:
        assert self._client is not None
        async with turn.items:
            try:
                await self._client.query(_prompt_message(turn))
                async for message in self._client.receive_response():
                    for item in translate(message, ephemeral=turn.ephemeral):
                        if isinstance(item, Result):
                            self.claude_session_id = item.claude_session_id
                        await turn.items.send(item)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:
                await turn.items.send(
                    ChildExited(self._explained(f"Claude Code stopped mid-turn: {exc}"))
                )
                self._stop.set()
            finally:
                if self.state is ChildState.BUSY:
                    self._move(ChildState.IDLE)
                self.last_used = anyio.current_time()

    async def start_turn(self, prompt: str, *, ephemeral: bool = False) -> TurnItems:
        """Hand the child a prompt; read the turn's items from what this returns.
        ``ephemeral`` marks the nodes of the turn's blocks as off-branch."""
        if self.closed.is_set() or self._stop.is_set():
            raise ChildExited("The child has already exited.")
        send, receive = anyio.create_memory_object_stream[Item | BaseException](1000)
        self._move(ChildState.BUSY)
        turn = _Turn(prompt, ephemeral, send)
        self._last_prompt_uuid = turn.prompt_uuid
        await self._turns[0].send(turn)
        return receive

    async def interrupt(self) -> bool:
        """Ask the child to stop its turn; False when it did not answer in time."""
        client = self._client
        if client is None:
            return True
        with anyio.move_on_after(INTERRUPT_TIMEOUT_S):
            await client.interrupt()
            return True
        return False

    async def rewind(self) -> bool:
        """Take the last turn back out of an idle child's conversation, so that it
        ends where it ended before that turn; False when it cannot (then its
        conversation holds the turn, and it must not be reused).

        Claude Code's ``rewind_conversation`` control request (claude 2.1.332; the
        Agent SDK has no method for it, so it goes through the SDK's control
        channel) cuts the conversation before the named user message, in the
        process: nothing is restarted and the next query follows the message
        before it. The transcript keeps the cut turn as a side branch."""
        control = self._client._query if self._client is not None else None
        target = self._last_prompt_uuid
        if control is None or target is None or self.state is not ChildState.IDLE:
            return False
        if self._stop.is_set():
            return False
        with anyio.move_on_after(INTERRUPT_TIMEOUT_S):
            try:
                response = await control._send_control_request(
                    {"subtype": "rewind_conversation", "target_message_uuid": target}
                )
            except Exception as exc:
                log.info("child %s could not rewind: %s", self.key, exc)
                return False
            if response.get("rewound") is not True:
                log.info("child %s refused to rewind: %s", self.key, response)
                return False
            self._last_prompt_uuid = None
            return True
        return False

    async def set_model(self, model: str | None) -> bool:
        """Switch an idle child's model in place (Claude Code's set_model control
        request), keeping its process and conversation; False when it cannot."""
        client = self._client
        if client is None or self.state is not ChildState.IDLE or self._stop.is_set():
            return False
        with anyio.move_on_after(INTERRUPT_TIMEOUT_S):
            try:
                await client.set_model(model)
            except Exception as exc:
                log.info("child %s could not switch model: %s", self.key, exc)
                return False
            return True
        return False

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


async def _prompt_message(turn: _Turn) -> AsyncIterator[dict[str, object]]:
    """The turn's prompt as the one user message of a stream-json query, with its uuid."""
    yield {
        "type": "user",
        "message": {"role": "user", "content": turn.prompt},
        "parent_tool_use_id": None,
        "uuid": turn.prompt_uuid,
    }


# The SDK words a claude that exits at start-up by when it noticed: "Command failed
# with exit code 3", or "Cannot write to terminated process (exit code: 3)".
_EXIT_CODE = re.compile(r"exit code:? (-?\d+)")


def _start_failure(exc: BaseException) -> str:
    """Why a child did not start, worded the same however the SDK noticed."""
    said = _first_line(exc)
    code = _EXIT_CODE.search(said)
    return f"claude exited with exit code {code.group(1)}" if code else said


def _first_line(exc: BaseException) -> str:
    # The SDK's process errors add "Error output: Check stderr output for details",
    # which points nowhere a parent can look; the stderr tail says it instead.
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
