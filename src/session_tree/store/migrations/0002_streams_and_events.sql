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
