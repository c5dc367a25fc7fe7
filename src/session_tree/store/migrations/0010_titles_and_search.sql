-- What the search index holds of a node, as SQL over a node row: the text a person would
-- search for (a prompt, a reply, thinking, a tool's name and input, a tool result). Input and
-- block lists come out of json_extract as JSON text, so the escapes of newline, tab and quote are
-- turned back into those characters: JSON "a\nb" must index as two words, not as "a" and "nb".
-- (json_tree would decode them, but FTS5 cannot read a view that calls a table-valued function.)
-- The delete trigger hands FTS5 the same text, as an external-content table needs, so this
-- expression is part of the migration and never changes. Searchable: the five kinds that hold
-- conversation, outside ephemeral turns (a side question is on no branch, and is swept), with data
-- that is JSON (a row written by hand that is not must not stop the write). Titles live in a table
-- of their own, so the sessions table keeps the columns every earlier migration gave it. The full-
-- text index is FTS5 over a view of the nodes (external content: the text is stored once, in
-- nodes, and snippet() reads it back through the view); triggers keep it in step with every insert
-- and delete, garbage collection and tree deletes (cascades) included, and the last statement
-- indexes the nodes already stored. A migration that rebuilds the nodes table drops these triggers
-- with it and must create them again.

CREATE TABLE session_titles (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    title TEXT NOT NULL
);
CREATE VIEW node_text (id, body) AS
    SELECT nodes.id, CASE nodes.kind
    WHEN 'user' THEN json_extract(nodes.data, '$.text')
    WHEN 'text' THEN json_extract(nodes.data, '$.text')
    WHEN 'thinking' THEN json_extract(nodes.data, '$.thinking')
    ELSE replace(replace(replace(CASE nodes.kind
        WHEN 'tool_use' THEN
coalesce(json_extract(nodes.data, '$.name'), '') || ' '
|| coalesce(json_extract(nodes.data, '$.input'), '')
        ELSE json_extract(nodes.data, '$.content')
    END, '\n', char(10)), '\t', char(9)), '\"', '"')
END FROM nodes WHERE nodes.ephemeral = 0 AND nodes.kind IN ('user', 'text', 'thinking', 'tool_use', 'tool_result') AND json_valid(nodes.data);
CREATE VIRTUAL TABLE node_fts USING fts5(
    body, content = 'node_text', content_rowid = 'id', tokenize = 'porter unicode61'
);
CREATE TRIGGER node_fts_insert AFTER INSERT ON nodes WHEN new.ephemeral = 0 AND new.kind IN ('user', 'text', 'thinking', 'tool_use', 'tool_result') AND json_valid(new.data)
BEGIN
    INSERT INTO node_fts (rowid, body) VALUES (new.id, CASE new.kind
    WHEN 'user' THEN json_extract(new.data, '$.text')
    WHEN 'text' THEN json_extract(new.data, '$.text')
    WHEN 'thinking' THEN json_extract(new.data, '$.thinking')
    ELSE replace(replace(replace(CASE new.kind
        WHEN 'tool_use' THEN
coalesce(json_extract(new.data, '$.name'), '') || ' '
|| coalesce(json_extract(new.data, '$.input'), '')
        ELSE json_extract(new.data, '$.content')
    END, '\n', char(10)), '\t', char(9)), '\"', '"')
END);
END;
CREATE TRIGGER node_fts_delete AFTER DELETE ON nodes WHEN old.ephemeral = 0 AND old.kind IN ('user', 'text', 'thinking', 'tool_use', 'tool_result') AND json_valid(old.data)
BEGIN
    INSERT INTO node_fts (node_fts, rowid, body) VALUES ('delete', old.id, CASE old.kind
    WHEN 'user' THEN json_extract(old.data, '$.text')
    WHEN 'text' THEN json_extract(old.data, '$.text')
    WHEN 'thinking' THEN json_extract(old.data, '$.thinking')
    ELSE replace(replace(replace(CASE old.kind
        WHEN 'tool_use' THEN
coalesce(json_extract(old.data, '$.name'), '') || ' '
|| coalesce(json_extract(old.data, '$.input'), '')
        ELSE json_extract(old.data, '$.content')
    END, '\n', char(10)), '\t', char(9)), '\"', '"')
END);
END;
INSERT INTO node_fts (node_fts) VALUES ('rebuild')
