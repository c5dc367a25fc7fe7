"""Named, ordered schema migrations, recorded in the ``migrations`` table.

Append new migrations to the end of :data:`MIGRATIONS`; never edit or reorder
one that has shipped. A database from any earlier version opens and upgrades;
a database that records a migration this version does not know was written by
a newer session-tree and is refused rather than guessed at.
"""

from __future__ import annotations

from typing import Final

# Marks the file as ours (PRAGMA application_id), so a stranger's SQLite file
# is recognised before anything is written to it. "STre" in ASCII.
APPLICATION_ID: Final = 0x53547265

# nodes.parent_id has no ON DELETE action on purpose: garbage collection deletes
# a descendant-closed set in one statement, and SQLite checks the constraint at
# the end of the statement. A cascade would recurse once per tree level and fail
# past SQLite's trigger depth on deep trees. (No semicolons inside the SQL
# below except between statements: they are split on it.)
MIGRATIONS: Final[list[tuple[str, str]]] = [
    (
        "0001_nodes_and_sessions",
        """
        CREATE TABLE trees (
            id INTEGER PRIMARY KEY,
            created_at REAL NOT NULL
        );
        CREATE TABLE nodes (
            id INTEGER PRIMARY KEY,
            tree_id INTEGER NOT NULL REFERENCES trees(id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES nodes(id),
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            ephemeral INTEGER NOT NULL DEFAULT 0,
            depth INTEGER NOT NULL,
            message_uuid TEXT,
            created_at REAL NOT NULL
        );
        CREATE INDEX nodes_parent ON nodes(parent_id);
        CREATE INDEX nodes_tree ON nodes(tree_id);
        CREATE INDEX nodes_ephemeral ON nodes(tree_id) WHERE ephemeral = 1;
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            tree_id INTEGER NOT NULL REFERENCES trees(id),
            head_id INTEGER NOT NULL REFERENCES nodes(id),
            config TEXT NOT NULL,
            claude_session_id TEXT,
            forked_from TEXT,
            fork_node_id INTEGER REFERENCES nodes(id) ON DELETE SET NULL,
            status TEXT NOT NULL,
            usage TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX sessions_tree ON sessions(tree_id);
        """,
    ),
    (
        "0002_streams_and_events",
        """
        CREATE TABLE streams (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            ephemeral INTEGER NOT NULL DEFAULT 0,
            prompt_node_id INTEGER REFERENCES nodes(id) ON DELETE SET NULL,
            error TEXT,
            last_seq INTEGER NOT NULL DEFAULT -1,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX streams_session ON streams(session_id);
        CREATE TABLE events (
            stream_id INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (stream_id, seq)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0003_approvals",
        """
        CREATE TABLE approvals (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            stream_id INTEGER REFERENCES streams(id) ON DELETE SET NULL,
            tool_name TEXT NOT NULL,
            input TEXT NOT NULL,
            tool_use_id TEXT,
            status TEXT NOT NULL,
            decision TEXT,
            decided_by TEXT,
            created_at REAL NOT NULL,
            decided_at REAL
        );
        CREATE INDEX approvals_pending ON approvals(session_id) WHERE status = 'pending';
        """,
    ),
    (
        "0004_transcript_mirror",
        """
        CREATE TABLE transcript_entries (
            id INTEGER PRIMARY KEY,
            project_key TEXT NOT NULL,
            session_id TEXT NOT NULL,
            subpath TEXT NOT NULL DEFAULT '',
            uuid TEXT,
            entry TEXT NOT NULL
        );
        CREATE INDEX transcript_entries_key
            ON transcript_entries(project_key, session_id, subpath, id);
        CREATE UNIQUE INDEX transcript_entries_uuid
            ON transcript_entries(project_key, session_id, subpath, uuid)
            WHERE uuid IS NOT NULL;
        CREATE TABLE transcript_files (
            project_key TEXT NOT NULL,
            session_id TEXT NOT NULL,
            subpath TEXT NOT NULL DEFAULT '',
            mtime INTEGER NOT NULL,
            PRIMARY KEY (project_key, session_id, subpath)
        ) WITHOUT ROWID;
        CREATE TABLE transcript_summaries (
            project_key TEXT NOT NULL,
            session_id TEXT NOT NULL,
            mtime INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (project_key, session_id)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0005_loopback_tokens",
        """
        ALTER TABLE sessions ADD COLUMN loopback_token TEXT;
        CREATE UNIQUE INDEX sessions_loopback_token ON sessions(loopback_token)
            WHERE loopback_token IS NOT NULL;
        CREATE INDEX approvals_stream_pending ON approvals(stream_id) WHERE status = 'pending'
        """,
    ),
    (
        "0006_stream_runners",
        """
        ALTER TABLE streams ADD COLUMN runner TEXT
        """,
    ),
]
