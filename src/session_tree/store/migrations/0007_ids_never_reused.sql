-- Without AUTOINCREMENT SQLite hands out max(id) + 1, so deleting the newest session gave its id,
-- and its streams' and approvals' ids, to the next ones: a late decision on a deleted session's
-- approval landed on another session's call. AUTOINCREMENT keeps the highest id ever used in
-- sqlite_sequence. Adding it means rebuilding each table, the way SQLite documents
-- (lang_altertable.html, "other kinds of table schema changes"): new table, copy, drop, rename,
-- recreate the indexes. _migrate runs it in one transaction with foreign keys off (dropping a
-- parent table would otherwise cascade into its children) and runs foreign_key_check before
-- committing. The columns are those of migrations 0001 to 0006, in the same order. Each sequence
-- starts at the largest id the file still holds or refers to: an id deleted before this migration
-- left no other trace.

CREATE TABLE new_trees (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL
);
INSERT INTO new_trees (id, created_at) SELECT id, created_at FROM trees;
DROP TABLE trees;
ALTER TABLE new_trees RENAME TO trees;

CREATE TABLE new_nodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tree_id INTEGER NOT NULL REFERENCES trees(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES nodes(id),
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    ephemeral INTEGER NOT NULL DEFAULT 0,
    depth INTEGER NOT NULL,
    message_uuid TEXT,
    created_at REAL NOT NULL
);
INSERT INTO new_nodes
    (id, tree_id, parent_id, kind, data, ephemeral, depth, message_uuid, created_at)
    SELECT id, tree_id, parent_id, kind, data, ephemeral, depth, message_uuid, created_at
    FROM nodes;
DROP TABLE nodes;
ALTER TABLE new_nodes RENAME TO nodes;
CREATE INDEX nodes_parent ON nodes(parent_id);
CREATE INDEX nodes_tree ON nodes(tree_id);
CREATE INDEX nodes_ephemeral ON nodes(tree_id) WHERE ephemeral = 1;

CREATE TABLE new_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    updated_at REAL NOT NULL,
    loopback_token TEXT
);
INSERT INTO new_sessions
    (id, name, tree_id, head_id, config, claude_session_id, forked_from, fork_node_id,
     status, usage, created_at, updated_at, loopback_token)
    SELECT id, name, tree_id, head_id, config, claude_session_id, forked_from,
        fork_node_id, status, usage, created_at, updated_at, loopback_token
    FROM sessions;
DROP TABLE sessions;
ALTER TABLE new_sessions RENAME TO sessions;
CREATE INDEX sessions_tree ON sessions(tree_id);
CREATE UNIQUE INDEX sessions_loopback_token ON sessions(loopback_token)
    WHERE loopback_token IS NOT NULL;

CREATE TABLE new_streams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    ephemeral INTEGER NOT NULL DEFAULT 0,
    prompt_node_id INTEGER REFERENCES nodes(id) ON DELETE SET NULL,
    error TEXT,
    last_seq INTEGER NOT NULL DEFAULT -1,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    runner TEXT
);
INSERT INTO new_streams
    (id, session_id, status, ephemeral, prompt_node_id, error, last_seq, created_at,
     updated_at, runner)
    SELECT id, session_id, status, ephemeral, prompt_node_id, error, last_seq,
        created_at, updated_at, runner
    FROM streams;
DROP TABLE streams;
ALTER TABLE new_streams RENAME TO streams;
CREATE INDEX streams_session ON streams(session_id);

CREATE TABLE new_approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO new_approvals
    (id, session_id, stream_id, tool_name, input, tool_use_id, status, decision,
     decided_by, created_at, decided_at)
    SELECT id, session_id, stream_id, tool_name, input, tool_use_id, status, decision,
        decided_by, created_at, decided_at
    FROM approvals;
DROP TABLE approvals;
ALTER TABLE new_approvals RENAME TO approvals;
CREATE INDEX approvals_pending ON approvals(session_id) WHERE status = 'pending';
CREATE INDEX approvals_stream_pending ON approvals(stream_id) WHERE status = 'pending';

DELETE FROM sqlite_sequence
    WHERE name IN ('trees', 'nodes', 'sessions', 'streams', 'approvals');
INSERT INTO sqlite_sequence (name, seq) VALUES
    ('trees', max(
        coalesce((SELECT max(id) FROM trees), 0),
        coalesce((SELECT max(tree_id) FROM nodes), 0),
        coalesce((SELECT max(tree_id) FROM sessions), 0))),
    ('nodes', max(
        coalesce((SELECT max(id) FROM nodes), 0),
        coalesce((SELECT max(parent_id) FROM nodes), 0),
        coalesce((SELECT max(head_id) FROM sessions), 0),
        coalesce((SELECT max(fork_node_id) FROM sessions), 0),
        coalesce((SELECT max(prompt_node_id) FROM streams), 0))),
    ('sessions', max(
        coalesce((SELECT max(id) FROM sessions), 0),
        coalesce((SELECT max(session_id) FROM streams), 0),
        coalesce((SELECT max(session_id) FROM approvals), 0))),
    ('streams', max(
        coalesce((SELECT max(id) FROM streams), 0),
        coalesce((SELECT max(stream_id) FROM events), 0),
        coalesce((SELECT max(stream_id) FROM approvals), 0))),
    ('approvals', coalesce((SELECT max(id) FROM approvals), 0))
