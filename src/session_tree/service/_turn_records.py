"""How a turn's items reach the store: in batches, and the end of a turn that did not complete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio

from ..agents import Item, Note, Result, TurnItems
from ..models import JSONObject, NodeKind, StreamStatus
from ..store import Store


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
    last_assistant_uuid: str | None = None
    last_message_uuid: str | None = None
    """Of any message, a tool result's too."""
    result: Result | None = None
    model: str | None = None
    """As the child's init message names it (configure may have switched it)."""
    received: bool = False

    async def record(self, store: Store, stream_id: int, batch: list[Item]) -> None:
        self.received = True
        records = [(item.kind, item.data, item.node) for item in batch]
        for node in await store.turns.record(stream_id, self.parent_id, records):
            self.parent_id = node.id
            if node.message_uuid:
                self.last_message_uuid = node.message_uuid
                if node.kind is not NodeKind.TOOL_RESULT:
                    self.last_assistant_uuid = node.message_uuid
        for item in batch:
            if isinstance(item, Result):
                self.result = item
            elif isinstance(item, Note) and item.kind == "system":
                self.model = _init_model(item.data) or self.model


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
