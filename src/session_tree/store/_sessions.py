"""Sessions: named head pointers into a tree.

The only rows here that change are pointers and counters (head, status, usage,
config, the child's session id); the nodes they point at never do. Each change
reads what it builds on and writes in one write transaction, so two servers on
one file cannot lose each other's changes (a config merge, a rule added).
"""

from __future__ import annotations

import hmac
import secrets
import sqlite3
from collections.abc import Callable, Mapping, Sequence

from ..errors import InvalidArgument, NodeNotFound, SessionBusy, SessionExists, SessionNotFound
from ..models import (
    NewNode,
    NodeKind,
    Session,
    SessionConfig,
    SessionStatus,
    Usage,
    check_transition,
)
from . import _rows
from ._database import now
from ._nodes import _insert, collect_garbage, insert_chain
from ._session_rows import (
    OVERVIEW_SELECT,
    SESSION_SELECT,
    SessionActivity,
    activity_of,
    fork_title,
    session_of,
)
from ._sql import Connection, Database

# A loopback token is looked up by its first characters and then compared whole
# in constant time: the index search may reveal through its timing at most this
# prefix, never the remaining 24 characters (144 bits) of a 32-character token.
_TOKEN_KEY_CHARS = 8
# Above every character of a URL-safe token, so ``key || '~'`` bounds a prefix range.
_TOKEN_KEY_END = "~"


