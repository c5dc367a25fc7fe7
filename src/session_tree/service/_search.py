"""Finding sessions: list's filters, orders and cursors, cost per subtree, and full-text search.

A subtree is a session and every fork below it (forks of forks too). A fork
starts with no usage of its own (it copies nothing), so a subtree's usage is
the sum of its sessions' own, with nothing counted twice.

A list cursor is the sort key of the last row read, so a page starts after
that row however many sessions were made meanwhile (they sort before it, by
activity, or anywhere, by name, without moving the rows after it).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import InvalidArgument
from ..models import Session, StreamStatus, Usage
from ..store import SessionActivity, Store
from ._results import ListOrder, SearchHit, SearchResult, SessionInfo, SessionState

# Hits are read from the index this many times the page at once, so a filter
# that drops most of them still fills a page in a few reads.
_READ_AHEAD = 4


@dataclass(frozen=True)
class SessionFilter:
    """Which sessions list (and search) keep; a field left None keeps every session."""

    status: SessionState | None = None
    cwd: str | None = None
    forked_from: str | None = None
    query: str | None = None

    @property
    def empty(self) -> bool:
        return all(value is None for value in (self.status, self.cwd, self.forked_from, self.query))

    def keeps(self, info: SessionInfo) -> bool:
        session = info.session
        if self.status is not None and info.status != self.status:
            return False
        if self.forked_from is not None and session.forked_from != self.forked_from:
            return False
        if self.cwd is not None and not _under(session.config.cwd, self.cwd):
            return False
        if self.query is not None:
            text = f"{session.name} {session.title or ''}".casefold()
            return all(word in text for word in self.query.casefold().split())
        return True


def _under(cwd: str | None, prefix: str) -> bool:
    """True when ``cwd`` is the directory ``prefix`` or lies below it."""
    if cwd is None:
        return False
    root = os.path.abspath(os.path.expanduser(prefix))
    return cwd == root or cwd.startswith(root.rstrip("/") + "/")


def state(activity: SessionActivity) -> SessionState:
    last = activity.last_status
    if last is StreamStatus.RUNNING:
        return "running"
    if last is StreamStatus.AWAITING_PERMISSION:
        return "awaiting_permission"
    if last is StreamStatus.FAILED:
        return "failed"
    return "idle"


def subtree_usage(sessions: Sequence[Session]) -> dict[int, Usage]:
    """Per session id: its own usage plus that of every fork below it.

    A fork's origin is named; it is looked for on the fork's own tree, so a
    session made later under a deleted origin's name (on another tree) is not
    taken for it.
    """
    by_name = {(s.tree_id, s.name): s for s in sessions}
    totals = {s.id: s.usage for s in sessions}
    for session in sessions:
        seen = {session.id}
        origin = _origin(session, by_name)
        while origin is not None and origin.id not in seen:
            totals[origin.id] = totals[origin.id] + session.usage
            seen.add(origin.id)
            origin = _origin(origin, by_name)
    return totals


def _origin(session: Session, by_name: dict[tuple[int, str], Session]) -> Session | None:
    if session.forked_from is None:
        return None
    return by_name.get((session.tree_id, session.forked_from))


def infos(
    activities: Sequence[SessionActivity], running: dict[int, int], warm: Callable[[str], bool]
) -> list[SessionInfo]:
    """Every session's row, with its subtree's usage."""
    totals = subtree_usage([a.session for a in activities])
    return [
        SessionInfo(
            session=a.session,
            running_stream_id=running.get(a.session.id),
            warm=warm(a.session.name),
            status=state(a),
            last_activity=a.last_activity,
            head_turn_usage=a.head_usage,
            subtree_usage=totals[a.session.id],
        )
        for a in activities
    ]


def page(
    rows: Sequence[SessionInfo],
    *,
    filters: SessionFilter,
    order: ListOrder,
    limit: int | None,
    cursor: str | None,
) -> list[SessionInfo]:
    """The rows the filters keep, in order, after the cursor, at most ``limit``."""
    kept = [row for row in rows if filters.keeps(row)]
    if order == "activity":
        kept.sort(key=_by_activity, reverse=True)
        if cursor is not None:
            seen, last_id = _decode(cursor, order)
            last = (float(seen), last_id)
            kept = [row for row in kept if _by_activity(row) < last]
        keys: list[tuple[float | str, int]] = [_by_activity(row) for row in kept]
    else:
        kept.sort(key=_by_name)
        if cursor is not None:
            seen, last_id = _decode(cursor, order)
            named = (str(seen), last_id)
            kept = [row for row in kept if _by_name(row) > named]
        keys = [_by_name(row) for row in kept]
    if limit is not None:
        kept = kept[:limit]
    return [
        row.model_copy(update={"cursor": _encode(order, key)})
        for row, key in zip(kept, keys, strict=False)
    ]


def _by_activity(row: SessionInfo) -> tuple[float, int]:
    return (row.last_activity or 0.0, row.session.id)


def _by_name(row: SessionInfo) -> tuple[str, int]:
    return (row.session.name, row.session.id)


def _encode(order: ListOrder, key: tuple[float | str, int]) -> str:
    raw = json.dumps([order, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, order: ListOrder) -> tuple[float | str, int]:
    """The sort key in a cursor that a listing in ``order`` gave out."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        value = None
    wanted = (float, int) if order == "activity" else (str,)
    if (
        isinstance(value, list)
        and len(value) == 3
        and value[0] == order
        and isinstance(value[1], wanted)
        and not isinstance(value[1], bool)
        and type(value[2]) is int
    ):
        return (value[1], value[2])
    raise InvalidArgument(
        f"The cursor {cursor[:40]!r} is not one a listing in {order} order gave out: "
        "pass a row's cursor back with the same order, or leave it out to start at the top."
    )


async def search(
    store: Store,
    rows: Sequence[SessionInfo],
    query: str,
    *,
    phrase: bool,
    filters: SessionFilter,
    before: int | None,
    limit: int,
) -> SearchResult:
    """Hits newest first, each placed on the session that said it, kept by ``filters``.

    A hit whose turn's session is gone (deleted while a fork still holds the
    node) or that has none (an imported conversation) is placed on the oldest
    session of its tree.
    """
    by_id = {row.session.id: row for row in rows}
    oldest: dict[int, SessionInfo] = {}
    for row in sorted(rows, key=lambda row: row.session.id, reverse=True):
        oldest[row.session.tree_id] = row
    kept = None if filters.empty else {row.session.id for row in rows if filters.keeps(row)}
    trees = None if kept is None else {by_id[i].session.tree_id for i in kept}
    hits: list[SearchHit] = []
    exhausted = False
    while len(hits) < limit and not exhausted:
        read = limit * _READ_AHEAD
        batch = await store.search.nodes(
            query, phrase=phrase, trees=trees, before=before, limit=read
        )
        exhausted = len(batch) < read
        for index, hit in enumerate(batch):
            before = hit.node_id
            owner = by_id.get(hit.session_id) if hit.session_id is not None else None
            owner = owner or oldest.get(hit.tree_id)
            if owner is None or (kept is not None and owner.session.id not in kept):
                continue
            hits.append(
                SearchHit(
                    session=owner.session.name,
                    node_id=hit.node_id,
                    kind=hit.kind,
                    snippet=hit.snippet,
                    created_at=hit.created_at,
                    fork_at=hit.summary_id,
                )
            )
            if len(hits) == limit:
                exhausted = exhausted and index == len(batch) - 1
                break
    return SearchResult(hits=hits, next_before=None if exhausted else hits[-1].node_id)
