"""How a session row is read: its title, and what list shows beside it.

A session's title is the one given (or a fork's, marked when it was made), else
the first line of its first prompt; list adds how its last turn went, when it
last moved, and what the turn that made its head cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Session, StreamStatus, Usage
from . import _rows
from ._sql import Row

TITLE_CHARS = 80
FORK_MARK = " (fork)"

# A session's title: the one given (or a fork's, marked when it was made), else
# the first line of its first prompt: the prompt of its first kept turn, or, for
# an imported session (no turns of its own), the first prompt under its root.
_TITLE_COLUMNS = """
(SELECT title FROM session_titles WHERE session_id = sessions.id) AS given_title,
coalesce(
    (SELECT substr(json_extract(first.data, '$.text'), 1, 400)
     FROM streams JOIN nodes AS first ON first.id = streams.prompt_node_id
     WHERE streams.session_id = sessions.id AND first.ephemeral = 0
     ORDER BY streams.id LIMIT 1),
    (SELECT substr(json_extract(first.data, '$.text'), 1, 400) FROM nodes AS first
     WHERE first.parent_id = (SELECT min(id) FROM nodes WHERE tree_id = sessions.tree_id)
     AND first.kind = 'user' AND first.ephemeral = 0 ORDER BY first.id LIMIT 1)
) AS first_prompt
"""
SESSION_SELECT = f"SELECT sessions.*, {_TITLE_COLUMNS} FROM sessions"
# What list shows beside each session: how its last turn went, when it last
# moved, and what the turn that made its head cost.
OVERVIEW_SELECT = f"""
SELECT sessions.*, {_TITLE_COLUMNS},
    (SELECT status FROM streams WHERE session_id = sessions.id ORDER BY id DESC LIMIT 1)
        AS last_status,
    max(sessions.updated_at, coalesce(
        (SELECT max(updated_at) FROM streams WHERE session_id = sessions.id), 0))
        AS last_activity,
    (SELECT json_extract(data, '$.usage') FROM nodes
     WHERE id = sessions.head_id AND kind = 'summary') AS head_usage
FROM sessions
"""


@dataclass(frozen=True)
class SessionActivity:
    """A session with what list shows beside it."""

    session: Session
    last_status: StreamStatus | None
    """The status of its newest turn; None before its first."""
    last_activity: float
    head_usage: Usage | None
    """The usage of the turn whose summary is the head; None at the root."""


def title_from_prompt(prompt: str | None) -> str | None:
    """The first line of a prompt that holds words, cut at TITLE_CHARS."""
    for line in (prompt or "").splitlines():
        words = " ".join(line.split())
        if words:
            return words if len(words) <= TITLE_CHARS else words[: TITLE_CHARS - 1] + "…"
    return None


def fork_title(title: str | None) -> str | None:
    """A fork's title: its origin's, marked once as a fork."""
    if title is None or title.endswith(FORK_MARK):
        return title
    return title + FORK_MARK


def session_of(row: Row) -> Session:
    title = row["given_title"] or title_from_prompt(row["first_prompt"])
    return _rows.session(row).model_copy(update={"title": title})


def activity_of(row: Row) -> SessionActivity:
    """A row of OVERVIEW_SELECT."""
    return SessionActivity(
        session=session_of(row),
        last_status=None if row["last_status"] is None else StreamStatus(row["last_status"]),
        last_activity=row["last_activity"],
        head_usage=None
        if row["head_usage"] is None
        else Usage.model_validate_json(row["head_usage"]),
    )
