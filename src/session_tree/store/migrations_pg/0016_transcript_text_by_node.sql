-- Migration 0016 (a mirrored reply's text kept by reference to its node) for PostgreSQL; see
-- migrations/0016_transcript_text_by_node.sql and store/_transcript_text.py. Offsets count
-- characters, as substr and strpos do on both backends; instr is SQLite's name for strpos.

CREATE FUNCTION instr(haystack TEXT, needle TEXT) RETURNS INTEGER
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT strpos(haystack, needle) $$;

ALTER TABLE transcript_values ADD COLUMN node_id BIGINT;
ALTER TABLE transcript_values ADD COLUMN value_at INTEGER;
ALTER TABLE transcript_values ADD COLUMN node_at INTEGER;
ALTER TABLE transcript_values ADD COLUMN node_len INTEGER;
CREATE INDEX transcript_values_node ON transcript_values(node_id) WHERE node_id IS NOT NULL;

CREATE FUNCTION nodes_hand_text_to_transcript_values() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE transcript_values SET value = substr(value, 1, value_at)
        || substr(OLD.data, node_at + 1, node_len) || substr(value, value_at + 1),
        node_id = NULL, value_at = NULL, node_at = NULL, node_len = NULL
    WHERE node_id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER nodes_hand_text_to_transcript_values BEFORE DELETE ON nodes
FOR EACH ROW EXECUTE FUNCTION nodes_hand_text_to_transcript_values();
