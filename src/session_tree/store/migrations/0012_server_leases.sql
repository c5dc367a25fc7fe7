-- Liveness by lease. Each running server holds a row here and renews it every few seconds; a
-- turn whose server's lease has expired is ended by any live server, whatever machine either
-- runs on (a host and pid say nothing across machines). ids are never reused (AUTOINCREMENT),
-- so a server that finds its own row ended knows its turns were ended for it. ended_at is set
-- when a server stops cleanly or when a live one finds its lease expired; expires_at is in the
-- clock of the server that wrote it (one machine for SQLite).
CREATE TABLE servers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_started TEXT,
    started_at REAL NOT NULL,
    renewed_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    ended_at REAL
);
CREATE INDEX servers_live ON servers(expires_at) WHERE ended_at IS NULL;

-- The server whose lease a turn runs under (null: written before leases, see streams.runner).
ALTER TABLE streams ADD COLUMN server_id INTEGER REFERENCES servers(id);
