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
