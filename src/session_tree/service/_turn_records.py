"""How a turn's items reach the store: in batches, and the end of a turn that did not complete."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio

from ..agents import Item, MirrorSessionStore, Note, Result, TurnItems
from ..errors import DatabaseError
from ..models import JSONObject, Node, NodeKind, StreamStatus
from ..store import Record, Store, TranscriptAppend
from ._turn_digest import TurnDigest

log = logging.getLogger("session_tree.service")


class TurnEnd:
    """The end of a turn that did not complete, as it is recorded."""

    def __init__(
        self,
        stream_id: int,
        status: StreamStatus,
        message: str,
        event: tuple[str, dict[str, object]],
        expire_reason: str,
    ) -> None:
        self.stream_id = stream_id
        self.status = status
        self.message = message
        self.event = event
        self.expire_reason = expire_reason

    @classmethod
    def of(
        cls, stream_id: int, status: StreamStatus, message: str, *, commit: str | None = None
    ) -> TurnEnd:
        """With ``commit``: the workspace snapshot the turn's end took."""
        snapshot: dict[str, object] = {"commit": commit} if commit else {}
        if status is StreamStatus.FAILED:
            return cls(
                stream_id,
                status,
                message,
                ("error", {"message": message} | snapshot),
                "the turn failed",
            )
        return cls(
            stream_id,
            status,
            message,
            ("interrupted", {"reason": message} | snapshot),
            f"the turn was {message}",
        )

    async def record(self, store: Store) -> None:
        await store.approvals.expire_pending(stream_id=self.stream_id, reason=self.expire_reason)
        await store.turns.end_early(self.stream_id, self.status, self.message, self.event)


@dataclass
class TurnReading:
    """What a turn's items have said so far, as they are stored batch by batch."""

    parent_id: int
    """The node the next item goes under."""
    digest: TurnDigest
    """The items' events, folded as chat sums them up."""
    last_assistant_uuid: str | None = None
    last_message_uuid: str | None = None
    """Of any message, a tool result's too."""
    result: Result | None = None
    model: str | None = None
    """As the child's init message names it (configure may have switched it)."""
    received: bool = False
    mirror: MirrorSessionStore | None = None
    """The child's transcript mirror, whose held appends the turn's writes take."""

    def read(self, batch: list[Item]) -> list[Record]:
        """Take in a batch: what it says, and the records that store it."""
        self.received = True
        for item in batch:
            self.digest.add(item.kind, item.data)
            if item.node is not None and item.node.message_uuid:
                self.last_message_uuid = item.node.message_uuid
                if item.node.kind is not NodeKind.TOOL_RESULT:
                    self.last_assistant_uuid = item.node.message_uuid
            if isinstance(item, Result):
                self.result = item
            elif isinstance(item, Note) and item.kind == "system":
                self.model = _init_model(item.data) or self.model
        return [(item.kind, item.data, item.node) for item in batch]

    async def through_result(self, store: Store, stream_id: int, items: TurnItems) -> list[Record]:
        """Store the child's items batch by batch; the batch that holds the result
        (the turn's last) comes back unwritten, for the turn's end to write."""
        last: list[Record] = []
        try:
            async for batch in batches(items):
                if last:  # a child sends nothing after its result; were it to
                    await self.write(store, stream_id, last)
                last = self.read(batch)
                if self.result is None:
                    await self.write(store, stream_id, last)
                    last = []
        except BaseException:
            await self.write_unended(store, stream_id, last)
            raise
        return last

    async def write(self, store: Store, stream_id: int, records: list[Record]) -> None:
        """Store records ``read`` gave (the next item goes under their last node), and
        what the mirror holds."""
        if records:
            with self.held() as transcripts:
                recorded = await store.turns.record(
                    stream_id, self.parent_id, records, transcripts=transcripts
                )
            self.stored(recorded)

    def held(self) -> contextlib.AbstractContextManager[list[TranscriptAppend]]:
        """The mirror's held appends, for one write (held again if it fails)."""
        return self.mirror.taken() if self.mirror is not None else contextlib.nullcontext([])

    async def write_unended(self, store: Store, stream_id: int, last: list[Record]) -> None:
        """Store the result's batch of a turn whose end was not written (interrupted,
        failed after its result): shielded, and a database that cannot take it only
        logs, since the turn's failure is the news."""
        with anyio.CancelScope(shield=True):
            try:
                if last:  # the mirror's held appends are left to its release
                    self.stored(await store.turns.record(stream_id, self.parent_id, last))
            except DatabaseError as exc:
                log.warning("could not record the result of stream %s: %s", stream_id, exc)

    def stored(self, nodes: list[Node]) -> None:
        """The nodes a batch's records became: the next item goes under the last."""
        if nodes:
            self.parent_id = nodes[-1].id


def _init_model(data: JSONObject) -> str | None:
    """The model an init system message names."""
    inner = data.get("data")
    model = (
        inner.get("model") if isinstance(inner, dict) and data.get("subtype") == "init" else None
    )
    return model if isinstance(model, str) else None


async def batches(items: TurnItems) -> AsyncIterator[list[Item]]:
    """The child's items in batches: each batch is one item and whatever else had
    already arrived behind it, so a burst is written in one transaction and
    nothing waits for a batch to fill. An exception from the child is raised."""
    async for first in items:
        arrived = [first]
        while True:
            try:
                arrived.append(items.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        batch: list[Item] = []
        for item in arrived:
            if isinstance(item, BaseException):
                if batch:
                    yield batch
                raise item
            batch.append(item)
        yield batch
