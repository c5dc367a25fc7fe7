"""Row <-> model conversion, kept apart so the queries read as queries."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from ..errors import InvalidArgument
from ..models import (
    STORED,
    Approval,
    ApprovalStatus,
    Event,
    JSONObject,
    Node,
    NodeKind,
    Session,
    SessionConfig,
    SessionStatus,
    Stream,
    StreamStatus,
    Usage,
)
from ._sql import Row


def sql_list(members: Iterable[StrEnum]) -> str:
    """Status values as quoted SQL literals, comma-separated, for ``IN (...)``.

    Rendered from the enums so that SQL never spells a status itself; the values
    are our own constants (checked here), never caller input.
    """
    values = [member.value for member in members]
    assert values
    assert all(value.isidentifier() for value in values), values
    return ", ".join(f"'{value}'" for value in values)


ACTIVE_STREAM = sql_list(status for status in StreamStatus if not status.terminal)
"""The stream statuses of a turn that has not ended."""
PENDING_APPROVAL = sql_list([ApprovalStatus.PENDING])


def dumps(value: Any) -> str:
    """``value`` as compact JSON, refusing Infinity and NaN.

    Python's json would write them as bare ``Infinity`` and ``NaN``, which are
    not JSON: SQLite's json() refuses such a row, and with it every path through
    a node holding one. Raises :class:`InvalidArgument` saying where one is.
    """
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        found = _non_finite(value, "$")
        if found is None:
            raise
        where, number = found
        raise InvalidArgument(
            f"The value at {where} is {number!r}, a number JSON cannot hold: "
            'use a finite number, null, or a string such as "inf".'
        ) from exc


def _non_finite(value: Any, where: str) -> tuple[str, float] | None:
    """The JSON path and value of the first non-finite float in ``value``, if any."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, value)
    if isinstance(value, dict):
        items: Iterable[tuple[str, Any]] = ((f"{where}.{key}", item) for key, item in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{where}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for path, item in items:
        found = _non_finite(item, path)
        if found is not None:
            return found
    return None


def loads_object(text: str) -> JSONObject:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


NODE_COLUMNS = ", ".join(
    f"nodes.{column}"
    for column in (
        "id",
        "tree_id",
        "parent_id",
        "kind",
        "data",
        "ephemeral",
        "depth",
        "message_uuid",
        "created_at",
    )
)
_NODE_KINDS = {kind.value: kind for kind in NodeKind}


def node(row: Row) -> Node:
    """A node from a row selected with NODE_COLUMNS, in that order.

    Nodes are read in bulk (a 10,000-deep path is one query), so this skips
    pydantic validation: the rows were validated when they were written.
    """
    return Node.model_construct(
        id=row[0],
        tree_id=row[1],
        parent_id=row[2],
        kind=_NODE_KINDS[row[3]],
        data=json.loads(row[4]),
        ephemeral=bool(row[5]),
        depth=row[6],
        message_uuid=row[7],
        created_at=row[8],
    )


def session(row: Row) -> Session:
    return Session(
        id=row["id"],
        name=row["name"],
        tree_id=row["tree_id"],
        head_id=row["head_id"],
        config=SessionConfig.model_validate_json(row["config"], context=STORED),
        claude_session_id=row["claude_session_id"],
        forked_from=row["forked_from"],
        fork_node_id=row["fork_node_id"],
        status=SessionStatus(row["status"]),
        usage=Usage.model_validate_json(row["usage"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


STREAM_COLUMNS = "streams.*, sessions.name AS session_name"


def stream(row: Row) -> Stream:
    return Stream(
        id=row["id"],
        session_id=row["session_id"],
        session_name=row["session_name"],
        status=StreamStatus(row["status"]),
        ephemeral=bool(row["ephemeral"]),
        prompt_node_id=row["prompt_node_id"],
        error=row["error"],
        last_seq=row["last_seq"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def event(row: Row) -> Event:
    return Event(
        stream_id=row["stream_id"],
        seq=row["seq"],
        kind=row["kind"],
        data=loads_object(row["data"]),
        created_at=row["created_at"],
    )


APPROVAL_COLUMNS = "approvals.*, sessions.name AS session_name"


def approval(row: Row) -> Approval:
    return Approval(
        id=row["id"],
        session_id=row["session_id"],
        session_name=row["session_name"],
        stream_id=row["stream_id"],
        tool_name=row["tool_name"],
        input=loads_object(row["input"]),
        tool_use_id=row["tool_use_id"],
        status=ApprovalStatus(row["status"]),
        decision=loads_object(row["decision"]) if row["decision"] is not None else None,
        decided_by=row["decided_by"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
    )
