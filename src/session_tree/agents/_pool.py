"""The warm children of one server: started on demand, closed when idle, capped."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import anyio
from anyio.abc import TaskGroup

from ..errors import CapacityExceeded
from ..models import JSONObject, SessionConfig
from ..store import TranscriptMirror
from ._child import CLOSE_TIMEOUT_S, Child
from ._options import ResumePoint, build_options
from ._permissions import AskPermission

log = logging.getLogger("session_tree.child")


@dataclass(frozen=True)
class ChildSpec:
    """What a child is started with: the session's config, where its conversation
    picks up, where its transcript is mirrored, and who answers its tool calls."""

    config: SessionConfig
    resume: ResumePoint | None = None
    transcripts: TranscriptMirror | None = None
    ask_permission: AskPermission | None = None
    # A JSON Schema the child's final answer must meet (Claude Code's --json-schema):
    # an option of the process, so a child serves turns of this one schema only.
    output_schema: JSONObject | None = None


class ChildPool:
    """Owns every child process; lives inside the server's task group."""

    def __init__(self, task_group: TaskGroup, *, max_warm: int, idle_timeout_s: float) -> None:
        self._tg = task_group
        self.max_warm = max_warm
        self.idle_timeout_s = idle_timeout_s
        self._children: dict[str, Child] = {}
        # Taken out of the pool (their turn failed) but not yet exited: still
        # processes, so they count against the cap until they have gone.
        self._leaving: set[Child] = set()
        self._temporary = itertools.count()
        self._lock = anyio.Lock()

    def get(self, key: str) -> Child | None:
        child = self._children.get(key)
        if child is not None and child.closed.is_set():
            del self._children[key]
            return None
        return child

    @staticmethod
    def output_schema(child: Child) -> JSONObject | None:
        """The schema ``child`` was started with (None: it answers in prose)."""
        output_format = child.options.output_format
        return output_format.get("schema") if output_format else None

    def holds(self, child: Child) -> bool:
        """Whether ``child`` is still the one a turn of its key may reuse."""
        return self.get(child.key) is child

    @property
    def warm(self) -> int:
        return len(self._live())

    def _live(self) -> list[Child]:
        return [child for child in self._children.values() if not child.closed.is_set()]

    def check_room(self, key: str) -> None:
        """Raise :class:`CapacityExceeded` now if a turn for ``key`` could not get a
        child: at the cap, with every child busy and none of them ``key``'s."""
        live = self._live()
        if len(live) < self.max_warm or any(c.key == key or not c.busy for c in live):
            return
        raise self._full()

    async def start(self, key: str, spec: ChildSpec) -> Child:
        """Start a child for ``key``, closing the one it had.

        At the cap, the least recently used idle child is closed to make room;
        when every child is busy, :class:`CapacityExceeded` says so.
        """
        options = build_options(
            spec.config,
            resume=spec.resume,
            transcripts=spec.transcripts,
            ask_permission=spec.ask_permission,
            output_schema=spec.output_schema,
        )
        async with self._lock:
            old = self._children.pop(key, None)
            if old is not None:
                await old.stop()
            await self._make_room()
            child = Child(key=key, options=options, idle_timeout_s=self.idle_timeout_s)
            await self._tg.start(self._run, child)
            self._children[key] = child
            return child

    async def start_temporary(self, spec: ChildSpec) -> Child:
        """A child for one turn (an ephemeral turn); the caller stops it."""
        return await self.start(f"~temporary-{next(self._temporary)}", spec)

    async def discard(self, key: str) -> None:
        """Close the child of ``key``, if it has one."""
        child = self._children.pop(key, None)
        if child is not None:
            await child.stop()

    def forget(self, child: Child) -> None:
        """Take ``child`` out of the pool at once (no await), so no turn can pick it
        up any more; whoever calls this stops it with ``retire``."""
        if self._children.get(child.key) is child:
            del self._children[child.key]
        if not child.closed.is_set():
            self._leaving.add(child)

    async def retire(self, child: Child) -> None:
        """Close this child (not whichever child its key has by now)."""
        self.forget(child)
        await child.stop()

    async def aclose(self) -> None:
        children = [*self._children.values(), *self._leaving]
        self._children.clear()
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tg:
                for child in children:
                    tg.start_soon(child.stop)

    async def _make_room(self) -> None:
        while True:
            live = self._live()
            leaving = [c for c in self._leaving if not c.closed.is_set()]
            if len(live) + len(leaving) < self.max_warm:
                return
            idle = sorted((c for c in live if not c.busy), key=lambda c: c.last_used)
            if idle:
                victim = idle[0]
                self._children.pop(victim.key, None)
                await victim.stop()
            elif leaving:
                # Whoever forgot it is stopping it; stop() itself is bounded.
                with anyio.move_on_after(CLOSE_TIMEOUT_S + 2):
                    await leaving[0].closed.wait()
                self._leaving.discard(leaving[0])
            else:
                raise self._full()

    def _full(self) -> CapacityExceeded:
        return CapacityExceeded(
            f"All {self.max_warm} warm children are busy with turns. Wait for one to finish "
            "(poll its stream), interrupt one, or raise SESSION_TREE_MAX_CHILDREN."
        )

    async def _run(self, child: Child, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        # A failure to start reaches whoever asked for the child, through tg.start().
        try:
            await child.run(task_status=task_status)
        finally:
            if self._children.get(child.key) is child:
                del self._children[child.key]
            self._leaving.discard(child)