class Sessions:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        name: str,
        config: SessionConfig | None = None,
        *,
        root_data: dict[str, object] | None = None,
        history: Sequence[NewNode] = (),
        claude_session_id: str | None = None,
        title: str | None = None,
    ) -> Session:
        """A new session on a new tree; its head is the tree's root.

        With ``history``, the nodes are appended as a chain under the root and
        the head is the last of them, all in one transaction: an imported
        conversation appears whole or not at all.
        """
        config = config or SessionConfig()
        async with self._db.write() as conn:
            await _ensure_free(conn, name)
            created = now()
            cursor = await conn.execute("INSERT INTO trees (created_at) VALUES (?)", (created,))
            assert cursor.lastrowid is not None
            root = await _insert(
                conn,
                cursor.lastrowid,
                None,
                -1,
                NewNode(kind=NodeKind.ROOT, data=dict(root_data or {})),
                created,
            )
            chain = await insert_chain(conn, root.id, history) if history else []
            return await _insert_session(
                conn,
                name=name,
                tree_id=root.tree_id,
                head_id=chain[-1].id if chain else root.id,
                config=config,
                created=created,
                claude_session_id=claude_session_id,
                title=title,
            )

    async def fork(self, name: str, new_name: str, *, at: int | None = None) -> Session:
        """A new session whose head is ``at`` (default: ``name``'s head). O(1): copies nothing."""
        async with self._db.write() as conn:
            source = await get_session(conn, name)
            await _ensure_free(conn, new_name)
            head_id = source.head_id if at is None else at
            async with conn.execute("SELECT tree_id FROM nodes WHERE id = ?", (head_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NodeNotFound(head_id)
            if row["tree_id"] != source.tree_id:
                raise InvalidArgument(
                    f"Node {head_id} is not in the tree of session {name!r}. "
                    f"Call tree on {name!r} to see the nodes you can fork at."
                )
            return await _insert_session(
                conn,
                name=new_name,
                tree_id=source.tree_id,
                head_id=head_id,
                config=source.config,
                created=now(),
                claude_session_id=source.claude_session_id,
                forked_from=source.name,
                fork_node_id=head_id,
                title=fork_title(source.title),
            )

    async def get(self, name: str) -> Session:
        row = await self._db.row(f"{SESSION_SELECT} WHERE name = ?", (name,))
        if row is None:
            raise SessionNotFound(name, await self.names())
        return session_of(row)

    async def get_by_id(self, session_id: int) -> Session:
        row = await self._db.one(f"{SESSION_SELECT} WHERE id = ?", (session_id,))
        if row is None:
            raise SessionNotFound(f"#{session_id}", await self.names())
        return session_of(row)

    async def all(self) -> list[Session]:
        rows = await self._db.all(f"{SESSION_SELECT} ORDER BY name")
        return [session_of(row) for row in rows]

    async def overview(self, *, tree_id: int | None = None) -> list[SessionActivity]:
        """Every session (or one tree's: a session and all its forks share a tree), by id,
        with its last turn's status, last activity and head usage."""
        rows = await self._db.all(
            f"{OVERVIEW_SELECT} WHERE ?1 IS NULL OR sessions.tree_id = ?1 ORDER BY sessions.id",
            (tree_id,),
        )
        return [activity_of(row) for row in rows]

    async def set_title(self, name: str, title: str) -> Session:
        """Give the session its own title (a fork's replaces the one marked from its origin)."""
        async with self._db.write() as conn:
            owner = await session_id(conn, name)
            await conn.execute(
                "INSERT INTO session_titles (session_id, title) VALUES (?, ?) "
                "ON CONFLICT (session_id) DO UPDATE SET title = excluded.title",
                (owner, title),
            )
            return await get_session(conn, name)

    async def names(self) -> list[str]:
        rows = await self._db.all("SELECT name FROM sessions ORDER BY name")
        return [row[0] for row in rows]

    async def set_head(self, name: str, node_id: int) -> Session:
        """Move the head; the node must be in the session's tree."""
        async with self._db.write() as conn:
            session = await get_session(conn, name)
            async with conn.execute("SELECT tree_id FROM nodes WHERE id = ?", (node_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None or row["tree_id"] != session.tree_id:
                raise NodeNotFound(node_id)
            return await update_session(conn, name, head_id=node_id)

    async def set_status(self, name: str, status: SessionStatus) -> Session:
        async with self._db.write() as conn:
            return await update_session(conn, name, status=status)

    async def set_claude_session_id(self, name: str, claude_session_id: str | None) -> Session:
        async with self._db.write() as conn:
            await get_session(conn, name)
            return await update_session(conn, name, claude_session_id=claude_session_id)

    async def set_config(self, name: str, config: SessionConfig) -> Session:
        """Replace the whole config. To change some fields, use ``update_config``."""
        async with self._db.write() as conn:
            await get_session(conn, name)
            return await update_session(conn, name, config=config.model_dump_json())

    async def update_config(
        self,
        name: str,
        changes: Mapping[str, object],
        check: Callable[[SessionConfig], None] | None = None,
    ) -> Session:
        """Change only the fields named in ``changes``, read and written in one
        write transaction, so concurrent changes of other fields (from this
        process or another) are all kept. ``check`` (policy validation; it
        raises to refuse) sees the merged config before anything is written."""
        async with self._db.write() as conn:
            session = await get_session(conn, name)
            config = SessionConfig.model_validate(session.config.model_dump() | dict(changes))
            if check is not None:
                check(config)
            return await update_session(conn, name, config=config.model_dump_json())

    async def add_rule(self, name: str, rule: str, *, allow: bool) -> Session:
        """Add a tool rule to the session's allowed (or disallowed) list, once."""
        async with self._db.write() as conn:
            session = await get_session(conn, name)
            config = session.config
            field = "allowed_tools" if allow else "disallowed_tools"
            rules: list[str] = getattr(config, field)
            if rule in rules:
                return session
            config = config.model_copy(update={field: [*rules, rule]})
            return await update_session(conn, name, config=config.model_dump_json())

    async def loopback_token(self, name: str) -> str:
        """The session's loopback token, made on first use: the value an outside
        Claude Code's session-tree server presents to ask on this session's behalf."""
        async with self._db.write() as conn:
            session = await get_session(conn, name)
            async with conn.execute(
                "SELECT loopback_token FROM sessions WHERE id = ?", (session.id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None and row[0]:
                return str(row[0])
            token = secrets.token_urlsafe(24)
            await conn.execute(
                "UPDATE sessions SET loopback_token = ? WHERE id = ?", (token, session.id)
            )
            return token

    async def by_loopback_token(self, token: str) -> Session:
        """The session whose loopback token is ``token``, compared in constant time."""
        key = token[:_TOKEN_KEY_CHARS]
        candidates = (
            await self._db.all(
                f"{SESSION_SELECT} WHERE loopback_token >= ? AND loopback_token < ?",
                (key, key + _TOKEN_KEY_END),
            )
            if key
            else []
        )
        presented = token.encode()
        found = [
            row
            for row in candidates
            if hmac.compare_digest(str(row["loopback_token"]).encode(), presented)
        ]
        if not found:
            raise InvalidArgument(
                "No session has this loopback token (was the session deleted?). "
                "Ask the parent for a fresh MCP config with loopback_config."
            )
        return session_of(found[0])

    async def add_usage(self, name: str, usage: Usage) -> Session:
        async with self._db.write() as conn:
            session = await get_session(conn, name)
            return await update_session(conn, name, usage=(session.usage + usage).model_dump_json())

    async def delete(self, name: str) -> int:
        """Delete the session, its streams and approvals, and the nodes no other
        session (and no running turn) reaches. Returns how many nodes were removed.

        Refused with :class:`SessionBusy` while the session has a turn running, in
        this process or any other: the check and the delete are one write
        transaction, and ``Turns.begin`` is another, so they never interleave.
        """
        async with self._db.write(freeing=True) as conn:
            session = await get_session(conn, name)
            running = await running_turn(conn, session.id)
            if running is not None:
                raise SessionBusy(name, running)
            await conn.execute("DELETE FROM sessions WHERE id = ?", (session.id,))
            return await collect_garbage(conn, session.tree_id, [])


async def get_session(conn: Connection, name: str) -> Session:
    async with conn.execute(f"{SESSION_SELECT} WHERE name = ?", (name,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise await _not_found(conn, name)
    return session_of(row)


async def running_turn(conn: Connection, owner: int) -> int | None:
    """The stream id of the session's turn not yet ended, inside a transaction.

    A turn's stream has a prompt node; a bare stream (``Streams.create``) has
    none and holds nothing of the tree, so it does not count.
    """
    async with conn.execute(
        f"SELECT id FROM streams WHERE session_id = ? AND status IN ({_rows.ACTIVE_STREAM}) "
        "AND prompt_node_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        (owner,),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else int(row[0])


async def session_id(conn: Connection, name: str) -> int:
    """The row id of the session called ``name``, inside a transaction."""
    async with conn.execute("SELECT id FROM sessions WHERE name = ?", (name,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise await _not_found(conn, name)
    return int(row[0])


async def _not_found(conn: Connection, name: str) -> SessionNotFound:
    async with conn.execute("SELECT name FROM sessions ORDER BY name") as cursor:
        known = [r[0] for r in await cursor.fetchall()]
    return SessionNotFound(name, known)


async def _ensure_free(conn: Connection, name: str) -> None:
    async with conn.execute("SELECT 1 FROM sessions WHERE name = ?", (name,)) as cursor:
        if await cursor.fetchone() is not None:
            raise SessionExists(name)


async def _insert_session(
    conn: Connection,
    *,
    name: str,
    tree_id: int,
    head_id: int,
    config: SessionConfig,
    created: float,
    claude_session_id: str | None = None,
    forked_from: str | None = None,
    fork_node_id: int | None = None,
    title: str | None = None,
) -> Session:
    try:
        cursor = await conn.execute(
            "INSERT INTO sessions (name, tree_id, head_id, config, claude_session_id, forked_from, "
            "fork_node_id, status, usage, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                tree_id,
                head_id,
                config.model_dump_json(),
                claude_session_id,
                forked_from,
                fork_node_id,
                SessionStatus.IDLE.value,
                Usage().model_dump_json(),
                created,
                created,
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise SessionExists(name) from exc
    assert cursor.lastrowid is not None
    if title is not None:
        await conn.execute(
            "INSERT INTO session_titles (session_id, title) VALUES (?, ?)",
            (cursor.lastrowid, title),
        )
    return Session(
        id=cursor.lastrowid,
        name=name,
        title=title,
        tree_id=tree_id,
        head_id=head_id,
        config=config,
        claude_session_id=claude_session_id,
        forked_from=forked_from,
        fork_node_id=fork_node_id,
        created_at=created,
        updated_at=created,
    )


_UPDATABLE = frozenset({"head_id", "status", "claude_session_id", "config", "usage"})


async def update_session(
    conn: Connection, name: str, *, status: SessionStatus | None = None, **values: object
) -> Session:
    """Change the session's row inside a write transaction; a status change is
    checked against the session lifecycle first."""
    assert values.keys() <= _UPDATABLE - {"status"}, values.keys() - _UPDATABLE
    if status is not None:
        current = await get_session(conn, name)
        check_transition(f"Session {name!r}", current.status, status)
        values["status"] = status.value
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    await conn.execute(
        f"UPDATE sessions SET {assignments}, updated_at = :updated_at WHERE name = :name",
        {**values, "updated_at": now(), "name": name},
    )
    return await get_session(conn, name)
