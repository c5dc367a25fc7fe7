-- Each cold resume or fork of a child makes Claude Code write a new transcript that repeats the
-- whole history, so the mirror grew by the history's size per turn. A transcript now holds its own
-- entries plus, optionally, one shared block: the first base_count entries with a uuid of its base
-- transcript, rewritten by a few field rules, placed at base_at (see _transcripts.py). Large top-
-- level values are stored once in transcript_values. A deleted transcript that a fork still shares
-- stays, with live = 0, until nothing refers to it. Existing transcripts are carried over as they
-- were: own entries only, in order.

CREATE TABLE transcripts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_key TEXT NOT NULL,
    session_id TEXT NOT NULL,
    subpath TEXT NOT NULL DEFAULT '',
    live INTEGER NOT NULL DEFAULT 1,
    base_id INTEGER REFERENCES transcripts(id),
    base_at INTEGER NOT NULL DEFAULT 0,
    base_count INTEGER NOT NULL DEFAULT 0,
    rules TEXT,
    length INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX transcripts_live_key
    ON transcripts(project_key, session_id, subpath) WHERE live = 1;
CREATE INDEX transcripts_base ON transcripts(base_id) WHERE base_id IS NOT NULL;
INSERT INTO transcripts (project_key, session_id, subpath, length)
    SELECT f.project_key, f.session_id, f.subpath,
        (SELECT count(*) FROM transcript_entries e WHERE e.project_key = f.project_key
            AND e.session_id = f.session_id AND e.subpath = f.subpath)
    FROM transcript_files f ORDER BY f.project_key, f.session_id, f.subpath;
CREATE TABLE new_transcript_entries (
    transcript_id INTEGER NOT NULL REFERENCES transcripts(id),
    seq INTEGER NOT NULL,
    uuid TEXT,
    entry TEXT NOT NULL,
    refs TEXT,
    PRIMARY KEY (transcript_id, seq)
) WITHOUT ROWID;
INSERT INTO new_transcript_entries (transcript_id, seq, uuid, entry)
    SELECT t.id,
        row_number() OVER (PARTITION BY e.project_key, e.session_id, e.subpath
            ORDER BY e.id) - 1,
        e.uuid, e.entry
    FROM transcript_entries e JOIN transcripts t ON t.project_key = e.project_key
        AND t.session_id = e.session_id AND t.subpath = e.subpath;
DROP TABLE transcript_entries;
ALTER TABLE new_transcript_entries RENAME TO transcript_entries;
CREATE INDEX transcript_entries_uuid ON transcript_entries(uuid) WHERE uuid IS NOT NULL;
CREATE TABLE transcript_values (
    id INTEGER PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE,
    value TEXT NOT NULL
)
