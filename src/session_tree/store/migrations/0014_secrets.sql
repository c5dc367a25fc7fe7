-- Random keys a server on this database keeps across restarts: what it seals
-- or signs (task ids bound to their streams) must still verify after a restart.
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    created_at REAL NOT NULL
)
