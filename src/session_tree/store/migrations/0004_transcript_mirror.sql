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
