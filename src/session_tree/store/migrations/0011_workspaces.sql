-- A session's git workspace: the worktree its child works in, and the ref (in the user's
-- repository, under refs/session-tree/) that holds its turn snapshots. A row is written before its
-- worktree exists and bound to its session once the session row is there; a row whose session is
-- gone (never bound after a crash, or its session deleted) is the service's to clean up: it removes
-- the worktree and the ref, then the row.

CREATE TABLE workspaces (
    key TEXT PRIMARY KEY,
    session_id INTEGER UNIQUE REFERENCES sessions(id) ON DELETE SET NULL,
    repo TEXT NOT NULL,
    path TEXT NOT NULL,
    ref TEXT NOT NULL,
    start_commit TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    created_at REAL NOT NULL
);
