-- nodes.parent_id has no ON DELETE action on purpose: garbage collection deletes a descendant-
-- closed set in one statement, and SQLite checks the constraint at the end of the statement. A
-- cascade would recurse once per tree level and fail past SQLite's trigger depth on deep trees.

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
