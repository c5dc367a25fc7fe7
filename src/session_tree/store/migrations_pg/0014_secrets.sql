-- Migration 0014 (secrets) for PostgreSQL: random keys a server on this database keeps across
-- restarts (what it seals or signs must still verify after a restart), as in migrations/.

CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
