-- Migration 0011 (workspaces) for PostgreSQL: a session's git workspace, as in migrations/.
-- Named 0011 like SQLite's, it runs after 0012_postgresql_schema (the baseline every PostgreSQL
-- database starts from, _pg.py applies it first), since the baseline makes the sessions table.

CREATE TABLE workspaces (
    key TEXT PRIMARY KEY,
    session_id BIGINT UNIQUE REFERENCES sessions(id) ON DELETE SET NULL,
    repo TEXT NOT NULL,
    path TEXT NOT NULL,
    ref TEXT NOT NULL,
    start_commit TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
